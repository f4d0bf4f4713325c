"""A small HTTPS server that every emulator runs behind.

An emulator is a function from `Request` to `Response`; this module does the
rest: TLS with the sandbox CA, HTTP/1.1 keep-alive, streamed bodies, a count
of every call, and injected faults (429, 503, dropped connections, slow
answers) decided before the emulator sees the request, so a fault never
half-applies a write. Python's threading HTTP server is enough here: the
emulators serve one migration at a time, and owning the socket is what lets us
drop a connection the way a real network does (a TCP reset, no response).
"""

from __future__ import annotations

import json
import random
import socket
import ssl
import struct
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from engine.sandbox.tls import SandboxTLS


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased
    body: bytes
    base_url: str  # scheme://host:port of this server, for absolute links

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Response:
    status: int
    body: bytes | Iterable[bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)
    length: int | None = None  # required with an iterable body, for Content-Length

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
        data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        return cls(status, data, {"Content-Type": "application/json; charset=utf-8", **(headers or {})})


App = Callable[[Request], Response]


@dataclass
class FaultPlan:
    """Injected faults: each request independently, with these probabilities (seeded, repeatable)."""

    rate_429: float = 0.0
    rate_503: float = 0.0
    rate_reset: float = 0.0
    rate_slow: float = 0.0
    slow_seconds: float = 2.0
    retry_after_seconds: int = 1
    seed: int = 0
    paths: tuple[str, ...] = ()  # only requests whose path starts with one of these (empty: all)
    _rng: random.Random = field(init=False, repr=False)
    _lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def draw(self, path: str) -> str | None:
        if self.paths and not path.startswith(self.paths):
            return None
        with self._lock:
            roll = self._rng.random()
        for kind, rate in (("429", self.rate_429), ("503", self.rate_503), ("reset", self.rate_reset),
                           ("slow", self.rate_slow)):
            if roll < rate:
                return kind
            roll -= rate
        return None


@dataclass
class Stats:
    requests: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, status: int | None = None, fault: str | None = None) -> None:
        with self.lock:
            self.requests += 1
            if status is not None:
                self.by_status[status] += 1
            if fault is not None:
                self.faults[fault] += 1


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle's algorithm on, the body would wait
    # for the client's delayed ACK (~40 ms a request).
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the emulators keep counters; request lines would only flood test output."""

    def _handle(self) -> None:
        owner = self.server.owner
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        fault = owner.faults.draw(split.path) if owner.faults else None
        if fault == "reset":
            owner.stats.count(fault="reset")
            self._reset_connection()
            return
        if fault == "slow":
            time.sleep(owner.faults.slow_seconds if owner.faults else 0)
        if fault in ("429", "503"):
            response = owner.fault_response(int(fault))
        else:
            request = Request(self.command, split.path, parse_qs(split.query, keep_blank_values=True),
                              {k.lower(): v for k, v in self.headers.items()}, body, owner.base_url)
            try:
                response = owner.app(request)
            except Exception as exc:  # an emulator bug must look like a server error, not a hang
                response = Response.json(500, {"message": f"emulator error: {type(exc).__name__}: {exc}"})
        owner.stats.count(status=response.status, fault=fault if fault in ("429", "503", "slow") else None)
        self._send(response)

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        body = response.body
        for name, value in response.headers.items():
            self.send_header(name, value)
        if isinstance(body, bytes):
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            return
        if response.length is None:
            raise ValueError("a streamed response needs its length")
        self.send_header("Content-Length", str(response.length))
        self.end_headers()
        for chunk in body:
            self.wfile.write(chunk)

    def _reset_connection(self) -> None:
        """Drop the connection with a TCP reset: what a flaky network or a killed proxy does."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: EmulatorServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that goes away or rejects our certificate is the client's business, not an error."""
        error = sys.exc_info()[1]
        if isinstance(error, (OSError, ssl.SSLError)):
            return
        super().handle_error(request, client_address)


class EmulatorServer:
    """Serves one emulator on 127.0.0.1 (HTTPS when `tls` is given) in a background thread."""

    def __init__(self, app: App, *, tls: SandboxTLS | None, port: int = 0,
                 faults: FaultPlan | None = None,
                 fault_response: Callable[[int], Response] | None = None) -> None:
        self.app = app
        self.faults = faults
        self.stats = Stats()
        self._fault_response = fault_response
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.owner = self
        if tls is not None:
            context = tls.server_context()
            # The handshake happens in the request's own thread, so a slow client cannot stall accept().
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True,
                                                      do_handshake_on_connect=False)
        scheme = "https" if tls is not None else "http"
        self.port = self._server.server_address[1]
        self.base_url = f"{scheme}://127.0.0.1:{self.port}"
        self._thread: threading.Thread | None = None

    def fault_response(self, status: int) -> Response:
        if self._fault_response is not None:
            return self._fault_response(status)
        seconds = self.faults.retry_after_seconds if self.faults else 1
        return Response.json(status, {"message": "injected fault"}, {"Retry-After": str(seconds)})

    def start(self) -> EmulatorServer:
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"emulator:{self.port}",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

