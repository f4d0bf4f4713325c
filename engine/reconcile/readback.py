"""Reading loaded records back from the target: which still exist, and what their lookups hold.

A lookup's value comes back as a tuple of ids (empty: null) because not every platform keeps a
record's parent in one field: a Salesforce note (ContentNote) is a ContentDocument, and the
record it belongs to is a ContentDocumentLink, of which a document can have several.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from engine.load.salesforce_files import soql_text
from engine.load.salesforce_target import NOTES, SalesforceTarget

LinkValues = dict[str, tuple[str, ...]]
READ_BATCH = 2000  # ids per read: bounds what one call holds (the target splits further by its own limit)
LINK_QUERY_BATCH = 200  # ids per SOQL IN list
NOTE_LINK_FIELD = "LinkedEntityId"
USER_KEY_PREFIX = "005"  # Salesforce links every file to its owner: a User, never a migrated parent


class Readback(Protocol):
    def records(self, target_object: str, ids: Sequence[str],
                fields: Sequence[str]) -> dict[str, LinkValues]:
        """The records of `ids` that exist, by target id, with each of `fields` as a tuple of ids."""
        ...


class SalesforceReadback:
    def __init__(self, target: SalesforceTarget) -> None:
        self.target = target

    def records(self, target_object: str, ids: Sequence[str],
                fields: Sequence[str]) -> dict[str, LinkValues]:
        if target_object == NOTES:
            return self._notes(ids, fields)
        found: dict[str, LinkValues] = {}
        for chunk in _chunks(list(dict.fromkeys(ids)), READ_BATCH):
            for target_id, row in self.target.read(target_object, chunk, list(fields)).items():
                found[target_id] = {name: _as_ids(row.get(name)) for name in fields}
        return found

    def _notes(self, ids: Sequence[str], fields: Sequence[str]) -> dict[str, LinkValues]:
        """A note's id is its ContentDocument's; its only lookup is the records it is linked to."""
        unknown = [name for name in fields if name != NOTE_LINK_FIELD]
        if unknown:
            raise ValueError(f"{NOTES} lookups other than {NOTE_LINK_FIELD} cannot be read back: "
                             f"{', '.join(unknown)}")
        present: dict[str, LinkValues] = {target_id: {name: () for name in fields}
                   for chunk in _chunks(list(dict.fromkeys(ids)), READ_BATCH)
                   for target_id in self.target.read("ContentDocument", chunk, [])}
        links: dict[str, list[str]] = {}
        if fields:
            for chunk in _chunks(list(present), LINK_QUERY_BATCH):
                soql = ("SELECT ContentDocumentId, LinkedEntityId FROM ContentDocumentLink WHERE "
                        f"ContentDocumentId IN ({', '.join(soql_text(i) for i in chunk)})")
                for row in self.target.sf.query_all(soql)["records"]:
                    entity = str(row["LinkedEntityId"])
                    if not entity.startswith(USER_KEY_PREFIX):
                        links.setdefault(str(row["ContentDocumentId"]), []).append(entity)
        for document_id, values in present.items():
            if fields:
                values[NOTE_LINK_FIELD] = tuple(links.get(document_id, ()))
        return present


def _as_ids(value: Any) -> tuple[str, ...]:
    return () if value in (None, "") else (str(value),)


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
