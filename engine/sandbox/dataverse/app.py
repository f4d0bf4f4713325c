"""The Dataverse emulator: a route table and the request pipeline, a function Request → Response.

    app = DataverseApp(env, directory, requests_per_window=6000, window_seconds=300)
    EmulatorServer(app, tls=tls, fault_response=fault_response)

Paths outside `/api/data/v9.2/` are Entra ID's (auth.py). Web API routes are
regular expressions matched in full against the path after the version,
tried in order; a path that matches only with other methods answers 405.

Every Web API request runs this pipeline:
1. the version must be v9.0, v9.1 or v9.2 (404 otherwise);
2. `Authorization: Bearer <token>` with a token the tenant issued, else 401
   with `WWW-Authenticate: Bearer authorization_uri=…, resource_id=…`;
3. service protection: the caller's requests over the sliding window, else
   429 + Retry-After + 0x80072322 (a $batch or a *Multiple counts once);
4. the handler; a `DataverseError` it raises becomes its error answer.
`calls` counts every Web API call by method and resource ("POST contacts",
"POST $batch", "POST contacts/CreateMultiple"), requests inside a batch
included ("$batch POST contacts").
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from engine.sandbox.dataverse.auth import Directory
from engine.sandbox.dataverse.errors import (
    DataverseError,
    invalid_argument,
    resource_not_found,
    too_many_requests,
    unauthorized,
)
from engine.sandbox.dataverse.limits import SlidingWindow
from engine.sandbox.dataverse.store import Environment
from engine.sandbox.server import Request, Response

API_PREFIX = "/api/data/v9.2"
_VERSIONED = re.compile(r"^/api/data/v(?P<version>\d+\.\d+)(?P<rest>/.*)?$", re.IGNORECASE)
VERSIONS = ("9.0", "9.1", "9.2")
JSON_TYPE = "application/json; odata.metadata=minimal"

Handler = Callable[["Call"], Response]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: str
    handler: Handler
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "regex", re.compile(f"^{self.pattern}$"))


@dataclass
class Call:
    """One Web API request as a handler sees it (also the requests inside a $batch)."""

    app: DataverseApp
    method: str
    path: str  # after /api/data/v9.2
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    base_url: str
    user_id: str
    params: dict[str, str] = field(default_factory=dict)
    refs: dict[str, tuple[str, str]] | None = None  # Content-ID → (table, id), inside a change set
    result: tuple[str, str] | None = None  # (table, id) a write touched, for Content-ID references

    @property
    def env(self) -> Environment:
        return self.app.env

    @property
    def api_root(self) -> str:
        return f"{self.base_url}{API_PREFIX}"

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    def prefer(self) -> dict[str, str]:
        """The Prefer header's preferences: {"return": "representation", "odata.maxpagesize": "50", …}."""
        out: dict[str, str] = {}
        for part in (self.headers.get("prefer") or "").split(","):
            name, _, value = part.strip().partition("=")
            if name:
                out[name.strip().lower()] = value.strip().strip('"')
        return out

    def json_body(self) -> Any:
        try:
            return json.loads(self.body.decode("utf-8") or "null")
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise DataverseError(400, "0x0", f"The request body is not valid JSON: {error}") from None


class DataverseApp:
    """The emulator of one environment. Extend it with `add_routes`."""

    def __init__(self, env: Environment, directory: Directory, *, requests_per_window: int = 6000,
                 window_seconds: int = 300) -> None:
        self.env = env
        self.directory = directory
        self.window = SlidingWindow(requests_per_window, window_seconds, lambda: env.clock())
        self.routes: list[Route] = []
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        # the built-in resources (imported here: their modules import this one)
        from engine.sandbox.dataverse.batch import routes as batch_routes
        from engine.sandbox.dataverse.bulk import routes as bulk_routes
        from engine.sandbox.dataverse.metadata import routes as metadata_routes
        from engine.sandbox.dataverse.records import routes as record_routes

        for routes in (metadata_routes(), batch_routes(), bulk_routes(), record_routes()):
            self.add_routes(routes)

    def add_routes(self, routes: Iterable[Route]) -> None:
        self.routes.extend(routes)

    def count(self, name: str) -> None:
        with self._lock:
            self.calls[name] += 1

    def __call__(self, request: Request) -> Response:
        versioned = _VERSIONED.match(request.path)
        if versioned is None:
            if self.directory.handles(request.path):
                return self.directory(request)
            return resource_not_found(request.path).response()
        try:
            response = self._web_api(request, versioned["version"], versioned["rest"] or "/")
        except DataverseError as error:
            response = error.response()
        response.headers.setdefault("OData-Version", "4.0")
        return response

    def _web_api(self, request: Request, version: str, path: str) -> Response:
        if version not in VERSIONS:
            raise resource_not_found(f"v{version}")
        scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
        user = self.env.token_user(token.strip()) if scheme.lower() == "bearer" and token.strip() else None
        if user is None:
            raise unauthorized(request.base_url, self.directory.tenant_id)
        retry_after = self.window.admit(user)
        if retry_after is not None:
            raise too_many_requests(self.window.limit, self.window.seconds, retry_after)
        call = Call(self, request.method, unquote(path), request.query, request.headers, request.body,
                    request.base_url, user)
        response = self.dispatch(call)
        response.headers["x-ms-ratelimit-burst-remaining-xrm-requests"] = str(self.window.remaining(user))
        return response

    def dispatch(self, call: Call, *, counted_as: str = "") -> Response:
        """Run one Web API call (pipeline done); errors become answers."""
        path = call.path.rstrip("/") or "/"
        route = None
        allowed: list[str] = []
        for candidate in self.routes:
            match = candidate.regex.match(path)
            if match is None:
                continue
            if candidate.method == call.method:
                route = candidate
                call.params = {k: v for k, v in match.groupdict().items() if v is not None}
                break
            allowed.append(candidate.method)
        resource = path.strip("/").split("(")[0].split("/")[0] or "/"
        action = path.rsplit("Microsoft.Dynamics.CRM.", 1)[-1] if "Microsoft.Dynamics.CRM." in path else ""
        self.count(f"{counted_as}{call.method} {resource}{'/' + action if action else ''}")
        try:
            if route is None:
                if allowed:
                    raise DataverseError(405, "0x80060888", f"The HTTP method '{call.method}' is not "
                                         f"allowed for this resource; allowed: {', '.join(allowed)}.")
                raise resource_not_found(resource)
            return route.handler(call)
        except DataverseError as error:
            return error.response()


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response.json(status, payload, {"Content-Type": JSON_TYPE, **(headers or {})})


def no_content(headers: dict[str, str] | None = None) -> Response:
    return Response(204, b"", dict(headers or {}))


def require_int(call: Call, name: str) -> int | None:
    text = call.param(name)
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        raise invalid_argument(f"The value '{text}' of {name} is not a whole number.") from None
    if value < 0:
        raise invalid_argument(f"{name} must not be negative.")
    return value

