"""The reconciliation as files: reconciliation.html for people, reconciliation.json for tools."""

from __future__ import annotations

import json
from pathlib import Path

from engine.reconcile.model import Reconciliation
from engine.report.files import write_text
from engine.report.render import render_html

HTML_ROWS_PER_LIST = 200  # the JSON always lists every id; the page stays readable


def write_reconciliation(result: Reconciliation, folder: Path) -> dict[str, Path]:
    paths = {"html": folder / "reconciliation.html", "json": folder / "reconciliation.json"}
    write_text(paths["json"], json.dumps(result.as_json(), indent=2, ensure_ascii=False) + "\n")
    write_text(paths["html"], render_html("reconciliation.html", result=result,
                                          discrepancies=result.discrepancies(), shown=HTML_ROWS_PER_LIST))
    return paths
