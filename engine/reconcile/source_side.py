"""What the spec makes of the current source, per object: the outcome ids and the lookups it gives.

The same transform as the run (joins, `where`, `each`, seed records), so "source" counts
outcomes — several per record for an object with `each` — keyed exactly as the crosswalk is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import chain

from engine.compile.joins import JoinIndex
from engine.compile.record import CompiledObject
from engine.extract.source import RecordSource
from engine.records import Ref, TargetRecord


@dataclass
class SourceSide:
    ids: set[str] = field(default_factory=set)
    # Per record the transform turned into a TargetRecord: lookup field → the parent it gives.
    lookups: dict[str, dict[str, Ref | None]] = field(default_factory=dict)


def source_side(cobj: CompiledObject, source: RecordSource, indexes: dict[str, JoinIndex]) -> SourceSide:
    fields = [rule.target for rule in cobj.spec.lookups()]
    side = SourceSide()
    transform = cobj.bind(indexes)
    for raw in chain(source.read(cobj.spec.source), cobj.seed):
        for outcome in transform(raw):
            side.ids.add(outcome.source_id)
            if fields and isinstance(outcome, TargetRecord):
                side.lookups[outcome.source_id] = {name: _ref(outcome.values.get(name)) for name in fields}
    return side


def _ref(value: object) -> Ref | None:
    return value if isinstance(value, Ref) else None
