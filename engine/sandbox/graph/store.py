"""One SharePoint site and its document library as Graph shows them: items in SQLite, content on disk.

Items are folders and files under the drive's root, a name unique in its folder
regardless of case (as SharePoint has it). A file's bytes live in
`<folder>/content/<item id>`; an upload session's received bytes in
`<folder>/sessions/<session id>`, appended in order and moved into place when the
last fragment arrives. Every method is one transaction under the store's lock,
so the threaded server never sees half an item.
"""

from __future__ import annotations

import base64
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

SITE_HOST = "flitstack.sharepoint.com"
SITE_PATH = "/sites/clinic"
SITE_ID = f"{SITE_HOST},5c1a9f3e-2d4b-4e6f-8a7b-9c0d1e2f3a4b,8e7d6c5b-4a39-4281-b7f6-e5d4c3b2a190"
DRIVE_ID = "b!Phoax0stbk6KZ5wNHi86S1vG3o45SoFCt_bl1MOyoZA-flitstack-documents"
ROOT_ID = "01FLITSTACKROOTAAAAAAAAAAAAAAAAAAA"
LIBRARY = "Shared Documents"
SESSION_LIFETIME = 15 * 60  # an upload session left idle this long expires

SCHEMA = """
CREATE TABLE IF NOT EXISTS items (id TEXT PRIMARY KEY, parent_id TEXT, name TEXT NOT NULL,
    name_key TEXT NOT NULL, folder INTEGER NOT NULL, size INTEGER NOT NULL, mime TEXT,
    created TEXT NOT NULL, modified TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS items_by_name ON items (parent_id, name_key);
CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, parent_id TEXT NOT NULL, name TEXT NOT NULL,
    size INTEGER, received INTEGER NOT NULL, expires REAL NOT NULL, conflict TEXT NOT NULL);
"""


class GraphError(Exception):
    """An answer in Graph's error shape: {"error": {"code", "message"}}."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def item_not_found(what: str) -> GraphError:
    return GraphError(404, "itemNotFound", f"The resource could not be found: {what}")


class Drive:
    """The seeded site's default document library."""

    def __init__(self, folder: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.folder = folder
        self.clock = clock
        (folder / "content").mkdir(parents=True, exist_ok=True)
        (folder / "sessions").mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(folder / "graph.sqlite3", check_same_thread=False, isolation_level=None)
        self._lock = threading.RLock()
        self._db.executescript(SCHEMA)
        if self._row("SELECT * FROM items WHERE id = ?", ROOT_ID) is None:
            now = self._now()
            self._db.execute("INSERT INTO items VALUES (?, NULL, 'root', 'root', 1, 0, NULL, ?, ?)",
                             (ROOT_ID, now, now))

    def close(self) -> None:
        self._db.close()

    # -- reading ---------------------------------------------------------------------------------------
    def item(self, item_id: str) -> dict[str, Any]:
        row = self._row("SELECT * FROM items WHERE id = ?", item_id)
        if row is None:
            raise item_not_found(item_id)
        return row

    def resolve(self, parent_id: str, path: str) -> dict[str, Any]:
        """The item at `path` ('a/b/c.pdf') under a folder; itemNotFound when any segment is missing."""
        item = self.item(parent_id)
        for name in (s for s in path.split("/") if s):
            found = self._row("SELECT * FROM items WHERE parent_id = ? AND name_key = ?", item["id"],
                              name.lower())
            if found is None:
                raise item_not_found(path)
            item = found
        return item

    def children(self, parent_id: str) -> list[dict[str, Any]]:
        self.item(parent_id)
        with self._lock:
            cursor = self._db.execute("SELECT * FROM items WHERE parent_id = ? ORDER BY name_key",
                                      (parent_id,))
            names = [c[0] for c in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def path_of(self, item: dict[str, Any]) -> str:
        """The item's path below the root ('' for the root)."""
        names: list[str] = []
        while item["parent_id"] is not None:
            names.append(str(item["name"]))
            item = self.item(str(item["parent_id"]))
        return "/".join(reversed(names))

    def content(self, item_id: str) -> Path:
        return self.folder / "content" / item_id

    # -- writing ---------------------------------------------------------------------------------------
    def create_folder(self, parent_id: str, name: str, conflict: str) -> tuple[dict[str, Any], bool]:
        """A folder in `parent_id`; conflictBehavior fail (409), rename, or replace."""
        with self._lock:
            parent = self._folder(parent_id)
            existing = self._child(parent["id"], name)
            if existing is not None:
                if conflict == "fail":
                    raise GraphError(409, "nameAlreadyExists", f"An item named '{name}' already exists in "
                                                               "this folder.")
                if conflict == "replace":
                    self._delete(existing)
                else:
                    name = self._free_name(parent["id"], name)
            return self._insert(parent["id"], name, folder=True, size=0, mime=None), True

    def put_file(self, parent_id: str, name: str, source: Path, mime: str | None,
                 conflict: str) -> tuple[dict[str, Any], bool]:
        """A file from `source` (moved into the store); an existing file of that name is replaced unless
        conflictBehavior says fail (409) or rename. True when the item is new."""
        with self._lock:
            parent = self._folder(parent_id)
            existing = self._child(parent["id"], name)
            size = source.stat().st_size
            if existing is not None and (conflict == "fail" or existing["folder"]):
                source.unlink(missing_ok=True)
                raise GraphError(409, "nameAlreadyExists", f"An item named '{name}' already exists in this "
                                                           "folder.")
            if existing is not None and conflict == "rename":
                name, existing = self._free_name(parent["id"], name), None
            if existing is not None:
                os.replace(source, self.content(existing["id"]))
                self._db.execute("UPDATE items SET size = ?, mime = ?, modified = ? WHERE id = ?",
                                 (size, mime, self._now(), existing["id"]))
                return self.item(existing["id"]), False
            item = self._insert(parent["id"], name, folder=False, size=size, mime=mime)
            os.replace(source, self.content(item["id"]))
            return item, True

    def delete(self, item_id: str) -> None:
        with self._lock:
            item = self.item(item_id)
            if item["parent_id"] is None:
                raise GraphError(403, "accessDenied", "The root folder of a drive cannot be deleted.")
            self._delete(item)

    def scratch(self) -> Path:
        """A new file to receive an upload's body before it becomes an item."""
        return self.folder / "sessions" / f"upload-{secrets.token_hex(12)}"

    # -- upload sessions -------------------------------------------------------------------------------
    def open_session(self, parent_id: str, name: str, size: int | None, conflict: str) -> dict[str, Any]:
        with self._lock:
            parent = self._folder(parent_id)
            existing = self._child(parent["id"], name)
            if existing is not None and conflict == "fail":
                raise GraphError(409, "nameAlreadyExists", f"An item named '{name}' already exists in this "
                                                           "folder.")
            session = secrets.token_urlsafe(24)
            self._db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, 0, ?, ?)",
                             (session, parent["id"], name, size, self.clock() + SESSION_LIFETIME, conflict))
            (self.folder / "sessions" / session).touch()
            return self.session(session)

    def session(self, session_id: str) -> dict[str, Any]:
        row = self._row("SELECT * FROM sessions WHERE id = ?", session_id)
        if row is None or float(row["expires"]) < self.clock():
            raise GraphError(404, "itemNotFound", "The upload session was not found or has expired.")
        return row

    def append(self, session_id: str, start: int, data: bytes,
               total: int) -> tuple[dict[str, Any], bool] | None:
        """Add a fragment at `start` (it must be the next expected byte); when the file is complete, its item
        and whether it is new; else None."""
        with self._lock:
            session = self.session(session_id)
            received = int(session["received"])
            if session["size"] is not None and int(session["size"]) != total:
                raise GraphError(400, "invalidRange", f"The total size {total} differs from the session's "
                                                      f"{session['size']}.")
            if start != received:
                raise GraphError(416, "invalidRange", f"The fragment starts at byte {start}; the next "
                                                      f"expected range is {received}-.")
            part = self.folder / "sessions" / session_id
            with part.open("ab") as out:
                out.write(data)
            received += len(data)
            self._db.execute("UPDATE sessions SET received = ?, size = ?, expires = ? WHERE id = ?",
                             (received, total, self.clock() + SESSION_LIFETIME, session_id))
            if received < total:
                return None
            self._db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
            return self.put_file(session["parent_id"], session["name"], part, None, session["conflict"])

    def cancel(self, session_id: str) -> None:
        with self._lock:
            self.session(session_id)
            self._db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
            (self.folder / "sessions" / session_id).unlink(missing_ok=True)

    # -- helpers ---------------------------------------------------------------------------------------
    def _row(self, sql: str, *args: Any) -> dict[str, Any] | None:
        with self._lock:
            cursor = self._db.execute(sql, args)
            row = cursor.fetchone()
            return None if row is None else dict(zip([c[0] for c in cursor.description], row, strict=True))

    def _child(self, parent_id: str, name: str) -> dict[str, Any] | None:
        return self._row("SELECT * FROM items WHERE parent_id = ? AND name_key = ?", parent_id, name.lower())

    def _folder(self, item_id: str) -> dict[str, Any]:
        item = self.item(item_id)
        if not item["folder"]:
            raise GraphError(400, "invalidRequest", f"The parent item {item_id} is not a folder.")
        return item

    def _free_name(self, parent_id: str, name: str) -> str:
        stem, dot, ext = name.rpartition(".") if "." in name else (name, "", "")
        number = 1
        while True:
            candidate = f"{stem} {number}{dot}{ext}"
            if self._child(parent_id, candidate) is None:
                return candidate
            number += 1

    def _insert(self, parent_id: str, name: str, *, folder: bool, size: int,
                mime: str | None) -> dict[str, Any]:
        item_id = "01" + base64.b32encode(secrets.token_bytes(20)).decode("ascii")[:32]
        now = self._now()
        self._db.execute("INSERT INTO items VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         (item_id, parent_id, name, name.lower(), int(folder), size, mime, now, now))
        return self.item(item_id)

    def _delete(self, item: dict[str, Any]) -> None:
        for child in self.children(str(item["id"])):
            self._delete(child)
        self._db.execute("DELETE FROM items WHERE id = ?", (item["id"],))
        self.content(str(item["id"])).unlink(missing_ok=True)

    def _now(self) -> str:
        return datetime.fromtimestamp(self.clock(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def web_url(self, item: dict[str, Any]) -> str:
        path = self.path_of(item)
        suffix = f"/{quote(path)}" if path else ""
        return f"https://{SITE_HOST}{SITE_PATH}/{quote(LIBRARY)}{suffix}"
