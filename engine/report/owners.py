"""The unresolved-owners report: practitioners no target user could be matched to, and why."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from engine.report.files import write_csv

UNRESOLVED_COLUMNS = ("practitioner_source_id", "email", "reason")


def write_unresolved_owners(path: Path, rows: Iterable[tuple[str, str | None, str]]) -> Path:
    """One row per practitioner: (source id, e-mail, reason)."""
    return write_csv(path, UNRESOLVED_COLUMNS, ((source_id, email or "", reason)
                                                for source_id, email, reason in rows))
