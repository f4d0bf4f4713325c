"""`flitstack reconcile SPEC`: counts per object, lookups and practitioners, source ↔ state ↔ target.

Exit 1 on a discrepancy (an object out of balance, a loaded record gone from the target, a
lookup empty or wrong where the spec gives a parent), 0 when balanced, 2 when there is nothing
to reconcile yet or the source or target cannot be read.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from engine.cli.options import SPEC_ARG, WORKSPACE_OPTION
from engine.cli.run_command import lifecycle_errors
from engine.cli.session import Session, open_session
from engine.errors import UsageError
from engine.load.target import LoadStopped
from engine.reconcile.model import Reconciliation
from engine.reconcile.readback import TargetReadback
from engine.reconcile.run import reconcile as reconcile_migration
from engine.report.reconcile import write_reconciliation
from engine.state.store import Run


def latest_run(session: Session) -> Run:
    """The newest completed run or delta of this spec; a completed full run must exist."""
    mine = [r for r in session.store.runs("run", "delta") if r.spec_name == session.spec_name]
    completed = [r for r in mine if r.status == "completed"]
    if not any(r.kind == "run" for r in completed):
        raise UsageError(f"spec '{session.spec_name}' has no completed run to reconcile: "
                         "`flitstack run SPEC` first")
    unfinished = [r for r in mine if r.status != "completed" and r.id > completed[-1].id]
    if unfinished:
        click.echo(f"Note: {unfinished[-1].kind} {unfinished[-1].id} did not finish; the counts include "
                   "what it wrote. Run it again to complete it.")
    return completed[-1]


def print_summary(result: Reconciliation) -> None:
    click.echo(f"  {'object':<22}{'source':>9}{'loaded':>9}{'quarantined':>13}{'filtered':>10}"
               f"{'missing':>9}{'not in target':>15}{'gone':>7}  balanced")
    for o in result.objects:
        click.echo(f"  {o.object:<22}{o.source:>9,}{o.loaded:>9,}{o.quarantined:>13,}{o.filtered:>10,}"
                   f"{len(o.missing):>9,}{len(o.missing_in_target):>15,}{len(o.gone_from_source):>7,}  "
                   f"{'yes' if o.balanced else 'NO'}")
    nulls = [c for c in result.lookups if c.null]
    if nulls:
        click.echo("Empty lookups (expected ones are informational):")
        for c in nulls:
            click.echo(f"  {c.object}.{c.field} → {c.parent}: {c.null:,} of {c.checked:,} empty, "
                       f"{c.expected_null:,} expected")
    unmatched = result.unmatched_practitioners
    if unmatched:
        warning = any(p.level == "warning" for p in unmatched)
        effect = ("with no fallback owner in the spec their records keep the target's default owner"
                  if warning else "their records are owned by the spec's fallback owner")
        click.echo(f"{'warning' if warning else 'info'}: {len(unmatched)} practitioners matched no target "
                   f"user; {effect}")


@click.command()
@SPEC_ARG
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Folder for reconciliation.html and reconciliation.json (default: <workspace>/reports).")
@WORKSPACE_OPTION
def reconcile(spec: Path, out: Path | None, workspace: Path | None) -> None:
    """Check the migration balances: source = loaded + quarantined + filtered, lookups, practitioners."""
    with lifecycle_errors(), open_session(spec, workspace) as session:
        run = latest_run(session)
        assert session.source is not None
        click.echo(f"Reconciling run {run.id}: reading the source and the target back…")
        try:
            result = reconcile_migration(session.compiled, session.reader, TargetReadback(session.target),
                                         session.store, run_id=run.id, source_label=session.source.label,
                                         target_label=session.target.label)
        except LoadStopped as exc:  # nothing is written here: a refused read is not a run to resume
            raise UsageError(f"the target refused a read: {exc}") from exc
        paths = write_reconciliation(result, out or session.workspace.reports)
    print_summary(result)
    discrepancies = result.discrepancies()
    for line in discrepancies:
        click.echo(f"discrepancy: {line}")
    click.echo("Balanced." if not discrepancies else
               f"Not balanced: {len(discrepancies)} discrepanc{'y' if len(discrepancies) == 1 else 'ies'}.")
    click.echo(f"Reports: {paths['html']} · {paths['json']}")
    if discrepancies:
        sys.exit(1)
