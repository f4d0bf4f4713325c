"""Reconciling a migration: the current source, the state store and the target, object by object.

Objects go in plan order, one at a time (its source ids and lookups are dropped before the
next), so parents are read back before the records that point at them. The join indexes are
built once, as the runner builds them.
"""

from __future__ import annotations

from engine.compile.compiler import CompiledSpec
from engine.extract.source import RecordSource, fill_join_indexes
from engine.reconcile.counts import balance, verify_in_target
from engine.reconcile.lookups import Parents, check_lookups
from engine.reconcile.model import Reconciliation, UnmatchedPractitioner
from engine.reconcile.readback import Readback
from engine.reconcile.source_side import source_side
from engine.state.store import StateStore


def reconcile(compiled: CompiledSpec, source: RecordSource, readback: Readback, store: StateStore, *,
              run_id: int, source_label: str, target_label: str) -> Reconciliation:
    spec = compiled.loaded.spec
    result = Reconciliation(spec.name, run_id, source_label, target_label)
    names = compiled.plan.order
    targets = {name: compiled.objects[name].spec.target for name in compiled.objects}
    indexes = fill_join_indexes(compiled, source, names)
    parents = Parents(store, readback)
    for name in names:
        cobj = compiled.objects[name]
        side = source_side(cobj, source, indexes.get(name, {}))
        counts, loaded = balance(store, name, cobj.spec.target, side.ids)
        lookup_fields = [rule.target for rule in cobj.spec.lookups()]
        target_ids = [t for t in loaded.values() if t is not None]
        found = readback.records(cobj.spec.target, target_ids, lookup_fields)
        verify_in_target(counts, loaded, set(found))
        parents.know_present(cobj.spec.target, set(found))
        result.objects.append(counts)
        result.lookups.extend(check_lookups(cobj.spec, targets, loaded, found, side.lookups, parents))
    owners = spec.owners
    level = "warning" if owners is not None and not owners.fallback else "info"
    result.unmatched_practitioners = [UnmatchedPractitioner(source_id, email, reason, level)
                                      for source_id, email, reason in store.unresolved_owners()]
    return result
