"""The sample's slice: anchor records, everything that hangs below them, everything they point at.

The slice comes from the spec alone: every object's records are transformed and
kept only as ids and lookups (`Ref`s). From the first N records of the anchor
object (patients by default), the slice takes
1. descendants: records of any object with a lookup into the slice, transitively
   (a patient's appointments, notes, invoices, files; an invoice's items);
2. ancestors: every record a record of the slice points at, transitively upward
   (clinics, practitioners, appointment types, products, referral contacts, a
   clinic's parent) — without the ancestors' other children, so the slice stays
   small yet every lookup in it resolves inside it.

Records the transform quarantines are kept with the lookups their rules can still
produce, so a quarantined invoice of a sampled patient is part of the sample (and
of its report). Filtered records never are: a run does not migrate them.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from itertools import chain, islice
from typing import Any

from engine.compile.compiler import CompiledSpec
from engine.compile.expressions import RECORD_ERRORS
from engine.compile.record import CompiledObject
from engine.errors import UsageError
from engine.extract.source import RecordSource, fill_join_indexes
from engine.records import Quarantined, Ref, TargetRecord

Node = tuple[str, str]  # (spec object, source id)
Selection = dict[str, set[str]]


@dataclass(frozen=True)
class Outline:
    """Every migratable record of every object as its lookups only: object → source id → refs,
    in source order."""

    refs: Mapping[str, Mapping[str, tuple[Ref, ...]]]

    def has(self, node: Node) -> bool:
        return node[1] in self.refs.get(node[0], {})


def default_anchor(compiled: CompiledSpec) -> str:
    """The object whose records are the patients (the first, when a spec reads patients twice)."""
    for name, cobj in compiled.objects.items():
        if cobj.spec.source == "patients":
            return name
    raise UsageError("no spec object reads `patients`: name the object to sample with --anchor")


def check_anchor(compiled: CompiledSpec, anchor: str) -> None:
    if anchor not in compiled.objects:
        raise UsageError(f"--anchor {anchor}: not an object of spec '{compiled.loaded.spec.name}' "
                         f"(objects: {', '.join(compiled.objects)})")


def _lookups(cobj: CompiledObject) -> list[Callable[[dict[str, Any]], Any]]:
    """The object's lookup producers (the compiled rules are in field order)."""
    return [produce for rule, (_, produce) in zip(cobj.spec.fields, cobj.fields, strict=True)
            if rule.kind == "lookup"]


def _refs_of(lookups: Iterable[Callable[[dict[str, Any]], Any]], context: dict[str, Any]) -> tuple[Ref, ...]:
    """What a quarantined record still points at: each lookup that can be produced from it."""
    found = []
    for produce in lookups:
        try:
            value = produce(context)
        except RECORD_ERRORS:
            continue
        if isinstance(value, Ref):
            found.append(value)
    return tuple(found)


def outline(compiled: CompiledSpec, source: RecordSource) -> Outline:
    names = list(compiled.objects)
    indexes = fill_join_indexes(compiled, source, names)
    refs: dict[str, dict[str, tuple[Ref, ...]]] = {}
    for name in names:
        cobj = compiled.objects[name]
        transform = cobj.bind(indexes.get(name, {}))
        lookups = _lookups(cobj)
        records = refs.setdefault(name, {})
        for raw in chain(source.read(cobj.spec.source), cobj.seed):
            for outcome in transform(raw):
                if isinstance(outcome, TargetRecord):
                    values = outcome.values.values()
                    records[outcome.source_id] = tuple(v for v in values if isinstance(v, Ref))
                elif isinstance(outcome, Quarantined):
                    records[outcome.source_id] = _refs_of(lookups, outcome.record)
    return Outline(refs)


def select(shape: Outline, anchor: str, size: int) -> Selection:
    """The referentially closed slice grown from the first `size` records of `anchor`."""
    chosen: Selection = {name: set() for name in shape.refs}
    children: dict[Node, list[Node]] = defaultdict(list)
    for name, records in shape.refs.items():
        for source_id, refs in records.items():
            for ref in refs:
                children[(ref.object, ref.source_id)].append((name, source_id))

    def grow(start: Iterable[Node], step: Callable[[Node], Iterable[Node]]) -> None:
        queue = deque(start)
        while queue:
            for node in step(queue.popleft()):
                if shape.has(node) and node[1] not in chosen[node[0]]:
                    chosen[node[0]].add(node[1])
                    queue.append(node)

    anchors = [(anchor, source_id) for source_id in islice(shape.refs.get(anchor, {}), size)]
    for _, source_id in anchors:
        chosen[anchor].add(source_id)
    grow(anchors, lambda node: children.get(node, ()))
    everything = [(name, source_id) for name, ids in chosen.items() for source_id in ids]
    grow(everything, lambda node: ((r.object, r.source_id) for r in shape.refs[node[0]][node[1]]))
    return {name: ids for name, ids in chosen.items() if ids}


def sample_selection(compiled: CompiledSpec, source: RecordSource, anchor: str, size: int) -> Selection:
    check_anchor(compiled, anchor)
    return select(outline(compiled, source), anchor, size)
