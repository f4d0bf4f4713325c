"""The source-record contract: every field the source catalog lists is present.

APIs and exports leave fields out (a CSV export without a column, a JSON
record without an optional key). Expressions are checked against the catalog
when the spec is validated, so at run time an absent field means "no value":
it is filled in as null here, once, instead of every template and expression
having to guard against it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def complete_record(record: dict[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    missing = [name for name in fields if name not in record]
    if not missing:
        return record
    completed = dict(record)
    for name in missing:
        completed[name] = None
    return completed
