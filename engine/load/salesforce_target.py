"""Salesforce as the runner sees it: the `Target` interface over the record, file and owner loaders.

Records go through `SalesforceLoader` (Collections or Bulk 2.0), patient files
(ContentVersion) and treatment notes (ContentNote) through `FileLoader`, owners
through `resolve_owners`. This module only routes: each target object to the
loader that knows it, and the before-images the audit log needs read by key.

Files and notes are never updated in place (a ContentVersion's body cannot be
replaced by PATCH): one that exists is left as it is. Deleting one deletes its
ContentDocument, which is what Salesforce allows and what removes every version.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from simple_salesforce.api import Salesforce

from engine.compile.compiler import CompiledSpec
from engine.load.owners import find_users, resolve_owners
from engine.load.salesforce import SalesforceLoader
from engine.load.salesforce_files import FileLoader, soql_text
from engine.load.target import LoadResult, LoadStep, LoadStopped, OwnerMatch, Target
from engine.records import TargetRecord
from engine.spec.target_view import TargetObjectView, target_objects

ATTACHMENTS = "ContentVersion"
NOTES = "ContentNote"
KEYS_PER_QUERY = 200
CONTENT_FIELDS = ("VersionData", "PathOnClient")  # an attachment's source address and file name
READ_BATCH = 2000  # ids per read: bounds one call's answer (the loader splits further by its limit)
NOTE_LINK = "LinkedEntityId"  # a note's record: its ContentDocumentLinks, not a field
USER_KEY_PREFIX = "005"
NOT_READ_BACK: dict[str, dict[str, str]] = {
    ATTACHMENTS: {"VersionData": "the file's content is uploaded, not read back"},
    NOTES: {"Content": "the note's body is not read back"},
}
# Written on insert only (with the audit-fields permission) or never: not part of a before-image.
_NOT_RESTORABLE = frozenset({"Id", "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById",
                             "SystemModstamp", "VersionData", "LinkedEntityId", "FirstPublishLocationId"})

Download = Callable[[TargetRecord, Path], Path]
"""Fetch an attachment's content into a folder; returns the file (the source connector's download)."""


class SalesforceTarget:
    def __init__(self, sf: Salesforce, compiled: CompiledSpec, *, label: str,
                 download: Download | None = None, **loader_options: Any) -> None:
        self.sf = sf
        self.label = label
        self.records = SalesforceLoader.for_spec(sf, compiled, **loader_options)
        file_options = {k: v for k, v in loader_options.items()
                        if k in ("retries", "backoff_seconds", "sleep")}
        self.files = FileLoader.for_spec(sf, compiled, **file_options)
        self.download = download
        self.views: dict[str, TargetObjectView] = target_objects(compiled.loaded.spec, compiled.loaded.target)

    # -- reading -----------------------------------------------------------------------------------
    def find(self, step: LoadStep, keys: Sequence[str],
             fields: Collection[str]) -> dict[str, dict[str, Any]]:
        if step.target_object in (ATTACHMENTS, NOTES):
            found = self.files.existing_versions(keys)
            id_field = "ContentDocumentId" if step.target_object == NOTES else "Id"
            return {key: {"Id": str(row[id_field])} for key, row in found.items()}
        view = self.views.get(step.target_object)
        readable = [f for f in dict.fromkeys(fields) if f not in _NOT_RESTORABLE and f != step.key_field
                    and (view is None or f in view.fields)]
        columns = ", ".join(dict.fromkeys(["Id", step.key_field, *readable]))
        out: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(list(dict.fromkeys(k for k in keys if k)), KEYS_PER_QUERY):
            soql = (f"SELECT {columns} FROM {step.target_object} WHERE {step.key_field} IN "
                    f"({', '.join(soql_text(k) for k in chunk)})")
            for row in self.records.rest.query_all(soql):
                values = {k: v for k, v in row.items() if k != "attributes"}
                out[str(values.pop(step.key_field))] = values
        return out

    def read(self, target_object: str, ids: Sequence[str],
             fields: Sequence[str]) -> dict[str, dict[str, Any]]:
        return self.records.read(target_object, ids, fields)

    # -- reading back what the spec wrote ----------------------------------------------------------
    def not_read_back(self, target_object: str) -> Mapping[str, str]:
        return NOT_READ_BACK.get(target_object, {})

    def read_back(self, target_object: str, ids: Sequence[str],
                  fields: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Most records are read where they were written; a note (known by its ContentDocument id) is
        read on its latest ContentVersion, and its record link from its ContentDocumentLinks."""
        skipped = self.not_read_back(target_object)
        wanted = [f for f in fields if f not in skipped and f != NOTE_LINK]
        requested = {_short_id(i): i for i in ids}
        if target_object != NOTES:
            found = self._read_all(target_object, list(requested.values()), wanted)
            return {requested[_short_id(i)]: row for i, row in found.items() if _short_id(i) in requested}
        documents = self._read_all("ContentDocument", list(requested.values()), ["LatestPublishedVersionId"])
        version_of = {_short_id(str(row["LatestPublishedVersionId"])): document_id
                      for document_id, row in documents.items() if row.get("LatestPublishedVersionId")}
        versions = self._read_all(ATTACHMENTS, list(version_of), wanted)
        out = {requested[_short_id(version_of[_short_id(v)])]: row for v, row in versions.items()
               if _short_id(v) in version_of and _short_id(version_of[_short_id(v)]) in requested}
        if NOTE_LINK in fields:
            links = self._note_links(list(out))
            for document_id, row in out.items():
                row[NOTE_LINK] = links.get(_short_id(document_id), ())
        return out

    def _read_all(self, target_object: str, ids: list[str], fields: list[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(list(dict.fromkeys(ids)), READ_BATCH):
            found.update(self.records.read(target_object, chunk, fields))
        return found

    def _note_links(self, document_ids: list[str]) -> dict[str, tuple[str, ...]]:
        """The records each note is linked to (not the owner: every file is linked to its User)."""
        links: dict[str, list[str]] = {}
        for chunk in _chunks(document_ids, KEYS_PER_QUERY):
            soql = ("SELECT ContentDocumentId, LinkedEntityId FROM ContentDocumentLink WHERE "
                    f"ContentDocumentId IN ({', '.join(soql_text(i) for i in chunk)})")
            for row in self.records.rest.query_all(soql):
                entity = str(row["LinkedEntityId"])
                if not entity.startswith(USER_KEY_PREFIX):
                    links.setdefault(_short_id(str(row["ContentDocumentId"])), []).append(entity)
        return {document: tuple(entities) for document, entities in links.items()}

    # -- writing -----------------------------------------------------------------------------------
    def load(self, step: LoadStep, records: Sequence[TargetRecord], *,
             omit: Collection[str] = ()) -> list[LoadResult]:
        if step.target_object == NOTES:
            return self.files.load_notes(records)
        if step.target_object == ATTACHMENTS:
            return self._attachments(records)
        return self.records.upsert(step.object, step.target_object, step.key_field, records, omit=omit)

    def _attachments(self, records: Sequence[TargetRecord]) -> list[LoadResult]:
        download = self.download
        if download is None:
            return [LoadResult(r.source_id, None, False, "NO_FILE_SOURCE",
                               "no source to download attachment content from", ("VersionData",))
                    for r in records]
        # One folder per batch: each file is on disk only while its batch uploads.
        with tempfile.TemporaryDirectory(prefix="flitstack-files-") as folder:
            return self.files.load_attachments(records, lambda record: download(record, Path(folder)))

    def update_lookups(self, step: LoadStep, records: Sequence[TargetRecord],
                       fields: Collection[str]) -> list[LoadResult]:
        return self.records.update_lookups(step.object, step.target_object, step.key_field, records, fields)

    def delete(self, target_object: str, ids: Sequence[str]) -> list[LoadResult]:
        if target_object != ATTACHMENTS:
            return self.records.delete(target_object, ids)  # a ContentNote id is its document's id
        documents: dict[str, str] = {}
        for chunk in _chunks(list(ids), KEYS_PER_QUERY):
            soql = (f"SELECT Id, ContentDocumentId FROM ContentVersion WHERE Id IN "
                    f"({', '.join(soql_text(i) for i in chunk)})")
            for row in self.records.rest.query_all(soql):
                documents[str(row["Id"])] = str(row["ContentDocumentId"])
        deleted = {r.source_id: r for r in self.records.delete("ContentDocument", list(documents.values()))}
        # A version no longer found is already gone: nothing left to delete.
        return [LoadResult(v, v, False, *_failure(deleted.get(documents[v]))) if v in documents
                else LoadResult(v, v, False) for v in ids]

    def restore(self, target_object: str, items: Sequence[tuple[str, dict[str, Any]]]) -> list[LoadResult]:
        cleaned = [(record_id, {k: v for k, v in values.items() if k not in _NOT_RESTORABLE})
                   for record_id, values in items]
        return self.records.update_by_id(target_object, cleaned)

    # -- owners ------------------------------------------------------------------------------------
    def match_owners(self, people: Mapping[str, str | None],
                     fallback: str | None) -> tuple[list[OwnerMatch], str | None]:
        fallback_id = self._fallback_user(fallback) if fallback else None
        resolution = resolve_owners(self.records.rest, people)
        unresolved = {u.source_id: u for u in resolution.unresolved}
        matches = [OwnerMatch(source_id, email, resolution.owners.get(source_id),
                              unresolved[source_id].reason if source_id in unresolved else None)
                   for source_id, email in people.items()]
        return matches, fallback_id

    def _fallback_user(self, wanted: str) -> str:
        """The fallback owner named by e-mail or username: exactly one active standard user."""
        by_username = self.records.rest.query_all(
            f"SELECT Id, Email, IsActive, UserType FROM User WHERE Username = {soql_text(wanted)}")
        candidates = by_username or find_users(self.records.rest, [wanted])
        usable = [u for u in candidates if u.get("IsActive") and u.get("UserType") == "Standard"]
        if len(usable) != 1:
            found = f"{len(candidates)} users found, {len(usable)} active standard" if candidates else \
                "no user has this e-mail or username"
            raise LoadStopped(f"the spec's fallback owner {wanted!r} is not one active standard Salesforce "
                              f"user ({found}); name another in owners.fallback")
        return str(usable[0]["Id"])


def _short_id(record_id: str) -> str:
    """Salesforce ids compare by their first 15 characters (18 adds a case checksum)."""
    return record_id[:15] if len(record_id) == 18 else record_id


def _failure(result: LoadResult | None) -> tuple[str | None, str | None]:
    return (result.code, result.message) if result is not None else (None, None)


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _conforms(target: SalesforceTarget) -> Target:
    """mypy's proof that SalesforceTarget implements the runner's Target interface."""
    return target
