"""Progress: bars with records, records/s and time left on a terminal; plain lines elsewhere."""

from __future__ import annotations

import io

from rich.console import Console
from sandbox_migration_fixture import MigrationWorkspace

from engine.run.progress import Bars, LogLines


def test_terminal_bars_show_records_rate_and_eta() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=160, color_system=None)
    with Bars(console) as bars:
        bars.started("patient", 1, 400)
        bars.advanced(200, {"read": 200, "created": 190, "quarantined": 10})
        bars.bars.refresh()
        shown = screen.getvalue()
        bars.finished("patient", 1, {"read": 400, "created": 380, "quarantined": 20})
    assert "patient" in shown and "200/400" in shown and "rec/s" in shown and "ETA" in shown
    assert "190 created, 10 quarantined" in shown


def test_log_lines_when_not_a_terminal() -> None:
    stream = io.StringIO()
    lines = LogLines(stream)
    lines.started("business", 2, None)
    lines.advanced(6, {"read": 6, "updated": 6})
    lines.finished("business", 2, {"read": 6, "updated": 6})
    text = stream.getvalue().splitlines()
    assert text[0] == "business (lookups): started"
    assert text[1].startswith("business (lookups): 6 records read,") and "records/s — 6 updated" in text[1]
    assert text[2].startswith("business (lookups): done, 6 records in ") and text[2].endswith("— 6 updated")


def test_run_output_has_plain_progress_lines(migrated: MigrationWorkspace) -> None:
    result = migrated.invoke("run", str(migrated.spec))
    assert "patient: started of ~30" in result.output
    assert any(line.startswith("patient: done, 30 records in") for line in result.output.splitlines())
