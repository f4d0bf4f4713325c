"""The sample diff as files: diff.csv (every compared field) and diff.html (for the reviewer).

Unlike the other reports these carry record values — that is what a reviewer
signs off — and the HTML page says so on its first line (design §4).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from engine.report.files import write_csv, write_text
from engine.report.render import render_html
from engine.sample.diff import COLUMNS, MISMATCH, SampleDiff

HTML_MISMATCHES = 1000  # the CSV always has every row; the page stays readable
DIFF_CSV = "diff.csv"
DIFF_HTML = "diff.html"


def write_sample_diff(diff: SampleDiff, folder: Path) -> dict[str, Path]:
    csv_path = write_csv(folder / DIFF_CSV, COLUMNS, (row.cells() for row in diff.rows))
    mismatches = diff.mismatches
    html = render_html("sample-diff.html", diff=diff, mismatches=mismatches[:HTML_MISMATCHES],
                       mismatch_count=len(mismatches), shown=HTML_MISMATCHES, mismatch=MISMATCH,
                       skipped=sorted(diff.skipped.items()))
    return {"csv": csv_path, "html": write_text(folder / DIFF_HTML, html)}


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()
