"""Source connectors: read a source system's records, normalised, and its attachment bodies.

    ClinikoConnector   the Cliniko REST API (paged, rate-limited, retried)
    FilesConnector     a folder of customer-supplied exports (JSON, JSONL, CSV)

Both satisfy SourceConnector. Errors: engine.connectors.errors (tree in its docstring).
"""

from typing import TYPE_CHECKING

from engine.connectors.cliniko import ClinikoConnector
from engine.connectors.cliniko_account import api_base_url, check_user_agent, shard_from_key
from engine.connectors.errors import (
    AttachmentTooLarge,
    SourceAuthError,
    SourceConfigError,
    SourceError,
    SourceFileError,
    SourceProtocolError,
    SourceRequestError,
    SourceUnavailable,
)
from engine.connectors.files import FilesConnector
from engine.connectors.normalise import normalise_record
from engine.connectors.ratelimit import RateLimiter
from engine.connectors.retry import RetryPolicy
from engine.connectors.source import SourceConnector

__all__ = [
    "AttachmentTooLarge",
    "ClinikoConnector",
    "FilesConnector",
    "RateLimiter",
    "RetryPolicy",
    "SourceAuthError",
    "SourceConfigError",
    "SourceConnector",
    "SourceError",
    "SourceFileError",
    "SourceProtocolError",
    "SourceRequestError",
    "SourceUnavailable",
    "api_base_url",
    "check_user_agent",
    "normalise_record",
    "shard_from_key",
]

if TYPE_CHECKING:  # mypy proves both connectors satisfy the protocol

    def _conforms(api: ClinikoConnector, files: FilesConnector) -> tuple[SourceConnector, SourceConnector]:
        return api, files
