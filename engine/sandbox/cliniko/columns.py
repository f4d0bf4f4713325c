"""How a catalog field is read inside SQL, and the SQL functions the filters call.

Records are stored as their JSON body; a few columns are copied out of it so
the common filters and sorts use an index. Everything else is read with
`json_extract` and cast by catalog type, so a filter or sort is correct on any
catalog field, indexed or not.
"""

from __future__ import annotations

import re
import sqlite3
from functools import lru_cache

# Columns copied out of the body (indexed or used by the visibility rules).
TIME_COLUMNS = ("created_at", "updated_at", "archived_at", "deleted_at", "cancelled_at")
ID_COLUMNS = ("patient_id", "practitioner_id", "business_id")
COLUMNS = TIME_COLUMNS + ID_COLUMNS

_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


def field_sql(name: str, type_: str) -> str:
    """An SQL expression with the field's value, typed so comparisons and sorting follow the catalog type."""
    if not _NAME.match(name):
        raise ValueError(f"not a field name: {name!r}")
    if name == "id" or name in COLUMNS:
        return name
    raw = f"json_extract(body, '$.{name}')"
    if type_ in ("id", "integer"):
        return f"CAST(NULLIF({raw}, '') AS INTEGER)"
    if type_ == "decimal":
        return f"CAST(NULLIF({raw}, '') AS REAL)"
    if type_ in ("date", "datetime"):
        return f"NULLIF({raw}, '')"
    return raw


def contains_text(value: object, needle: str) -> int:
    """`~`: case-insensitive substring (Cliniko: the same as `~~%needle%`)."""
    return int(isinstance(value, str) and needle.casefold() in value.casefold())


@lru_cache(maxsize=256)
def like_regex(pattern: str) -> re.Pattern[str]:
    """SQL LIKE as a regex: `%` any run of characters, `_` any one character, case-insensitive."""
    parts = ("." if c == "_" else ".*" if c == "%" else re.escape(c) for c in pattern.casefold())
    return re.compile("".join(parts), re.DOTALL)


def like_text(value: object, pattern: str) -> int:
    """`~~`: SQL-LIKE wildcard search."""
    return int(isinstance(value, str) and like_regex(pattern).fullmatch(value.casefold()) is not None)


def register_functions(connection: sqlite3.Connection) -> None:
    connection.create_function("cl_contains", 2, contains_text, deterministic=True)
    connection.create_function("cl_like", 2, like_text, deterministic=True)
