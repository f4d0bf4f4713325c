"""Rollback: undo a run (or a sample) and the deltas that followed it, from the audit log.

The audit rows still standing (`pending` or `done`) are undone newest first. Runs load
in plan order, so newest first is reverse dependency order: the deferred lookups of the
second pass, then children before their parents. Per row:
- `insert` → delete the record. A `pending` insert has no target id (the run was killed
  before the answer), so the record is looked up by its key: the interrupted attempt may
  have created it; if it did not, there is nothing to delete;
- `update`, `link` → put back the values the audit log kept from before.

Consecutive rows with the same undo and target object go in one call (up to 200, a record
at most once per call, so a record updated by a run and again by a delta is restored in
two steps, newest first). Each undone row is recorded (`StateStore.undo`) in the same
transaction as the crosswalk change: a deleted record is forgotten, a restored one loses
its hashes so a later run sends it again.

A rollback is a run of its own (kind `rollback`, parent = the run undone) and resumes:
rows already undone are not read again, and a record that is already gone counts as
deleted (or, when the rollback deletes it anyway, as restored). A record the target
refuses is reported and left standing (a later rollback tries it again); LoadStopped
stops the rollback, which is then `stopped`. A finished rollback drops the watermarks
the undone runs set, so a later delta does not start after changes no longer in the target.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from engine.compile.compiler import CompiledSpec
from engine.errors import UsageError
from engine.load.target import LoadResult, LoadStep, Target
from engine.state.store import AuditRow, Run, StateStore

BATCH_SIZE = 200
# What a delete of a record that no longer exists answers: already deleted (in the recycle bin) or
# unknown id. Either way nothing is left to delete.
GONE_CODES = frozenset({"ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY", "NOT_FOUND"})
_NO_ANSWER = LoadResult("", None, False, "NO_ANSWER", "the target's answer did not mention this record")
UNDO_OF = {"insert": "delete", "update": "restore", "link": "restore"}
ROLLED_BACK_KINDS = ("run", "sample")


@dataclass(frozen=True)
class UndoFailure:
    """A record the target would not delete or restore."""

    row: AuditRow
    action: str
    target_id: str | None
    code: str
    message: str


@dataclass
class RollbackResult:
    deleted: dict[str, int] = field(default_factory=dict)  # target object → records
    restored: dict[str, int] = field(default_factory=dict)
    failures: list[UndoFailure] = field(default_factory=list)

    def count(self, action: str, target_object: str, n: int) -> None:
        counts = self.deleted if action == "delete" else self.restored
        counts[target_object] = counts.get(target_object, 0) + n


# -- which run --------------------------------------------------------------------------------------

def runs_undone_with(store: StateStore, run: Run) -> list[int]:
    """The run and the deltas that followed it: everything one rollback undoes."""
    return [run.id, *(d.id for d in store.runs("delta") if d.parent == run.id)]


def standing_rows(store: StateStore, run: Run) -> int:
    return sum(1 for _ in store.audit_rows(runs_undone_with(store, run)))


def choose_run(store: StateStore, spec_name: str, run_id: int | None) -> Run:
    """The run to roll back: `run_id`, or this spec's latest completed or stopped run that still has
    changes to undo (a later run that wrote nothing, over unchanged data, is passed over)."""
    if run_id is None:
        candidates = [r for r in store.runs("run") if r.spec_name == spec_name
                      and r.status in ("completed", "stopped")]
        if not candidates:
            raise UsageError(f"spec '{spec_name}' has no run to roll back (a sample is rolled back by its "
                             "id: --run ID)")
        with_changes = [r for r in candidates if standing_rows(store, r)]
        return (with_changes or candidates)[-1]
    try:
        run = store.run(run_id)
    except KeyError:
        raise UsageError(f"there is no run {run_id} in this workspace") from None
    if run.kind == "rollback":
        raise UsageError(f"run {run_id} is itself a rollback (of run {run.parent}); a rollback is not undone")
    if run.kind == "delta":
        raise UsageError(f"run {run_id} is a delta of run {run.parent}: a delta is rolled back with its run "
                         f"(--run {run.parent})")
    if run.spec_name != spec_name:
        raise UsageError(f"run {run_id} belongs to spec '{run.spec_name}', not '{spec_name}'")
    return run


def rollback_to_resume(store: StateStore, run: Run) -> Run | None:
    """An interrupted rollback of `run` (resuming it continues where it stopped)."""
    mine = [r for r in store.runs("rollback") if r.parent == run.id]
    return mine[-1] if mine and mine[-1].status != "completed" else None


def refuse_if_nothing_left(store: StateStore, run: Run) -> None:
    if standing_rows(store, run):
        return
    done = [r.id for r in store.runs("rollback") if r.parent == run.id]
    others = [r.id for r in store.runs(*ROLLED_BACK_KINDS)
              if r.spec_name == run.spec_name and r.id != run.id and standing_rows(store, r)]
    hint = f"; runs with changes left to undo: {', '.join(map(str, others))} (--run ID)" if others else ""
    if done:
        raise UsageError(f"{run.kind} {run.id} was already rolled back (rollback {done[-1]}){hint}")
    raise UsageError(f"{run.kind} {run.id} changed nothing in the target: nothing to roll back{hint}")


# -- undoing ----------------------------------------------------------------------------------------

class Rollback:
    def __init__(self, compiled: CompiledSpec, target: Target, store: StateStore, rollback: Run,
                 undone: Run) -> None:
        self.compiled = compiled
        self.target = target
        self.store = store
        self.rollback = rollback
        self.run_ids = runs_undone_with(store, undone)
        self.inserted: set[tuple[str, str]] = set()  # records whose insert is undone too

    def execute(self) -> RollbackResult:
        """Undo every standing row; the rollback is `completed` at the end, else `stopped`."""
        result = RollbackResult()
        try:
            rows = list(self.store.audit_rows(self.run_ids, statuses=("pending", "done"), newest_first=True))
            self.inserted = {(row.object, row.source_id) for row in rows if row.action == "insert"}
            for action, batch in batches(rows):
                if action == "delete":
                    self._delete(batch, result)
                else:
                    self._restore(batch, result)
        except BaseException:
            self.store.set_run_status(self.rollback.id, "stopped")
            raise
        self.store.drop_watermarks(self.run_ids)
        self.store.set_run_status(self.rollback.id, "completed")
        return result

    def _delete(self, rows: list[AuditRow], result: RollbackResult) -> None:
        target_object = rows[0].target_object
        ids, unresolved = self._target_ids(rows)
        answers = _by_id(self.target.delete(target_object, sorted(set(ids.values())))) if ids else {}
        undone = 0
        with self.store.transaction():
            for row in rows:
                if row.seq in unresolved:
                    result.failures.append(UndoFailure(row, "delete", None, *unresolved[row.seq]))
                    continue
                target_id = ids.get(row.seq)
                answer = answers.get(target_id, _NO_ANSWER) if target_id is not None else None
                if answer is not None and not answer.ok and answer.code not in GONE_CODES:
                    result.failures.append(UndoFailure(row, "delete", target_id, str(answer.code),
                                                       str(answer.message)))
                    continue
                # No target id: the interrupted insert never created the record; nothing to delete.
                self.store.undo(row, self.rollback.id, "delete", None)
                self.store.forget(row.object, row.source_id)
                undone += 1
        result.count("delete", target_object, undone)

    def _target_ids(self, rows: list[AuditRow]) -> tuple[dict[int, str], dict[int, tuple[str, str]]]:
        """Audit seq → the record's target id; rows whose record cannot be looked up → (code, message)."""
        ids = {row.seq: row.target_id for row in rows if row.target_id}
        unresolved: dict[int, tuple[str, str]] = {}
        by_object: dict[str, list[AuditRow]] = {}
        for row in rows:
            if not row.target_id:
                by_object.setdefault(row.object, []).append(row)
        for name, pending in by_object.items():
            cobj = self.compiled.objects.get(name)
            key = cobj.spec.key if cobj is not None else None
            if key is None:
                for row in pending:
                    unresolved[row.seq] = ("UNKNOWN_KEY", f"the spec no longer has object '{name}' (with its "
                                           "key), needed to find the record an interrupted insert may have "
                                           "created")
                continue
            step = LoadStep(name, pending[0].target_object, key.target)
            found = self.target.find(step, [r.target_key for r in pending if r.target_key], ())
            for row in pending:
                record = found.get(row.target_key or "")
                if record is not None and record.get("Id"):
                    ids[row.seq] = str(record["Id"])
        return ids, unresolved

    def _restore(self, rows: list[AuditRow], result: RollbackResult) -> None:
        target_object = rows[0].target_object
        # Files and notes are never updated in place: their before-image is empty, nothing to put back.
        wanted = [row for row in rows if row.before and row.target_id]
        fields = sorted({name for row in wanted for name in (row.before or {})})
        # What the rollback overwrites, kept in its own audit rows as every update's before-image is.
        current = self.target.read(target_object, [r.target_id for r in wanted if r.target_id], fields) \
            if wanted else {}
        answers = _by_id(self.target.restore(target_object, [(str(r.target_id), dict(r.before or {}))
                                                            for r in wanted])) if wanted else {}
        undone = 0
        with self.store.transaction():
            for row in rows:
                answer = answers.get(row.target_id or "", _NO_ANSWER) if row.before else None
                if row.before and not row.target_id:
                    result.failures.append(UndoFailure(row, "restore", None, "NO_TARGET_ID",
                                                       "the audit log holds no target id for this record"))
                    continue
                # A record this rollback deletes anyway needs no restoring if it is already gone.
                gone = answer is not None and answer.code in GONE_CODES and \
                    (row.object, row.source_id) in self.inserted
                if answer is not None and not answer.ok and not gone:
                    result.failures.append(UndoFailure(row, "restore", row.target_id, str(answer.code),
                                                       str(answer.message)))
                    continue
                before = current.get(row.target_id or "")
                self.store.undo(row, self.rollback.id, "restore",
                                {k: v for k, v in before.items() if k in fields} if before else None)
                self.store.forget_hash(row.object, row.source_id)
                undone += 1
        result.count("restore", target_object, undone)


def batches(rows: Iterable[AuditRow], size: int = BATCH_SIZE) -> Iterator[tuple[str, list[AuditRow]]]:
    """Consecutive rows with the same undo action and target object, at most `size`, a record once."""
    batch: list[AuditRow] = []
    records: set[tuple[str, str]] = set()
    action = ""
    for row in rows:
        undo = UNDO_OF.get(row.action)
        if undo is None:  # a delete or restore row belongs to a rollback, never to the runs undone
            continue
        record = (row.object, row.source_id)
        if batch and (undo != action or row.target_object != batch[0].target_object
                      or len(batch) >= size or record in records):
            yield action, batch
            batch, records = [], set()
        action = undo
        batch.append(row)
        records.add(record)
    if batch:
        yield action, batch


def _by_id(results: Sequence[LoadResult]) -> dict[str, LoadResult]:
    """Delete and restore results carry the target id as their source id."""
    out: dict[str, LoadResult] = {}
    for result in results:
        out[str(result.source_id)] = result
    return out
