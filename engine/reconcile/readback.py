"""Reading loaded records back from the target: which still exist, and what their lookups hold.

A lookup's value comes back as a tuple of ids (empty: null) because not every platform keeps a
record's parent in one field (a Salesforce note's record is a ContentDocumentLink, and a document
can have several): `Target.read_back` gives those as tuples already.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from engine.load.target import Target

LinkValues = dict[str, tuple[str, ...]]
READ_BATCH = 2000  # ids per read: bounds what one call holds (the target splits further by its own limit)


class Readback(Protocol):
    def records(self, target_object: str, ids: Sequence[str],
                fields: Sequence[str]) -> dict[str, LinkValues]:
        """The records of `ids` that exist, by target id, with each of `fields` as a tuple of ids."""
        ...


class TargetReadback:
    def __init__(self, target: Target) -> None:
        self.target = target

    def records(self, target_object: str, ids: Sequence[str],
                fields: Sequence[str]) -> dict[str, LinkValues]:
        found: dict[str, LinkValues] = {}
        for chunk in _chunks(list(dict.fromkeys(ids)), READ_BATCH):
            for target_id, row in self.target.read_back(target_object, chunk, list(fields)).items():
                found[target_id] = {name: _as_ids(row.get(name)) for name in fields}
        return found


def _as_ids(value: Any) -> tuple[str, ...]:
    if isinstance(value, tuple):
        return tuple(str(v) for v in value)
    return () if value in (None, "") else (str(value),)


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
