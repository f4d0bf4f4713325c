"""The emulated environment: its tables and rows, in one SQLite file; every Web API surface writes here.

    env = Environment(folder / "dataverse.sqlite3")
    row = env.create("contact", {"lastname": "Ng", "parentcustomerid_account@odata.bind": "/accounts(<id>)"})
    env.upsert("contact", {"fs_clinikoid": "42"}, {"firstname": "Al"})      # → (row, created)
    env.update("task", row_id, {"statecode": 1, "statuscode": 5})
    with env.transaction():                                                # a change set: all or nothing
        ...

Rows are stored as the Web API returns them (lookups as `_x_value` with the
referenced table beside them). On create the platform's columns are filled:
the primary id (a client may supply it), createdon (or `overriddencreatedon`'s
value, which then holds the real insert time — on create only, ref §7),
modifiedon, versionnumber (the ETag), owner (the caller; a disabled user
cannot own rows), the base currency, the open state, and computed columns (contact.fullname,
annotation isdocument/filesize, opportunity product amounts, task duration).
Alternate keys that are Active are unique (412 on a duplicate); keyindex.py
keeps their values so key lookups need no scan.

Thread safety: one connection, one re-entrant lock; a transaction holds the
lock, so a change set never interleaves with another request.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from engine.sandbox.dataverse import keyindex, rules, seed
from engine.sandbox.dataverse.errors import (
    DUPLICATE_RECORD,
    FILE_TOO_BIG,
    DataverseError,
    does_not_exist,
    duplicate_key,
    invalid_argument,
    key_row_missing,
)
from engine.sandbox.dataverse.model import Key, Table
from engine.sandbox.dataverse.odata import parse_key
from engine.sandbox.dataverse.schema import Schema
from engine.sandbox.dataverse.values import convert, new_guid, now_text, parse_datetime, parse_guid

Clock = Callable[[], float]
Row = dict[str, Any]
Refs = Mapping[str, tuple[str, str]]
# Parental relationships of the standard tables: deleting the parent deletes these children
# ("*": a polymorphic lookup whose parent can be any table).
PARENTAL: dict[str, tuple[tuple[str, str], ...]] = {
    "product": (("productpricelevel", "productid"),),
    "opportunity": (("opportunityproduct", "opportunityid"),),
    "*": (("annotation", "objectid"),),
}  # a change set's Content-IDs: "$1" → (table, id)
LOOKUP_TABLE = rules.LOOKUP_TABLE
_REFERENCE = re.compile(r"^(?:https?://[^/]+)?/?(?:api/data/v\d+\.\d+/)?(?P<set>[A-Za-z_]\w*)\((?P<key>.*)\)$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rows (entity TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL,
                                 body TEXT NOT NULL, PRIMARY KEY (entity, id));
CREATE INDEX IF NOT EXISTS rows_by_object ON rows (entity, lower(json_extract(body, '$._objectid_value')));
CREATE INDEX IF NOT EXISTS rows_by_product ON rows (entity, lower(json_extract(body, '$._productid_value')));
CREATE INDEX IF NOT EXISTS rows_by_opportunity
    ON rows (entity, lower(json_extract(body, '$._opportunityid_value')));
CREATE TABLE IF NOT EXISTS customizations (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,
                                           body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (token TEXT PRIMARY KEY, user_id TEXT NOT NULL, expires REAL NOT NULL);
"""


class Environment:
    """One emulated Dataverse environment (see the module docstring)."""

    def __init__(self, path: Path, *, client_id: str = "", clock: Clock = time.time, key_delay: float = 2.0,
                 users: tuple[seed.UserSeed, ...] = seed.DEFAULT_USERS,
                 max_upload_file_size: int = seed.MAX_UPLOAD_FILE_SIZE) -> None:
        self.path = path
        self.clock = clock
        self._lock = threading.RLock()
        self._depth = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA + keyindex.SCHEMA)
        saved = [(k, json.loads(b)) for k, b in
                 self._db.execute("SELECT kind, body FROM customizations ORDER BY seq").fetchall()]
        self.schema = Schema(saved, self._save_customization, lambda: self.clock(), key_delay)
        self._version = int(self._db.execute("SELECT coalesce(max(version), 0) FROM rows").fetchone()[0])
        self.caller_id = seed.APPLICATION_USER_ID
        if self._setting("seeded") is None:
            with self.transaction():
                for table, values in seed.seed_rows(client_id, users, max_upload_file_size):
                    self._insert(table, {**values, **self._stamp(values)})
                self._set_setting("seeded", "1")

    def __enter__(self) -> Environment:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- plumbing ---------------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing: an exception inside undoes every write made inside (nests)."""
        with self._lock:
            name = f"sp{self._depth}"
            self._db.execute(f"SAVEPOINT {name}")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._db.execute(f"ROLLBACK TO {name}")
                raise
            finally:
                self._depth -= 1
                self._db.execute(f"RELEASE {name}")

    def _save_customization(self, kind: str, body: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute("INSERT INTO customizations (kind, body) VALUES (?, ?)",
                             (kind, json.dumps(body)))
            if kind == "key":  # build the new key's index from the rows already there
                table = self.schema.table(body["_table"])
                key = table.keys[str(body["SchemaName"]).lower()]
                keyindex.index(self._db, table, self.rows(table.logical_name), [key])

    def _setting(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def _set_setting(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", (key, value))

    def save_token(self, token: str, user_id: str, expires: float) -> None:
        with self._lock:
            self._db.execute("INSERT INTO tokens (token, user_id, expires) VALUES (?, ?, ?)",
                             (token, user_id, expires))

    def token_user(self, token: str) -> str | None:
        """The user a bearer token signs in, while it has not expired."""
        with self._lock:
            row = self._db.execute("SELECT user_id, expires FROM tokens WHERE token = ?", (token,)).fetchone()
        return str(row[0]) if row and row[1] > self.clock() else None

    def _stamp(self, values: Mapping[str, Any]) -> Row:
        self._version += 1
        now = now_text(self.clock())
        return {"versionnumber": self._version, "createdon": values.get("createdon", now), "modifiedon": now}

    # -- reading ----------------------------------------------------------------------------------

    def table(self, logical: str) -> Table:
        return self.schema.table(logical)

    def get(self, table: str, row_id: str) -> Row:
        with self._lock:
            found = self._db.execute("SELECT body FROM rows WHERE entity = ? AND id = ?",
                                     (table, row_id.lower())).fetchone()
        if found is None:
            raise does_not_exist(table, row_id)
        return json.loads(found[0])  # type: ignore[no-any-return]

    def rows(self, table: str) -> list[Row]:
        with self._lock:
            found = self._db.execute("SELECT body FROM rows WHERE entity = ?", (table,)).fetchall()
        return [json.loads(b) for (b,) in found]

    def count(self, table: str) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM rows WHERE entity = ?", (table,)).fetchone()[0])

    def find(self, table: str, key: Mapping[str, Any]) -> str | None:
        """The id of the row with these alternate-key values (or the primary id: key {"": guid})."""
        meta = self.schema.table(table)
        if set(key) == {""} or set(key) == {meta.primary_id}:
            row_id = parse_guid(str(next(iter(key.values()))))
            return row_id if self._exists(table, row_id) else None
        for name, defined in meta.keys.items():
            columns = {meta.attributes[c].value_name: c for c in defined.attributes}
            if set(columns) != set(key):
                continue
            status = self.schema.key_status(table, name, reading=False)
            if status != "Active":
                raise invalid_argument(f"The alternate key '{defined.schema_name}' of {table} is "
                                       f"{status}: its index is not built yet (poll EntityKeyIndexStatus "
                                       "until Active).")
            return self._match_key(meta, defined, {columns[k]: v for k, v in key.items()})
        raise invalid_argument(f"The key in the request URI is not valid for resource "
                               f"'Microsoft.Dynamics.CRM.{table}'. Ensure that the names and number of key "
                               "properties match the declared or alternate key properties for the resource.")

    def _match_key(self, meta: Table, key: Key, values: Mapping[str, Any]) -> str | None:
        """The row whose `key` columns hold `values` (URL literals, by column name)."""
        stored = {}
        for column, value in values.items():
            attribute = meta.attributes[column]
            stored[attribute.value_name] = (parse_guid(str(value)) if attribute.is_lookup
                                            else convert(meta.logical_name, attribute, value))
        text = keyindex.key_text(meta, key, stored)
        with self._lock:
            found = keyindex.lookup(self._db, meta.logical_name, key, text) if text is not None else []
        return found[0] if found else None

    def resolve_reference(self, reference: str, refs: Mapping[str, tuple[str, str]] | None = None
                          ) -> tuple[str, str | None, Mapping[str, Any]]:
        """(table, id or None when no row matches, key) of `/contacts(<guid>)`, `contacts(k='v')` or `$N`."""
        text = reference.strip()
        if text.startswith("$") and refs is not None:
            if text not in refs:
                raise invalid_argument(f"Content-ID Reference: '{text}' does not exist in the batch context.")
            table, row_id = refs[text]
            return table, row_id, {"": row_id}
        match = _REFERENCE.match(text)
        if match is None:
            raise invalid_argument(f"The entity reference '{reference}' is not valid: expected "
                                   "'/<entityset>(<guid>)' or '/<entityset>(<key>=<value>)'.")
        table = self.schema.by_set(match["set"]).logical_name
        key = parse_key(unquote(match["key"]))
        return table, self.find(table, key), key

    def bind_resolver(self, refs: Mapping[str, tuple[str, str]] | None) -> rules.Resolve:
        def resolve(target: str, reference: str) -> str:
            table, row_id, key = self.resolve_reference(reference, refs)
            if table != target:
                raise invalid_argument(f"The reference '{reference}' points at a {table}; this navigation "
                                       f"property takes a {target}.")
            if row_id is None:
                shown = key.get("") or ",".join(f"{k}={v!r}" for k, v in key.items())
                raise does_not_exist(target, str(shown))
            if target == "systemuser" and self.get("systemuser", row_id).get("isdisabled"):
                raise DataverseError(400, "0x80040225", f"The specified user (Id = {row_id}) is disabled. "
                                     "Consider enabling this user.")
            return row_id
        return resolve

    # -- writing ----------------------------------------------------------------------------------

    def create(self, table: str, body: Any, *, caller: str | None = None, refs: Refs | None = None,
               key: Mapping[str, Any] | None = None) -> Row:
        meta = self.schema.table(table)
        with self.transaction():
            values = rules.prepare(meta, body, creating=True, resolve=self.bind_resolver(refs))
            row_id = values.pop(meta.primary_id, None) or new_guid()
            for column, value in self._key_values(meta, key or {}).items():
                values.setdefault(column, value)  # an upsert's URL key fills what the body left out
            rules.apply_state(meta, values, creating=True)
            row = self._defaults(meta, values, caller or self.caller_id)
            row[meta.primary_id] = row_id
            self._check_required(meta, row)
            self._computed(meta, row)
            self._check_unique(meta, row)
            if self._exists(table, row_id):
                raise DataverseError(412, DUPLICATE_RECORD, f"A record with the id {row_id} already "
                                         f"exists in {table}: cannot insert a duplicate key.")
            return self._insert(table, {**row, **self._stamp(row)})

    def update(self, table: str, row_id: str, body: Any, *, caller: str | None = None,
               refs: Refs | None = None, key: Mapping[str, Any] | None = None) -> Row:
        meta = self.schema.table(table)
        with self.transaction():
            current = self.get(table, row_id)
            values = rules.prepare(meta, body, creating=False, resolve=self.bind_resolver(refs))
            for column in key or {}:  # the URL key wins over key columns in the body
                values.pop(column, None)
            rules.check_closed(meta, current, values)
            rules.apply_state(meta, values, creating=False)
            row = {**current, **values, "_modifiedby_value": caller or self.caller_id}
            self._check_required(meta, row)
            self._computed(meta, row)
            self._check_unique(meta, row)
            row.update(self._stamp(current))
            with self._lock:
                self._db.execute("UPDATE rows SET version = ?, body = ? WHERE entity = ? AND id = ?",
                                 (row["versionnumber"], json.dumps(row), table, row_id))
                keyindex.index(self._db, meta, [row])
            return row

    def delete(self, table: str, row_id: str) -> None:
        """Delete a row and, as the platform does, the rows of its parental relationships with it
        (a product's price list items, an opportunity's lines, a record's notes)."""
        self.schema.table(table)
        with self._lock:
            gone = self._db.execute("DELETE FROM rows WHERE entity = ? AND id = ?", (table, row_id.lower()))
            keyindex.forget(self._db, table, row_id.lower())
        if gone.rowcount == 0:
            raise does_not_exist(table, row_id)
        for child, column in PARENTAL.get(table, ()) + PARENTAL.get("*", ()):
            with self._lock:
                # The path is written into the SQL (from PARENTAL, never from a request) so that the
                # expression indexes of _SCHEMA serve the lookup.
                path = f"$._{column}_value"
                children = self._db.execute(
                    f"SELECT id FROM rows WHERE entity = ? AND lower(json_extract(body, '{path}')) = ?",
                    (child, row_id.lower())).fetchall()
            for (child_id,) in children:
                self.delete(child, str(child_id))

    def upsert(self, table: str, key: Mapping[str, Any], body: Any, *, caller: str | None = None,
               refs: Mapping[str, tuple[str, str]] | None = None, if_match: str | None = None,
               if_none_match: str | None = None) -> tuple[Row, bool]:
        """PATCH by id or alternate key: update the row, or create it; (row, created)."""
        meta = self.schema.table(table)
        with self.transaction():
            row_id = self.find(table, key)
            if row_id is None:
                if if_match is not None:
                    primary = key.get("") or key.get(meta.primary_id)
                    if primary:
                        raise does_not_exist(table, str(primary))
                    raise key_row_missing(table, _show(key))
                create_body = dict(body) if isinstance(body, dict) else body
                if isinstance(create_body, dict) and (key.get("") or key.get(meta.primary_id)):
                    create_body[meta.primary_id] = key.get("") or key.get(meta.primary_id)
                    return self.create(table, create_body, caller=caller, refs=refs), True
                return self.create(table, create_body, caller=caller, refs=refs, key=key), True
            if if_none_match == "*":
                raise duplicate_key()
            if if_match not in (None, "*"):
                current = self.get(table, row_id)
                if if_match != etag(current):
                    raise DataverseError(412, "0x80060882", "The version of the existing record doesn't "
                                         "match the RowVersion property provided.")
            return self.update(table, row_id, body, caller=caller, refs=refs, key=key), False

    # -- helpers ----------------------------------------------------------------------------------

    def _exists(self, table: str, row_id: str) -> bool:
        with self._lock:
            found = self._db.execute("SELECT 1 FROM rows WHERE entity = ? AND id = ?", (table, row_id))
            return found.fetchone() is not None

    def _key_values(self, meta: Table, key: Mapping[str, Any]) -> Row:
        """An alternate key from a URL in stored form (`_x_value` lookups with their table)."""
        by_value = meta.by_value_name()
        out: Row = {}
        for name, value in key.items():
            attribute = by_value.get(name)
            if attribute is None or not name:
                continue
            if attribute.is_lookup:
                out[name], out[name + LOOKUP_TABLE] = parse_guid(str(value)), attribute.targets[0]
            else:
                out[name] = convert(meta.logical_name, attribute, value)
        return out

    def _insert(self, table: str, row: Row) -> Row:
        meta = self.schema.table(table)
        with self._lock:
            self._db.execute("INSERT INTO rows (entity, id, version, body) VALUES (?, ?, ?, ?)",
                             (table, row[meta.primary_id], row["versionnumber"], json.dumps(row)))
            keyindex.index(self._db, meta, [row])
        return row

    def _defaults(self, meta: Table, values: Row, caller: str) -> Row:
        row = dict(values)
        given = row.pop("overriddencreatedon", None)
        now = now_text(self.clock())
        if given is not None:  # ref §7: createdon takes the given value, overriddencreatedon the insert time
            row["createdon"], row["overriddencreatedon"] = given, now
        row["_createdby_value"] = row["_modifiedby_value"] = caller
        if "ownerid" in meta.attributes and meta.attributes["ownerid"].createable:
            if row.get("_ownerid_value") is None:
                row["_ownerid_value"], row["_ownerid_value" + LOOKUP_TABLE] = caller, "systemuser"
            row["_owningbusinessunit_value"] = seed.BUSINESS_UNIT_ID
        currency = "_transactioncurrencyid_value"
        if "transactioncurrencyid" in meta.attributes and row.get(currency) is None:
            row[currency], row[currency + LOOKUP_TABLE] = seed.BASE_CURRENCY_ID, "transactioncurrency"
        opened = rules.open_state(meta)
        if opened is not None and row.get("statecode") is None:
            row["statecode"], row["statuscode"] = opened
        return row

    def _check_required(self, meta: Table, row: Row) -> None:
        for attribute in meta.attributes.values():
            if attribute.required == "SystemRequired" and row.get(attribute.value_name) is None \
                    and attribute.logical_name != meta.primary_id:
                raise DataverseError(400, "0x80040203", f"A validation error occurred. The value of "
                                     f"'{attribute.logical_name}' on record of type '{meta.logical_name}' is "
                                     "required and was not provided (SystemRequired).")

    def _check_unique(self, meta: Table, row: Row) -> None:
        for name, key in meta.keys.items():
            if self.schema.key_status(meta.logical_name, name, reading=False) != "Active":
                continue
            text = keyindex.key_text(meta, key, row)
            if text is None:
                continue
            with self._lock:
                holders = keyindex.lookup(self._db, meta.logical_name, key, text)
            if set(holders) - {row.get(meta.primary_id)}:
                raise duplicate_key()

    def _computed(self, meta: Table, row: Row) -> None:
        """The columns the platform computes on save."""
        name = meta.logical_name
        if name in ("contact", "systemuser"):
            parts = [row.get("firstname"), row.get("middlename"), row.get("lastname")]
            row["fullname"] = " ".join(p for p in parts if p) or None
        elif name == "annotation":
            body = row.get("documentbody")
            limit = int(self.get("organization", seed.ORGANIZATION_ID).get("maxuploadfilesize") or 0)
            if body and len(body) > limit:
                raise DataverseError(400, FILE_TOO_BIG, f"Attachment file size is too big. The file is "
                                     f"{len(body)} bytes (Base64); maxuploadfilesize is {limit}.")
            row["isdocument"] = bool(body)
            row["filesize"] = (len(body) * 3) // 4 - body.count("=") if body else 0
            row["objecttypecode"] = row.get("_objectid_value" + LOOKUP_TABLE)
        elif name == "opportunityproduct":
            price, quantity = row.get("priceperunit"), row.get("quantity")
            base = None if price is None or quantity is None else round(float(price) * float(quantity), 2)
            row["baseamount"] = base
            row["extendedamount"] = None if base is None else round(
                base - float(row.get("manualdiscountamount") or 0) + float(row.get("tax") or 0), 2)
        elif name == "task" and row.get("scheduledstart") and row.get("scheduledend"):
            a, b = parse_datetime(row["scheduledstart"]), parse_datetime(row["scheduledend"])
            row["scheduleddurationminutes"] = int((b - a).total_seconds() // 60) if a and b else None


def etag(row: Row) -> str:
    return f'W/"{row.get("versionnumber", 0)}"'


def _show(key: Mapping[str, Any]) -> str:
    return ",".join(f"{k}={v!r}" for k, v in key.items())
