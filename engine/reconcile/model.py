"""What a reconciliation found: per object balances, lookup checks, unmatched practitioners.

Ids only (source and target), never record values: the report can be shared.
`as_json` is the shape schemas/reconciliation.schema.json describes.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as default  # LookupCheck has a `field` of its own
from typing import Any

UNEXPECTED_NULL = "unexpected_null"
BROKEN = "broken"


@dataclass
class ObjectBalance:
    """One spec object: source = loaded + quarantined + filtered, every loaded record still in the target.

    The id lists hold source ids; the counts of loaded, quarantined and filtered cover only
    records the current source still has (those it no longer has are `gone_from_source`)."""

    object: str
    target: str
    source: int = 0
    loaded: int = 0
    quarantined: int = 0
    filtered: int = 0
    missing: list[str] = default(default_factory=list)
    missing_in_target: list[str] = default(default_factory=list)
    gone_from_source: list[str] = default(default_factory=list)

    @property
    def balanced(self) -> bool:
        return (self.source == self.loaded + self.quarantined + self.filtered
                and not self.missing and not self.missing_in_target)

    def as_json(self) -> dict[str, Any]:
        return {"target": self.target, "source": self.source, "loaded": self.loaded,
                "quarantined": self.quarantined, "filtered": self.filtered, "missing": len(self.missing),
                "missing_in_target": len(self.missing_in_target),
                "gone_from_source": len(self.gone_from_source), "balanced": self.balanced,
                "missing_ids": self.missing, "missing_in_target_ids": self.missing_in_target,
                "gone_from_source_ids": self.gone_from_source}


@dataclass(frozen=True)
class LookupProblem:
    """A loaded record whose lookup in the target is not what the spec gives."""

    source_id: str
    target_id: str
    problem: str  # UNEXPECTED_NULL or BROKEN
    value: str | None  # what the target holds (several link ids joined by commas)
    expected: str | None  # the parent's target id per the crosswalk (None: the spec gives no parent)
    detail: str


@dataclass
class LookupCheck:
    """One lookup rule, over the object's loaded records that are in the target."""

    object: str
    target: str
    field: str
    parent: str
    checked: int = 0
    null: int = 0
    expected_null: int = 0
    problems: list[LookupProblem] = default(default_factory=list)

    def count(self, problem: str) -> int:
        return sum(1 for p in self.problems if p.problem == problem)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        return {"object": self.object, "target": self.target, "field": self.field, "parent": self.parent,
                "checked": self.checked, "null": self.null, "expected_null": self.expected_null,
                "unexpected_null": self.count(UNEXPECTED_NULL), "broken": self.count(BROKEN),
                "problems": [{"source_id": p.source_id, "target_id": p.target_id, "problem": p.problem,
                              "value": p.value, "expected": p.expected, "detail": p.detail}
                             for p in self.problems]}


@dataclass(frozen=True)
class UnmatchedPractitioner:
    source_id: str
    email: str | None
    reason: str
    level: str  # "warning" when their records get no chosen owner (owners without a fallback), else "info"


@dataclass
class Reconciliation:
    spec: str
    run: int
    source: str
    target: str
    objects: list[ObjectBalance] = default(default_factory=list)
    lookups: list[LookupCheck] = default(default_factory=list)
    unmatched_practitioners: list[UnmatchedPractitioner] = default(default_factory=list)

    @property
    def balanced(self) -> bool:
        return not self.discrepancies()

    def discrepancies(self) -> list[str]:
        """One line per problem that makes the reconciliation fail (unmatched practitioners never do)."""
        lines: list[str] = []
        for o in self.objects:
            if o.balanced:
                continue
            parts = [f"source {o.source:,} ≠ loaded {o.loaded:,} + quarantined {o.quarantined:,} + "
                     f"filtered {o.filtered:,}"] if o.source != o.loaded + o.quarantined + o.filtered else []
            if o.missing:
                parts.append(f"{_records(len(o.missing))} in the source never migrated (`flitstack delta`)")
            if o.missing_in_target:
                parts.append(f"{_records(len(o.missing_in_target), 'loaded ')} no longer in the target")
            lines.append(f"{o.object} ({o.target}): " + "; ".join(parts))
        for check in self.lookups:
            for problem, what in ((UNEXPECTED_NULL, "empty although the spec gives a parent"),
                                  (BROKEN, "pointing at the wrong record or one not in the target")):
                n = check.count(problem)
                if n:
                    lines.append(f"{check.object}.{check.field} → {check.parent}: {n:,} {what}")
        return lines

    def as_json(self) -> dict[str, Any]:
        return {"balanced": self.balanced, "spec": self.spec, "run": self.run, "source": self.source,
                "target": self.target, "discrepancies": self.discrepancies(),
                "objects": {o.object: o.as_json() for o in self.objects},
                "lookups": [c.as_json() for c in self.lookups],
                "unmatched_practitioners": [{"source_id": p.source_id, "email": p.email, "reason": p.reason,
                                             "level": p.level} for p in self.unmatched_practitioners]}


def _records(n: int, kind: str = "") -> str:
    return f"{n:,} {kind}record{'' if n == 1 else 's'}"
