"""Dataverse (Dynamics 365 Sales) as the runner sees it: the `Target` interface over the Web API.

Records are upserted by the spec's key column (an alternate key, `fs_clinikoid`), through
`Upserter` (dataverse_upsert.py: one PATCH per record, UpsertMultiple or $batch). This
module routes each table to what it needs on top:

- tasks (appointments) are created open, then closed: statecode/statuscode come from
  the spec's value maps and are PATCHed after the upsert when they differ from the row's.
  A closed task is read-only: when a re-run finds one whose written values are those
  already there, it is skipped; when they differ, it is reopened, updated and closed
  again. Lookups given as `Ref`s are not part of that comparison (it would cost a query
  per parent), so a closed task whose only change is a lookup keeps its old one;
- notes (treatment notes) and attachments are annotations keyed on `annotationid`, a GUID
  derived from the spec key. An attachment's `documentbody` holds the source's download
  address: the file is fetched with `download`, Base64-encoded and refused with
  FILE_TOO_LARGE (and the sizes) when the Base64 text is above the organisation's
  `maxuploadfilesize`, read once from `organizations`. A note that exists keeps its file:
  only its other columns are updated, so a re-run downloads nothing again;
- products, invoices and invoice lines get the catalog, price list and unit they need
  (dataverse_sales.py);
- with a SharePoint site configured (`sharepoint`, dataverse_sharepoint.py), attachments
  are files in the record's SharePoint folder instead of annotations: downloaded, refused
  with FILE_TOO_LARGE above SharePoint's limit, sent unless the same path already holds a
  file of the same size; the result's target id is the driveItem's id (not a GUID, which
  is how `delete` tells the two apart). The note's subject and text are not kept there.
  No `sharepointdocumentlocation` row is written: the emulator has no such table yet.

`overriddencreatedon` (and every other column the metadata marks not valid for update)
is sent on create only: the rows that exist are found by key before each write, which
is also what tells a create from an update for UpsertMultiple.

Owners (dataverse_owners.py): practitioners are matched to enabled systemusers by
e-mail; when the spec names no fallback, unresolved practitioners' records get the
user the loader signs in as (WhoAmI), explicitly, so no record is written without an
owner the migration chose.
"""

from __future__ import annotations

import base64
import tempfile
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from engine.compile.compiler import CompiledSpec
from engine.connectors.errors import AttachmentTooLarge, SourceProtocolError, SourceRequestError
from engine.load.dataverse_batch import BatchRequest
from engine.load.dataverse_client import DataverseClient, TableInfo
from engine.load.dataverse_owners import match_owners
from engine.load.dataverse_records import Renderer, plain, row_id
from engine.load.dataverse_sales import SalesCatalog
from engine.load.dataverse_sharepoint import SharePointFiles, SharePointRefused, file_name, folder_name
from engine.load.dataverse_upsert import (
    DEFAULT_BULK_BATCH,
    DEFAULT_BULK_THRESHOLD,
    KEYS_PER_QUERY,
    Upserter,
    chunks,
    in_filter,
)
from engine.load.target import LoadResult, LoadStep, OwnerMatch, Target
from engine.records import Ref, TargetRecord
from engine.spec.limits import target_limit

Download = Callable[[TargetRecord, Path], Path]
"""Fetch an attachment's content into a folder; returns the file (the source connector's download)."""

FILE_TOO_LARGE = "FILE_TOO_LARGE"
NO_FILE_SOURCE = "NO_FILE_SOURCE"
SOURCE_FILE_UNAVAILABLE = "SOURCE_FILE_UNAVAILABLE"
PARENT_NOT_FOUND = "PARENT_NOT_FOUND"
PRIMARY_NAMES = {"contact": "fullname", "account": "name"}  # what a record's SharePoint folder is named after
FILE_COLUMNS = ("documentbody", "filename", "mimetype")
STATE = ("statecode", "statuscode")
OPEN_TASK = {"statecode": 0, "statuscode": 2}
DEFAULT_MAX_UPLOAD = 5_242_880  # limits.yaml annotation_max_bytes, when the organisation does not say
_NEVER_READ = frozenset({"documentbody", "overriddencreatedon"})
OVERRIDDEN_CREATED_ON = "overriddencreatedon"
CONTENT_FIELDS = ("documentbody", "filename")  # an attachment's source address and file name
CREATED_ON = "createdon"
NOT_READ_BACK = {"documentbody": "the file's content is uploaded, not read back"}
KEYED_BY_ID = {"annotation": "annotationid"}  # tables whose spec key becomes the primary id


class DataverseTarget:
    def __init__(self, client: DataverseClient, *, spec_targets: Mapping[str, tuple[str, str]], label: str,
                 owner_field: str | None = "ownerid", download: Download | None = None,
                 bulk_threshold: int = DEFAULT_BULK_THRESHOLD, bulk_batch: int = DEFAULT_BULK_BATCH,
                 upsert_multiple: bool | None = None, price_list: str | None = None,
                 lookup_parents: Mapping[tuple[str, str], str] | None = None,
                 sharepoint: SharePointFiles | None = None) -> None:
        """`spec_targets`: spec object → (table, key column); `lookup_parents`: (table, lookup column) →
        the table the spec's lookup points at (how a before-image's bare GUID is bound back); `sharepoint`:
        where attachments go instead of annotations."""
        self.client = client
        self.spec_targets = dict(spec_targets)
        self.sharepoint = sharepoint
        self.label = label
        self.download = download
        self.owner_field = owner_field
        self.renderer = Renderer(client, spec_targets, owner_field)
        self.upserter = Upserter(client, self.renderer, bulk_threshold=bulk_threshold, bulk_batch=bulk_batch,
                                 upsert_multiple=upsert_multiple)
        self.sales = SalesCatalog(client, price_list=price_list)
        self.lookup_parents = dict(lookup_parents or {})
        self._max_upload: int | None = None

    @classmethod
    def for_spec(cls, client: DataverseClient, compiled: CompiledSpec, *, label: str,
                 download: Download | None = None, **options: Any) -> DataverseTarget:
        loaded = compiled.loaded
        spec = loaded.spec
        spec_targets = {name: (obj.target, obj.key.target) for name, obj in spec.objects.items()
                        if obj.key is not None}
        parents: dict[tuple[str, str], str] = {}
        for obj in spec.objects.values():
            for rule in obj.lookups():
                if str(rule.value) in spec_targets:
                    parents[(obj.target, rule.target)] = spec_targets[str(rule.value)][0]
        for option, limit in (("bulk_threshold", "bulk_threshold"), ("bulk_batch", "upsert_multiple_batch")):
            value = target_limit(loaded.target, limit)
            if value:
                options.setdefault(option, int(value))
        return cls(client, spec_targets=spec_targets, label=label, owner_field=loaded.target.owner_field,
                   download=download, lookup_parents=parents, **options)

    # -- reading -----------------------------------------------------------------------------------
    def find(self, step: LoadStep, keys: Sequence[str],
             fields: Collection[str]) -> dict[str, dict[str, Any]]:
        """Rows with these keys: key → {"Id": guid, field: value}; lookups as the GUID they point at."""
        info = self.client.table(step.target_object)
        names = self._readable(info, fields, step.key_field)
        rows = self.upserter.existing(step.target_object, step.key_field, keys,
                                      [_column(info, n) for n in names])
        return {key: {"Id": str(row[info.primary_id]), **_values(info, row, names)}
                for key, row in rows.items()}

    def read(self, target_object: str, ids: Sequence[str],
             fields: Sequence[str]) -> dict[str, dict[str, Any]]:
        return self._rows(target_object, ids, fields, _NEVER_READ)

    def _rows(self, target_object: str, ids: Sequence[str], fields: Sequence[str],
              never: frozenset[str]) -> dict[str, dict[str, Any]]:
        info = self.client.table(target_object)
        names = self._readable(info, fields, info.primary_id, never)
        found: dict[str, dict[str, Any]] = {}
        for chunk in chunks(list(dict.fromkeys(ids)), KEYS_PER_QUERY):
            select = list(dict.fromkeys([info.primary_id, *(_column(info, n) for n in names)]))
            for row in self.client.query(info.entity_set, select=select,
                                         filter=in_filter(info.primary_id, chunk)):
                row_id_ = str(row[info.primary_id])
                found[row_id_] = {"Id": row_id_, **_values(info, row, names)}
        return found

    def not_read_back(self, target_object: str) -> Mapping[str, str]:
        if target_object in KEYED_BY_ID:
            return {**NOT_READ_BACK, KEYED_BY_ID[target_object]: "the key is kept as the record's id, a GUID "
                    "derived from it (uuid5), not as written"}
        return NOT_READ_BACK

    def read_back(self, target_object: str, ids: Sequence[str],
                  fields: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Rows as the spec wrote them. `overriddencreatedon` is read from `createdon`, which took its
        value on create (the column itself then holds the real insert time; null when none was sent)."""
        skipped = self.not_read_back(target_object)
        wanted = [f for f in fields if f not in skipped]
        names = list(dict.fromkeys(CREATED_ON if f == OVERRIDDEN_CREATED_ON else f for f in wanted))
        extra = [OVERRIDDEN_CREATED_ON] if OVERRIDDEN_CREATED_ON in wanted else []
        rows = self._rows(target_object, ids, [*names, *extra], frozenset(NOT_READ_BACK))
        out: dict[str, dict[str, Any]] = {}
        for found_id, row in rows.items():
            values = {field: row.get(field) for field in wanted if field != OVERRIDDEN_CREATED_ON}
            if OVERRIDDEN_CREATED_ON in wanted:
                overridden = row.get(OVERRIDDEN_CREATED_ON)
                values[OVERRIDDEN_CREATED_ON] = row.get(CREATED_ON) if overridden else None
            out[found_id] = values
        return out

    @staticmethod
    def _readable(info: TableInfo, fields: Collection[str], key_field: str,
                  never: frozenset[str] = _NEVER_READ) -> list[str]:
        return [f for f in dict.fromkeys(fields) if f in info.columns and f != key_field
                and f != info.primary_id and f not in never]

    # -- writing -----------------------------------------------------------------------------------
    def load(self, step: LoadStep, records: Sequence[TargetRecord], *,
             omit: Collection[str] = ()) -> list[LoadResult]:
        if not records:
            return []
        strays = sorted({r.object for r in records} - {step.object})
        if strays:
            raise ValueError(f"records of {', '.join(strays)} handed to the load of {step.object}")
        table = step.target_object
        if table == "task":
            return self._tasks(step, records, omit)
        if table == "annotation" and any("documentbody" in r.values for r in records):
            if self.sharepoint is not None:
                return self._to_sharepoint(self.sharepoint, records)
            return self._attachments(step, records, omit)
        existing = self.upserter.existing(table, step.key_field, [r.key for r in records])
        items = self.upserter.items(table, step.key_field, records, existing, omit=omit)
        self.sales.prepare(table, items)
        results = self.upserter.send(table, step.key_field, items, bulk=table != "annotation")
        return self.sales.finish_products(items, results) if table == "product" else results

    def update_lookups(self, step: LoadStep, records: Sequence[TargetRecord],
                       fields: Collection[str]) -> list[LoadResult]:
        existing = self.upserter.existing(step.target_object, step.key_field, [r.key for r in records])
        items = self.upserter.items(step.target_object, step.key_field, records, existing, only=set(fields))
        return self.upserter.send(step.target_object, step.key_field, items, update_only=True)

    def delete(self, target_object: str, ids: Sequence[str]) -> list[LoadResult]:
        """Delete rows by id; a row already gone counts as deleted. With SharePoint configured, an
        attachment's id that is not a GUID is its driveItem's, deleted from the drive."""
        if target_object == "annotation" and self.sharepoint is not None and \
                any(not _is_guid(i) for i in ids):
            files = {i: self._delete_file(self.sharepoint, i) for i in ids if not _is_guid(i)}
            rows = {r.source_id: r for r in self.delete(target_object, [i for i in ids if _is_guid(i)])}
            return [files.get(i) or rows[i] for i in ids]
        entity_set = self.client.table(target_object).entity_set
        answers = self.client.batch([BatchRequest("DELETE", self.client.url(f"{entity_set}({i})"))
                                     for i in ids])
        results = []
        for row, answer in zip(ids, answers, strict=True):
            if answer.ok or answer.status == 404:
                results.append(LoadResult(row, row, False))
            else:
                results.append(LoadResult(row, row, False, *answer.error()))
        return results

    def restore(self, target_object: str, items: Sequence[tuple[str, dict[str, Any]]]) -> list[LoadResult]:
        """Put before-images back by id: plain columns as they were, lookups bound to the GUIDs they held.

        A task may be closed (read-only) now: it is reopened, restored and given its former state
        back in one change set, so a refusal leaves it as it was."""
        info = self.client.table(target_object)
        requests: list[BatchRequest] = []
        sizes: list[int] = []
        for row, values in items:
            url = self.client.url(f"{info.entity_set}({row})")
            body = self._restored(info, {k: v for k, v in values.items() if k not in STATE})
            state = {k: values[k] for k in STATE if values.get(k) is not None}
            if target_object == "task":
                group = f"restore-{row}"
                parts = [BatchRequest("PATCH", url, OPEN_TASK, {"If-Match": "*"}, group),
                         BatchRequest("PATCH", url, body, {"If-Match": "*"}, group)]
                if state and state != OPEN_TASK:
                    parts.append(BatchRequest("PATCH", url, state, {"If-Match": "*"}, group))
            else:
                parts = [BatchRequest("PATCH", url, {**body, **state}, {"If-Match": "*"})]
            requests += parts
            sizes.append(len(parts))
        answers = iter(self.client.batch(requests))
        results = []
        for (row, _), size in zip(items, sizes, strict=True):
            failed = [a for a in (next(answers) for _ in range(size)) if not a.ok]
            results.append(LoadResult(row, row, False, *failed[0].error()) if failed
                           else LoadResult(row, row, False))
        return results

    def _restored(self, info: TableInfo, values: Mapping[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {}
        for name, value in values.items():
            if name in ("Id", info.primary_id) or (name in info.columns and name not in info.updateable):
                continue
            if info.is_lookup(name):
                parent = self.lookup_parents.get((info.logical_name, name)) or \
                    self.renderer.lookup_target(info, name)
                bind = f"/{self.client.table(parent).entity_set}({value})" if value else None
                body[f"{info.nav(name, parent)}@odata.bind"] = bind
            else:
                body[name] = value
        return body

    # -- tasks -----------------------------------------------------------------------------------------
    def _tasks(self, step: LoadStep, records: Sequence[TargetRecord],
               omit: Collection[str]) -> list[LoadResult]:
        info = self.client.table("task")
        written = {n for r in records for n in r.values
                   if n not in STATE and n not in omit and not isinstance(r.values[n], Ref)}
        compared = self._readable(info, written, step.key_field)
        existing = self.upserter.existing("task", step.key_field, [r.key for r in records],
                                          [*STATE, *(_column(info, n) for n in compared)])
        wanted = {r.source_id: {k: r.values.get(k) for k in STATE} for r in records}
        bare = [replace(r, values={k: v for k, v in r.values.items() if k not in STATE}) for r in records]
        results: dict[str, LoadResult] = {}
        reopen: list[TargetRecord] = []
        for record in bare:
            row = existing.get(record.key)
            if row is None or row.get("statecode") in (None, 0):
                continue
            state = {k: row.get(k) for k in STATE}
            if _same(info, record, row, compared) and wanted[record.source_id] == state:
                results[record.source_id] = LoadResult(record.source_id, str(row["activityid"]), False)
            else:
                reopen.append(record)
        results.update(self._set_states([(r.source_id, str(existing[r.key]["activityid"]), OPEN_TASK)
                                         for r in reopen]))
        todo = [r for r in bare if r.source_id not in results]
        items = self.upserter.items("task", step.key_field, todo, existing, omit=omit)
        sent = self.upserter.send("task", step.key_field, items)
        reopened = {r.source_id for r in reopen}
        closing = []
        for item, result in zip(items, sent, strict=True):
            results[result.source_id] = result
            desired = wanted[result.source_id]
            row = existing.get(item.record.key)
            now = OPEN_TASK if row is None or result.source_id in reopened else {k: row.get(k) for k in STATE}
            if result.ok and result.target_id and desired["statecode"] is not None and \
                    {k: desired[k] for k in STATE} != now:
                closing.append((result.source_id, result.target_id, desired))
        for source_id, problem in self._set_states(closing).items():
            results[source_id] = replace(problem, created=results[source_id].created)
        return [results[r.source_id] for r in records]

    def _set_states(self, changes: Sequence[tuple[str, str, Mapping[str, Any]]]) -> dict[str, LoadResult]:
        """PATCH statecode/statuscode of tasks by id; the failures, by source id."""
        if not changes:
            return {}
        answers = self.client.batch([BatchRequest("PATCH", self.client.url(f"tasks({task})"), dict(state),
                                                  {"If-Match": "*"}) for _, task, state in changes])
        return {source_id: LoadResult(source_id, task, False, *answer.error(), ("statecode", "statuscode"))
                for (source_id, task, _), answer in zip(changes, answers, strict=True) if not answer.ok}

    # -- attachments ----------------------------------------------------------------------------------
    def _attachments(self, step: LoadStep, records: Sequence[TargetRecord],
                     omit: Collection[str]) -> list[LoadResult]:
        table = step.target_object
        existing = self.upserter.existing(table, step.key_field, [r.key for r in records])
        results: list[LoadResult] = []
        with tempfile.TemporaryDirectory(prefix="flitstack-files-") as folder:
            for record in records:
                if record.key in existing:  # a note keeps its file: only the other columns change
                    item = self.upserter.items(table, step.key_field, [record], existing,
                                               omit={*omit, *FILE_COLUMNS})[0]
                    results.append(self.upserter.send(table, step.key_field, [item])[0])
                    continue
                body, failure = self._file_body(record, Path(folder))
                if failure is not None:
                    results.append(failure)
                    continue
                item = self.upserter.items(table, step.key_field, [record], existing, omit=omit)[0]
                item.rendered.body["documentbody"] = body
                results.append(self.upserter.send(table, step.key_field, [item])[0])
        return results

    def _fetch(self, record: TargetRecord, folder: Path) -> tuple[Path | None, LoadResult | None]:
        """An attachment's content downloaded into `folder`, or why it cannot be had."""
        if self.download is None:
            return None, _refused(record, NO_FILE_SOURCE, "no source to download attachment content from")
        try:
            return self.download(record, folder), None
        except AttachmentTooLarge as exc:
            amount = f"at least {exc.size}" if exc.at_least else str(exc.size)
            return None, _refused(record, FILE_TOO_LARGE, f"the file is {amount} bytes, over the "
                                                          f"{exc.limit}-byte cap on attachment downloads")
        except (SourceRequestError, SourceProtocolError) as exc:
            return None, _refused(record, SOURCE_FILE_UNAVAILABLE, f"the source did not give the file: {exc}")

    def _file_body(self, record: TargetRecord, folder: Path) -> tuple[str | None, LoadResult | None]:
        """The Base64 body of an attachment, or why it cannot be sent."""
        def refused(code: str, message: str) -> tuple[None, LoadResult]:
            return None, _refused(record, code, message)
        path, failure = self._fetch(record, folder)
        if path is None:
            return None, failure
        limit = self.max_upload()
        try:
            size = path.stat().st_size
            encoded = 4 * ((size + 2) // 3)
            if encoded > limit:
                return refused(FILE_TOO_LARGE, f"the file is {size} bytes, {encoded} once Base64-encoded, "
                                               f"over the organisation's maxuploadfilesize of {limit} bytes")
            return base64.b64encode(path.read_bytes()).decode("ascii"), None
        finally:
            path.unlink(missing_ok=True)

    # -- attachments in SharePoint --------------------------------------------------------------------------
    def _to_sharepoint(self, sharepoint: SharePointFiles,
                       records: Sequence[TargetRecord]) -> list[LoadResult]:
        """Each attachment as a file in its parent record's folder (module docstring)."""
        parents = self._parents(records)
        results: list[LoadResult] = []
        with tempfile.TemporaryDirectory(prefix="flitstack-files-") as folder:
            for record in records:
                ref = record.values.get("objectid")
                parent = parents.get((ref.object, ref.external_id)) if isinstance(ref, Ref) else None
                if parent is None:
                    who = f"{ref.object} {ref.external_id}" if isinstance(ref, Ref) else "no record"
                    results.append(LoadResult(record.source_id, None, False, PARENT_NOT_FOUND,
                                              f"the attachment's parent ({who}) is not in Dataverse",
                                              ("objectid",)))
                    continue
                path, failure = self._fetch(record, Path(folder))
                if path is None:
                    results.append(failure or _refused(record, NO_FILE_SOURCE, "no file"))
                    continue
                try:
                    results.append(self._send_file(sharepoint, record, parent, path))
                finally:
                    path.unlink(missing_ok=True)
        return results

    def _send_file(self, sharepoint: SharePointFiles, record: TargetRecord, folder: str,
                   path: Path) -> LoadResult:
        size = path.stat().st_size
        if size > sharepoint.max_bytes:
            return _refused(record, FILE_TOO_LARGE, f"the file is {size} bytes, over the "
                                                    f"{sharepoint.max_bytes}-byte limit on SharePoint files")
        name = file_name(str(record.values.get("filename") or path.name), record.key)
        try:
            item, created = sharepoint.put(folder, name, path)
        except SharePointRefused as exc:
            return _refused(record, exc.code, exc.message)
        return LoadResult(record.source_id, item.id, created)

    def _parents(self, records: Sequence[TargetRecord]) -> dict[tuple[str, str], str]:
        """(spec object, key) of each attachment's parent → its SharePoint folder's name."""
        wanted: dict[str, set[str]] = {}
        for record in records:
            ref = record.values.get("objectid")
            if isinstance(ref, Ref) and ref.object in self.spec_targets:
                wanted.setdefault(ref.object, set()).add(ref.external_id)
        found: dict[tuple[str, str], str] = {}
        for spec_object, keys in wanted.items():
            table, key_column = self.spec_targets[spec_object]
            info = self.client.table(table)
            name_column = PRIMARY_NAMES.get(table)
            select = [name_column] if name_column else []
            rows = self.upserter.existing(table, key_column, sorted(keys), select)
            for key, row in rows.items():
                name = str(row.get(name_column) or "") if name_column else ""
                found[(spec_object, key)] = folder_name(name, str(row[info.primary_id]))
        return found

    def _delete_file(self, sharepoint: SharePointFiles, item_id: str) -> LoadResult:
        try:
            sharepoint.delete(item_id)
        except SharePointRefused as exc:
            return LoadResult(item_id, item_id, False, exc.code, exc.message)
        return LoadResult(item_id, item_id, False)

    def max_upload(self) -> int:
        """The organisation's maxuploadfilesize (bytes of Base64 text), read once."""
        if self._max_upload is None:
            rows = list(self.client.query("organizations", select=["maxuploadfilesize"]))
            value = rows[0].get("maxuploadfilesize") if rows else None
            self._max_upload = int(value) if value else DEFAULT_MAX_UPLOAD
        return self._max_upload

    # -- owners ------------------------------------------------------------------------------------
    def match_owners(self, people: Mapping[str, str | None],
                     fallback: str | None) -> tuple[list[OwnerMatch], str | None]:
        """Practitioners matched to enabled systemusers by e-mail; the fallback owner's id, which is the
        signed-in user (WhoAmI) when the spec names none, so no record goes without a chosen owner."""
        return match_owners(self.client, people, fallback)


def _refused(record: TargetRecord, code: str, message: str) -> LoadResult:
    return LoadResult(record.source_id, None, False, code, message, ("documentbody",))


def _column(info: TableInfo, name: str) -> str:
    return f"_{name}_value" if info.is_lookup(name) else name


def _values(info: TableInfo, row: Mapping[str, Any], names: Sequence[str]) -> dict[str, Any]:
    return {name: row.get(_column(info, name)) for name in names}


def _same(info: TableInfo, record: TargetRecord, row: Mapping[str, Any], compared: Sequence[str]) -> bool:
    """Whether the row already holds the record's values (plain columns and GUID lookups)."""
    return all(_equal(plain(record.values.get(name)), row.get(_column(info, name)))
               for name in compared if name in record.values)


def _equal(wanted: Any, current: Any) -> bool:
    if wanted is None or current is None:
        return wanted is None and current is None
    if isinstance(wanted, bool) or isinstance(current, bool):
        return bool(wanted) == bool(current)
    if isinstance(wanted, int | float | Decimal) or isinstance(current, int | float | Decimal):
        try:
            return Decimal(str(wanted)) == Decimal(str(current))
        except InvalidOperation:
            return False
    text_w, text_c = str(wanted), str(current)
    if text_w == text_c:
        return True
    try:
        return datetime.fromisoformat(text_w.replace("Z", "+00:00")) == \
            datetime.fromisoformat(text_c.replace("Z", "+00:00"))
    except ValueError:
        return text_w.lower() == text_c.lower() if _is_guid(text_w) else False


def _is_guid(text: str) -> bool:
    return len(text) == 36 and text.count("-") == 4


def _conforms(target: DataverseTarget) -> Target:
    """mypy's proof that DataverseTarget implements the runner's Target interface."""
    return target


__all__ = ["FILE_TOO_LARGE", "DataverseTarget", "Download", "row_id"]
