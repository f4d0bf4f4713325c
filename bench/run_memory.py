"""Benchmark: does `flitstack run` stream? Peak memory of a full run at two clinic sizes, side by side.

Each size gets its own workspace (seeded clinic, package deployed, signed off). The
sandbox then runs in its own process (`flitstack sandbox serve`), and `flitstack run`
in another, pointed at it by the variables `serve` prints — as it would be pointed at
Cliniko and Salesforce — so the peak resident memory (ru_maxrss) read when it exits
is the engine's alone. A streaming run grows far less than the data: the
last line is `ratio: X` = (peak RSS of the large run ÷ peak RSS of the small run)
next to the records ratio it should be compared with. Wall times include the
connector's own limit of 200 Cliniko requests a minute (the real API's), which the
sandbox served this way is treated as.

    .venv/bin/python bench/run_memory.py [--small 100] [--large 1000]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "specs" / "cliniko-to-salesforce.yaml"


def _flitstack(workspace: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FLITSTACK_WORKSPACE": str(workspace), "FLITSTACK_SANDBOX_RATE_LIMIT": "60000",
           "FLITSTACK_FORCE_SANDBOX": "1"}
    return subprocess.run([sys.executable, "-m", "engine.cli", *args], cwd=ROOT, env=env, text=True,
                          capture_output=True, check=True)


def _prepare(workspace: Path, patients: int) -> None:
    _flitstack(workspace, "sandbox", "seed", "--patients", str(patients))
    _flitstack(workspace, "provision", str(SPEC), "--out", str(workspace / "provision"), "--apply")
    sys.path.insert(0, str(ROOT))
    from engine.spec.loader import load_spec
    from engine.state.store import StateStore

    loaded = load_spec(SPEC)
    with StateStore.in_folder(workspace) as store:
        store.add_signoff("bench", loaded.spec.name, loaded.content_hash, None, None, "bench")


def _serve(workspace: Path) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """The workspace's sandbox in its own process, and the variables that point clients at it."""
    env = {**os.environ, "FLITSTACK_WORKSPACE": str(workspace)}
    env.pop("CLINIKO_API_KEY", None)
    command = [sys.executable, "-m", "engine.cli", "sandbox", "serve", "--rate-limit", "60000"]
    server = subprocess.Popen(command, cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
    exports: dict[str, str] = {}
    assert server.stdout is not None
    for line in server.stdout:
        if line.strip().startswith("export "):
            name, _, value = line.strip().removeprefix("export ").partition("=")
            exports[name] = value
        if line.startswith("Serving until interrupted"):
            return server, exports
    raise SystemExit(f"flitstack sandbox serve exited {server.wait()} before serving")


def _measure(workspace: Path, batch_size: int) -> tuple[float, int, int]:
    """(seconds, peak RSS in KiB, records read) of one `flitstack run` in a child process."""
    server, exports = _serve(workspace)
    try:
        env = {**os.environ, **exports, "FLITSTACK_WORKSPACE": str(workspace),
               "FLITSTACK_CONTACT_EMAIL": "bench@flitstack.example"}
        started = time.perf_counter()
        command = [sys.executable, "-m", "engine.cli", "run", str(SPEC), "--batch-size", str(batch_size)]
        child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own usage, not every child's maximum
        child.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
    if child.returncode != 0:
        raise SystemExit(f"flitstack run exited {child.returncode} in {workspace}")
    peak = usage.ru_maxrss
    with sqlite3.connect(workspace / "state.db") as db:
        records = db.execute("SELECT SUM(read) FROM run_objects WHERE pass = 1").fetchone()[0]
    return seconds, peak, int(records)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--large", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=500,
                        help="the same for both runs, and small enough that both fill their batches: "
                             "what is left to compare is what grows with the data")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="flitstack-bench-") as folder:
        results = []
        for patients in (options.small, options.large):
            workspace = Path(folder) / f"clinic-{patients}"
            _prepare(workspace, patients)
            seconds, peak, records = _measure(workspace, options.batch_size)
            results.append((patients, records, seconds, peak))
            print(f"{patients:>6} patients: {records:>7,} source records loaded in {seconds:6.1f} s "
                  f"({records / seconds:,.0f} records/s), peak RSS {peak / 1024:,.1f} MiB")
    (_, small_records, _, small_peak), (_, large_records, _, large_peak) = results
    print(f"records ratio: {large_records / small_records:.2f}")
    print(f"ratio: {large_peak / small_peak:.2f}")


if __name__ == "__main__":
    main()
