"""Record owners from the spec's `owners:` section, applied to records before they load.

Practitioners were matched to target users by e-mail (the target's `match_owners`).
A practitioner record is owned by its own user (and `user_field` points at it);
a record of a `follow` object by the user of the practitioner its lookup names.
An unmatched practitioner's records get the fallback owner when the spec names
one; otherwise the target's default owner (the user the migration runs as).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from engine.load.target import OwnerMatch
from engine.records import Ref, TargetRecord
from engine.spec.model import OwnersSpec


@dataclass(frozen=True)
class OwnerAssigner:
    spec: OwnersSpec
    owner_field: str
    users: Mapping[str, str]  # practitioner source id → user id (matched ones only)
    fallback: str | None

    @classmethod
    def from_matches(cls, spec: OwnersSpec, owner_field: str, matches: Iterable[OwnerMatch],
                     fallback: str | None) -> OwnerAssigner:
        return cls(spec, owner_field, {m.source_id: m.user_id for m in matches if m.user_id}, fallback)

    def practitioner_of(self, record: TargetRecord) -> str | None:
        if record.object == self.spec.practitioners:
            return record.source_id
        field = self.spec.follow.get(record.object)
        value = record.values.get(field) if field else None
        return value.source_id if isinstance(value, Ref) else None

    def assign(self, record: TargetRecord) -> None:
        if record.object != self.spec.practitioners and record.object not in self.spec.follow:
            return
        person = self.practitioner_of(record)
        user = self.users.get(person) if person else None
        if user and record.object == self.spec.practitioners and self.spec.user_field:
            record.values[self.spec.user_field] = user
        owner = user or self.fallback
        if owner:
            record.values[self.owner_field] = owner
