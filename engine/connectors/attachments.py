"""Writing an attachment body to disk: safe names, chunked streaming, the size cap.

The body goes to `<dest>/<id>-<safe filename>` through a `.part` file that is renamed
only when complete, so a file with the final name is always whole. Any failure
(network, size cap, disk) deletes the partial file; a retry starts from scratch.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from engine.connectors.errors import AttachmentTooLarge

CHUNK_BYTES = 64 * 1024
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_NAME = 120


def safe_filename(name: object, fallback: str = "attachment") -> str:
    """A file name without directories or characters that trouble file systems or shells."""
    text = str(name) if name not in (None, "") else fallback
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = _UNSAFE.sub("_", text).strip("._") or fallback
    if len(text) > _MAX_NAME:
        stem, dot, ext = text.rpartition(".")
        text = (stem[: _MAX_NAME - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 else text[:_MAX_NAME]
    return text


def attachment_path(dest: Path, record_id: str, filename: object) -> Path:
    return dest / f"{safe_filename(record_id, 'unknown')}-{safe_filename(filename)}"


def declared_size(record: dict[str, Any]) -> int | None:
    """The body size a record states (patient_attachments.size), if it is a usable integer."""
    value = record.get("size")
    if isinstance(value, bool):
        return None
    try:
        size = int(value) if isinstance(value, int | str) else None
    except ValueError:
        return None
    return size if size is not None and size >= 0 else None


def check_size(record_id: str, size: int | None, max_bytes: int | None) -> None:
    """Fail before downloading when the size is already known to exceed the cap."""
    if max_bytes is not None and size is not None and size > max_bytes:
        raise AttachmentTooLarge(record_id, size, max_bytes)


def write_stream(chunks: Iterable[bytes], target: Path, *, record_id: str,
                 max_bytes: int | None = None) -> Path:
    """Write `chunks` to `target` (via target.part), stopping at the cap; return `target`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    try:
        written = 0
        with part.open("wb") as handle:
            for chunk in chunks:
                written += len(chunk)
                if max_bytes is not None and written > max_bytes:
                    raise AttachmentTooLarge(record_id, written, max_bytes, at_least=True)
                handle.write(chunk)
        os.replace(part, target)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return target
