"""`flitstack rollback SPEC [--run ID]`: undo a run and its deltas — delete what they created, restore
what they updated — from the audit log; without --run, every run and sample of the spec, newest
first (the target as it was before the migration). Resumable: run it again after an interruption.

Exit codes: 0 everything undone; 1 the target refused some records (listed in
reports/rollback-<id>.csv, the rest is undone; run it again once fixed); 2 nothing to
roll back or a bad --run; 3 stopped (re-run to resume).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from engine.cli.options import SPEC_ARG, WORKSPACE_OPTION
from engine.cli.run_command import lifecycle_errors
from engine.cli.session import Session, open_session
from engine.report.files import write_csv
from engine.run.rollback import (
    ROLLED_BACK_KINDS,
    Rollback,
    RollbackResult,
    choose_run,
    refuse_if_nothing_left,
    rollback_to_resume,
    runs_undone_with,
    standing_rows,
)
from engine.state.store import Run

FAILURE_HEADER = ("run", "object", "source_id", "target_object", "target_id", "action", "code", "message")


@click.command()
@SPEC_ARG
@click.option("--run", "run_id", type=int, default=None,
              help="The run (or sample) to roll back, with its deltas; default: the whole migration — every "
                   "run and sample of the spec with changes still standing, newest first.")
@WORKSPACE_OPTION
def rollback(spec: Path, run_id: int | None, workspace: Path | None) -> None:
    """Undo a run and the deltas after it: delete what they created, restore what they updated."""
    with lifecycle_errors(), open_session(spec, workspace, with_source=False) as session:
        store = session.store
        if run_id is not None:
            chosen = [choose_run(store, session.spec_name, run_id)]
        else:
            # The whole migration: every sample and run with changes still standing, newest first.
            chosen = [r for r in reversed(store.runs(*ROLLED_BACK_KINDS)) if r.spec_name == session.spec_name
                      and r.status in ("completed", "stopped") and standing_rows(store, r)]
            if not chosen:
                chosen = [choose_run(store, session.spec_name, None)]  # says why there is nothing to undo
        failures = 0
        for undone in chosen:
            failures += _roll_back(session, undone)
    if failures:
        sys.exit(1)


def _roll_back(session: Session, undone: Run) -> int:
    """Undo one run (or sample) and its deltas; returns the number of records the target refused."""
    store = session.store
    current = rollback_to_resume(store, undone)
    if current is not None:
        click.echo(f"Resuming rollback {current.id} of {undone.kind} {undone.id} (records already undone "
                   "are skipped).")
    else:
        refuse_if_nothing_left(store, undone)
        current = store.start_run("rollback", session.spec_name, session.spec_hash, session.target.label,
                                  parent=undone.id)
        deltas = len(runs_undone_with(store, undone)) - 1
        with_deltas = f" and its {deltas} deltas" if deltas else ""
        click.echo(f"Rolling back {undone.kind} {undone.id}{with_deltas} (rollback {current.id}).")
    result = Rollback(session.compiled, session.target, store, current, undone).execute()
    report = write_csv(session.workspace.reports / f"rollback-{current.id}.csv", FAILURE_HEADER,
                       [(f.row.run_id, f.row.object, f.row.source_id, f.row.target_object,
                         f.target_id or "", f.action, f.code, f.message) for f in result.failures])
    _summary(current.id, result, report)
    return len(result.failures)


def _summary(rollback_id: int, result: RollbackResult, report: Path) -> None:
    objects = sorted({*result.deleted, *result.restored, *(f.row.target_object for f in result.failures)})
    failed: dict[str, int] = {}
    for failure in result.failures:
        failed[failure.row.target_object] = failed.get(failure.row.target_object, 0) + 1
    click.echo(f"  {'target object':<24}{'deleted':>9}{'restored':>10}{'failed':>8}")
    for name in objects:
        click.echo(f"  {name:<24}{result.deleted.get(name, 0):>9,}{result.restored.get(name, 0):>10,}"
                   f"{failed.get(name, 0):>8,}")
    deleted, restored = sum(result.deleted.values()), sum(result.restored.values())
    if result.failures:
        click.echo(f"Rollback {rollback_id} done but the target refused {len(result.failures):,} records "
                   f"(records deleted: {deleted:,}, restored: {restored:,}): see {report}; run the same "
                   "command again to retry them.")
    else:
        click.echo(f"Rollback {rollback_id} completed: records deleted: {deleted:,}, restored: {restored:,}. "
                   f"Report: {report}")
