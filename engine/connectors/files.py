"""A folder of customer-supplied exports as a source.

Layout (flat; file names are matched case-sensitively against the catalog):

    <folder>/patients.json              a JSON array, or an API page envelope {"patients": [...], ...}
    <folder>/patients-2.json, …         more pages: <resource> then '-', '_' or '.' and anything
    <folder>/invoices.jsonl             one record per line
    <folder>/contacts.csv               Cliniko's CSV export (see export_formats for column names)
    <folder>/attachments/<id>…          attachment bodies, named by record id
                                        (`123.pdf`, `123-scan.pdf`; `1234.pdf` is not record 123's)

A `.json`, `.jsonl` or `.csv` file whose name is no resource of the catalog is an
error naming it (a misspelt file would otherwise be silently skipped); other files,
hidden files and folders are ignored. Files of one resource are read in natural
order (`-2` before `-10`). Records are normalised like the API's (string ids, link
ids, every catalogued field present) and yielded once per id: the first occurrence
that passes the filters wins. `since` keeps records whose `updated_at` is at or after
it (records without one are kept: they might be new); `include_archived=False` drops
records with an `archived_at`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.connectors import attachments
from engine.connectors.errors import SourceConfigError, SourceFileError, SourceProtocolError
from engine.connectors.export_formats import Located, iter_csv, iter_json, iter_jsonl
from engine.connectors.normalise import normalise_record
from engine.connectors.parallel import read_concurrently
from engine.spec.catalog import Catalog, load_catalog

FORMATS = (".json", ".jsonl", ".csv")
_DIGITS = re.compile(r"(\d+)")


def _natural(path: Path) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in _DIGITS.split(path.name)]


def resource_of(stem: str, resources: Sequence[str]) -> str | None:
    """The resource a file stem belongs to: the longest name equal to it or followed by - _ ."""
    matches = [r for r in resources if stem == r or (stem.startswith(r) and stem[len(r)] in "-_.")]
    return max(matches, key=len) if matches else None


class FilesConnector:
    """Reads exported records from a folder (see the module docstring for the layout)."""

    def __init__(self, folder: Path, *, system: str = "cliniko", catalog: Catalog | None = None) -> None:
        self.folder = Path(folder)
        self.system = system
        if not self.folder.is_dir():
            raise SourceConfigError(f"export folder {self.folder} does not exist or is not a folder")
        self._catalog = catalog or load_catalog("source", system)
        self._files: dict[str, list[Path]] = {}
        names = sorted(self._catalog.objects)
        for path in sorted(self.folder.iterdir(), key=_natural):
            if path.name.startswith(".") or not path.is_file() or path.suffix.lower() not in FORMATS:
                continue
            resource = resource_of(path.name[: -len(path.suffix)], names)
            if resource is None:
                raise SourceFileError(f"{path}: no {system} resource is named like this file; name export "
                                      f"files <resource>.json, .jsonl or .csv (pages <resource>-2.json ...) "
                                      f"with <resource> one of: {', '.join(names)}")
            self._files.setdefault(resource, []).append(path)

    def describe(self) -> str:
        count = sum(len(paths) for paths in self._files.values())
        return f"{self.system} export files in {self.folder} ({count} files, {len(self._files)} resources)"

    def __repr__(self) -> str:
        return f"FilesConnector({str(self.folder)!r}, system={self.system!r})"

    @property
    def resources(self) -> list[str]:
        """Resources that have at least one export file."""
        return sorted(self._files)

    def files(self, resource: str) -> list[Path]:
        self._fields(resource)
        return list(self._files.get(resource, []))

    def _fields(self, resource: str) -> list[str]:
        obj = self._catalog.objects.get(resource)
        if obj is None:
            raise SourceConfigError(f"unknown {self.system} resource {resource!r}; the catalog has: "
                                    f"{', '.join(sorted(self._catalog.objects))}")
        return list(obj.fields)

    def _located(self, resource: str, path: Path) -> Iterator[Located]:
        suffix = path.suffix.lower()
        if suffix == ".jsonl":
            return iter_jsonl(path)
        if suffix == ".csv":
            return iter_csv(path, self._catalog.objects[resource].label)
        return iter_json(path, resource)

    def read(self, resource: str, *, since: datetime | None = None,
             include_archived: bool = True) -> Iterator[dict[str, Any]]:
        fields = self._fields(resource)
        id_fields = {f.name for f in self._catalog.objects[resource].fields.values() if f.type == "id"}
        floor = _aware(since) if since is not None else None
        seen: set[str] = set()
        for path in self._files.get(resource, []):
            for where, raw in self._located(resource, path):
                try:
                    record = normalise_record(raw, fields, id_fields=id_fields, where=where)
                except SourceProtocolError as exc:
                    raise SourceFileError(str(exc)) from None
                record_id = record.get("id")
                if not isinstance(record_id, str) or not record_id.strip():
                    raise SourceFileError(f"{where}: record has no id")
                if record_id in seen:
                    continue
                if not include_archived and record.get("archived_at") not in (None, ""):
                    continue
                if floor is not None and not _changed_since(record.get("updated_at"), floor, where):
                    continue
                seen.add(record_id)
                yield record

    def read_many(self, resources: Sequence[str], since: datetime | None = None, workers: int = 4, *,
                  include_archived: bool = True) -> Iterator[tuple[str, dict[str, Any]]]:
        for resource in resources:
            self._fields(resource)
        return read_concurrently(lambda r: self.read(r, since=since, include_archived=include_archived),
                                 resources, workers=workers)

    def download(self, record: dict[str, Any], dest: Path, *, max_bytes: int | None = None) -> Path:
        record_id = str(record.get("id") or "")
        if not record_id:
            raise SourceFileError("cannot download an attachment for a record without an id")
        source = self._attachment_file(record_id)
        attachments.check_size(record_id, attachments.declared_size(record), max_bytes)
        attachments.check_size(record_id, source.stat().st_size, max_bytes)
        target = attachments.attachment_path(dest, record_id, record.get("filename") or source.name)
        with source.open("rb") as handle:
            chunks = iter(lambda: handle.read(attachments.CHUNK_BYTES), b"")
            return attachments.write_stream(chunks, target, record_id=record_id, max_bytes=max_bytes)

    def _attachment_file(self, record_id: str) -> Path:
        folder = self.folder / "attachments"
        entries = sorted(folder.iterdir()) if folder.is_dir() else []
        candidates = [p for p in entries if p.is_file() and _names_record(p.name, record_id)]
        if not candidates:
            raise SourceFileError(f"{folder}: no attachment body for record {record_id} (expected a file "
                                  f"named {record_id} or {record_id}-<name> / {record_id}.<ext>)")
        if len(candidates) > 1:
            raise SourceFileError(f"{folder}: several files could be the body of record {record_id}: "
                                  f"{', '.join(p.name for p in candidates)}; keep one")
        return candidates[0]


def _names_record(name: str, record_id: str) -> bool:
    return name == record_id or (name.startswith(record_id) and name[len(record_id)] in "-_. ")


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _changed_since(value: object, floor: datetime, where: str) -> bool:
    if value in (None, ""):
        return True
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise SourceFileError(f"{where}: updated_at {value!r} is not an ISO date and time") from None
    return _aware(moment) >= floor


