"""Writing outputs so that a re-run gives the same bytes: fixed zip timestamps and
permissions, and no file left over from an earlier run that the new one would not write."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

# The earliest time a zip entry can carry; any fixed value would do.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def deterministic_zip(entries: list[tuple[str, bytes]]) -> bytes:
    """A zip of `entries`, in the given order, with fixed timestamps and permissions."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3  # Unix, whatever system writes it
            archive.writestr(info, data)
    return buffer.getvalue()


def renormalise_zip(data: bytes) -> bytes:
    """The same archive (entries in the same order) with fixed timestamps and permissions."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        entries = [(info.filename, archive.read(info)) for info in archive.infolist()]
    return deterministic_zip(entries)


def write_tree(root: Path, files: dict[str, bytes], *, prune: str | None = None) -> list[Path]:
    """Write `files` (relative path → bytes) under `root`; return the paths written, sorted.

    With `prune` (a folder under `root`), files there that this run does not write are removed
    first, so a field dropped from the spec does not linger and get deployed again.
    """
    if prune is not None and (root / prune).is_dir():
        keep = {(root / rel).resolve() for rel in files}
        folder = root / prune
        for path in sorted(folder.rglob("*"), reverse=True):
            if path.is_file() and path.resolve() not in keep:
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
    written = []
    for rel in sorted(files):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(files[rel])
        written.append(path)
    return written
