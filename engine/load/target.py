"""What a loader promises, whatever the platform (Salesforce now, Dataverse later)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
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


@dataclass(frozen=True, slots=True)
class LoadStep:
    """One spec object as the target sees it: where its records go and the field that keys them."""

    object: str
    target_object: str
    key_field: str


@dataclass(frozen=True)
class OwnerMatch:
    """How one practitioner resolved: to a user id, or not (with the reason)."""

    source_id: str
    email: str | None
    user_id: str | None
    reason: str | None


class Target(Protocol):
    """What the runner needs from a destination platform; Salesforce now, Dataverse next.

    Every method takes and returns target-side names (the spec's target fields) and
    one result per record, in order; none raises for a single bad record."""

    label: str

    def find(self, step: LoadStep, keys: Sequence[str],
             fields: Collection[str]) -> dict[str, dict[str, Any]]:
        """Records that exist with these keys: key → {"Id": …, field: current value}."""
        ...

    def load(self, step: LoadStep, records: Sequence[TargetRecord], *,
             omit: Collection[str] = ()) -> list[LoadResult]:
        """Create or update each record by its key (files and notes included)."""
        ...

    def update_lookups(self, step: LoadStep, records: Sequence[TargetRecord],
                       fields: Collection[str]) -> list[LoadResult]:
        ...

    def delete(self, target_object: str, ids: Sequence[str]) -> list[LoadResult]:
        ...

    def restore(self, target_object: str, items: Sequence[tuple[str, dict[str, Any]]]) -> list[LoadResult]:
        """Set each record (by target id) back to the given values."""
        ...

    def read(self, target_object: str, ids: Sequence[str],
             fields: Sequence[str]) -> dict[str, dict[str, Any]]:
        ...

    def read_back(self, target_object: str, ids: Sequence[str],
                  fields: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The records of `ids` that exist, by target id, with `fields` as the spec wrote them: a lookup
        is its parent's target id — or a tuple of ids where the platform keeps a record's parent as
        several links (a Salesforce note's ContentDocumentLinks). Used by the sample diff and the
        reconciliation; fields in `not_read_back` are left out."""
        ...

    def not_read_back(self, target_object: str) -> Mapping[str, str]:
        """Fields of `target_object` that cannot be read back as written, each with the reason."""
        ...

    def match_owners(self, people: Mapping[str, str | None],
                     fallback: str | None) -> tuple[list[OwnerMatch], str | None]:
        """Practitioners (source id → e-mail) matched to users; and the fallback user's id.

        Raises LoadStopped when `fallback` names no usable user: records must not be
        written with an owner nobody chose."""
        ...
