"""Lookups of the loaded records, as the target holds them, against what the spec gives.

For each lookup rule and each loaded record still in the target:
- empty in the target and the spec gives no parent: an expected null (informational —
  Contacts with no Referring_Doctor__c are normal);
- empty although the spec gives a parent: an unexpected null, a discrepancy;
- set, but not to the crosswalk's target id of the parent the spec gives, or to a record the
  target no longer has, or although the spec gives no parent: broken, a discrepancy.
"""

from __future__ import annotations

from collections.abc import Mapping, Set

from engine.reconcile.model import BROKEN, UNEXPECTED_NULL, LookupCheck, LookupProblem
from engine.reconcile.readback import LinkValues, Readback
from engine.records import Ref
from engine.spec.model import ObjectSpec
from engine.state.store import StateStore


class Parents:
    """Target ids of parents (from the crosswalk) and which target ids exist (read back once each)."""

    def __init__(self, store: StateStore, readback: Readback) -> None:
        self.store = store
        self.readback = readback
        self.present: dict[str, set[str]] = {}  # target object → ids known to exist
        self.absent: dict[str, set[str]] = {}  # target object → ids known not to exist

    def know_present(self, target_object: str, ids: Set[str]) -> None:
        self.present.setdefault(target_object, set()).update(ids)

    def target_ids(self, parent: str, source_ids: Set[str]) -> dict[str, str | None]:
        entries = self.store.crosswalk(parent, sorted(source_ids))
        return {source_id: entry.target_id for source_id, entry in entries.items()}

    def existing(self, target_object: str, ids: Set[str]) -> set[str]:
        present = self.present.setdefault(target_object, set())
        absent = self.absent.setdefault(target_object, set())
        unknown = ids - present - absent
        if unknown:
            found = set(self.readback.records(target_object, sorted(unknown), []))
            present.update(found)
            absent.update(unknown - found)
        return set(ids) & present


def check_lookups(spec: ObjectSpec, parent_targets: Mapping[str, str], loaded: Mapping[str, str | None],
                  found: Mapping[str, LinkValues], expected: Mapping[str, dict[str, Ref | None]],
                  parents: Parents) -> list[LookupCheck]:
    """`parent_targets`: spec object → its target object; `found`: what the target holds, by target id."""
    rules = spec.lookups()
    checks = {r.target: LookupCheck(spec.name, spec.target, r.target, str(r.value)) for r in rules}
    records = [(source_id, target_id, expected[source_id]) for source_id, target_id in sorted(loaded.items())
               if target_id is not None and target_id in found and source_id in expected]
    wanted: dict[str, set[str]] = {}
    for _, _, refs in records:
        for ref in refs.values():
            if ref is not None:
                wanted.setdefault(ref.object, set()).add(ref.source_id)
    parent_ids = {parent: parents.target_ids(parent, ids) for parent, ids in wanted.items()}
    held = {r.target: {v for _, target_id, _ in records for v in found[target_id][r.target]} for r in rules}
    existing = {r.target: parents.existing(parent_targets[str(r.value)], held[r.target]) for r in rules}
    for source_id, target_id, refs in records:
        for name, check in checks.items():
            ref = refs.get(name)
            want = parent_ids[ref.object].get(ref.source_id) if ref is not None else None
            problem = _judge(check, found[target_id][name], ref, want, existing[name])
            if problem is not None:
                kind, detail = problem
                check.problems.append(LookupProblem(source_id, target_id, kind,
                                                    ", ".join(found[target_id][name]) or None, want, detail))
    return list(checks.values())


def _judge(check: LookupCheck, actual: tuple[str, ...], ref: Ref | None, want: str | None,
           existing: Set[str]) -> tuple[str, str] | None:
    check.checked += 1
    if not actual:
        check.null += 1
        if ref is None:
            check.expected_null += 1
            return None
        return UNEXPECTED_NULL, f"empty; the spec gives {ref.object} {ref.source_id}"
    if ref is None:
        return BROKEN, "set, although the spec gives no parent"
    if want is None:
        return BROKEN, f"set, although {ref.object} {ref.source_id} has no target id in the state"
    if want not in actual:
        return BROKEN, f"not the target id of {ref.object} {ref.source_id} ({want})"
    if want not in existing:
        return BROKEN, f"{ref.object} {ref.source_id} ({want}) is no longer in the target"
    return None
