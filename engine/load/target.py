"""What a loader promises, whatever the platform (Salesforce now, Dataverse later)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from engine.records import TargetRecord


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What happened to one record: its target id and whether it was new, or why it failed.

    `code` and `message` are the platform's own; `fields` are target field names of the spec
    (AccountId, not the relationship `Account` the request carried).
    """

    source_id: str
    target_id: str | None
    created: bool
    code: str | None = None
    message: str | None = None
    fields: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.code is None

    @property
    def error(self) -> str | None:
        if self.code is None:
            return None
        where = f" [{', '.join(self.fields)}]" if self.fields else ""
        return f"{self.code}: {self.message}{where}"


class LoadStopped(Exception):
    """The load cannot go on now (daily allowance spent, retries exhausted, session refused)."""

    def __init__(self, reason: str, *, code: str | None = None) -> None:
        super().__init__(reason)
        self.code = code


class TargetLoader(Protocol):
    def upsert(self, object_spec_name: str, target_object: str, key_field: str,
               records: Sequence[TargetRecord], *, omit: Collection[str] = ()) -> list[LoadResult]:
        """Create or update each record by its key; one result per record, in order.

        `omit` leaves fields out (the deferred lookups of a second pass)."""
        ...

    def update_lookups(self, object_spec_name: str, target_object: str, key_field: str,
                       records: Sequence[TargetRecord], fields: Collection[str]) -> list[LoadResult]:
        """The second pass: set only `fields` (lookups deferred by the plan) on records already loaded."""
        ...

    def delete(self, target_object: str, ids: Sequence[str]) -> list[LoadResult]:
        """Delete records by target id; results carry the id as `source_id` and `target_id`."""
        ...

    def read(self, target_object: str, ids: Sequence[str],
             fields: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Current values of `fields` for the records that exist, by target id."""
        ...
