"""Errors of the source connectors, drawn as a tree so callers catch at the right level.

    FlitstackError                      (engine.errors)
    └── SourceError                     reading the source failed
        ├── SourceConfigError           the connector is set up wrongly (user agent, base URL,
        │                               unknown resource, missing folder); fix the setup and rerun
        ├── SourceAuthError             HTTP 401/403: the key is wrong or its user lacks rights;
        │                               never retried, the message names the env var holding the key
        ├── SourceRequestError          HTTP 400/404/422 and other 4xx: the source refused the request
        ├── SourceUnavailable           transient failures outlasted the retry budget; rerun later
        ├── SourceProtocolError         a response did not have the documented shape
        ├── SourceFileError             an export file is unknown or malformed (file:line)
        └── AttachmentTooLarge          an attachment body exceeds the size cap; quarantine it

Terminal versus transient: only SourceUnavailable means "the same request may work later";
every other class needs a change (key, spec, file, cap) before a rerun can succeed.
Messages never contain an API key.
"""

from __future__ import annotations

from engine.errors import FlitstackError


class SourceError(FlitstackError):
    """Reading the source system failed."""


class SourceConfigError(SourceError):
    """The connector was given settings it cannot work with."""


class SourceAuthError(SourceError):
    """The source rejected the credentials (401) or their user lacks a permission (403)."""


class SourceRequestError(SourceError):
    """The source refused a request as invalid (400, 404, 422...); retrying cannot help."""

    def __init__(self, message: str, status: int) -> None:
        self.status = status
        super().__init__(message)


class SourceUnavailable(SourceError):
    """The source kept failing (5xx, timeouts, resets, rate limits) past the retry budget."""


class SourceProtocolError(SourceError):
    """A response is malformed: not JSON, no record array, a record without an id..."""


class SourceFileError(SourceError):
    """A customer-supplied export file is unknown or malformed; the message starts with file:line."""


class AttachmentTooLarge(SourceError):
    """An attachment body is larger than the cap; the partial file has been deleted.

    `size` is the declared size when the source gave one, else the bytes received before
    stopping (then `at_least` is true).
    """

    def __init__(self, record_id: str, size: int, limit: int, *, at_least: bool = False) -> None:
        self.record_id = record_id
        self.size = size
        self.limit = limit
        self.at_least = at_least
        amount = f"at least {size}" if at_least else str(size)
        super().__init__(f"attachment {record_id} is {amount} bytes, over the {limit}-byte cap; "
                         "quarantine it or raise the cap")
