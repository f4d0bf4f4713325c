"""A small, faithful fake of Cliniko's list API for connector tests (an httpx.MockTransport handler).

Behaviour copied from /work/shared/ref/cliniko.md: HTTP Basic auth with the key as the
user name (401 otherwise); list envelope `{"<resource>": [...], "total_entries": N,
"links": {"self", "next"?, "previous"?}}` with absolute links that keep every query
parameter; `per_page` default 50, capped at 100; `page` from 1; repeated `q[]=field:op
value` filters (`>= > <= < =`, `*` = any value); archived rows hidden unless a filter
names `archived_at`, cancelled rows unless one names `cancelled_at`; `sort=a,b:desc`;
`/patient_attachments/{id}/content` answers 302 to a presigned "S3" URL on another host.

Tests inject faults (429 with X-RateLimit-Reset, 503, connection resets) through
`faults`, and data changes between pages through `before_list`.
"""

from __future__ import annotations

import base64
import json
import random
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

API_KEY = "MS0xLTEyMzQ1Njc4OTAtc2VjcmV0LXRva2Vu-au1"
BASE = "https://api.au1.cliniko.com/v1"
S3 = "https://s3.example.test"
USER_AGENT = "flitstack tests (tests@flitstack.example)"
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def stamp(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeClock:
    """Time that only moves when someone sleeps: `time` for clocks, `sleep` to advance."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def time(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self.now += max(seconds, 0.0)


@dataclass
class Seen:
    method: str
    url: httpx.URL
    time: float
    headers: httpx.Headers
    thread: str


Fault = Callable[[httpx.Request, int], "httpx.Response | BaseException | None"]
_FILTER = re.compile(r"^(\w+):(>=|<=|>|<|=|\*)(.*)$")


@dataclass
class FakeCliniko:
    data: dict[str, list[dict[str, Any]]]
    clock: FakeClock = field(default_factory=FakeClock)
    api_key: str = API_KEY
    base: str = BASE
    faults: Fault | None = None
    before_list: Callable[[str, int], None] | None = None
    bodies: dict[str, Callable[[], Iterator[bytes]]] = field(default_factory=dict)
    body_headers: dict[str, dict[str, str]] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def list_requests(self, resource: str | None = None) -> list[Seen]:
        prefix = httpx.URL(self.base).path + "/"
        return [s for s in self.requests if s.url.path.startswith(prefix)
                and "/content" not in s.url.path
                and (resource is None or s.url.path == prefix + resource)]

    def handle(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.requests.append(Seen(request.method, request.url, self.clock.time(), request.headers,
                                      threading.current_thread().name))
            number = len(self.requests)
        if request.url.host == httpx.URL(S3).host:
            return self._s3(request)
        expected = "Basic " + base64.b64encode(f"{self.api_key}:".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return httpx.Response(401, text="HTTP Basic: Access denied.\n")
        if self.faults is not None:
            fault = self.faults(request, number)
            if isinstance(fault, BaseException):
                raise fault
            if fault is not None:
                return fault
        path = request.url.path.removeprefix(httpx.URL(self.base).path + "/")
        match = re.fullmatch(r"patient_attachments/(\d+)/content", path)
        if match:
            return httpx.Response(302, headers={"Location": f"{S3}/bucket/{match[1]}?X-Amz-Signature=abc"})
        if path not in self.data:
            return httpx.Response(404, json={"message": "Not found"})
        return self._list(request, path)

    def _s3(self, request: httpx.Request) -> httpx.Response:
        record_id = request.url.path.rsplit("/", 1)[-1]
        if record_id not in self.bodies:
            return httpx.Response(404, text="NoSuchKey")
        return httpx.Response(200, headers=self.body_headers.get(record_id, {}),
                              content=self.bodies[record_id]())

    def _list(self, request: httpx.Request, resource: str) -> httpx.Response:
        params = request.url.params
        per_page = min(int(params.get("per_page", "50")), 100)
        page = int(params.get("page", "1"))
        if self.before_list is not None:
            self.before_list(resource, page)
        filters = params.get_list("q[]")
        named = {f.split(":", 1)[0] for f in filters}
        rows = [r for r in self.data[resource]
                if ("archived_at" in named or not r.get("archived_at"))
                and ("cancelled_at" in named or not r.get("cancelled_at"))]
        for text in filters:
            match = _FILTER.match(text)
            if match is None:
                return httpx.Response(400, json={"message": "This column is not searchable."})
            name, op, value = match.groups()
            if op != "*":
                rows = [r for r in rows if r.get(name) is not None and _compare(str(r[name]), op, value)]
        for key in reversed(params.get("sort", "created_at").split(",")):
            column, _, direction = key.partition(":")
            rows.sort(key=lambda r, c=column: int(r[c]) if c == "id" else str(r.get(c) or ""),
                      reverse=direction == "desc")
        total = len(rows)
        chunk = rows[(page - 1) * per_page: page * per_page]
        links = {"self": str(request.url)}
        if page * per_page < total:
            links["next"] = str(request.url.copy_set_param("page", str(page + 1)))
        if page > 1:
            links["previous"] = str(request.url.copy_set_param("page", str(page - 1)))
        body = {resource: chunk, "total_entries": total, "links": links}
        return httpx.Response(200, content=json.dumps(body).encode(),
                              headers={"Content-Type": "application/json"})


def _compare(actual: str, op: str, value: str) -> bool:
    return {">=": actual >= value, ">": actual > value, "<=": actual <= value,
            "<": actual < value, "=": actual in value.split(",")}[op]


class RandomFaults:
    """Fails a `rate` share of requests (seeded): 429 with X-RateLimit-Reset, 503, or a reset."""

    def __init__(self, rate: float, seed: int, clock: FakeClock) -> None:
        self.rate = rate
        self.random = random.Random(seed)
        self.clock = clock
        self.injected: list[str] = []

    def __call__(self, request: httpx.Request, number: int) -> httpx.Response | BaseException | None:
        if self.random.random() >= self.rate:
            return None
        kind = self.random.choice(["429", "503", "reset", "protocol"])
        self.injected.append(kind)
        if kind == "429":
            reset = int(self.clock.time()) + self.random.randint(1, 30)
            return httpx.Response(429, headers={"X-RateLimit-Reset": str(reset)})
        if kind == "503":
            return httpx.Response(503, text="Service Unavailable")
        if kind == "reset":
            return httpx.ReadError("[Errno 104] Connection reset by peer", request=request)
        return httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)


def patient(i: int, base: str = BASE, **extra: Any) -> dict[str, Any]:
    """A patient as the API returns it: 19-digit string id, link-object relations."""
    pid = str(1_000_000_000_000_000_000 + i)
    record: dict[str, Any] = {
        "id": pid, "first_name": f"First{i}", "last_name": f"Last{i}",
        "created_at": stamp(i), "updated_at": stamp(10_000 + i), "archived_at": None,
        "date_of_birth": "1980-02-03",
        "concession_type": {"links": {"self": f"{base}/concession_types/77"}} if i % 2 else None,
        "invoices": {"links": {"self": f"{base}/patients/{pid}/invoices"}},
        "appointments": {"links": {"self": f"{base}/patients/{pid}/appointments"}},
        "links": {"self": f"{base}/patients/{pid}"},
    }
    record.update(extra)
    return record


def patients(n: int, base: str = BASE) -> list[dict[str, Any]]:
    return [patient(i, base) for i in range(n)]
