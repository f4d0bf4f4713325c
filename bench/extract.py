"""Benchmark: extracting a whole Cliniko account with our connector versus dlt's `rest_api` source.

A synthetic clinic (100k+ records by default) is served by the Cliniko emulator over HTTPS,
with a scaled-up rate limit, from a process of its own: its CPU work (SQLite, JSON, TLS) must
not compete for this process's GIL with the client being measured, just as a real API runs
on someone else's machine. Both sides read every resource the generator filled, with the very
same list requests (per_page, sort and q[] filters are taken from our connector), a few
resources at a time. Each pass is checked before its numbers count: every record came exactly
once, and the count per resource equals the store's (which equals the generator's manifest).

Passes alternate (ours, dlt, ours, dlt) and the best of each side is kept. Requests are
counted by the emulator, so both sides are measured the same way. The last line is
`ratio: X` (our wall time ÷ dlt's; below 1 means we are faster).

    .venv/bin/python bench/extract.py [--patients N] [--rate-limit R] [--workers W] [--seed S]
                                      [--dlt-flag-only]

dlt is a bench-only dependency: `pip install -e '.[bench]'`.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.metadata
import importlib.util
import math
import multiprocessing
import os
import platform
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from engine.connectors.cliniko import ClinikoConnector
from engine.connectors.listing import DEFAULT_SORT, PER_PAGE, list_params
from engine.sandbox.cliniko import DEFAULT_API_KEY, ClinikoApp, api_base_url, start_cliniko_sandbox
from engine.sandbox.cliniko.filters import compile_filters
from engine.sandbox.generator import GeneratedRecord, generate_clinic
from engine.sandbox.server import Request, Response
from engine.sandbox.tls import ensure_tls
from engine.spec.catalog import load_catalog

USER_AGENT = "flitstack extract benchmark (bench@flitstack.example)"
DEFAULT_PATIENTS = 4200  # ~102k records with the default seed
DEFAULT_RATE = 6000  # 30x Cliniko's 200/min: a pass takes seconds, yet it is still a budget to respect
SHARD = "au1"  # the shard of DEFAULT_API_KEY
ORDER = ("ours", "dlt", "ours", "dlt")

Ids = dict[str, list[str]]
Tally = Counter[tuple[str, int]]  # requests per (resource, HTTP status)


# ------------------------------------------------------------------ dlt, quietly, in a temp folder

def require_dlt() -> None:
    """Exit 2, saying how to install dlt, when it is missing."""
    if importlib.util.find_spec("dlt") is None:
        print("dlt is not installed: it is a bench-only dependency. Install it with\n"
              "    .venv/bin/pip install -e '.[bench]'\nand run this benchmark again.", file=sys.stderr)
        sys.exit(2)


def configure_dlt(folder: Path, workers: int) -> None:
    """dlt reads these when first imported, so they are set before any dlt import.

    Its data and project dirs go to the temp folder (nothing is written to ~/.dlt or the repo,
    and no stray .dlt/config.toml is read), telemetry is off, only errors are logged (a failed
    request still surfaces as an exception and in the emulator's status tally), and its
    extraction thread pool gets as many workers as our connector.
    """
    os.environ.update({
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        "RUNTIME__LOG_LEVEL": "ERROR",
        "DLT_DATA_DIR": str(folder / "data"),
        "DLT_PROJECT_DIR": str(folder / "project"),
        "EXTRACT__WORKERS": str(workers),
    })


@contextmanager
def environment(variables: Mapping[str, str]) -> Iterator[None]:
    """Set variables for the duration of a block, restoring what was there before."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# ------------------------------------------------------------------ what both sides ask for

@dataclass(frozen=True)
class Listing:
    """One resource's list request, exactly as our connector sends it."""

    resource: str
    params: list[tuple[str, str]]

    def as_dict(self) -> dict[str, Any]:
        """The params for requests/dlt: a repeated key (q[]) becomes a list, sent as repeated params."""
        grouped: dict[str, list[str]] = {}
        for name, value in self.params:
            grouped.setdefault(name, []).append(value)
        return {name: values[0] if len(values) == 1 else values for name, values in grouped.items()}

    def filters(self) -> list[str]:
        return [value for name, value in self.params if name == "q[]"]


def listings(manifest: Mapping[str, int]) -> list[Listing]:
    """Every catalog resource the generator filled, in catalog order (what a spec would list)."""
    catalog = load_catalog("source", "cliniko")
    return [Listing(name, list_params(list(obj.fields), since=None, include_archived=True, sort=DEFAULT_SORT))
            for name, obj in catalog.objects.items() if manifest.get(name, 0) > 0]


def minimum_requests(records: int) -> int:
    """Pages of PER_PAGE needed to list `records` (an empty list still takes one request)."""
    return max(1, math.ceil(records / PER_PAGE))


# ------------------------------------------------------------------ the emulator's process

class RequestTally:
    """Wraps the emulator's app: requests per (resource, status), peak concurrency, CPU time.

    Counting on the server side measures both clients identically, whatever they report.
    """

    def __init__(self, app: Callable[[Request], Response]) -> None:
        self._app = app
        self._lock = threading.Lock()
        self._in_flight = 0
        self.counts: Tally = Counter()
        self.peak = 0
        self._cpu_mark = time.process_time()  # the emulator's CPU time says whether it was the bottleneck

    def __call__(self, request: Request) -> Response:
        with self._lock:
            self._in_flight += 1
            self.peak = max(self.peak, self._in_flight)
        response = self._app(request)  # the app turns every error into a response
        # /shards/au1/v1/<resource>...: the segment after v1 names the resource
        segments = request.path.split("/")
        resource = segments[4] if len(segments) > 4 else request.path
        with self._lock:
            self._in_flight -= 1
            self.counts[(resource, response.status)] += 1
        return response

    def take(self) -> tuple[Tally, int, float]:
        """The figures since the last take (requests, peak at once, CPU seconds), and a fresh start."""
        with self._lock:
            cpu = time.process_time()
            taken = (self.counts, self.peak, cpu - self._cpu_mark)
            self.counts, self.peak, self._cpu_mark = Counter(), self._in_flight, cpu
        return taken


@dataclass(frozen=True)
class Ready:
    """What the emulator's process reports once the clinic is loaded and served."""

    base_url: str
    ca_bundle: str
    manifest: dict[str, int]
    wanted: list[Listing]
    stored: dict[str, int]  # the store's count per resource under the connector's filters


def without_file_bodies(records: Iterator[GeneratedRecord]) -> Iterator[GeneratedRecord]:
    """List reads never download attachments; skipping their bodies saves a lot of disk and time."""
    for item in records:
        yield dataclasses.replace(item, content=None) if item.content is not None else item


def serve_emulator(conn: Connection, folder: Path, patients: int, seed: int, rate_limit: int) -> None:
    """The child process: generate and load the clinic, serve it, answer the parent's commands."""
    try:
        tls = ensure_tls(folder / "tls")
        server, store = start_cliniko_sandbox(folder / "store", tls=tls, requests_per_minute=rate_limit)
    except BaseException as exc:
        conn.send(exc)
        raise
    try:
        app = server.app
        assert isinstance(app, ClinikoApp)
        tally = RequestTally(app)
        server.app = tally
        clinic = generate_clinic(seed=seed, patients=patients)
        store.load(without_file_bodies(clinic.records()))
        wanted = listings(clinic.manifest.counts)
        # archived and cancelled included (the filters name them), deleted not: what the API lists
        stored = {w.resource: store.count(w.resource, compile_filters(w.filters(), app.schema[w.resource]))
                  for w in wanted}
        conn.send(Ready(api_base_url(server, SHARD), str(tls.bundle), dict(clinic.manifest.counts),
                        wanted, stored))
        while (command := conn.recv()) != "stop":
            if command == "fresh":
                # A new minute for the account: every pass starts as a first run would, so the
                # order of the passes cannot decide who meets the rate limit.
                app.limiter.reset()
            conn.send(tally.take())
    except EOFError:
        pass  # the parent went away (interrupted): nothing to report to, just stop serving
    except BaseException as exc:
        conn.send(exc)
        raise
    finally:
        server.stop()
        store.close()


class Emulator:
    """The parent's handle on the emulator's process."""

    def __init__(self, folder: Path, *, patients: int, seed: int, rate_limit: int) -> None:
        self.rate_limit = rate_limit
        # spawn, not fork: a clean interpreter, and no copy of this process's threads or sockets
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=serve_emulator, name="cliniko-emulator", daemon=True,
                                        args=(child, folder, patients, seed, rate_limit))
        self._process.start()
        child.close()
        ready = self._receive()
        assert isinstance(ready, Ready)
        self.ready = ready

    def _receive(self) -> Any:
        answer = self._conn.recv()
        if isinstance(answer, BaseException):
            raise RuntimeError(f"the emulator's process failed: {answer!r}") from answer
        return answer

    def fresh_pass(self) -> None:
        self._conn.send("fresh")
        self._receive()

    def take_tally(self) -> tuple[Tally, int, float]:
        self._conn.send("tally")
        counts, peak, cpu = self._receive()
        return counts, peak, cpu

    def close(self) -> None:
        if self._process.is_alive():
            self._conn.send("stop")
        self._process.join(timeout=30)
        self._conn.close()


def expected_counts(ready: Ready) -> dict[str, int]:
    """The store's counts; exit 1 unless they equal the generator's manifest, since otherwise
    'every record came once' would be checked against a wrong number."""
    wrong = [f"{r} {n} vs {ready.manifest[r]}" for r, n in ready.stored.items() if n != ready.manifest[r]]
    if wrong:
        print("STORE MISMATCH (store vs manifest): " + ", ".join(wrong))
        sys.exit(1)
    return ready.stored


# ------------------------------------------------------------------ one pass of each side

@dataclass
class Pass:
    side: str
    seconds: float
    ids: Ids
    server: Tally = field(default_factory=Counter)
    peak: int = 0
    server_cpu: float = 0.0  # the emulator's CPU seconds in this pass
    client_cpu: float = 0.0  # this process's CPU seconds in this pass (all its threads)
    client_requests: int | None = None  # what the client says it sent (ours only)

    @property
    def records(self) -> int:
        return sum(len(ids) for ids in self.ids.values())

    @property
    def requests(self) -> int:
        return sum(self.server.values())

    def requests_for(self, resource: str) -> int:
        return sum(n for (name, _), n in self.server.items() if name == resource)

    def statuses(self) -> Counter[int]:
        by_status: Counter[int] = Counter()
        for (_, status), n in self.server.items():
            by_status[status] += n
        return by_status


def run_ours(emulator: Emulator, workers: int) -> Pass:
    """ClinikoConnector.read_many: `workers` threads sharing one limiter. Its records come out
    normalised (catalog fields, link objects resolved to ids); dlt hands out the raw JSON."""
    ready = emulator.ready
    ids: Ids = {w.resource: [] for w in ready.wanted}
    start = time.perf_counter()
    connector = ClinikoConnector(DEFAULT_API_KEY, user_agent=USER_AGENT,
                                 base_url=ready.base_url.replace(f"/{SHARD}/", "/{shard}/"),
                                 verify=ready.ca_bundle, requests_per_minute=emulator.rate_limit)
    with connector:
        for resource, record in connector.read_many([w.resource for w in ready.wanted], workers=workers):
            ids[resource].append(record["id"])
        seconds = time.perf_counter() - start
        return Pass("ours", seconds, ids, client_requests=connector.requests_made)


def collector(ids: list[str]) -> Callable[[dict[str, Any]], bool]:
    """A dlt filter step that keeps every record and notes its id (items leave the source untagged)."""
    def keep(record: dict[str, Any]) -> bool:
        ids.append(str(record["id"]))
        return True
    return keep


def dlt_config(ready: Ready, ids: Ids) -> dict[str, Any]:
    """rest_api's config for the same requests: basic auth (key, ""), links.next paging, the
    connector's params, and `parallelized`, the documented switch for reading resources at once
    (dlt's default is one resource after another)."""
    return {
        "client": {
            "base_url": ready.base_url + "/",
            "auth": {"type": "http_basic", "username": DEFAULT_API_KEY, "password": ""},
            "headers": {"User-Agent": USER_AGENT, "Accept": "application/json"},
            "paginator": {"type": "json_link", "next_url_path": "links.next"},
        },
        "resource_defaults": {"parallelized": True},
        "resources": [{
            "name": w.resource,
            "endpoint": {"path": w.resource, "data_selector": w.resource, "params": w.as_dict()},
            "processing_steps": [{"filter": collector(ids[w.resource])}],
        } for w in ready.wanted],
    }


def import_rest_api() -> None:
    """Import dlt's rest_api before any timing: its import costs about a second, once per process."""
    import dlt.sources.rest_api  # noqa: F401


def run_dlt(emulator: Emulator, *, flag_only: bool) -> Pass:
    """rest_api_source iterated directly: extraction only, no destination, no normalise or load."""
    from dlt.sources.rest_api import rest_api_source

    ready = emulator.ready
    ids: Ids = {w.resource: [] for w in ready.wanted}
    # requests (under dlt) trusts the sandbox CA only through the environment; ours passes it explicitly.
    with environment({"REQUESTS_CA_BUNDLE": ready.ca_bundle}):
        start = time.perf_counter()
        source = rest_api_source(dlt_config(ready, ids))  # type: ignore[arg-type]
        if not flag_only:
            # dlt 1.31 drops rest_api's `parallelized` flag on the way (binding a resource's
            # arguments rebuilds its generator without the parallel wrapper), so resources would be
            # read one at a time. DltSource.parallelize(), dlt's public API, applies it for real.
            source.parallelize()
        yielded = sum(1 for _ in source)
        seconds = time.perf_counter() - start
    result = Pass("dlt", seconds, ids)
    if yielded != result.records:
        print(f"dlt: the source yielded {yielded} items but the filter steps saw {result.records}")
        sys.exit(1)
    return result


def check_complete(result: Pass, expected: Mapping[str, int]) -> None:
    """Every record exactly once: ids unique per resource, as many as the store holds. Exit 1 if not."""
    problems = []
    for resource, want in expected.items():
        got = result.ids[resource]
        duplicates = len(got) - len(set(got))
        if duplicates or len(got) != want:
            problems.append(f"{resource}: {len(got)} records for {want} expected, {duplicates} duplicate ids")
    if problems:
        print(f"INCOMPLETE ({result.side}):", *problems, sep="\n  ")
        sys.exit(1)


def timed_pass(emulator: Emulator, side: str, args: argparse.Namespace, expected: Mapping[str, int]) -> Pass:
    emulator.fresh_pass()
    cpu = time.process_time()
    result = run_ours(emulator, args.workers) if side == "ours" else run_dlt(emulator,
                                                                              flag_only=args.dlt_flag_only)
    result.client_cpu = time.process_time() - cpu
    result.server, result.peak, result.server_cpu = emulator.take_tally()
    check_complete(result, expected)
    return result


# ------------------------------------------------------------------ reporting

def rate_share(requests: int, seconds: float, per_minute: int) -> float:
    """requests ÷ (limit per minute × minutes elapsed). Over 1 is possible in a run shorter than
    a minute: the window is rolling, so a burst of up to `per_minute` requests is allowed."""
    return requests / (per_minute * seconds / 60)


def describe_pass(number: int, result: Pass, rate_limit: int) -> str:
    statuses = ", ".join(f"{n} x {status}" for status, n in sorted(result.statuses().items()))
    client = f"; client counted {result.client_requests}" if result.client_requests is not None else ""
    return (f"pass {number} {result.side:>4}: {result.seconds:6.2f} s, {result.records:,} records, "
            f"{result.requests} requests ({statuses}{client}), peak {result.peak} at once, "
            f"CPU: client {result.client_cpu:.1f} s, emulator {result.server_cpu:.1f} s; "
            f"{rate_share(result.requests, result.seconds, rate_limit):.0%} of the rate limit")


def print_setup(args: argparse.Namespace, ready: Ready, expected: Mapping[str, int],
                load_seconds: float) -> None:
    total = sum(expected.values())
    dlt_parallel = ("rest_api's parallelized flag only" if args.dlt_flag_only
                    else "parallelized flag + DltSource.parallelize()")
    print(f"python: {platform.python_implementation()} {platform.python_version()}; "
          f"dlt {importlib.metadata.version('dlt')}; {os.cpu_count()} CPUs")
    print(f"clinic: seed {args.seed}, {args.patients} patients, {total:,} records in {len(ready.wanted)} "
          f"resources (store = manifest), generated and loaded in {load_seconds:.1f} s"
          + ("" if total >= 100_000 else "  [below 100k records: use more --patients]"))
    print(f"emulator: own process, HTTPS {ready.base_url}, {args.rate_limit} requests/min per user")
    print(f"ours: ClinikoConnector.read_many, {args.workers} workers, one shared limiter")
    print(f"dlt:  rest_api_source iterated, {dlt_parallel}, extract.workers={args.workers}")
    print("both send: " + "&".join(f"{k}={v}" for k, v in ready.wanted[0].params)
          + " (+ q[]=cancelled_at:* where the resource has that column)\n")


def print_resources(ready: Ready, expected: Mapping[str, int], ours: Pass, dlt: Pass) -> None:
    print(f"\n{'resource':<32}{'records':>9}{'ours req':>10}{'dlt req':>9}{'minimum':>9}")
    for w in ready.wanted:
        n = expected[w.resource]
        print(f"{w.resource:<32}{n:>9,}{ours.requests_for(w.resource):>10}"
              f"{dlt.requests_for(w.resource):>9}{minimum_requests(n):>9}")
    minimum = sum(minimum_requests(n) for n in expected.values())
    print(f"{'total':<32}{sum(expected.values()):>9,}{ours.requests:>10}{dlt.requests:>9}{minimum:>9}")


def print_summary(best: Mapping[str, Pass], minimum: int, rate_limit: int) -> None:
    print(f"\nbest of each side\n{'side':<6}{'wall s':>8}{'records/s':>11}{'requests':>10}{'minimum':>9}"
          f"{'rate-limit share':>18}")
    for side, result in best.items():
        print(f"{side:<6}{result.seconds:>8.2f}{result.records / result.seconds:>11,.0f}{result.requests:>10}"
              f"{minimum:>9}{rate_share(result.requests, result.seconds, rate_limit):>18.0%}")


# ------------------------------------------------------------------ main

def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--patients", type=int, default=DEFAULT_PATIENTS, help="patients to generate")
    parser.add_argument("--rate-limit", type=int, default=DEFAULT_RATE, help="emulator requests per minute")
    parser.add_argument("--workers", type=int, default=4, help="resources read at once, on each side")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dlt-flag-only", action="store_true",
                        help="rely on rest_api's parallelized flag alone "
                             "(in dlt 1.31 resources are then read one at a time)")
    return parser.parse_args()


def run_passes(emulator: Emulator, args: argparse.Namespace, expected: Mapping[str, int]) -> dict[str, Pass]:
    """The passes in ORDER, each checked and printed as it ends; the fastest of each side."""
    passes: list[Pass] = []
    for number, side in enumerate(ORDER, 1):
        passes.append(timed_pass(emulator, side, args, expected))
        print(describe_pass(number, passes[-1], args.rate_limit), flush=True)
    return {side: min((p for p in passes if p.side == side), key=lambda p: p.seconds)
            for side in ("ours", "dlt")}


def main() -> None:
    args = parse_args()
    require_dlt()
    with tempfile.TemporaryDirectory(prefix="flitstack-bench-extract-") as temp:
        folder = Path(temp)
        configure_dlt(folder / "dlt", args.workers)
        import_rest_api()
        started = time.perf_counter()
        emulator = Emulator(folder / "emulator", patients=args.patients, seed=args.seed,
                            rate_limit=args.rate_limit)
        try:
            expected = expected_counts(emulator.ready)
            print_setup(args, emulator.ready, expected, time.perf_counter() - started)
            best = run_passes(emulator, args, expected)
        finally:
            emulator.close()
    print_resources(emulator.ready, expected, best["ours"], best["dlt"])
    print_summary(best, sum(minimum_requests(n) for n in expected.values()), args.rate_limit)
    print("every pass: each record exactly once; counts equal the store's and the manifest's")
    print(f"ratio: {best['ours'].seconds / best['dlt'].seconds:.2f}")


if __name__ == "__main__":
    main()
