"""The runner: every object of the plan, extracted → transformed → loaded, one checkpointed batch at a time.

Memory holds one batch (`batch_size` source records) and the join indexes,
never a whole object. Each batch:
1. transform; filtered and quarantined outcomes are recorded as such;
2. owners applied; records whose content hash equals the crosswalk's are skipped
   (a second run over unchanged data writes nothing);
3. the records left are looked up in the target by key, and the audit log gets one
   `pending` row per record — insert, or update with the target's values before —
   *before* anything is sent;
4. the target loads them; the answers settle the audit rows, update the crosswalk,
   and quarantine the refused records with the target's own error — in one
   transaction with the object's counts.

A run that stops (killed, or the target refuses to go on) is resumed by running
it again: objects it finished are skipped, and in the object it was in, records
already written are skipped by their hashes, while the `pending` audit rows keep
what the interrupted batch may have created an insert (so rollback deletes it).

Lookups the plan defers (self-references, optional lookups in cycles) are
written in a second pass once every object is in, hashed separately.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import chain, islice
from typing import Any

from engine.compile.compiler import CompiledSpec
from engine.compile.joins import JoinIndex
from engine.compile.plan import PlanStep
from engine.compile.record import CompiledObject
from engine.extract.source import RecordSource, fill_join_indexes
from engine.load.target import LoadResult, LoadStep, LoadStopped, Target
from engine.records import Filtered, Outcome, Quarantined, Ref, TargetRecord
from engine.run.hashing import content_hash, plain_values
from engine.run.owners import OwnerAssigner
from engine.run.progress import Progress, Silent
from engine.state.store import Run, StateStore

DEFAULT_BATCH_SIZE = 5000  # above the target's bulk threshold, so large objects go through Bulk API 2.0
DEFAULT_OVERLAP = timedelta(minutes=10)
RECORD_PROBLEM = "(record)"  # the field named when the target reports an error for no field
ORPHAN = "PARENT_NOT_LOADED"

Sent = tuple[list[LoadResult], dict[str, str], dict[str, dict[str, Any]]]
"""A batch's answers, the audit action that stands for each record, and the target's before-images."""


@dataclass
class Tally:
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    filtered: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"read": self.read, "created": self.created, "updated": self.updated,
                "unchanged": self.unchanged, "quarantined": self.quarantined, "filtered": self.filtered}


@dataclass
class Scope:
    """What a run covers: everything, a sample's chosen records, or what changed since a time."""

    select: Mapping[str, Collection[str]] | None = None  # spec object → source ids
    since: Mapping[str, datetime] = field(default_factory=dict)  # source resource → read from

    def wants(self, outcome: Outcome) -> bool:
        return self.select is None or outcome.source_id in self.select.get(outcome.object, ())


def delta_since(watermarks: Mapping[str, str], overlap: timedelta = DEFAULT_OVERLAP) -> dict[str, datetime]:
    """Where a delta reads from: each resource's watermark less the overlap against clock skew."""
    return {resource: datetime.fromisoformat(value) - overlap for resource, value in watermarks.items()}


class Runner:
    def __init__(self, compiled: CompiledSpec, source: RecordSource, target: Target, store: StateStore,
                 run: Run, *, scope: Scope | None = None, progress: Progress | None = None,
                 batch_size: int = DEFAULT_BATCH_SIZE, owner_field: str | None = None) -> None:
        if batch_size < 1:
            raise ValueError("batch size must be at least 1")
        self.compiled = compiled
        self.source = source
        self.target = target
        self.store = store
        self.run = run
        self.scope = scope or Scope()
        self.progress = progress or Silent()
        self.batch_size = batch_size
        self.owner_field = owner_field or compiled.loaded.target.owner_field
        self.owners: OwnerAssigner | None = None
        self.indexes: dict[str, dict[str, JoinIndex]] = {}

    # -- the whole run ------------------------------------------------------------------------------
    def execute(self) -> None:
        """Load every object not yet done in this run; the run is `completed` at the end, else `stopped`."""
        steps = self.compiled.plan.steps
        first = [s for s in steps if not self.store.object_done(self.run.id, s.object, 1)]
        second = [s for s in steps if s.deferred and not self.store.object_done(self.run.id, s.object, 2)]
        try:
            self.indexes = fill_join_indexes(self.compiled, self.source,
                                             list(dict.fromkeys(s.object for s in [*first, *second])))
            self.owners = self._match_owners()
            for step in first:
                self._first_pass(step)
            for step in second:
                self._second_pass(step)
        except BaseException:
            self.store.set_run_status(self.run.id, "stopped")
            raise
        if self.run.kind in ("run", "delta"):
            started = datetime.fromtimestamp(self.run.started_at, UTC).isoformat()
            for resource in dict.fromkeys(self.compiled.objects[s.object].spec.source for s in steps):
                self.store.set_watermark(self.run.id, resource, started)
        self.store.set_run_status(self.run.id, "completed")

    # -- owners ------------------------------------------------------------------------------------
    def _match_owners(self) -> OwnerAssigner | None:
        owners = self.compiled.loaded.spec.owners
        if owners is None or not self.owner_field:
            return None
        people: dict[str, str | None] = {}
        cobj = self.compiled.objects[owners.practitioners]
        # The run's own indexes when it still loads practitioners (a practitioner joins every appointment:
        # reading them a second time would double the run's largest read).
        indexes = self.indexes.get(cobj.name) or \
            fill_join_indexes(self.compiled, self.source, [cobj.name])[cobj.name]
        transform = cobj.bind(indexes)
        for raw in chain(self.source.read(cobj.spec.source), cobj.seed):
            for outcome in transform(raw):
                if isinstance(outcome, TargetRecord):
                    email = outcome.values.get(owners.email)
                    people[outcome.source_id] = str(email) if email else None
        matches, fallback = self.target.match_owners(people, owners.fallback)
        self.store.set_owners(self.run.id, [(m.source_id, m.email, m.user_id, m.reason) for m in matches])
        return OwnerAssigner.from_matches(owners, self.owner_field, matches, fallback)

    # -- reading -----------------------------------------------------------------------------------
    def _expected(self, cobj: CompiledObject) -> int | None:
        """How many source records the object will read, when the source can say cheaply (for the ETA)."""
        count = getattr(self.source, "count", None)
        if count is None:
            return None
        resource = cobj.spec.source
        total = count(resource, since=self.scope.since.get(resource))
        return None if total is None else int(total) + len(cobj.seed)

    def _batches(self, cobj: CompiledObject) -> Iterator[tuple[int, list[Outcome]]]:
        """(source records read, their outcomes) per batch, the sample's selection applied."""
        resource = cobj.spec.source
        records = chain(self.source.read(resource, since=self.scope.since.get(resource)), cobj.seed)
        transform = cobj.bind(self.indexes.get(cobj.name, {}))
        while True:
            chunk = list(islice(records, self.batch_size))
            if not chunk:
                return
            outcomes = [o for raw in chunk for o in transform(raw)]
            yield len(chunk), [o for o in outcomes if self.scope.wants(o)]

    # -- pass 1: every field but the deferred lookups ------------------------------------------------
    def _first_pass(self, step: PlanStep) -> None:
        cobj = self.compiled.objects[step.object]
        assert cobj.spec.key is not None
        load_step = LoadStep(step.object, step.target, cobj.spec.key.target)
        deferred = {d.field for d in step.deferred}
        total = Tally()
        self.progress.started(step.object, 1, self._expected(cobj))
        for read, outcomes in self._batches(cobj):
            tally = Tally(read=read)
            records = self._settle_others(cobj, load_step, outcomes, tally)
            records = self._without_orphans(load_step, records, tally)
            if self.owners is not None:
                for record in records:
                    self.owners.assign(record)
            hashes = {r.source_id: content_hash(r, omit=deferred) for r in records}
            known = self.store.crosswalk(step.object, list(hashes))
            todo = [r for r in records if not _unchanged(known.get(r.source_id), "content_hash",
                                                         hashes[r.source_id])]
            tally.unchanged += len(records) - len(todo)
            sent = self._send(load_step, 1, todo, omit=deferred,
                              send=lambda batch: self.target.load(load_step, batch, omit=deferred))
            self._commit(load_step, 1, todo, sent, hashes, tally, total, read)
        self._finish(load_step, 1, total)

    def _settle_others(self, cobj: CompiledObject, step: LoadStep, outcomes: Iterable[Outcome],
                       tally: Tally) -> list[TargetRecord]:
        """Record filtered and quarantined outcomes; return the records to load."""
        records: list[TargetRecord] = []
        with self.store.transaction():
            for outcome in outcomes:
                if isinstance(outcome, TargetRecord):
                    records.append(outcome)
                elif isinstance(outcome, Filtered):
                    tally.filtered += 1
                    self.store.mark_filtered(self.run.id, step.object, outcome.source_id, step.target_object)
                elif isinstance(outcome, Quarantined):
                    tally.quarantined += 1
                    source = {k: v for k, v in outcome.record.items() if k not in cobj.spec.joins}
                    self.store.quarantine(self.run.id, step.object, outcome.source_id, step.target_object,
                                          "transform", [(p.field, p.reason, None) for p in outcome.problems],
                                          source)
        return records

    def _without_orphans(self, step: LoadStep, records: list[TargetRecord],
                         tally: Tally) -> list[TargetRecord]:
        """Quarantine records whose lookup names a parent this migration did not load: the target
        would refuse them anyway, and the reason should point at the parent's own problem."""
        wanted: dict[str, set[str]] = {}
        for record in records:
            for value in record.values.values():
                if isinstance(value, Ref) and value.object != step.object:
                    wanted.setdefault(value.object, set()).add(value.source_id)
        missing: dict[tuple[str, str], str] = {}
        for parent, ids in wanted.items():
            for source_id, entry in self.store.crosswalk(parent, sorted(ids)).items():
                if entry.status != "loaded" and entry.target_id is None:
                    missing[(parent, source_id)] = entry.status
        if not missing:
            return records
        kept: list[TargetRecord] = []
        with self.store.transaction():
            for record in records:
                problems = [(name, f"{ORPHAN}: the {value.object} {value.source_id} it points at was "
                             f"{missing[(value.object, value.source_id)]}, not loaded", ORPHAN)
                            for name, value in record.values.items()
                            if isinstance(value, Ref) and (value.object, value.source_id) in missing]
                if not problems:
                    kept.append(record)
                    continue
                tally.quarantined += 1
                self.store.quarantine(self.run.id, step.object, record.source_id, step.target_object, "load",
                                      problems, plain_values(record))
        return kept

    # -- pass 2: deferred lookups --------------------------------------------------------------------
    def _second_pass(self, step: PlanStep) -> None:
        cobj = self.compiled.objects[step.object]
        assert cobj.spec.key is not None
        load_step = LoadStep(step.object, step.target, cobj.spec.key.target)
        fields = [d.field for d in step.deferred]
        total = Tally()
        self.progress.started(step.object, 2, self._expected(cobj))
        for read, outcomes in self._batches(cobj):
            tally = Tally(read=read)
            records = [o for o in outcomes if isinstance(o, TargetRecord)]
            hashes = {r.source_id: content_hash(r, only=fields) for r in records}
            known = self.store.crosswalk(step.object, list(hashes))
            loaded = [r for r in records if (entry := known.get(r.source_id)) and entry.status == "loaded"]
            todo = [r for r in loaded if not _unchanged(known.get(r.source_id), "link_hash",
                                                        hashes[r.source_id])]
            tally.unchanged += len(loaded) - len(todo)
            sent = self._send(load_step, 2, todo, only=fields,
                              send=lambda batch: self.target.update_lookups(load_step, batch, fields))
            self._commit(load_step, 2, todo, sent, hashes, tally, total, read)
        self._finish(load_step, 2, total)

    # -- sending -------------------------------------------------------------------------------------
    def _send(self, step: LoadStep, pass_: int, records: list[TargetRecord], *,
              send: Callable[[list[TargetRecord]], list[LoadResult]], omit: Collection[str] = (),
              only: Collection[str] | None = None,
              ) -> Sent:
        """Write the audit rows ahead, then send; returns the results, standing actions and before-images."""
        if not records:
            return [], {}, {}
        written = {name for r in records for name in r.values
                   if name not in omit and (only is None or name in only)}
        existing = self.target.find(step, [r.key for r in records], written)
        intents = []
        for record in records:
            found = existing.get(record.key)
            action = "link" if pass_ == 2 else "update" if found is not None else "insert"
            before = {k: v for k, v in found.items() if k != "Id"} if found is not None else None
            intents.append((record.source_id, record.key, found.get("Id") if found else None, action, before))
        actions = self.store.write_ahead(self.run.id, pass_, step.object, step.target_object, intents)
        results = send(records)
        if len(results) != len(records):
            raise LoadStopped(f"{step.object}: the target answered {len(results)} results for "
                              f"{len(records)} records")
        return results, actions, existing

    def _commit(self, step: LoadStep, pass_: int, records: list[TargetRecord], sent: Sent,
                hashes: Mapping[str, str], tally: Tally, total: Tally, read: int) -> None:
        """One transaction: every answer settled, the crosswalk and the counts with them."""
        results, actions, existing = sent
        with self.store.transaction():
            for record, result in zip(records, results, strict=True):
                digest = hashes[record.source_id]
                self._settle(step, pass_, record, result, actions, existing, tally,
                             content=digest if pass_ == 1 else None, link=digest if pass_ == 2 else None)
            self.store.add_counts(self.run.id, step.object, pass_, tally.as_dict())
        _add(total, tally)
        self.progress.advanced(read, tally.as_dict())

    def _finish(self, step: LoadStep, pass_: int, total: Tally) -> None:
        self.store.add_counts(self.run.id, step.object, pass_, {}, done=True)
        self.progress.finished(step.object, pass_, total.as_dict())

    def _settle(self, step: LoadStep, pass_: int, record: TargetRecord, result: LoadResult,
                actions: Mapping[str, str], existing: Mapping[str, dict[str, Any]], tally: Tally, *,
                content: str | None = None, link: str | None = None) -> None:
        action = actions.get(record.source_id, "insert")
        found = existing.get(record.key)
        target_id = result.target_id or (found.get("Id") if found else None)
        # An insert whose record exists although this answer failed was made by the interrupted attempt.
        changed = result.ok or (result.target_id is not None) or (action == "insert" and found is not None)
        self.store.settle(self.run.id, pass_, step.object, record.source_id,
                          target_id=target_id, ok=changed)
        if result.ok:
            self.store.mark_loaded(self.run.id, step.object, record.source_id, step.target_object, record.key,
                                   target_id, content_hash=content, link_hash=link)
            if pass_ == 1 and action == "insert":
                tally.created += 1
            else:
                tally.updated += 1
            return
        tally.quarantined += 1
        fields = result.fields or (RECORD_PROBLEM,)
        self.store.quarantine(self.run.id, step.object, record.source_id, step.target_object, "load",
                              [(f, f"{result.code}: {result.message}", result.code) for f in fields],
                              plain_values(record))


def _unchanged(entry: Any, attribute: str, digest: str) -> bool:
    return entry is not None and entry.status == "loaded" and getattr(entry, attribute) == digest


def _add(total: Tally, tally: Tally) -> None:
    for name, value in tally.as_dict().items():
        setattr(total, name, getattr(total, name) + value)
