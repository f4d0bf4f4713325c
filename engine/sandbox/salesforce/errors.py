"""Salesforce's error answers and save results, as the emulator sends them.

    RequestError                  a request the platform refuses as a whole (raised by rules, org, SOQL)
    │                             → HTTP `status` with [{"message", "errorCode"(, "fields")}]
    ├── 400 JSON_PARSER_ERROR     a value that does not deserialize into its field's type
    ├── 400 INVALID_FIELD         unknown field / relationship in a body or query
    ├── 400 MALFORMED_QUERY, INVALID_TYPE, INVALID_QUERY_FILTER_OPERATOR, INVALID_QUERY_LOCATOR
    ├── 401 INVALID_SESSION_ID    "Session expired or invalid"
    ├── 403 REQUEST_LIMIT_EXCEEDED "TotalRequests Limit exceeded."
    ├── 404 NOT_FOUND             "The requested resource does not exist"
    ├── 405 METHOD_NOT_ALLOWED, 415 UNSUPPORTED_MEDIA_TYPE
    └── 503 SERVER_UNAVAILABLE    (injected faults)
    SaveError                     one record's problem: {"statusCode", "message", "fields"}
    SaveResult                    one record's outcome: {"id", "success", "errors"(, "created")}

Top-level errors use `errorCode`, per-record errors `statusCode` (ref §0.10).
A single-record REST write that fails answers 400 with its SaveErrors
rewritten to the top-level shape (`errorCode`, and `fields` kept).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.sandbox.server import Response

NOT_FOUND_MESSAGE = "The requested resource does not exist"
INVALID_SESSION = "Session expired or invalid"
LIMIT_EXCEEDED = "TotalRequests Limit exceeded."


class RequestError(Exception):
    """A refusal of the whole request; `locate` names the (field, value) a JSON_PARSER_ERROR is about."""

    def __init__(self, error_code: str, message: str, *, status: int = 400,
                 fields: Sequence[str] | None = None, locate: tuple[str, Any] | None = None) -> None:
        super().__init__(f"{error_code}: {message}")
        self.error_code = error_code
        self.message = message
        self.status = status
        self.fields = list(fields) if fields is not None else None
        self.locate = locate

    def body(self) -> list[dict[str, Any]]:
        item: dict[str, Any] = {"message": self.message, "errorCode": self.error_code}
        if self.fields is not None:
            item["fields"] = self.fields
        return [item]

    def response(self, headers: dict[str, str] | None = None) -> Response:
        return Response.json(self.status, self.body(), headers)


@dataclass(frozen=True)
class SaveError:
    status_code: str
    message: str
    fields: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"statusCode": self.status_code, "message": self.message, "fields": list(self.fields)}

    def top_level(self) -> dict[str, Any]:
        return {"message": self.message, "errorCode": self.status_code, "fields": list(self.fields)}


@dataclass
class SaveResult:
    """What one create, update, upsert or delete did. `created` is set by upserts (and inserts)."""

    id: str | None
    success: bool
    errors: list[SaveError] = field(default_factory=list)
    created: bool | None = None

    @classmethod
    def failed(cls, *errors: SaveError, id: str | None = None) -> SaveResult:
        return cls(id, False, list(errors))

    def to_json(self, *, with_created: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.id is not None or self.success:
            out["id"] = self.id
        out["success"] = self.success
        out["errors"] = [e.to_json() for e in self.errors]
        if with_created and self.success:
            out["created"] = bool(self.created)
        return out


def not_found(message: str = NOT_FOUND_MESSAGE) -> RequestError:
    return RequestError("NOT_FOUND", message, status=404)


def invalid_session() -> RequestError:
    return RequestError("INVALID_SESSION_ID", INVALID_SESSION, status=401)


def limit_exceeded() -> RequestError:
    return RequestError("REQUEST_LIMIT_EXCEEDED", LIMIT_EXCEEDED, status=403)


def method_not_allowed(method: str, allowed: Sequence[str]) -> RequestError:
    return RequestError("METHOD_NOT_ALLOWED",
                        f"HTTP Method '{method}' not allowed. Allowed are {','.join(allowed)}", status=405)


def malformed_request(message: str) -> RequestError:
    return RequestError("MALFORMED_REQUEST", message)


def fault_response(status: int) -> Response:
    """Salesforce's answers for the server's injected faults.

    The FaultPlan's "429" draw becomes the platform's own throttle answer, 403
    REQUEST_LIMIT_EXCEEDED (Salesforce's REST API does not send 429); 503 is
    SERVER_UNAVAILABLE. Dropped connections and slow answers need no body.
    """
    if status in (403, 429):
        return limit_exceeded().response()
    if status == 503:
        return RequestError("SERVER_UNAVAILABLE", "Server temporarily unavailable. Retry the request later.",
                            status=503).response({"Retry-After": "1"})
    return RequestError("UNKNOWN_EXCEPTION", "An unexpected error occurred. Please include this ErrorId if "
                        "you contact support: 0-0 (injected fault)", status=status).response()
