"""Salesforce Files and notes (ref §4), and record owners applied to records (ref §7).

Attachments (`patient_attachment` → ContentVersion): the body comes from a
caller-supplied `fetch(record) -> Path` (in production the Cliniko
connector's streamed `download`, bound to `max_bytes`). A file over
`max_bytes` (limits.yaml `file_max_bytes`, 25 MB) is never sent: its result is
`FILE_TOO_LARGE` naming the size and the limit, for the caller to quarantine.
Otherwise it goes up as `multipart/form-data` on POST `sobjects/ContentVersion`
(part `entity_content`: the fields as JSON, FirstPublishLocationId = the
patient Contact's Id; part `VersionData`: the file), the body streamed from the
file by a file-like reader (requests' `files=` would read it whole).

Treatment notes (`treatment_note` → ContentNote): a note is a ContentVersion
whose file is `<title>.snote` (FileType SNOTE; it reads back as a ContentNote),
so it is created in ONE call that already carries the spec's other fields
(Cliniko_Id__c, Source_* — Salesforce cannot add fields to ContentNote:
catalog `custom_fields_on: ContentVersion`) and FirstPublishLocationId = the
Contact (`LinkedEntityId` in the spec), which links it. Creating a
ContentNote first and setting its key after would leave a keyless note behind
whenever the second call never happens (a killed run, the daily limit).

Uploads failing with HTTP 5xx or a connection error are retried with backoff;
before each retry the key is looked up again, so an upload whose answer was
lost is not sent twice. REQUEST_LIMIT_EXCEEDED and HTTP 401 stop the load
(`LoadStopped`); other refusals are the record's result.

Idempotency: both look for an existing ContentVersion by the key field
(Cliniko_Id__c) first, batched, and skip those records (created False). A note
found again gets its link to the record written if it is missing.

Lookups (`Ref`s to patients) are resolved by querying the parent object by its
external-id key field, batched; a parent not found fails the record with
`INVALID_CROSS_REFERENCE_KEY` on that field.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceError

from engine.compile.compiler import CompiledSpec
from engine.connectors.errors import AttachmentTooLarge, SourceProtocolError, SourceRequestError
from engine.load.salesforce_calls import STOP_CODES, SalesforceCalls
from engine.load.salesforce_records import json_value
from engine.load.target import LoadResult, LoadStopped
from engine.records import Ref, TargetRecord
from engine.spec.limits import target_limit

DEFAULT_FILE_MAX_BYTES = 26_214_400  # 25 MB, targets/salesforce/limits.yaml file_max_bytes
IDS_PER_QUERY = 200
FILE_TOO_LARGE = "FILE_TOO_LARGE"
SOURCE_FILE_UNAVAILABLE = "SOURCE_FILE_UNAVAILABLE"
NOTE_SHARE_TYPE = "V"
NOTE_VISIBILITY = "AllUsers"
CHUNK_BYTES = 1024 * 1024
_NOT_SENT = frozenset({"VersionData"})  # the body comes from fetch(), not from the record
_LINK_FIELD = "LinkedEntityId"

Fetch = Callable[[TargetRecord], Path]


def _file_name(title: str) -> str:
    """A note's PathOnClient stem: its title without path separators, within the field's length."""
    return "".join("-" if c in '/\\:' else c for c in title)[:200]


def soql_text(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _error(content: Any) -> tuple[str, str, tuple[str, ...]]:
    if isinstance(content, list) and content and isinstance(content[0], dict):
        first = content[0]
        return (str(first.get("errorCode") or first.get("statusCode") or "UNKNOWN_ERROR"),
                str(first.get("message") or ""), tuple(first.get("fields") or ()))
    return "UNKNOWN_ERROR", str(content)[:300], ()


class _MultipartBody:
    """A multipart/form-data body read piece by piece: head, the file's bytes, tail.

    It has `read` and a length, so requests sends it with a Content-Length and
    http.client copies it in blocks: the file is never held whole in memory.
    """

    def __init__(self, entity: Mapping[str, Any], path: Path, filename: str) -> None:
        self.boundary = uuid.uuid4().hex
        safe_name = filename.replace('"', "'").replace("\r", " ").replace("\n", " ")
        head = (f"--{self.boundary}\r\n"
                'Content-Disposition: form-data; name="entity_content"\r\n'
                "Content-Type: application/json\r\n\r\n"
                f"{json.dumps(entity)}\r\n"
                f"--{self.boundary}\r\n"
                f'Content-Disposition: form-data; name="VersionData"; filename="{safe_name}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n").encode()
        self._head = head
        self._tail = f"\r\n--{self.boundary}--\r\n".encode("ascii")
        self._size = path.stat().st_size
        self._file: BinaryIO = path.open("rb")
        self._parts: list[bytes | BinaryIO] = [head, self._file, self._tail]

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return len(self._head) + self._size + len(self._tail)

    def read(self, size: int = -1) -> bytes:
        out = bytearray()
        while self._parts and (size < 0 or len(out) < size):
            part = self._parts[0]
            want = -1 if size < 0 else size - len(out)
            if isinstance(part, bytes):
                taken = part if want < 0 else part[:want]
                rest = b"" if want < 0 else part[want:]
                out += taken
                if rest:
                    self._parts[0] = rest
                else:
                    self._parts.pop(0)
            else:
                data = part.read(CHUNK_BYTES if want < 0 else min(want, CHUNK_BYTES))
                if data:
                    out += data
                else:
                    self._parts.pop(0)
        return bytes(out)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> _MultipartBody:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


class FileLoader:
    """Attachments (ContentVersion) and treatment notes (ContentNote) into Salesforce."""

    def __init__(self, sf: Salesforce, *, parents: Mapping[str, tuple[str, str]],
                 max_bytes: int = DEFAULT_FILE_MAX_BYTES, key_field: str = "Cliniko_Id__c",
                 timeout: float = 300.0, retries: int = 4, backoff_seconds: float = 0.5,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        """`parents`: spec object → (target object, key target field), to resolve lookups."""
        self.sf = sf
        self.parents = parents
        self.max_bytes = max_bytes
        self.key_field = key_field
        self.timeout = timeout
        self.retries = retries
        self.backoff_seconds = backoff_seconds
        self.sleep = sleep
        self.calls = SalesforceCalls(sf, retries=retries, backoff_seconds=backoff_seconds, sleep=sleep,
                                     timeout=timeout)

    @classmethod
    def for_spec(cls, sf: Salesforce, compiled: CompiledSpec, **options: Any) -> FileLoader:
        loaded = compiled.loaded
        parents = {name: (obj.target, obj.key.target) for name, obj in loaded.spec.objects.items()
                   if obj.key is not None}
        limit = target_limit(loaded.target, "file_max_bytes")
        options.setdefault("max_bytes", int(limit) if limit else DEFAULT_FILE_MAX_BYTES)
        return cls(sf, parents=parents, **options)

    # -- look-ups ----------------------------------------------------------------------------------
    def existing_versions(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """ContentVersions already carrying these keys, by key."""
        found: dict[str, dict[str, Any]] = {}
        unique = list(dict.fromkeys(k for k in keys if k))
        for chunk in _chunks(unique, IDS_PER_QUERY):
            soql = (f"SELECT Id, ContentDocumentId, {self.key_field} FROM ContentVersion WHERE "
                    f"{self.key_field} IN ({', '.join(soql_text(k) for k in chunk)})")
            for row in self.calls.query_all(soql):
                found.setdefault(str(row[self.key_field]), row)
        return found

    def resolve_refs(self, refs: Iterable[Ref]) -> dict[tuple[str, str], str]:
        """(spec object, external id) → Salesforce Id, for the parents that exist."""
        wanted: dict[str, list[str]] = {}
        for ref in refs:
            wanted.setdefault(ref.object, []).append(ref.external_id)
        ids: dict[tuple[str, str], str] = {}
        for spec_object, values in wanted.items():
            target, key = self.parents[spec_object]
            for chunk in _chunks(list(dict.fromkeys(values)), IDS_PER_QUERY):
                soql = (f"SELECT Id, {key} FROM {target} WHERE {key} IN "
                        f"({', '.join(soql_text(v) for v in chunk)})")
                for row in self.calls.query_all(soql):
                    ids[(spec_object, str(row[key]))] = str(row["Id"])
        return ids

    def _fields(self, record: TargetRecord, ids: Mapping[tuple[str, str], str],
                skip: Iterable[str] = ()) -> tuple[dict[str, Any], LoadResult | None]:
        """The record's values as the REST API takes them, lookups resolved to Ids."""
        out: dict[str, Any] = {self.key_field: record.key}
        for name, value in record.values.items():
            if name in skip or name in _NOT_SENT or name == self.key_field:
                continue
            if isinstance(value, Ref):
                resolved = ids.get((value.object, value.external_id))
                if resolved is None:
                    target, key = self.parents[value.object]
                    return out, LoadResult(record.source_id, None, False, "INVALID_CROSS_REFERENCE_KEY",
                                           f"no {target} with {key} {value.external_id} for {name}",
                                           (name,))
                out[name] = resolved
            else:
                out[name] = json_value(value)
        return out, None

    # -- attachments -------------------------------------------------------------------------------
    def load_attachments(self, records: Sequence[TargetRecord], fetch: Fetch) -> list[LoadResult]:
        """One result per record, in order; target_id is the ContentVersion Id."""
        existing = self.existing_versions([r.key for r in records])
        ids = self.resolve_refs(v for r in records if r.key not in existing
                                for v in r.values.values() if isinstance(v, Ref))
        results: list[LoadResult] = []
        for record in records:
            found = existing.get(record.key)
            if found is not None:
                results.append(LoadResult(record.source_id, str(found["Id"]), False))
                continue
            result = self._attachment(record, fetch, ids)
            if result.ok and result.target_id:
                existing[record.key] = {"Id": result.target_id}
            results.append(result)
        return results

    def _attachment(self, record: TargetRecord, fetch: Fetch,
                    ids: Mapping[tuple[str, str], str]) -> LoadResult:
        entity, failed = self._fields(record, ids)
        if failed is not None:
            return failed
        try:
            path = fetch(record)
        except AttachmentTooLarge as exc:
            amount = f"at least {exc.size}" if exc.at_least else str(exc.size)
            return self._too_large(record, amount, exc.limit)
        except (SourceRequestError, SourceProtocolError) as exc:
            # This file only (gone, refused, malformed); an unreachable source stops the run instead.
            return LoadResult(record.source_id, None, False, SOURCE_FILE_UNAVAILABLE,
                              f"the source did not give the file: {exc}", ("VersionData",))
        size = path.stat().st_size
        if size > self.max_bytes:
            return self._too_large(record, str(size), self.max_bytes)
        filename = str(entity.get("PathOnClient") or path.name)
        failure = LoadResult(record.source_id, None, False, "UNKNOWN_ERROR", "not sent")
        for attempt in range(self.retries + 1):
            if attempt:
                self.sleep(self.backoff_seconds * 2 ** (attempt - 1))
                # The lost answer may have been a success: never send the file twice.
                found = self.existing_versions([record.key]).get(record.key)
                if found is not None:
                    return LoadResult(record.source_id, str(found["Id"]), True)
            headers = {"Authorization": self.sf.headers["Authorization"]}
            try:
                with _MultipartBody(entity, path, filename) as body:
                    headers["Content-Type"] = body.content_type
                    response = self.sf.session.post(f"{self.sf.base_url}sobjects/ContentVersion/", data=body,
                                                     headers=headers, timeout=self.timeout)
            except requests.exceptions.RequestException as exc:
                failure = LoadResult(record.source_id, None, False, "CONNECTION_ERROR", str(exc)[:300])
                continue
            if response.status_code in (200, 201):
                return LoadResult(record.source_id, str(response.json()["id"]), True)
            try:
                content = response.json()
            except ValueError:
                content = response.text
            code, message, fields = _error(content)
            if code in STOP_CODES:
                raise LoadStopped(f"Salesforce refused the call: {code}: {message}", code=code)
            if response.status_code == 401:
                raise LoadStopped(f"Salesforce refused the session: HTTP 401 {code}: {message}", code=code)
            failure = LoadResult(record.source_id, None, False, code,
                                 f"HTTP {response.status_code}: {message}", fields)
            if response.status_code < 500:
                return failure
        return failure

    @staticmethod
    def _too_large(record: TargetRecord, amount: str, limit: int) -> LoadResult:
        return LoadResult(record.source_id, None, False, FILE_TOO_LARGE,
                          f"the file is {amount} bytes, above the limit of {limit} bytes (file_max_bytes); "
                          "it was not sent", ("VersionData",))

    # -- treatment notes ---------------------------------------------------------------------------
    def load_notes(self, records: Sequence[TargetRecord]) -> list[LoadResult]:
        """One result per record, in order; target_id is the note's (ContentDocument) Id."""
        existing = self.existing_versions([r.key for r in records])
        ids = self.resolve_refs(v for r in records for v in r.values.values() if isinstance(v, Ref))
        results: list[LoadResult] = []
        for record in records:
            try:
                results.append(self._note(record, existing.get(record.key), ids))
            except SalesforceError as exc:
                code, message, fields = _error(exc.content)
                results.append(LoadResult(record.source_id, None, False, code, message, fields))
        return results

    def _note(self, record: TargetRecord, found: Mapping[str, Any] | None,
              ids: Mapping[tuple[str, str], str]) -> LoadResult:
        fields, failed = self._fields(record, ids)
        if failed is not None:
            return failed
        linked = fields.pop(_LINK_FIELD, None)
        if found is not None:
            document_id = str(found["ContentDocumentId"])
            if linked:
                self._link(document_id, str(linked))
            return LoadResult(record.source_id, document_id, False)
        title = str(fields.get("Title") or "").strip()
        if not title:
            return LoadResult(record.source_id, None, False, "REQUIRED_FIELD_MISSING",
                              "Required fields are missing: [Title]", ("Title",))
        content = fields.pop("Content", None)
        fields.pop("SharingPrivacy", None)
        text = content if isinstance(content, str) else ""
        # One create carries the key: a retry or a re-run finds the note instead of making another.
        version = {**fields, "PathOnClient": f"{_file_name(title)}.snote",
                   "VersionData": base64.b64encode(text.encode("utf-8")).decode("ascii")}
        if linked:
            version["FirstPublishLocationId"] = linked
        self.calls.rest("POST", "sobjects/ContentVersion", body=version, record_errors=True,
                        landed=lambda: self.existing_versions([record.key]).get(record.key))
        created = self.existing_versions([record.key]).get(record.key)
        if created is None:
            return LoadResult(record.source_id, None, False, "UNKNOWN_ERROR",
                              "the note was accepted but cannot be found by its key")
        return LoadResult(record.source_id, str(created["ContentDocumentId"]), True)

    def _link(self, document_id: str, entity_id: str) -> None:
        """One ContentDocumentLink per note and record."""
        present = self.calls.query_all(
            f"SELECT Id FROM ContentDocumentLink WHERE ContentDocumentId = {soql_text(document_id)} "
            f"AND LinkedEntityId = {soql_text(entity_id)}")
        if present:
            return
        self._rest("POST", "sobjects/ContentDocumentLink",
                   {"ContentDocumentId": document_id, "LinkedEntityId": entity_id,
                    "ShareType": NOTE_SHARE_TYPE, "Visibility": NOTE_VISIBILITY})

    def _rest(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        """One REST call through simple-salesforce; SalesforceError on an error answer."""
        return self.calls.rest(method, path, body=body, record_errors=True)
