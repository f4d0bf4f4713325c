"""Running the audit: the spec's own transforms over every source record, watched closely.

The audit asks of the data exactly what the migration will: it reads the same
resources, builds the same join indexes and runs the same compiled rules. On
the side, probes built from the same rule steps (`rule_parts`) note what a run
would silently absorb — a value a map does not list but a fallback covers, a
lookup that falls back to its default, text that will be truncated — and the
source's own checks (missing e-mails, duplicates, oversized files) run over
the records that would migrate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from typing import Any

from engine.audit.findings import AuditReport, Finding
from engine.audit.patients import PatientChecks
from engine.compile.compiler import CompiledSpec
from engine.compile.expressions import RECORD_ERRORS
from engine.compile.joins import JoinIndex
from engine.compile.record import CompiledObject, RuleParts, rule_parts
from engine.compile.value_maps import compile_coverage
from engine.extract.source import RecordSource, fill_join_indexes
from engine.records import Filtered, Quarantined, Ref, TargetRecord
from engine.spec.model import FieldRule
from engine.spec.target_view import target_objects


@dataclass(frozen=True)
class _Probe:
    rule: FieldRule
    parts: RuleParts
    covered: Callable[[Any], bool] | None
    unmapped_outcome: str


def _probes(compiled: CompiledSpec, cobj: CompiledObject) -> list[_Probe]:
    spec = compiled.loaded.spec
    view = target_objects(spec, compiled.loaded.target)[cobj.spec.target]
    probes = []
    for rule in cobj.spec.fields:
        if rule.kind == "const":
            continue
        parts = rule_parts(rule, spec, view.fields.get(rule.target))
        covered = None
        outcome = ""
        # A map on a lookup key (business_parent) lists the exceptions by design: not a data problem.
        if rule.map and rule.kind != "lookup":
            vmap = spec.value_maps[rule.map]
            covered = compile_coverage(vmap)
            outcome = "quarantined" if vmap.quarantine_unmapped else f"falls back to {vmap.fallback!r}"
        probes.append(_Probe(rule, parts, covered, outcome))
    return probes


def _pre_limit_value(parts: RuleParts, context: dict[str, Any]) -> Any:
    """The value as it reaches the length check (the run's own steps, in its order)."""
    value = parts.get(context)
    if value == "":
        return None
    if value is not None and parts.translate is not None:
        value = parts.translate(value)
    if value is not None and parts.coerce is not None:
        value = parts.coerce(value)
    return value


class _ObjectAudit:
    def __init__(self, compiled: CompiledSpec, cobj: CompiledObject, report: AuditReport,
                 loadable: dict[str, set[str]]) -> None:
        self.cobj = cobj
        self.report = report
        self.loadable = loadable
        self.probes = _probes(compiled, cobj)

    def finding(self, check: str, source_id: str, field: str, detail: str) -> None:
        self.report.add(Finding(check, self.cobj.name, self.cobj.spec.source, source_id, field, detail))

    def probe(self, context: dict[str, Any], source_id: str) -> None:
        for probe in self.probes:
            rule = probe.rule
            try:
                if rule.kind == "lookup":
                    self._probe_lookup(probe, context, source_id)
                    continue
                raw = probe.parts.get(context)
                if probe.covered is not None and raw not in (None, "") and not probe.covered(raw):
                    self.finding("unmapped_value", source_id, rule.target,
                                 f"{raw!r} is not in value map '{rule.map}': {probe.unmapped_outcome}")
                value = _pre_limit_value(probe.parts, context)
            except RECORD_ERRORS:
                continue  # the transform itself reports this record's problem
            limit = probe.parts.limit
            if limit is not None and isinstance(value, str) and len(value) > limit:
                action = f"truncated to {limit}" if probe.parts.truncate else "record rejected"
                self.finding("overlong_value", source_id, rule.target,
                             f"{len(value)} characters, limit {limit}: {action}")

    def _probe_lookup(self, probe: _Probe, context: dict[str, Any], source_id: str) -> None:
        rule = probe.rule
        key = probe.parts.get(context)
        if key not in (None, "") and probe.parts.translate is not None:
            key = probe.parts.translate(key)
        if key in (None, "") and probe.parts.has_default:
            self.finding("lookup_defaulted", source_id, rule.target,
                         f"no {rule.value} to point at: falls back to {probe.parts.default!r}")

    def transform(self, records: Iterable[dict[str, Any]], indexes: dict[str, JoinIndex],
                  patients: PatientChecks | None) -> None:
        transform = self.cobj.bind(indexes)
        name = self.cobj.name
        for record in records:
            self.report.records[name] += 1
            if patients is not None:
                patients.check(record, str(record.get("id", "")))
            outcomes = transform(record)
            if outcomes and isinstance(outcomes[0], Filtered):
                self.report.filtered[name] += 1
                continue
            for context, outcome in zip(self._contexts(record, indexes), outcomes, strict=False):
                self.probe(context, outcome.source_id)
                if isinstance(outcome, TargetRecord):
                    self.loadable.setdefault(name, set()).add(outcome.source_id)
                    self._broken_lookups(outcome)
                elif isinstance(outcome, Quarantined):
                    self.report.quarantined[name] += 1
                    reasons = "; ".join(f"{p.field}: {p.reason}" for p in outcome.problems)
                    self.finding("would_quarantine", outcome.source_id, outcome.problems[0].field, reasons)

    def _contexts(self, record: dict[str, Any], indexes: dict[str, JoinIndex]) -> Iterator[dict[str, Any]]:
        """What the rules saw for each outcome: the record, its joins, and the `each` element."""
        context = dict(record)
        for join_name in self.cobj.spec.joins:
            context[join_name] = indexes[join_name].lookup(context)
        each = self.cobj.spec.each
        if each is None or self.cobj.each is None:
            yield context
            return
        try:
            items = self.cobj.each(context)
        except RECORD_ERRORS:
            items = None
        for position, item in enumerate(items if isinstance(items, list) else [None]):
            yield {**context, each.name: item, f"{each.name}_index": position}

    def _broken_lookups(self, outcome: TargetRecord) -> None:
        for field, value in outcome.values.items():
            # Self-references (ParentId) are checked by the second pass, not here.
            if isinstance(value, Ref) and value.object != self.cobj.name \
                    and value.source_id not in self.loadable.get(value.object, set()):
                self.finding("lookup_broken", outcome.source_id, field,
                             f"{value.object} {value.source_id} is not in the source or will not load")


def run_audit(compiled: CompiledSpec, source: RecordSource, *, source_label: str,
              file_max_bytes: int | None) -> AuditReport:
    spec = compiled.loaded.spec
    report = AuditReport(spec.name, source_label, spec.target_system)
    indexes = fill_join_indexes(compiled, source)
    loadable: dict[str, set[str]] = {}
    patients_checked = False
    for name in compiled.plan.order:
        cobj = compiled.objects[name]
        audit = _ObjectAudit(compiled, cobj, report, loadable)
        # Patient records are checked once, with the first object that reads them (a spec may
        # read patients twice, e.g. again to explode insurance profiles).
        patients = None
        if cobj.spec.source == "patients" and not patients_checked:
            patients, patients_checked = PatientChecks(report, name), True
        records: Iterable[dict[str, Any]] = chain(source.read(cobj.spec.source), cobj.seed)
        if cobj.spec.source == "patient_attachments" and file_max_bytes is not None:
            records = _size_checked(records, audit, file_max_bytes)
        audit.transform(records, indexes[name], patients)
    return report


def _size_checked(records: Iterable[dict[str, Any]], audit: _ObjectAudit,
                  limit: int) -> Iterator[dict[str, Any]]:
    for record in records:
        size = record.get("size")
        if isinstance(size, (int, str)) and str(size).isdigit() and int(size) > limit:
            audit.finding("oversized_attachment", str(record.get("id")), "size",
                          f"{int(size):,} bytes, limit {limit:,}")
        yield record
