"""What one source record becomes after the transform: the units that flow down
the pipeline to validation, loading and the audit trail."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.errors import FieldProblem


@dataclass(frozen=True, slots=True)
class Ref:
    """A lookup to a record of another spec object, by that record's key.

    `source_id` is the parent's source id; `external_id` is the value of the
    parent's key field in the target (the prefix applied). Loaders turn it into
    the target's own form (a Salesforce relationship, a Dataverse @odata.bind).
    """

    object: str
    source_id: str
    external_id: str


@dataclass(slots=True)
class TargetRecord:
    object: str
    source_id: str
    key: str
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Quarantined:
    object: str
    source_id: str
    problems: list[FieldProblem]
    record: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Filtered:
    object: str
    source_id: str


Outcome = TargetRecord | Quarantined | Filtered
