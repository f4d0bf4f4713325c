"""The emulated Cliniko account's data: one SQLite table of JSON records, plus attachment files.

Records are kept in storage form (what the generator yields): catalog fields,
ids as decimal strings, relations only as `<relation>_id`, timestamps
'YYYY-MM-DDTHH:MM:SSZ', money as decimal strings. The table is keyed by
(resource, id); timestamps and a few foreign ids are copied into indexed
columns (`columns.COLUMNS`). The created_at and updated_at indexes also
hold the hiding columns, so paging deep into a watermark query
(`sort=updated_at,id&q[]=updated_at:>=...`) walks only the index. Attachment bodies live in files in
`<database stem>-content/<resource>/<id>` beside the database.

Thread safety: the threaded server shares one store. Connections come from a
small pool (each used by one thread at a time); writes also take a lock, so a
write and the version counter that invalidates cached counts move together.
WAL mode lets readers run while a write commits.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from engine.sandbox.cliniko.clock import Clock, format_timestamp, system_clock
from engine.sandbox.cliniko.columns import COLUMNS, ID_COLUMNS, register_functions

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS records (
    resource TEXT NOT NULL,
    id INTEGER NOT NULL,
    body TEXT NOT NULL,
    {", ".join(f"{c} {'INTEGER' if c in ID_COLUMNS else 'TEXT'}" for c in COLUMNS)},
    PRIMARY KEY (resource, id)
);
CREATE INDEX IF NOT EXISTS records_updated
    ON records (resource, updated_at, id, archived_at, deleted_at, cancelled_at);
CREATE INDEX IF NOT EXISTS records_created
    ON records (resource, created_at, id, archived_at, deleted_at, cancelled_at);
CREATE INDEX IF NOT EXISTS records_patient ON records (resource, patient_id);
"""

_INSERT = (f"INSERT OR REPLACE INTO records (resource, id, body, {', '.join(COLUMNS)}) "
           f"VALUES ({', '.join('?' * (3 + len(COLUMNS)))})")


class LoadableRecord(Protocol):
    """What `load` needs of a generated record (the generator's `GeneratedRecord` fits)."""

    @property
    def resource(self) -> str: ...

    @property
    def record(self) -> Mapping[str, Any]: ...

    @property
    def content(self) -> Callable[[], Iterator[bytes]] | None: ...


@dataclass(frozen=True)
class Clause:
    """One SQL condition over the `records` table, with its parameters."""

    sql: str
    params: tuple[Any, ...] = ()


def _column_values(record: Mapping[str, Any]) -> list[Any]:
    values: list[Any] = []
    for column in COLUMNS:
        value = record.get(column)
        if value in ("", None):
            values.append(None)
        elif column in ID_COLUMNS:
            values.append(int(value))
        else:
            values.append(str(value))
    return values


def _row(resource: str, record: Mapping[str, Any]) -> tuple[Any, ...]:
    body = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    return (resource, int(record["id"]), body, *_column_values(record))


class ClinikoStore:
    """SQLite storage of one emulated Cliniko account."""

    def __init__(self, path: Path, *, clock: Clock = system_clock) -> None:
        self.path = path
        self.clock = clock
        self.content_dir = path.with_name(f"{path.stem}-content")
        self._pool: list[sqlite3.Connection] = []
        self._all: list[sqlite3.Connection] = []
        self._pool_lock = threading.Lock()
        self._write_lock = threading.RLock()
        self._version = 0
        self._counts: dict[tuple[Any, ...], tuple[int, int]] = {}
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connection() as connection:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.executescript(_SCHEMA)

    # -- connections -------------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("PRAGMA cache_size=-65536")
        register_functions(connection)
        with self._pool_lock:
            self._all.append(connection)
        return connection

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        with self._pool_lock:
            connection = self._pool.pop() if self._pool else None
        if connection is None:
            connection = self._connect()
        try:
            yield connection
        finally:
            with self._pool_lock:
                self._pool.append(connection)

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        with self._write_lock, self._connection() as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
            self._version += 1

    def close(self) -> None:
        with self._pool_lock:
            for connection in self._all:
                connection.close()
            self._all.clear()
            self._pool.clear()

    def __enter__(self) -> ClinikoStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- time ----------------------------------------------------------------------------------------

    def now(self) -> str:
        """The store clock as a Cliniko timestamp."""
        return format_timestamp(self.clock())

    # -- bulk load -----------------------------------------------------------------------------------

    def load(self, records: Iterable[LoadableRecord], *, batch_size: int = 5000) -> int:
        """Insert (or replace) records in batches, attachment bodies into files; returns the count."""
        loaded = 0
        batch: list[tuple[Any, ...]] = []
        for item in records:
            batch.append(_row(item.resource, item.record))
            if item.content is not None:
                self._write_content(item.resource, str(item.record["id"]), item.content())
            if len(batch) >= batch_size:
                loaded += self._insert(batch)
                batch = []
        if batch:
            loaded += self._insert(batch)
        return loaded

    def _insert(self, rows: Sequence[tuple[Any, ...]]) -> int:
        with self._writing() as connection:
            connection.executemany(_INSERT, rows)
        return len(rows)

    def content_path(self, resource: str, id_: str) -> Path:
        return self.content_dir / resource / str(int(id_))

    def _write_content(self, resource: str, id_: str, chunks: Iterable[bytes]) -> None:
        target = self.content_path(resource, id_)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")
        with partial.open("wb") as out:
            for chunk in chunks:
                out.write(chunk)
        partial.replace(target)

    def put_content(self, resource: str, id_: str, chunks: Iterable[bytes]) -> None:
        """Store (or replace) a record's file body."""
        self._write_content(resource, id_, chunks)

    # -- single records ------------------------------------------------------------------------------

    def get(self, resource: str, id_: str | int) -> dict[str, Any] | None:
        """The stored record (archived and deleted ones too), or None."""
        with self._connection() as connection:
            row = connection.execute("SELECT body FROM records WHERE resource = ? AND id = ?",
                                     (resource, int(id_))).fetchone()
        return json.loads(row[0]) if row else None

    def insert(self, resource: str, record: Mapping[str, Any]) -> dict[str, Any]:
        """Add one record: a fresh id when it has none, created_at/updated_at from the clock."""
        with self._writing() as connection:
            body = dict(record)
            if body.get("id") in (None, ""):
                (top,) = connection.execute("SELECT COALESCE(MAX(id), 0) FROM records WHERE resource = ?",
                                            (resource,)).fetchone()
                body["id"] = str(top + 1)
            now = self.now()
            body.setdefault("created_at", now)
            body["updated_at"] = now
            connection.execute(_INSERT, _row(resource, body))
        return body

    def update(self, resource: str, id_: str | int, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Apply `changes` and stamp updated_at from the clock. KeyError when the record does not exist."""
        with self._writing() as connection:
            row = connection.execute("SELECT body FROM records WHERE resource = ? AND id = ?",
                                     (resource, int(id_))).fetchone()
            if row is None:
                raise KeyError(f"{resource}/{id_}")
            body = {**json.loads(row[0]), **changes, "id": str(int(id_)), "updated_at": self.now()}
            connection.execute(_INSERT, _row(resource, body))
        return body

    def archive(self, resource: str, id_: str | int) -> dict[str, Any]:
        return self.update(resource, id_, {"archived_at": self.now()})

    def unarchive(self, resource: str, id_: str | int) -> dict[str, Any]:
        return self.update(resource, id_, {"archived_at": None})

    def delete(self, resource: str, id_: str | int) -> dict[str, Any]:
        """Soft delete, as Cliniko does: the record stays, with deleted_at set."""
        return self.update(resource, id_, {"deleted_at": self.now()})

    # -- queries -------------------------------------------------------------------------------------

    def count(self, resource: str, where: Sequence[Clause] = ()) -> int:
        """How many records of `resource` satisfy every clause (cached until the next write)."""
        sql, params = self._where(resource, where)
        key = (sql, params)
        version = self._version
        cached = self._counts.get(key)
        if cached is not None and cached[0] == version:
            return cached[1]
        with self._connection() as connection:
            (total,) = connection.execute(f"SELECT COUNT(*) FROM records WHERE {sql}", params).fetchone()
        if len(self._counts) > 512:
            self._counts.clear()
        self._counts[key] = (version, total)
        return int(total)

    def select(self, resource: str, where: Sequence[Clause] = (), *, order: str = "id",
               limit: int = -1, offset: int = 0) -> list[dict[str, Any]]:
        """Records satisfying every clause, in `order` (an SQL ORDER BY list built from `field_sql`)."""
        sql, params = self._where(resource, where)
        with self._connection() as connection:
            rows = connection.execute(
                f"SELECT body FROM records WHERE {sql} ORDER BY {order} LIMIT ? OFFSET ?",
                (*params, limit, offset)).fetchall()
        return [json.loads(row[0]) for row in rows]

    def resources(self) -> dict[str, int]:
        """Record counts per resource (deleted ones included)."""
        with self._connection() as connection:
            rows = connection.execute("SELECT resource, COUNT(*) FROM records GROUP BY resource").fetchall()
        return {name: int(n) for name, n in rows}

    @staticmethod
    def _where(resource: str, where: Sequence[Clause]) -> tuple[str, tuple[Any, ...]]:
        sql = " AND ".join(["resource = ?", *(f"({c.sql})" for c in where)])
        params: tuple[Any, ...] = (resource,)
        for clause in where:
            params += clause.params
        return sql, params
