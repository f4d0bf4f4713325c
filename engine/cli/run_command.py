"""`flitstack run SPEC` and `flitstack delta SPEC`: the full load in plan order, and what changed since.

Both refuse a spec that changed since its sign-off, resume an interrupted run of
their kind when there is one, and end with the per-object counts and the
quarantine and unresolved-owners reports.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path

import click

from engine.cli.options import SPEC_ARG, WORKSPACE_OPTION
from engine.cli.session import Session, open_session, progress_display
from engine.connectors import SourceError
from engine.errors import UsageError
from engine.load.target import LoadStopped
from engine.report.owners import write_unresolved_owners
from engine.report.quarantine import write_quarantine
from engine.run.runner import DEFAULT_BATCH_SIZE, DEFAULT_OVERLAP, Runner, Scope, delta_since
from engine.state.store import Run

BATCH_OPTION = click.option("--batch-size", type=click.IntRange(1, 100_000), default=DEFAULT_BATCH_SIZE,
                            show_default=True, help="Source records per checkpointed batch.")


@contextmanager
def lifecycle_errors() -> Iterator[None]:
    """The failures a lifecycle command reports in one line, with what to do."""
    try:
        yield
    except LoadStopped as exc:
        click.echo(f"stopped: {exc}", err=True)
        click.echo("Nothing already written is lost; run the same command again to resume.", err=True)
        sys.exit(3)
    except (SourceError, UsageError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


def require_signoff(session: Session) -> None:
    signoff = session.store.latest_signoff(session.spec_name)
    if signoff is None:
        raise UsageError(f"spec '{session.spec_name}' has no sign-off: run `flitstack sample SPEC`, have the "
                         "diff reviewed, then `flitstack signoff SPEC --by NAME`")
    if signoff.spec_hash != session.spec_hash:
        raise UsageError(f"spec '{session.spec_name}' changed since {signoff.who} signed it off "
                         f"(sign-off {signoff.id}); run `flitstack sample SPEC` again and sign off the new "
                         "version before a full run")


def execute(session: Session, run: Run, scope: Scope, batch_size: int) -> None:
    with ExitStack() as stack:
        progress = progress_display(stack)
        Runner(session.compiled, session.reader, session.target, session.store, run, scope=scope,
               progress=progress, batch_size=batch_size).execute()


def report_run(session: Session, run: Run) -> None:
    store = session.store
    click.echo(f"{run.kind.capitalize()} {run.id} completed.")
    click.echo(f"  {'object':<22}{'read':>9}{'created':>9}{'updated':>9}{'unchanged':>11}"
               f"{'quarantined':>13}{'filtered':>10}")
    for counts in store.object_counts(run.id):
        label = counts.object if counts.pass_ == 1 else f"{counts.object} (2nd)"
        click.echo(f"  {label:<22}{counts.read:>9,}{counts.created:>9,}{counts.updated:>9,}"
                   f"{counts.unchanged:>11,}{counts.quarantined:>13,}{counts.filtered:>10,}")
    reports = session.workspace.reports
    quarantine = write_quarantine(reports / "quarantine.csv", store.quarantined())
    owners = write_unresolved_owners(reports / "unresolved_owners.csv", store.unresolved_owners())
    click.echo(f"Reports: {quarantine} · {owners}")


@click.command()
@SPEC_ARG
@BATCH_OPTION
@WORKSPACE_OPTION
def run(spec: Path, batch_size: int, workspace: Path | None) -> None:
    """Load every object in plan order (resumes an interrupted run)."""
    with lifecycle_errors(), open_session(spec, workspace) as session:
        require_signoff(session)
        store = session.store
        current = store.unfinished("run", session.spec_name)
        if current is not None:
            click.echo(f"Resuming run {current.id} (interrupted; objects it finished are skipped).")
        else:
            current = store.start_run("run", session.spec_name, session.spec_hash, session.target.label)
        execute(session, current, Scope(), batch_size)
        report_run(session, store.run(current.id))


@click.command()
@SPEC_ARG
@BATCH_OPTION
@click.option("--overlap-minutes", type=click.IntRange(0, 24 * 60),
              default=int(DEFAULT_OVERLAP.total_seconds() // 60), show_default=True,
              help="Read from this long before the watermark, against clock skew (re-read records "
                   "that did not change are not written again).")
@WORKSPACE_OPTION
def delta(spec: Path, batch_size: int, overlap_minutes: int, workspace: Path | None) -> None:
    """Apply what changed in the source since the last run or delta (new, updated, archived)."""
    with lifecycle_errors(), open_session(spec, workspace) as session:
        require_signoff(session)
        store = session.store
        completed = [r for r in store.runs("run") if r.status == "completed"
                     and r.spec_name == session.spec_name and not store.rolled_back(r.id)]
        if not completed:
            raise UsageError("no completed run to pick up from (a rolled-back run does not count): "
                             "`flitstack run SPEC` first")
        watermarks = store.watermarks()
        since = delta_since(watermarks, timedelta(minutes=overlap_minutes))
        current = store.unfinished("delta", session.spec_name)
        if current is not None:
            click.echo(f"Resuming delta {current.id}.")
        else:
            current = store.start_run("delta", session.spec_name, session.spec_hash, session.target.label,
                                      parent=completed[-1].id)
        oldest = min(watermarks.values()) if watermarks else "the beginning"
        click.echo(f"Reading records updated since {oldest} (less {overlap_minutes} min of overlap).")
        execute(session, current, Scope(since=since), batch_size)
        report_run(session, store.run(current.id))
