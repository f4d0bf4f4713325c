"""The state store: one SQLite file per workspace, the migration's memory.

Tables (design §2):
- `runs`: every sample, run, delta and rollback, with the spec's content hash;
- `run_objects`: per run, object and pass — progress counts and whether it finished
  (a resumed run skips the objects it finished);
- `crosswalk`: source object + id → target object + id, the content hashes of what
  was last written, and the record's standing (loaded, quarantined, filtered);
- `audit`: every insert, update, link and delete sent to the target, with the
  target's values before an update. A row is written *before* its request goes out
  (status `pending`) and settled after the answer, so a run killed in between still
  knows which records it created: a resumed run keeps the first row's action;
- `quarantine`: records that cannot load, field by field, with the reason;
- `watermarks`: per source resource, when the last run's extraction started;
- `signoffs`, `owners`: who approved what; how practitioners resolved to users.

The file is created 0600 and never holds a credential. Every batch is one
transaction, so a `kill -9` loses at most the batch in flight, and the audit
rows written ahead of it say what that batch may have done.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import UsageError

SCHEMA_VERSION = 1
FILE_NAME = "state.db"

_SCHEMA = """
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('sample', 'run', 'delta', 'rollback')),
    spec_name TEXT NOT NULL,
    spec_hash TEXT NOT NULL,
    target TEXT NOT NULL,
    parent INTEGER REFERENCES runs(id),
    status TEXT NOT NULL CHECK (status IN ('running', 'stopped', 'completed')),
    started_at REAL NOT NULL,
    finished_at REAL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE TABLE run_objects (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    object TEXT NOT NULL,
    pass INTEGER NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    read INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0,
    unchanged INTEGER NOT NULL DEFAULT 0,
    quarantined INTEGER NOT NULL DEFAULT 0,
    filtered INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, object, pass)
);
CREATE TABLE crosswalk (
    object TEXT NOT NULL,
    source_id TEXT NOT NULL,
    target_object TEXT NOT NULL,
    target_key TEXT,
    target_id TEXT,
    status TEXT NOT NULL CHECK (status IN ('loaded', 'quarantined', 'filtered')),
    content_hash TEXT,
    link_hash TEXT,
    run_id INTEGER NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (object, source_id)
);
CREATE INDEX crosswalk_target ON crosswalk (target_object, target_id);
CREATE TABLE audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    pass INTEGER NOT NULL,
    object TEXT NOT NULL,
    source_id TEXT NOT NULL,
    target_object TEXT NOT NULL,
    target_key TEXT,
    target_id TEXT,
    action TEXT NOT NULL CHECK (action IN ('insert', 'update', 'link', 'delete', 'restore')),
    before TEXT,
    status TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed', 'undone')),
    undone_by INTEGER,
    undoes INTEGER NOT NULL DEFAULT 0,
    at REAL NOT NULL
);
CREATE UNIQUE INDEX audit_once ON audit (run_id, pass, object, source_id, undoes);
CREATE TABLE quarantine (
    object TEXT NOT NULL,
    source_id TEXT NOT NULL,
    field TEXT NOT NULL,
    reason TEXT NOT NULL,
    code TEXT,
    stage TEXT NOT NULL CHECK (stage IN ('transform', 'load')),
    run_id INTEGER NOT NULL,
    record TEXT,
    at REAL NOT NULL,
    PRIMARY KEY (object, source_id, field)
);
CREATE TABLE watermarks (
    resource TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    run_id INTEGER NOT NULL
);
CREATE TABLE signoffs (
    id INTEGER PRIMARY KEY,
    who TEXT NOT NULL,
    spec_name TEXT NOT NULL,
    spec_hash TEXT NOT NULL,
    sample_run INTEGER REFERENCES runs(id),
    diff_sha256 TEXT,
    note TEXT NOT NULL DEFAULT '',
    at REAL NOT NULL
);
CREATE TABLE owners (
    practitioner_id TEXT PRIMARY KEY,
    email TEXT,
    user_id TEXT,
    reason TEXT,
    run_id INTEGER NOT NULL
);
"""

Intent = tuple[str, str, "str | None", str, "dict[str, Any] | None"]
"""(source id, key, target id, action, before-values) of a record about to be sent."""

RUN_KINDS = ("sample", "run", "delta", "rollback")


@dataclass(frozen=True)
class Run:
    id: int
    kind: str
    spec_name: str
    spec_hash: str
    target: str
    parent: int | None
    status: str
    started_at: float
    finished_at: float | None
    note: str


@dataclass(frozen=True)
class CrosswalkEntry:
    object: str
    source_id: str
    target_object: str
    target_key: str | None
    target_id: str | None
    status: str
    content_hash: str | None
    link_hash: str | None
    run_id: int


@dataclass(frozen=True)
class AuditRow:
    seq: int
    run_id: int
    pass_: int
    object: str
    source_id: str
    target_object: str
    target_key: str | None
    target_id: str | None
    action: str
    before: dict[str, Any] | None
    status: str


@dataclass(frozen=True)
class QuarantineRow:
    object: str
    source_id: str
    field: str
    reason: str
    code: str | None
    stage: str
    run_id: int


@dataclass(frozen=True)
class Signoff:
    id: int
    who: str
    spec_name: str
    spec_hash: str
    sample_run: int | None
    diff_sha256: str | None
    note: str
    at: float


@dataclass(frozen=True)
class ObjectCounts:
    object: str
    pass_: int
    done: bool
    read: int
    created: int
    updated: int
    unchanged: int
    quarantined: int
    filtered: int


COUNT_NAMES = ("read", "created", "updated", "unchanged", "quarantined", "filtered")


def _create_private(path: Path) -> None:
    """Create the file 0600 before SQLite opens it (SQLite gives -wal/-shm the same mode)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(descriptor)


class StateStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.exists():
            _create_private(path)
        self.db = sqlite3.connect(path, isolation_level=None, timeout=30)
        self.db.row_factory = sqlite3.Row
        try:
            self._open()
        except sqlite3.DatabaseError as error:
            self.db.close()
            raise UsageError(f"{path}: not a flitstack state store ({error}); move it aside, or point "
                             "--workspace at another folder") from error

    def _open(self) -> None:
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")  # with WAL: durable across a killed process
        self.db.execute("PRAGMA foreign_keys=ON")
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version == 0:
            # One script, one transaction: a store is either fully created or not at all.
            self.db.executescript(f"BEGIN; {_SCHEMA} PRAGMA user_version={SCHEMA_VERSION}; COMMIT;")
        elif version != SCHEMA_VERSION:
            self.db.close()
            raise UsageError(f"{self.path}: state store version {version}; this flitstack reads version "
                             f"{SCHEMA_VERSION} — use the flitstack that made it, or a new workspace")

    @classmethod
    def in_folder(cls, folder: Path) -> StateStore:
        return cls(folder / FILE_NAME)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        if self.db.in_transaction:  # nested: part of the caller's transaction
            yield self.db
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- runs ------------------------------------------------------------------------------------
    def start_run(self, kind: str, spec_name: str, spec_hash: str, target: str, *,
                  parent: int | None = None, note: str = "") -> Run:
        if kind not in RUN_KINDS:
            raise ValueError(f"unknown run kind {kind!r}")
        with self.transaction() as db:
            cursor = db.execute(
                "INSERT INTO runs (kind, spec_name, spec_hash, target, parent, status, started_at, note) "
                "VALUES (?, ?, ?, ?, ?, 'running', ?, ?)",
                (kind, spec_name, spec_hash, target, parent, time.time(), note))
        assert cursor.lastrowid is not None
        return self.run(cursor.lastrowid)

    def set_run_status(self, run_id: int, status: str) -> None:
        finished = time.time() if status == "completed" else None
        with self.transaction() as db:
            db.execute("UPDATE runs SET status = ?, finished_at = ? WHERE id = ?", (status, finished, run_id))

    def run(self, run_id: int) -> Run:
        row = self.db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise KeyError(f"no run {run_id}")
        return Run(**dict(row))

    def runs(self, *kinds: str) -> list[Run]:
        query = "SELECT * FROM runs"
        args: tuple[str, ...] = ()
        if kinds:
            query += f" WHERE kind IN ({', '.join('?' * len(kinds))})"
            args = kinds
        return [Run(**dict(row)) for row in self.db.execute(query + " ORDER BY id", args)]

    def unfinished(self, kind: str, spec_name: str) -> Run | None:
        """The latest run of `kind` for this spec that did not complete (to resume)."""
        row = self.db.execute(
            "SELECT * FROM runs WHERE kind = ? AND spec_name = ? ORDER BY id DESC LIMIT 1",
            (kind, spec_name)).fetchone()
        if row is None or row["status"] == "completed" or self.rolled_back(row["id"]):
            return None
        return Run(**dict(row))

    def rolled_back(self, run_id: int) -> bool:
        """Whether a completed rollback undid this run (it is history, not something to resume)."""
        row = self.db.execute("SELECT 1 FROM runs WHERE kind = 'rollback' AND parent = ? AND status = "
                              "'completed' LIMIT 1", (run_id,)).fetchone()
        return row is not None

    # -- per-object progress -------------------------------------------------------------------
    def object_counts(self, run_id: int) -> list[ObjectCounts]:
        rows = self.db.execute("SELECT * FROM run_objects WHERE run_id = ? ORDER BY rowid", (run_id,))
        return [ObjectCounts(r["object"], r["pass"], bool(r["done"]), *(r[n] for n in COUNT_NAMES))
                for r in rows]

    def object_done(self, run_id: int, object_name: str, pass_: int) -> bool:
        row = self.db.execute("SELECT done FROM run_objects WHERE run_id = ? AND object = ? AND pass = ?",
                              (run_id, object_name, pass_)).fetchone()
        return bool(row and row["done"])

    def add_counts(self, run_id: int, object_name: str, pass_: int, counts: dict[str, int], *,
                   done: bool = False) -> None:
        unknown = set(counts) - set(COUNT_NAMES)
        if unknown:
            raise ValueError(f"unknown counts {sorted(unknown)}")
        with self.transaction() as db:
            db.execute("INSERT OR IGNORE INTO run_objects (run_id, object, pass) VALUES (?, ?, ?)",
                       (run_id, object_name, pass_))
            sets = ", ".join(f"{name} = {name} + ?" for name in counts)
            if sets:
                db.execute(f"UPDATE run_objects SET {sets} WHERE run_id = ? AND object = ? AND pass = ?",
                           (*counts.values(), run_id, object_name, pass_))
            if done:
                db.execute("UPDATE run_objects SET done = 1 WHERE run_id = ? AND object = ? AND pass = ?",
                           (run_id, object_name, pass_))

    # -- crosswalk -------------------------------------------------------------------------------
    def crosswalk(self, object_name: str, source_ids: Sequence[str]) -> dict[str, CrosswalkEntry]:
        found: dict[str, CrosswalkEntry] = {}
        for chunk in _chunks(list(source_ids), 500):
            rows = self.db.execute(
                f"SELECT * FROM crosswalk WHERE object = ? AND source_id IN ({', '.join('?' * len(chunk))})",
                (object_name, *chunk))
            for row in rows:
                found[row["source_id"]] = _entry(row)
        return found

    def crosswalk_of(self, object_name: str, *, status: str | None = None) -> Iterator[CrosswalkEntry]:
        query = "SELECT * FROM crosswalk WHERE object = ?"
        args: tuple[Any, ...] = (object_name,)
        if status is not None:
            query += " AND status = ?"
            args += (status,)
        for row in self.db.execute(query + " ORDER BY source_id", args):
            yield _entry(row)

    def status_counts(self, object_name: str) -> dict[str, int]:
        rows = self.db.execute("SELECT status, COUNT(*) AS n FROM crosswalk WHERE object = ? GROUP BY status",
                               (object_name,))
        return {r["status"]: r["n"] for r in rows}

    def target_id_of(self, object_name: str, source_id: str) -> str | None:
        row = self.db.execute("SELECT target_id FROM crosswalk WHERE object = ? AND source_id = ? "
                              "AND status = 'loaded'", (object_name, source_id)).fetchone()
        return None if row is None else row["target_id"]

    def mark_loaded(self, run_id: int, object_name: str, source_id: str, target_object: str,
                    target_key: str, target_id: str | None, *, content_hash: str | None = None,
                    link_hash: str | None = None) -> None:
        """The record is in the target; hashes given replace the stored ones."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO crosswalk (object, source_id, target_object, target_key, target_id, status, "
                "content_hash, link_hash, run_id, updated_at) VALUES (?, ?, ?, ?, ?, 'loaded', ?, ?, ?, ?) "
                "ON CONFLICT (object, source_id) DO UPDATE SET target_object = excluded.target_object, "
                "target_key = excluded.target_key, target_id = COALESCE(excluded.target_id, target_id), "
                "status = 'loaded', content_hash = COALESCE(excluded.content_hash, content_hash), "
                "link_hash = COALESCE(excluded.link_hash, link_hash), run_id = excluded.run_id, "
                "updated_at = excluded.updated_at",
                (object_name, source_id, target_object, target_key, target_id, content_hash, link_hash,
                 run_id, time.time()))
            db.execute("DELETE FROM quarantine WHERE object = ? AND source_id = ?", (object_name, source_id))

    def mark_filtered(self, run_id: int, object_name: str, source_id: str, target_object: str) -> None:
        self._mark_standing(run_id, object_name, source_id, target_object, "filtered")

    def quarantine(self, run_id: int, object_name: str, source_id: str, target_object: str, stage: str,
                   problems: Iterable[tuple[str, str, str | None]], record: dict[str, Any] | None) -> None:
        """`problems`: (field, reason, platform code or None). Replaces the record's earlier reasons.

        A record loaded before keeps its target id (it is still in the target, with older values)."""
        body = json.dumps(record, default=str, ensure_ascii=False) if record is not None else None
        with self.transaction() as db:
            self._mark_standing(run_id, object_name, source_id, target_object, "quarantined")
            db.execute("DELETE FROM quarantine WHERE object = ? AND source_id = ?", (object_name, source_id))
            now = time.time()
            for field, reason, code in problems:
                db.execute("INSERT OR REPLACE INTO quarantine (object, source_id, field, reason, code, "
                           "stage, run_id, record, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           (object_name, source_id, field, reason, code, stage, run_id, body, now))

    def _mark_standing(self, run_id: int, object_name: str, source_id: str, target_object: str,
                       status: str) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO crosswalk (object, source_id, target_object, status, run_id, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (object, source_id) DO UPDATE SET "
                "status = excluded.status, content_hash = NULL, link_hash = NULL, run_id = excluded.run_id, "
                "updated_at = excluded.updated_at",
                (object_name, source_id, target_object, status, run_id, time.time()))
            if status != "quarantined":
                db.execute("DELETE FROM quarantine WHERE object = ? AND source_id = ?",
                           (object_name, source_id))

    def forget(self, object_name: str, source_id: str) -> None:
        """Drop a record's crosswalk entry (it was deleted from the target by a rollback)."""
        with self.transaction() as db:
            db.execute("DELETE FROM crosswalk WHERE object = ? AND source_id = ?", (object_name, source_id))
            db.execute("DELETE FROM quarantine WHERE object = ? AND source_id = ?", (object_name, source_id))

    def forget_hash(self, object_name: str, source_id: str) -> None:
        """The target no longer holds what the hashes describe (a rollback restored older values)."""
        with self.transaction() as db:
            db.execute("UPDATE crosswalk SET content_hash = NULL, link_hash = NULL "
                       "WHERE object = ? AND source_id = ?", (object_name, source_id))

    # -- quarantine --------------------------------------------------------------------------------
    def quarantined(self, object_name: str | None = None) -> list[QuarantineRow]:
        query = "SELECT object, source_id, field, reason, code, stage, run_id FROM quarantine"
        args: tuple[str, ...] = ()
        if object_name is not None:
            query += " WHERE object = ?"
            args = (object_name,)
        query += " ORDER BY object, source_id, field"
        return [QuarantineRow(**dict(r)) for r in self.db.execute(query, args)]

    # -- audit log ---------------------------------------------------------------------------------
    def write_ahead(self, run_id: int, pass_: int, object_name: str, target_object: str,
                    intents: Sequence[Intent]) -> dict[str, str]:
        """Record what is about to be sent: (source id, key, target id, action, before) per record.

        A record that already has a row in this run and pass (a resumed batch) keeps that
        row — its first action and before-values are the true ones. Returns source id → the
        action that stands."""
        now = time.time()
        with self.transaction() as db:
            for source_id, key, target_id, action, before in intents:
                db.execute(
                    "INSERT OR IGNORE INTO audit (run_id, pass, object, source_id, target_object, "
                    "target_key, target_id, action, before, status, at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)",
                    (run_id, pass_, object_name, source_id, target_object, key, target_id, action,
                     json.dumps(before, default=str) if before is not None else None, now))
            standing: dict[str, str] = {}
            for chunk in _chunks([i[0] for i in intents], 500):
                rows = db.execute(
                    f"SELECT source_id, action FROM audit WHERE run_id = ? AND pass = ? AND object = ? "
                    f"AND source_id IN ({', '.join('?' * len(chunk))})", (run_id, pass_, object_name, *chunk))
                standing.update({r["source_id"]: r["action"] for r in rows})
        return standing

    def settle(self, run_id: int, pass_: int, object_name: str, source_id: str, *, target_id: str | None,
               ok: bool) -> None:
        """The answer came: the row is done (the target changed) or failed (it did not)."""
        with self.transaction() as db:
            db.execute("UPDATE audit SET status = ?, target_id = COALESCE(?, target_id) WHERE run_id = ? "
                       "AND pass = ? AND object = ? AND source_id = ? AND status = 'pending'",
                       ("done" if ok else "failed", target_id, run_id, pass_, object_name, source_id))

    def undo(self, row: AuditRow, by_run: int, action: str, before: dict[str, Any] | None) -> None:
        """A rollback undid `row` with `action` (delete or restore): both facts in one transaction."""
        with self.transaction() as db:
            body = json.dumps(before, default=str) if before is not None else None
            db.execute("INSERT INTO audit (run_id, pass, object, source_id, target_object, target_key, "
                       "target_id, action, before, status, undoes, at) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'done', ?, ?)",
                       (by_run, row.pass_, row.object, row.source_id, row.target_object, row.target_key,
                        row.target_id, action, body, row.seq, time.time()))
            db.execute("UPDATE audit SET status = 'undone', undone_by = ? WHERE seq = ?", (by_run, row.seq))

    def audit_rows(self, run_ids: Sequence[int], *, statuses: Sequence[str] = ("pending", "done"),
                   newest_first: bool = False) -> Iterator[AuditRow]:
        if not run_ids:
            return
        order = "DESC" if newest_first else "ASC"
        query = (f"SELECT * FROM audit WHERE run_id IN ({', '.join('?' * len(run_ids))}) AND status IN "
                 f"({', '.join('?' * len(statuses))}) ORDER BY seq {order}")
        for row in self.db.execute(query, (*run_ids, *statuses)).fetchall():
            yield AuditRow(row["seq"], row["run_id"], row["pass"], row["object"], row["source_id"],
                           row["target_object"], row["target_key"], row["target_id"], row["action"],
                           json.loads(row["before"]) if row["before"] is not None else None, row["status"])

    def audit_counts(self, run_id: int) -> dict[str, int]:
        rows = self.db.execute("SELECT action, COUNT(*) AS n FROM audit WHERE run_id = ? AND status = 'done' "
                               "GROUP BY action", (run_id,))
        return {r["action"]: r["n"] for r in rows}

    # -- watermarks ----------------------------------------------------------------------------------
    def set_watermark(self, run_id: int, resource: str, value: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO watermarks (resource, value, run_id) VALUES (?, ?, ?)",
                       (resource, value, run_id))

    def drop_watermarks(self, run_ids: Sequence[int]) -> None:
        """Forget the watermarks these runs set (they were rolled back: a delta must not start after them)."""
        with self.transaction() as db:
            db.execute(f"DELETE FROM watermarks WHERE run_id IN ({', '.join('?' * len(run_ids))})",
                       tuple(run_ids))

    def watermarks(self) -> dict[str, str]:
        return {r["resource"]: r["value"] for r in self.db.execute("SELECT resource, value FROM watermarks")}

    # -- sign-offs -----------------------------------------------------------------------------------
    def add_signoff(self, who: str, spec_name: str, spec_hash: str, sample_run: int | None,
                    diff_sha256: str | None, note: str = "") -> Signoff:
        with self.transaction() as db:
            cursor = db.execute("INSERT INTO signoffs (who, spec_name, spec_hash, sample_run, diff_sha256, "
                                "note, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                                (who, spec_name, spec_hash, sample_run, diff_sha256, note, time.time()))
        row = self.db.execute("SELECT * FROM signoffs WHERE id = ?", (cursor.lastrowid,)).fetchone()
        return Signoff(**dict(row))

    def latest_signoff(self, spec_name: str) -> Signoff | None:
        row = self.db.execute("SELECT * FROM signoffs WHERE spec_name = ? ORDER BY id DESC LIMIT 1",
                              (spec_name,)).fetchone()
        return None if row is None else Signoff(**dict(row))

    # -- owners ------------------------------------------------------------------------------------
    def set_owners(self, run_id: int, rows: Iterable[tuple[str, str | None, str | None, str | None]]) -> None:
        """(practitioner source id, e-mail, user id or None, reason when unresolved)."""
        with self.transaction() as db:
            db.execute("DELETE FROM owners")
            db.executemany("INSERT INTO owners (practitioner_id, email, user_id, reason, run_id) "
                           "VALUES (?, ?, ?, ?, ?)", [(*row, run_id) for row in rows])

    def unresolved_owners(self) -> list[tuple[str, str | None, str]]:
        rows = self.db.execute("SELECT practitioner_id, email, reason FROM owners WHERE reason IS NOT NULL "
                               "ORDER BY practitioner_id")
        return [(r["practitioner_id"], r["email"], r["reason"]) for r in rows]


def _entry(row: sqlite3.Row) -> CrosswalkEntry:
    return CrosswalkEntry(**{name: row[name] for name in CrosswalkEntry.__dataclass_fields__})


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
