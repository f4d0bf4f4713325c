"""Reading sampled records back from the target by the ids the crosswalk holds.

Most records are read where they were written. Two Salesforce objects differ:
- a treatment note (ContentNote) is known by its ContentDocument id, and its
  fields (Title, the key, Source_*) live on the document's latest
  ContentVersion, so that version is read;
- an attachment is known by its ContentVersion id and read there.
Some fields cannot be read back as written — a file's bytes, a note's body, the
note's link to its record (a ContentDocumentLink, not a field) — and are
reported as not compared, with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.load.target import Target

NOTES = "ContentNote"
VERSIONS = "ContentVersion"
NOT_READ_BACK: dict[str, dict[str, str]] = {
    VERSIONS: {"VersionData": "the file's content is uploaded, not read back"},
    NOTES: {"Content": "the note's body is not read back",
            "LinkedEntityId": "the note's link to its record is a ContentDocumentLink, not a field"},
}


def not_read_back(target_object: str, field: str) -> str | None:
    """Why a field is not compared, or None when it is."""
    return NOT_READ_BACK.get(target_object, {}).get(field)


def short_id(target_id: str) -> str:
    """Salesforce ids compare by their first 15 characters (18 adds a case checksum)."""
    return target_id[:15] if len(target_id) == 18 else target_id


def read_back(target: Target, target_object: str, ids: Sequence[str],
              fields: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Current values of `fields`, by the given target id (records not found are absent)."""
    wanted = {short_id(i): i for i in ids}
    if target_object == NOTES:
        documents = target.read("ContentDocument", list(ids), ["LatestPublishedVersionId"])
        versions = {str(row["LatestPublishedVersionId"]): document_id
                    for document_id, row in documents.items() if row.get("LatestPublishedVersionId")}
        version_of = {short_id(v): document_id for v, document_id in versions.items()}
        rows = target.read(VERSIONS, list(versions), list(fields))
        found = {version_of[short_id(v)]: row for v, row in rows.items() if short_id(v) in version_of}
    else:
        found = target.read(target_object, list(ids), list(fields))
    return {wanted[short_id(i)]: row for i, row in found.items() if short_id(i) in wanted}
