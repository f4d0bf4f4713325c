"""`flitstack audit SPEC`: the data-quality audit of the source, before anything moves."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from engine.audit.findings import CHECKS
from engine.audit.run import run_audit
from engine.cli.connections import cliniko_source
from engine.cli.options import SPEC_ARG, WORKSPACE_OPTION, compile_or_exit, workspace_of
from engine.connectors import SourceError
from engine.errors import UsageError
from engine.report.audit import write_audit
from engine.spec.limits import target_limit


@click.command()
@SPEC_ARG
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Folder for audit.html, audit.csv and audit-summary.csv (default: <workspace>/reports).")
@click.option("--strict", is_flag=True, help="Exit 1 when the audit finds anything.")
@WORKSPACE_OPTION
def audit(spec: Path, out: Path | None, strict: bool, workspace: Path | None) -> None:
    """Audit the source data against the spec: what will not migrate cleanly, and why."""
    compiled = compile_or_exit(spec)
    ws = workspace_of(workspace)
    try:
        with cliniko_source(ws) as source:
            click.echo(f"Source: {source.label}")
            limit = target_limit(compiled.loaded.target, "file_max_bytes")
            report = run_audit(compiled, source.connector, source_label=source.label,
                               file_max_bytes=int(limit) if limit else None)
            requests = source.connector.requests_made
    except (SourceError, UsageError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    paths = write_audit(report, out or ws.reports)
    counts = report.counts()
    click.echo(f"Read {sum(report.records.values()):,} records in {requests:,} requests.")
    for check in CHECKS:
        click.echo(f"  {counts.get(check, 0):>8,}  {check}")
    click.echo(f"Reports: {paths['html']} · {paths['csv']} · {paths['summary']}")
    if strict and report.findings:
        sys.exit(1)
