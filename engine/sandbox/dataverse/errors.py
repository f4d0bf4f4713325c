"""Dataverse's error answers, as the emulator sends them (ref §4).

    DataverseError                 a refused request → HTTP `status`, {"error": {"code", "message"}}
    ├── 400 0x0         / 0x80060888  unknown property in a body, $select or $filter
    ├── 400 0x80048d19  undeclared navigation property in an @odata.bind; unreadable $batch
    ├── 400 0x80044331  validation (string too long, option not in the set, required column)
    ├── 400 0x80040203  invalid argument (malformed key, bad literal)
    ├── 400 0x80044a02  attachment file too big
    ├── 401             no or unknown bearer token (WWW-Authenticate names the authority)
    ├── 404 0x80040217  row does not exist;   0x8006088a unknown resource segment
    ├── 412 0x80040237  duplicate key (create-only upsert, POST with a taken alternate key)
    ├── 412 0x80060882  If-Match version does not match
    ├── 429 0x80072322  service protection: too many requests in the window (Retry-After)
    └── 503             injected fault
"""

from __future__ import annotations

from typing import Any

from engine.sandbox.server import Response

ERROR_CONTENT_TYPE = "application/json; odata.metadata=minimal"

OBJECT_DOES_NOT_EXIST = "0x80040217"
UNDECLARED_PROPERTY = "0x80048d19"
VALIDATION = "0x80044331"
INVALID_ARGUMENT = "0x80040203"
FILE_TOO_BIG = "0x80044a02"
DUPLICATE_RECORD = "0x80040237"
VERSION_MISMATCH = "0x80060882"
RESOURCE_NOT_FOUND = "0x8006088a"
PROPERTY_NOT_FOUND = "0x80060888"
REQUEST_LIMIT = "0x80072322"


class DataverseError(Exception):
    """A refusal of one request (inside a $batch: of that part)."""

    def __init__(self, status: int, code: str, message: str, *,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}

    def response(self) -> Response:
        return Response.json(self.status, self.body(), {"Content-Type": ERROR_CONTENT_TYPE, **self.headers})


def does_not_exist(table: str, row_id: str) -> DataverseError:
    return DataverseError(404, OBJECT_DOES_NOT_EXIST, f"{table} With Id = {row_id} Does Not Exist")


def key_row_missing(table: str, key: str) -> DataverseError:
    return DataverseError(404, OBJECT_DOES_NOT_EXIST, "A record with the specified key values does not "
                          f"exist in {table} entity ({key})")


def resource_not_found(segment: str) -> DataverseError:
    return DataverseError(404, RESOURCE_NOT_FOUND, f"Resource not found for the segment '{segment}'.")


def invalid_property(name: str, table: str) -> DataverseError:
    return DataverseError(400, "0x0", f"Invalid property '{name}' was found in entity "
                          f"'Microsoft.Dynamics.CRM.{table}'.")


def unknown_property(name: str, table: str) -> DataverseError:
    return DataverseError(400, PROPERTY_NOT_FOUND, f"Could not find a property named '{name}' on type "
                          f"'Microsoft.Dynamics.CRM.{table}'.")


def undeclared_property(name: str) -> DataverseError:
    return DataverseError(400, UNDECLARED_PROPERTY, f"An undeclared property '{name}' which only has "
                          "property annotations in the payload but no property value was found in the "
                          "payload. In OData, only declared navigation properties and declared named streams "
                          "can be represented as properties without values.")


def invalid_argument(message: str) -> DataverseError:
    return DataverseError(400, INVALID_ARGUMENT, message)


def validation(message: str) -> DataverseError:
    return DataverseError(400, VALIDATION, f"A validation error occurred. {message}")


def duplicate_key() -> DataverseError:
    return DataverseError(412, DUPLICATE_RECORD, "A record with matching key values already exists.")


def unauthorized(base_url: str, tenant: str) -> DataverseError:
    challenge = (f"Bearer authorization_uri={base_url}/{tenant}/oauth2/authorize, "
                 f"resource_id={base_url}/")
    return DataverseError(401, "", "The user is not authenticated: send a valid bearer token.",
                          headers={"WWW-Authenticate": challenge})


def too_many_requests(limit: int, window_seconds: int, retry_after: int) -> DataverseError:
    return DataverseError(429, REQUEST_LIMIT, f"Number of requests exceeded the limit of {limit} over time "
                          f"window of {window_seconds} seconds.", headers={"Retry-After": str(retry_after)})


def fault_response(status: int) -> Response:
    """The answers for the server's injected faults: 429 is the request limit, 503 the unavailable server."""
    if status == 429:
        return DataverseError(429, REQUEST_LIMIT, "Number of requests exceeded the limit of 6000 over time "
                              "window of 300 seconds.", headers={"Retry-After": "1"}).response()
    return DataverseError(status, "0x80040216", "The service is temporarily unavailable (injected fault). "
                          "Retry the request later.", headers={"Retry-After": "1"}).response()
