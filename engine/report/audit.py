"""The data-quality audit as files: audit.html for people, audit.csv and audit-summary.csv for tools."""

from __future__ import annotations

import csv
from pathlib import Path

from engine.audit.findings import CHECKS, AuditReport
from engine.report.render import render_html

HTML_ROWS_PER_CHECK = 500  # the CSV always has every finding; the page stays readable


def write_audit(report: AuditReport, folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"html": folder / "audit.html", "csv": folder / "audit.csv",
             "summary": folder / "audit-summary.csv"}
    with paths["csv"].open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["check", "object", "resource", "source_id", "field", "detail"])
        for f in report.findings:
            writer.writerow([f.check, f.object, f.resource, f.source_id, f.field, f.detail])
    counts = report.counts()
    with paths["summary"].open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["check", "description", "count"])
        for check, description in CHECKS.items():
            writer.writerow([check, description, counts.get(check, 0)])
    by_check: dict[str, list[object]] = {}
    for finding in report.findings:
        rows = by_check.setdefault(finding.check, [])
        if len(rows) < HTML_ROWS_PER_CHECK:
            rows.append(finding)
    paths["html"].write_text(render_html(
        "audit.html", report=report, checks=CHECKS, counts=counts,
        by_field=sorted(report.counts_by_field().items()), by_check=by_check,
        shown=HTML_ROWS_PER_CHECK), encoding="utf-8")
    return paths
