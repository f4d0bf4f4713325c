"""The alternate-key index: each row's key values, so upserts and duplicate checks need no table scan.

    CREATE TABLE keyvals (entity, key, value, id)      value: the key's columns, normalised, as JSON

A row is indexed under every key whose columns all hold a value; strings
are compared without case, as the platform's collation does. A key created
on a table that already has rows is filled from them (the index build).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

from engine.sandbox.dataverse.model import Key, Table

SCHEMA = """
CREATE TABLE IF NOT EXISTS keyvals (entity TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
                                    id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS keyvals_value ON keyvals (entity, key, value);
CREATE INDEX IF NOT EXISTS keyvals_id ON keyvals (entity, id);
"""


def key_text(table: Table, key: Key, row: Mapping[str, Any]) -> str | None:
    """The indexed form of `row`'s values for `key` (stored values, by `_x_value` / column name), or None."""
    values = [row.get(table.attributes[c].value_name) for c in key.attributes]
    if any(v is None for v in values):
        return None
    return json.dumps([v.lower() if isinstance(v, str) else v for v in values])


def index(db: sqlite3.Connection, table: Table, rows: Iterable[Mapping[str, Any]],
          keys: Iterable[Key] | None = None) -> None:
    """(Re)index `rows` under `keys` (default: every key of the table)."""
    chosen = list(keys if keys is not None else table.keys.values())
    for row in rows:
        row_id = row[table.primary_id]
        for key in chosen:
            db.execute("DELETE FROM keyvals WHERE entity = ? AND id = ? AND key = ?",
                       (table.logical_name, row_id, key.name))
            text = key_text(table, key, row)
            if text is not None:
                db.execute("INSERT INTO keyvals (entity, key, value, id) VALUES (?, ?, ?, ?)",
                           (table.logical_name, key.name, text, row_id))


def forget(db: sqlite3.Connection, table: str, row_id: str) -> None:
    db.execute("DELETE FROM keyvals WHERE entity = ? AND id = ?", (table, row_id))


def lookup(db: sqlite3.Connection, table: str, key: Key, text: str) -> list[str]:
    """The ids indexed under this key value (more than one only while a Pending key holds duplicates)."""
    found = db.execute("SELECT id FROM keyvals WHERE entity = ? AND key = ? AND value = ?",
                       (table, key.name, text)).fetchall()
    return [str(r[0]) for r in found]
