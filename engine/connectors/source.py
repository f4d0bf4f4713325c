"""What every source connector offers the pipeline: normalised records and attachment bodies."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol


class SourceConnector(Protocol):
    """A readable source system (an API account or a folder of exported files).

    Records are NORMALISED (see engine.connectors.normalise): ids are strings, every
    to-one link object `x` has `x_id` beside it, and every catalogued field is present
    (absent → None). `read` yields each record of the resource exactly once.
    """

    system: str

    def read(self, resource: str, *, since: datetime | None = None,
             include_archived: bool = True) -> Iterator[dict[str, Any]]:
        """Records of `resource` changed at or after `since` (all when None)."""
        ...

    def download(self, record: dict[str, Any], dest: Path, *, max_bytes: int | None = None) -> Path:
        """Stream the attachment body of `record` into the folder `dest`; return the file's path.

        Raises AttachmentTooLarge (and leaves no partial file) when the body exceeds max_bytes.
        """
        ...

    def describe(self) -> str:
        """One line for logs, e.g. "Cliniko API at https://api.au1.cliniko.com/v1, shard au1"."""
        ...
