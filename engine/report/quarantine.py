"""The quarantine report: every record that did not load, field by field, with the reason.

Ids and reasons only — no record values — so the report can be shared; the values
stay in the workspace's state store for whoever fixes the data.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from engine.report.files import write_csv
from engine.state.store import QuarantineRow

QUARANTINE_COLUMNS = ("object", "source_id", "field", "stage", "code", "reason", "run_id")


def write_quarantine(path: Path, rows: Iterable[QuarantineRow]) -> Path:
    return write_csv(path, QUARANTINE_COLUMNS, ((r.object, r.source_id, r.field, r.stage, r.code or "",
                                                 r.reason, r.run_id) for r in rows))
