"""Cliniko's error answers, as the emulator sends them.

    ApiError                         raised by any part of the emulator; becomes the response
    ├── status 400  bad request      {"message": "..."}
    │                                (unknown filter column: "This column is not searchable.")
    ├── status 401  unauthorised     text/plain "HTTP Basic: Access denied." (Rails' basic-auth answer)
    ├── status 404  not found        {"message": "Not found"}
    ├── status 406  not acceptable   empty body (the client does not take JSON)
    ├── status 422  validation       {"message": "Validation Failed", "errors": {"field": "can’t be blank"}}
    └── status 429  rate limited     {"message": "Too many requests"} + X-RateLimit-Reset, Retry-After

Confirmed by Cliniko's docs or issues: the 400 "not searchable" body, the 422
shape (error values are strings, not arrays), the 429 status and
X-RateLimit-Reset, the text "Requires a user agent". Chosen here (unconfirmed):
the other bodies, `Retry-After`, and 400 as the status of the user-agent block.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from engine.sandbox.server import Response

NOT_SEARCHABLE = "This column is not searchable."
ACCESS_DENIED = "HTTP Basic: Access denied.\n"


class ApiError(Exception):
    """An error answer; the API layer turns it into its response."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def message(status: int, text: str, headers: Mapping[str, str] | None = None) -> Response:
    return Response.json(status, {"message": text}, dict(headers or {}))


def bad_request(text: str) -> ApiError:
    return ApiError(message(400, text))


def not_searchable() -> ApiError:
    return bad_request(NOT_SEARCHABLE)


def not_found() -> ApiError:
    return ApiError(message(404, "Not found"))


def unauthorized() -> ApiError:
    return ApiError(Response(401, ACCESS_DENIED.encode(), {
        "Content-Type": "text/plain; charset=utf-8",
        "WWW-Authenticate": 'Basic realm="Application"',
    }))


def user_agent_required() -> ApiError:
    return bad_request("Requires a user agent")


def not_acceptable() -> ApiError:
    return ApiError(Response(406, b""))


def validation_failed(errors: Mapping[str, str]) -> ApiError:
    return ApiError(Response.json(422, {"message": "Validation Failed", "errors": dict(errors)}))


def unprocessable(text: str) -> ApiError:
    return ApiError(message(422, text))


def too_many_requests(now: float, reset_at: float) -> Response:
    """429 with the epoch second at which a request slot frees, and the same as a delay."""
    reset = math.ceil(reset_at)
    wait = max(1, math.ceil(reset_at - now))
    return message(429, "Too many requests", {"X-RateLimit-Reset": str(reset), "Retry-After": str(wait)})


def service_unavailable(retry_after: int) -> Response:
    return message(503, "Service Unavailable", {"Retry-After": str(retry_after)})
