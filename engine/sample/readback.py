"""Reading sampled records back from the target by the ids the crosswalk holds.

Where a platform keeps a record differently from how it was written (a
Salesforce note lives on its ContentVersion and links to its record), the target
reads it back as the spec wrote it (`Target.read_back`); what cannot be read back
as written (a file's bytes, a note's body) is reported as not compared, with the
reason (`Target.not_read_back`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.load.target import Target


def not_read_back(target: Target, target_object: str, field: str) -> str | None:
    """Why a field is not compared, or None when it is."""
    return target.not_read_back(target_object).get(field)


def read_back(target: Target, target_object: str, ids: Sequence[str],
              fields: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Current values of `fields`, by the given target id (records not found are absent)."""
    return target.read_back(target_object, ids, fields)
