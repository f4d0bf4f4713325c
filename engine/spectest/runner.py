"""Runs the `tests:` of a spec through the compiled transforms, exactly as a run would.

A failure reports expected versus actual field by field, so an analyst sees
which rule to fix without reading code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.compile.compiler import CompiledSpec
from engine.extract.normalise import complete_record
from engine.records import Filtered, Quarantined, Ref, TargetRecord
from engine.spec.model import SpecTest

_MISSING = object()


@dataclass
class TestResult:
    test: SpecTest
    failures: list[str] = field(default_factory=list)
    skipped: bool = False

    @property
    def passed(self) -> bool:
        return not self.failures and not self.skipped


def _same(expected: Any, actual: Any) -> bool:
    if isinstance(actual, Ref):
        return (isinstance(expected, dict) and expected.get("ref") == actual.object
                and str(expected.get("key")) == actual.source_id)
    if isinstance(actual, Decimal) and isinstance(expected, (int, float, str)) \
            and not isinstance(expected, bool):
        try:
            return Decimal(str(expected)) == actual
        except InvalidOperation:
            return False
    if isinstance(expected, float) and isinstance(actual, int) and not isinstance(actual, bool):
        return expected == actual
    return (bool(expected == actual) and type(expected) is type(actual)) or (
        expected is None and actual is None)


def show(value: Any) -> str:
    if value is _MISSING:
        return "(not set)"
    if isinstance(value, Ref):
        return f"{{ref: {value.object}, key: {value.source_id!r}}}"
    if isinstance(value, Decimal):
        return str(value)
    return repr(value)


def run_test(compiled: CompiledSpec, test: SpecTest) -> TestResult:
    result = TestResult(test)
    if test.skip:
        result.skipped = True
        return result
    cobj = compiled.objects[test.object]
    indexes = compiled.join_indexes(test.object)
    for index in indexes.values():
        related = test.related.get(index.join.resource, [])
        index.add_all(_complete(compiled, index.join.resource, related))
    outcomes = cobj.transform_all(_complete(compiled, cobj.spec.source, test.given), indexes)
    if test.related:
        unused = set(test.related) - {i.join.resource for i in indexes.values()}
        for resource in sorted(unused):
            result.failures.append(f"related records of '{resource}' are given, but object "
                                   f"'{test.object}' has no join to that resource")
    records = [o for o in outcomes if isinstance(o, TargetRecord)]
    quarantined = [o for o in outcomes if isinstance(o, Quarantined)]
    filtered = [o for o in outcomes if isinstance(o, Filtered)]
    if test.expect is not None:
        _compare_records(result, test.expect, records, quarantined)
    _compare_quarantine(result, test.expect_quarantine, quarantined)
    if test.expect_filtered is not None and test.expect_filtered != len(filtered):
        result.failures.append(f"expected {test.expect_filtered} filtered record(s), got {len(filtered)}")
    return result


def _compare_records(result: TestResult, expect: list[dict[str, Any]], records: list[TargetRecord],
                     quarantined: list[Quarantined]) -> None:
    if len(expect) != len(records):
        result.failures.append(f"expected {len(expect)} target record(s), got {len(records)}")
        for q in quarantined:
            for p in q.problems:
                result.failures.append(f"  quarantined {q.source_id}: {p.field}: {p.reason}")
    for position, (want, got) in enumerate(zip(expect, records, strict=False), start=1):
        for name, expected in want.items():
            actual = got.values.get(name, _MISSING)
            if name not in got.values and name == "__key__":
                actual = got.key
            if actual is _MISSING or not _same(expected, actual):
                result.failures.append(
                    f"record {position} (source id {got.source_id}) field {name}: "
                    f"expected {show(expected)}, got {show(actual)}")


def _compare_quarantine(result: TestResult, expect: list[dict[str, Any]],
                        quarantined: list[Quarantined]) -> None:
    for want in expect:
        key = str(want["key"])
        matches = [q for q in quarantined if q.source_id == key]
        if not matches:
            result.failures.append(f"expected source id {key} to be quarantined, but it was not")
            continue
        problems = [p for q in matches for p in q.problems]
        if "field" in want:
            problems = [p for p in problems if p.field == want["field"]]
            if not problems:
                result.failures.append(f"source id {key} was quarantined, but not for field {want['field']}")
                continue
        needle = want.get("reason_contains")
        if needle and not any(needle in p.reason for p in problems):
            reasons = "; ".join(p.reason for p in problems)
            result.failures.append(f"source id {key}: no reason contains {needle!r} (reasons: {reasons})")


def _complete(compiled: CompiledSpec, resource: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Given records as the connector would deliver them: every catalogued field present."""
    source = compiled.loaded.source
    fields = list(source.objects[resource].fields) if source and resource in source.objects else []
    return [complete_record(r, fields) for r in records]


def run_tests(compiled: CompiledSpec) -> list[TestResult]:
    return [run_test(compiled, t) for t in compiled.loaded.spec.tests]
