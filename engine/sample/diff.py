"""The field-level diff of a sample: for every mapped field of every sampled record that loaded,
the value the spec produces against the value read back from the target.

Expected values are the spec's transform of the current source records; a lookup's
expected value is the target id of the parent the crosswalk holds. The source
value beside them is the rule's raw value before maps and coercions, so an analyst
sees where a difference comes from. Comparison goes through `values.canonical`
(datetimes, dates, numbers at the field's scale, checkboxes, multi-select
picklists, empty text). Record owners are set by the run from the practitioners'
e-mails, not by field rules, and are not compared.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from engine.compile.compiler import CompiledSpec
from engine.compile.expressions import RECORD_ERRORS
from engine.compile.joins import JoinIndex
from engine.compile.record import CompiledObject, rule_parts
from engine.extract.source import RecordSource, fill_join_indexes
from engine.load.target import Target
from engine.records import Ref, TargetRecord
from engine.sample.values import canonical, field_kind, field_scale, shown
from engine.spec.target_view import target_objects
from engine.state.store import QuarantineRow, StateStore

MATCH, MISMATCH, SKIPPED = "yes", "no", "skipped"
RECORD = "(record)"  # the field named when a record the crosswalk calls loaded is not in the target
COLUMNS = ("object", "source_id", "target_id", "field", "source_value", "expected", "actual", "match")


@dataclass(frozen=True)
class DiffRow:
    object: str
    source_id: str
    target_id: str
    field: str
    source_value: str
    expected: str
    actual: str
    match: str

    def cells(self) -> tuple[str, ...]:
        return (self.object, self.source_id, self.target_id, self.field, self.source_value, self.expected,
                self.actual, self.match)


@dataclass
class ObjectSummary:
    object: str
    target_object: str
    selected: int = 0
    compared: int = 0
    quarantined: int = 0
    filtered: int = 0
    fields: int = 0
    mismatched: int = 0


@dataclass
class SampleDiff:
    spec_name: str
    run_id: int
    rows: list[DiffRow] = field(default_factory=list)
    quarantined: list[QuarantineRow] = field(default_factory=list)
    skipped: dict[tuple[str, str], str] = field(default_factory=dict)  # (target object, field) → why
    objects: dict[str, ObjectSummary] = field(default_factory=dict)

    @property
    def mismatches(self) -> list[DiffRow]:
        return [r for r in self.rows if r.match == MISMATCH]


def contexts(cobj: CompiledObject, record: dict[str, Any],
             indexes: Mapping[str, JoinIndex]) -> Iterator[dict[str, Any]]:
    """What the rules saw for each outcome of `record`: the record, its joins, the `each` element."""
    context = dict(record)
    for join_name in cobj.spec.joins:
        context[join_name] = indexes[join_name].lookup(context)
    each = cobj.spec.each
    if each is None or cobj.each is None:
        yield context
        return
    try:
        items = cobj.each(context)
    except RECORD_ERRORS:
        items = None
    for position, item in enumerate(items if isinstance(items, list) else [None]):
        yield {**context, each.name: item, f"{each.name}_index": position}


class _ObjectDiff:
    def __init__(self, compiled: CompiledSpec, cobj: CompiledObject, store: StateStore,
                 target: Target) -> None:
        spec = compiled.loaded.spec
        self.cobj = cobj
        self.store = store
        self.target = target
        self.target_object = cobj.spec.target
        view = target_objects(spec, compiled.loaded.target)[self.target_object]
        assert cobj.spec.key is not None
        self.key_field = cobj.spec.key.target
        self.rules = [(self.key_field, rule_parts(cobj.spec.key.rule, spec, None).get)]
        self.rules += [(rule.target, rule_parts(rule, spec, view.fields.get(rule.target)).get)
                       for rule in cobj.spec.fields if rule.target != self.key_field]
        self.kinds = {name: (field_kind(view.fields.get(name)), field_scale(spec, self.target_object, name))
                      for name, _ in self.rules}
        self.parents: dict[tuple[str, str], str | None] = {}

    def expected(self, record: TargetRecord, name: str) -> Any:
        if name == self.key_field:
            return record.key
        value = record.values.get(name)
        if isinstance(value, Ref):
            node = (value.object, value.source_id)
            if node not in self.parents:
                self.parents[node] = self.store.target_id_of(*node)
            return self.parents[node]
        return value

    def rows(self, record: TargetRecord, context: dict[str, Any], target_id: str,
             actual: Mapping[str, Any] | None) -> Iterator[DiffRow]:
        base = (self.cobj.name, record.source_id, target_id)
        if actual is None:
            yield DiffRow(*base, RECORD, "", "in the target", "not found", MISMATCH)
            return
        for name, get in self.rules:
            try:
                raw = get(context)
            except RECORD_ERRORS:
                raw = None
            expected = self.expected(record, name)
            skip = self.target.not_read_back(self.target_object).get(name)
            if skip is not None:
                yield DiffRow(*base, name, shown(raw), shown(expected), "", SKIPPED)
                continue
            kind, scale = self.kinds[name]
            value = actual.get(name)
            if isinstance(value, tuple):  # a parent kept as several links: the expected one is among them
                same = canonical(expected, kind, scale) in {canonical(v, kind, scale) for v in value}
            else:
                same = canonical(expected, kind, scale) == canonical(value, kind, scale)
            yield DiffRow(*base, name, shown(raw), shown(expected), shown(actual.get(name)),
                          MATCH if same else MISMATCH)

    def readable(self) -> list[str]:
        return [name for name, _ in self.rules
                if name not in self.target.not_read_back(self.target_object)]


def compute_diff(compiled: CompiledSpec, source: RecordSource, target: Target, store: StateStore,
                 selection: Mapping[str, set[str]], run_id: int) -> SampleDiff:
    diff = SampleDiff(compiled.loaded.spec.name, run_id)
    objects = [name for name in compiled.plan.order if selection.get(name)]
    indexes = fill_join_indexes(compiled, source, objects)
    for name in objects:
        cobj = compiled.objects[name]
        wanted = selection[name]
        summary = diff.objects.setdefault(name, ObjectSummary(name, cobj.spec.target, selected=len(wanted)))
        entries = store.crosswalk(name, sorted(wanted))
        summary.filtered = sum(1 for e in entries.values() if e.status == "filtered")
        loaded = {sid: e.target_id for sid, e in entries.items() if e.status == "loaded" and e.target_id}
        quarantined = [q for q in store.quarantined(name) if q.source_id in wanted]
        diff.quarantined.extend(quarantined)
        summary.quarantined = len({q.source_id for q in quarantined})
        differ = _ObjectDiff(compiled, cobj, store, target)
        for field_name, _ in differ.rules:
            why = target.not_read_back(cobj.spec.target).get(field_name)
            if why is not None:
                diff.skipped[(cobj.spec.target, field_name)] = why
        expected = _expected_records(cobj, source, indexes[name], set(loaded))
        actual = target.read_back(cobj.spec.target, [loaded[sid] for sid in expected], differ.readable())
        for source_id in sorted(expected, key=_natural):
            record, context = expected[source_id]
            target_id = loaded[source_id]
            rows = list(differ.rows(record, context, target_id, actual.get(target_id)))
            diff.rows.extend(rows)
            summary.compared += 1
            summary.fields += sum(1 for r in rows if r.match != SKIPPED)
            summary.mismatched += sum(1 for r in rows if r.match == MISMATCH)
    return diff


def _expected_records(cobj: CompiledObject, source: RecordSource, indexes: Mapping[str, JoinIndex],
                      wanted: set[str]) -> dict[str, tuple[TargetRecord, dict[str, Any]]]:
    """The spec's transform of the wanted records, each with the context its rules saw."""
    transform = cobj.bind(dict(indexes))
    found: dict[str, tuple[TargetRecord, dict[str, Any]]] = {}
    for raw in chain(source.read(cobj.spec.source), cobj.seed):
        outcomes = transform(raw)
        if not any(o.source_id in wanted for o in outcomes):
            continue
        for outcome, context in zip(outcomes, contexts(cobj, raw, indexes), strict=False):
            if isinstance(outcome, TargetRecord) and outcome.source_id in wanted:
                found[outcome.source_id] = (outcome, context)
    return found


def _natural(source_id: str) -> tuple[int, int, str]:
    """Numeric ids in numeric order, others after them."""
    return (0, int(source_id), "") if source_id.isdigit() else (1, 0, source_id)
