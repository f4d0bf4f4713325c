"""The Salesforce emulator: a route table and the request pipeline, a function Request → Response.

    app = SalesforceApp(org, tokens={DEFAULT_TOKEN: None})
    app.add_routes([Route("POST", r"/jobs/ingest", create_job)])      # another module's resources
    EmulatorServer(app, tls=tls, fault_response=fault_response)

A route's `pattern` is a regular expression matched (case-insensitively, in
full) against the path after `/services/data/vNN.N` (`versioned=True`, the
default) or against the whole path (`versioned=False`: `/services/oauth2/...`,
`/services/Soap/...`). A trailing slash never matters. Named groups arrive
percent-decoded in `Call.params`. Routes are tried in the order added, so a
specific pattern goes before a general one (`/sobjects/T/describe` before
`/sobjects/T/{id}`; `add_routes(..., first=True)` puts new ones before the
built-in ones); a path that matches only with other methods answers 405.

Every request runs this pipeline:
1. `/services/data` (the version list) is public, as on the platform.
2. `/services/data/vNN.N/...`: the version must be one the org serves
   (20.0 to the catalog's api_version; 404 otherwise).
3. Authentication (`Route.auth`, always for versioned paths):
   `Authorization: Bearer <token>` with a configured token, else 401
   INVALID_SESSION_ID "Session expired or invalid". A token maps to a user
   (None: the API user). Routes that authenticate otherwise (SOAP's
   SessionHeader) set auth=False and call `user_for_token`.
4. Daily API allowance (`Route.counted`, the default for versioned paths):
   every authenticated call is counted, 404s and 400s included; when the
   allowance is used up every call gets 403 REQUEST_LIMIT_EXCEEDED
   "TotalRequests Limit exceeded." Counted answers carry
   `Sforce-Limit-Info: api-usage=N/M`. The version list and
   `/services/oauth2/userinfo` are not counted.
5. The handler; a `RequestError` it raises becomes its error answer. A
   JSON_PARSER_ERROR about a field value gets the value's position in the raw
   body appended ("at [line:1, column:42]", the column just after the value).

Request bodies of JSON routes (`Call.json_body()`) must be JSON: a body sent
with another Content-Type (e.g. the `text/xml` simple-salesforce leaves behind
after a deploy, ref §0.4) is refused with 415 UNSUPPORTED_MEDIA_TYPE, so that
mistake shows in the sandbox. XML bodies are not emulated.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from engine.sandbox.salesforce.errors import (
    RequestError,
    fault_response,
    invalid_session,
    limit_exceeded,
    method_not_allowed,
    not_found,
)
from engine.sandbox.salesforce.ids import make_id
from engine.sandbox.salesforce.org import Org
from engine.sandbox.server import Request, Response

OLDEST_VERSION = 20
LISTED_FROM = 31  # the version list starts here (Summer '14), as a current org's does
# Matches the sf CLI's access-token pattern /(00D\w{12,15})![.\w]*/.
DEFAULT_TOKEN = f"{make_id('00D', 1)}!flitstack.sandbox.session"
_VERSIONED = re.compile(r"^/services/data/v(?P<version>\d{2,3}\.\d)(?P<rest>/.*)?$", re.IGNORECASE)
_SEASONS = ("Winter", "Spring", "Summer")

Handler = Callable[["Call"], Response]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: str
    handler: Handler
    versioned: bool = True
    auth: bool = True
    counted: bool = True
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "regex", re.compile(f"^{self.pattern}$", re.IGNORECASE))


@dataclass
class Call:
    """One request as a handler sees it."""

    request: Request
    app: SalesforceApp
    version: str  # "62.0"; "" on unversioned routes
    params: dict[str, str]
    user_id: str | None  # None when the route does its own authentication

    @property
    def org(self) -> Org:
        return self.app.org

    @property
    def version_number(self) -> float:
        return float(self.version or self.app.latest_version)

    @property
    def as_user(self) -> str:
        return self.user_id or self.org.api_user_id

    def param(self, name: str, default: str | None = None) -> str | None:
        return self.request.param(name, default)

    def flag(self, name: str) -> bool:
        return (self.param(name) or "").strip().lower() == "true"

    def json_body(self) -> Any:
        """The request body as JSON, or 415 (not JSON) / 400 JSON_PARSER_ERROR (malformed)."""
        content_type = (self.request.headers.get("content-type") or "").split(";")[0].strip().lower()
        if self.request.body and content_type and not (content_type.endswith("/json") or
                                                       content_type.endswith("+json")):
            raise RequestError("UNSUPPORTED_MEDIA_TYPE", f"Content type '{content_type}' is not supported "
                               "by this sandbox resource: send the body as application/json", status=415)
        try:
            return json.loads(self.request.body.decode("utf-8") or "null")
        except UnicodeDecodeError:
            raise RequestError("JSON_PARSER_ERROR", "Invalid UTF-8 in the request body") from None
        except json.JSONDecodeError as error:
            raise RequestError("JSON_PARSER_ERROR", f"Unexpected character in JSON: {error.msg} "
                               f"at [line:{error.lineno}, column:{error.colno}]") from None

    def json_object(self) -> dict[str, Any]:
        body = self.json_body()
        if not isinstance(body, dict):
            raise RequestError("JSON_PARSER_ERROR", "Cannot deserialize the request body: a JSON object is "
                               "expected at [line:1, column:1]")
        return body


class SalesforceApp:
    """The emulator of one org. Extend it with `add_routes`."""

    def __init__(self, org: Org, *, tokens: Mapping[str, str | None] | None = None) -> None:
        self.org = org
        self.tokens: dict[str, str | None] = dict(tokens if tokens is not None else {DEFAULT_TOKEN: None})
        self.latest_version = org.version
        self.routes: list[Route] = []
        self._state: dict[str, Any] = {}
        self._state_lock = threading.Lock()
        from engine.sandbox.salesforce import composite, queries, rest  # the built-in resources

        self.add_routes(rest.routes())
        self.add_routes(queries.routes())
        self.add_routes(composite.routes())

    def add_routes(self, routes: Iterable[Route], *, first: bool = False) -> None:
        """Add resources; `first` puts them before the built-in ones (to take over e.g.
        POST /sobjects/ContentVersion, which the generic create would otherwise answer)."""
        added = list(routes)
        self.routes = [*added, *self.routes] if first else [*self.routes, *added]

    def state(self, key: str, factory: Callable[[], Any]) -> Any:
        """Per-app state of a route module (query cursors, bulk jobs...), made by `factory` on first use."""
        with self._state_lock:
            if key not in self._state:
                self._state[key] = factory()
            return self._state[key]

    # -- entry points --------------------------------------------------------------------------------

    def __call__(self, request: Request) -> Response:
        try:
            return self._handle(request)
        except RequestError as error:
            if error.locate is not None and request.body:
                error.message += _position(request.body, *error.locate)
            return error.response()

    def fault_response(self, status: int) -> Response:
        return fault_response(status)

    def user_for_token(self, token: str | None) -> str:
        """The user a session token authenticates (the API user for tokens mapped to None); 401 otherwise."""
        if token is None or token not in self.tokens:
            raise invalid_session()
        return self.tokens[token] or self.org.api_user_id

    # -- pipeline ------------------------------------------------------------------------------------

    def _handle(self, request: Request) -> Response:
        path = request.path.rstrip("/") or "/"
        if path.lower() == "/services/data":
            return Response.json(200, self.versions())
        versioned = _VERSIONED.match(path)
        version = ""
        if versioned:
            version = versioned["version"]
            if not OLDEST_VERSION <= float(version) <= float(self.latest_version):
                raise not_found()
        route, params, error = self._match(request.method, versioned["rest"] or "/" if versioned else path,
                                           bool(versioned))
        user_id = None
        if versioned or (route is not None and route.auth):
            user_id = self.user_for_token(_bearer(request.headers.get("authorization")))
        if route is None:
            raise error or not_found()
        headers: dict[str, str] = {}
        if route.counted:
            usage = self.org.count_api_call()
            if usage is None:
                raise limit_exceeded()
            headers["Sforce-Limit-Info"] = f"api-usage={usage.used}/{usage.limit}"
        try:
            response = route.handler(Call(request, self, version, params, user_id))
        except RequestError as failure:
            if failure.locate is not None and request.body:
                failure.message += _position(request.body, *failure.locate)
            response = failure.response()
        response.headers.update(headers)
        return response

    def _match(self, method: str, path: str, versioned: bool) -> tuple[Route | None, dict[str, str],
                                                                        RequestError | None]:
        allowed: list[str] = []
        for route in self.routes:
            if route.versioned != versioned:
                continue
            match = route.regex.match(path)
            if match is None:
                continue
            if route.method == method or (method == "HEAD" and route.method == "GET"):
                return route, {k: unquote(v) for k, v in match.groupdict().items() if v is not None}, None
            if route.method not in allowed:
                allowed.append(route.method)
        return None, {}, method_not_allowed(method, allowed) if allowed else None

    def versions(self) -> list[dict[str, str]]:
        """GET /services/data: every version from 31.0 to the org's, oldest first."""
        latest = int(float(self.latest_version))
        return [{"label": _release(v), "url": f"/services/data/v{v}.0", "version": f"{v}.0"}
                for v in range(LISTED_FROM, latest + 1)]


def _bearer(authorization: str | None) -> str | None:
    scheme, _, token = (authorization or "").strip().partition(" ")
    return token.strip() if scheme.lower() in ("bearer", "oauth") and token.strip() else None


def _release(version: int) -> str:
    """The release name of an API version: 62 is Winter '25, 63 Spring '25, 64 Summer '25, ..."""
    offset = version - 62
    return f"{_SEASONS[offset % 3]} '{25 + offset // 3:02d}"


def _position(raw: bytes, key: str, value: Any) -> str:
    """' at [line:L, column:C]' just after the first `"key": value` in the raw JSON body, or ''."""
    text = raw.decode("utf-8", errors="replace")
    decoder = json.JSONDecoder()
    name = re.escape(json.dumps(key)[1:-1])
    for match in re.finditer(rf'"{name}"\s*:\s*', text, re.IGNORECASE):
        try:
            found, end = decoder.raw_decode(text, match.end())
        except json.JSONDecodeError:
            continue
        if found == value:
            line = text.count("\n", 0, end) + 1
            column = end - (text.rfind("\n", 0, end) + 1) + 1
            return f" at [line:{line}, column:{column}]"
    return ""
