"""The emulated org: its metadata and its records, in one SQLite file. Every API surface writes through here.

    org = Org(folder / "salesforce.sqlite3", set_audit_fields=False)
    meta = org.describe("Contact")                       # ObjectMeta: fields, key prefix, picklists...
    org.add_custom_field("Contact", custom_field("Cliniko_Id__c", "string", length=40,
                                                 external_id=True, unique=True))
    result = org.insert("Contact", {"LastName": "Ng", "Cliniko_Id__c": "7"})      # SaveResult
    org.upsert("Contact", "Cliniko_Id__c", "7", {"FirstName": "Al"})              # created=False
    org.query("SELECT Id, Account.Name FROM Contact WHERE LastName = 'ng'").records
    with org.transaction() as tx:                        # allOrNone: everything or nothing
        ...; tx.rollback()

Writes validate with rules.py and return a SaveResult (success, or the
platform's errors); a body the platform would refuse as a whole raises
`RequestError`. Records are soft-deleted (IsDeleted, kept for queryAll);
deletes do not cascade to children. Object-specific behaviour (a ContentVersion
creating its ContentDocument) plugs in with `add_trigger`, on every write path;
records the platform makes itself are written with `system_insert` /
`system_update`, which skip the rules.

Storage: `records` (id, object, deleted, JSON body in API form), `keys` (the
normalised values of unique / external-id / idLookup fields of live records,
for upserts, references and duplicate checks), `sequences` (the id counter of
each key prefix), `customizations` (custom objects and fields and their field
access, replayed over the catalog's standard objects on open) and `settings`
(the daily API-request count). External-id matching ignores case unless the
field is case-sensitive, as on the platform.

Thread safety: one connection, one re-entrant lock; a transaction holds the
lock from BEGIN to COMMIT, so the threaded server's requests apply one at a
time and an allOrNone request never interleaves with another.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from engine.sandbox.salesforce import rules
from engine.sandbox.salesforce.errors import RequestError, SaveError, SaveResult
from engine.sandbox.salesforce.ids import make_id, to18
from engine.sandbox.salesforce.metadata import FieldMeta, ObjectMeta, api_version
from engine.sandbox.salesforce.query import QueryResult, run_query
from engine.sandbox.salesforce.records import StoredRecord, Trigger, auto_number, key_value
from engine.sandbox.salesforce.schema import Schema
from engine.sandbox.salesforce.usage import ApiUsage, DailyAllowance
from engine.sandbox.salesforce.users import DEFAULT_USERS, UserSeed, seed
from engine.sandbox.salesforce.values import format_datetime

Clock = Callable[[], float]
DEFAULT_DAILY_API_LIMIT = 15000
ORG_NAME = "flitstack sandbox"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (id TEXT PRIMARY KEY, object TEXT NOT NULL, deleted INTEGER NOT NULL,
                                    body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS records_object ON records (object, deleted, id);
CREATE INDEX IF NOT EXISTS records_document ON records (object, json_extract(body, '$.ContentDocumentId'));
CREATE TABLE IF NOT EXISTS keys (object TEXT NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL,
                                 id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS keys_value ON keys (object, field, value);
CREATE INDEX IF NOT EXISTS keys_id ON keys (id);
CREATE TABLE IF NOT EXISTS sequences (prefix TEXT PRIMARY KEY, next INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS customizations (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,
                                           object TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class Transaction:
    """Handed out by `Org.transaction()`; `rollback()` undoes everything done inside it on exit."""

    def __init__(self) -> None:
        self.rolled_back = False

    def rollback(self) -> None:
        self.rolled_back = True


class Org:
    """One emulated Salesforce org (see the module docstring)."""

    def __init__(self, path: Path, *, set_audit_fields: bool = False, allow_inactive_owners: bool = False,
                 daily_api_limit: int = DEFAULT_DAILY_API_LIMIT, users: Sequence[UserSeed] | None = None,
                 clock: Clock = time.time, org_name: str = ORG_NAME) -> None:
        self.path = path
        self.set_audit_fields = set_audit_fields
        self.allow_inactive_owners = allow_inactive_owners
        self.clock = clock
        self.version = api_version()
        self._lock = threading.RLock()
        self._depth = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self.allowance = DailyAllowance(self._db, self._lock, lambda: self.clock(), daily_api_limit)
        rows = self._db.execute("SELECT kind, object, body FROM customizations ORDER BY seq").fetchall()
        self.schema = Schema(((k, o, json.loads(b)) for k, o, b in rows), self._record_change)
        self._triggers: dict[str, list[Trigger]] = {}
        self.org_id = make_id("00D", 1)
        seeds = tuple(users) if users is not None else DEFAULT_USERS
        self.user_ids: dict[str, str] = seed(self, org_name, seeds)  # username → id, the API user first

    @property
    def daily_api_limit(self) -> int:
        return self.allowance.limit

    @daily_api_limit.setter
    def daily_api_limit(self, limit: int) -> None:
        self.allowance.limit = limit

    def count_api_call(self) -> ApiUsage | None:
        """Spend one call of today's allowance; None when it is used up (the call must be refused)."""
        return self.allowance.spend()

    def api_usage(self) -> ApiUsage:
        """Calls made today (UTC) and the daily allowance (see usage.py)."""
        return self.allowance.usage()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Org:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- time and transactions -------------------------------------------------------------------------

    def now(self) -> float:
        return self.clock()

    def timestamp(self) -> str:
        return format_datetime(self.clock())

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Everything inside commits together, or not at all (an exception or `rollback()`). Nests."""
        with self._lock:
            name = f"sp{self._depth}"
            self._db.execute("BEGIN IMMEDIATE" if self._depth == 0 else f"SAVEPOINT {name}")
            self._depth += 1
            tx = Transaction()
            try:
                yield tx
            except BaseException:
                self._depth -= 1
                self._undo(name)
                raise
            self._depth -= 1
            if tx.rolled_back:
                self._undo(name)
            else:
                self._db.execute("COMMIT" if self._depth == 0 else f"RELEASE {name}")

    def _undo(self, name: str) -> None:
        if self._depth == 0:
            self._db.execute("ROLLBACK")
        else:
            self._db.execute(f"ROLLBACK TO {name}")
            self._db.execute(f"RELEASE {name}")

    # -- metadata ------------------------------------------------------------------------------------

    def _record_change(self, kind: str, object_name: str, body: dict[str, Any]) -> None:
        self._db.execute("INSERT INTO customizations (kind, object, body) VALUES (?, ?, ?)",
                         (kind, object_name, json.dumps(body)))

    def objects(self) -> list[ObjectMeta]:
        """Every object of the org: the catalog's standard ones, the built-in ones, then custom ones."""
        with self._lock:
            return self.schema.objects()

    def object_meta(self, name: str) -> ObjectMeta | None:
        """The object called `name` (any case), or None."""
        return self.schema.object_meta(name)

    def describe(self, name: str) -> ObjectMeta:
        """The object's metadata; RequestError INVALID_TYPE when the org has no such object."""
        meta = self.object_meta(name)
        if meta is None:
            raise RequestError("INVALID_TYPE", f"sObject type '{name}' is not supported.")
        return meta

    def add_custom_object(self, name: str, *, label: str, label_plural: str | None = None,
                          name_field_label: str = "Name", name_format: str | None = None,
                          fields: Sequence[FieldMeta] = ()) -> ObjectMeta:
        """Create (or relabel) custom object `name` (`X__c`) with Name, OwnerId, system fields and `fields`.

        `name_format` (e.g. "P-{0000}") makes Name an auto-number. A new object gets the next free
        `a0X` key prefix. ValueError for a name without `__c`.
        """
        with self.transaction():
            return self.schema.add_custom_object(name, label=label, label_plural=label_plural,
                                                 name_field_label=name_field_label, name_format=name_format,
                                                 fields=fields)

    def add_custom_field(self, object_name: str, field: FieldMeta) -> FieldMeta:
        """Add or redefine custom field `field` (see `metadata.custom_field`); ValueError if impossible."""
        with self.transaction():
            return self.schema.add_custom_field(object_name, field)

    def set_field_access(self, object_name: str, field_name: str, *, readable: bool, editable: bool) -> None:
        """Field-level security of the API user on one field (required fields stay visible)."""
        with self.transaction():
            self.schema.set_field_access(object_name, field_name, readable=readable, editable=editable)

    def add_trigger(self, object_name: str, trigger: Trigger) -> None:
        """Run `trigger` on every write of `object_name`, by every API, inside the write's transaction."""
        with self._lock:
            self._triggers.setdefault(self.describe(object_name).name, []).append(trigger)

    # -- reading -------------------------------------------------------------------------------------

    def get(self, record_id: str) -> StoredRecord | None:
        """The stored record with this (15- or 18-character) id, deleted ones too."""
        id18 = to18(record_id)
        if id18 is None:
            return None
        with self._lock:
            row = self._db.execute("SELECT object, deleted, body FROM records WHERE id = ?",
                                   (id18,)).fetchone()
        return StoredRecord(id18, row[0], json.loads(row[2]), bool(row[1])) if row else None

    def locate(self, id18: str) -> tuple[str, bool] | None:
        with self._lock:
            row = self._db.execute("SELECT object, deleted FROM records WHERE id = ?", (id18,)).fetchone()
        return (str(row[0]), bool(row[1])) if row else None

    def records(self, object_name: str, *, include_deleted: bool = False,
                ids: Collection[str] | None = None) -> Iterator[StoredRecord]:
        """The records of one object in id (= creation) order, optionally only `ids`."""
        meta = self.describe(object_name)
        where = "object = ?" + ("" if include_deleted else " AND deleted = 0")
        with self._lock:
            if ids is None:
                rows = self._db.execute(f"SELECT id, deleted, body FROM records WHERE {where} ORDER BY id",
                                        (meta.name,)).fetchall()
            else:
                wanted, rows = sorted(ids), []
                for start in range(0, len(wanted), 500):
                    chunk = wanted[start:start + 500]
                    rows += self._db.execute(
                        f"SELECT id, deleted, body FROM records WHERE {where} AND id IN "
                        f"({','.join('?' * len(chunk))}) ORDER BY id", (meta.name, *chunk)).fetchall()
        for record_id, deleted, body in rows:
            yield StoredRecord(record_id, meta.name, json.loads(body), bool(deleted))

    def count(self, object_name: str, *, include_deleted: bool = False) -> int:
        meta = self.describe(object_name)
        with self._lock:
            live = "" if include_deleted else " AND deleted = 0"
            (total,) = self._db.execute(f"SELECT COUNT(*) FROM records WHERE object = ?{live}",
                                        (meta.name,)).fetchone()
        return int(total)

    def live_ids_with(self, object_name: str, field_name: str, value: str) -> list[str]:
        """Ids of live records whose field holds exactly `value`, found in SQL (ContentDocumentId is
        indexed: a document's versions and links are found without reading every file record)."""
        if not re.fullmatch(r"\w+", field_name):
            raise ValueError(f"not a field name: {field_name!r}")
        with self._lock:
            rows = self._db.execute(
                f"SELECT id FROM records WHERE object = ? AND deleted = 0 "
                f"AND json_extract(body, '$.{field_name}') = ? ORDER BY id", (object_name, value)).fetchall()
        return [str(r[0]) for r in rows]

    def find_by(self, object_name: str, field_name: str, value: Any) -> list[str]:
        """Ids of the live records whose field equals `value` (case-insensitively for text external ids)."""
        meta = self.object_meta(object_name)
        field = meta.field(field_name, hidden=True) if meta else None
        if meta is None or field is None or value is None or value == "":
            return []
        if field.type == "id":
            id18 = to18(str(value))
            located = self.locate(id18) if id18 else None
            return [id18] if id18 and located == (meta.name, False) else []
        key = key_value(field, value)
        if field.key_field:
            with self._lock:
                rows = self._db.execute("SELECT id FROM keys WHERE object = ? AND field = ? AND value = ? "
                                        "ORDER BY id", (meta.name, field.name, key)).fetchall()
            return [str(r[0]) for r in rows]
        return [r.id for r in self.records(meta.name)
                if r.fields.get(field.name) is not None and key_value(field, r.fields[field.name]) == key]

    def retrieve(self, object_name: str, record_id: str,
                 fields: Sequence[str] | None = None) -> dict[str, Any] | None:
        """Values of a live record of `object_name` (all visible fields, or `fields` and Id), or None."""
        meta = self.describe(object_name)
        names = None
        if fields is not None:
            names = []
            for name in fields:
                found = meta.field(name)
                if found is None:
                    raise rules.no_such_column(name, meta.name)
                names.append(found.name)
        record = self.get(record_id)
        if record is None or record.deleted or record.object != meta.name:
            return None
        wanted = ["Id", *names] if names is not None else [f.name for f in meta.visible_fields()]
        return {n: record.fields.get(n, False if meta.fields[n].type == "boolean" else None) for n in wanted}

    def query(self, text: str, *, all_rows: bool = False, version: str | None = None) -> QueryResult:
        """Run SOQL; `all_rows` includes deleted records (queryAll). RequestError for a bad query."""
        with self._lock:
            return run_query(self, text, all_rows=all_rows, version=version or self.version)

    def user_active(self, user_id: str) -> bool | None:
        record = self.get(user_id)
        if record is None or record.object != "User":
            return None
        return bool(record.fields.get("IsActive")) and not record.deleted

    @property
    def api_user_id(self) -> str:
        return next(iter(self.user_ids.values()))

    # -- writing -------------------------------------------------------------------------------------

    def insert(self, object_name: str, fields: Mapping[str, Any], *,
               as_user: str | None = None) -> SaveResult:
        """Create one record from a JSON body (references by external id allowed)."""
        with self.transaction():
            meta = self.describe(object_name)
            changes = rules.parse(meta, fields, self)
            if not meta.createable:
                return SaveResult.failed(rules.not_insertable(meta.name))
            values, errors = rules.validate(meta, changes, self, current=None)
            if errors:
                return SaveResult.failed(*errors)
            record_id = self._next_id(meta)
            record = self._new_record(meta, record_id, values, as_user or self.api_user_id)
            return self._save(meta, record, None)

    def update(self, object_name: str, record_id: str, fields: Mapping[str, Any], *,
               as_user: str | None = None) -> SaveResult:
        """Change fields of one live record of `object_name` (an `Id` key in `fields` is ignored)."""
        with self.transaction():
            meta = self.describe(object_name)
            current, error = self._target(meta, record_id)
            body = {k: v for k, v in fields.items() if k.lower() != "id"}
            changes = rules.parse(meta, body, self)
            if current is None:
                return SaveResult.failed(error or rules.invalid_cross_reference())
            values, errors = rules.validate(meta, changes, self, current=current.fields, record_id=current.id)
            if errors:
                return SaveResult.failed(*errors, id=current.id)
            merged = {**current.fields, **values}
            self._stamp(meta, merged, as_user or self.api_user_id, inserting=False)
            return self._save(meta, merged, current)

    def upsert(self, object_name: str, ext_field: str, value: Any, fields: Mapping[str, Any], *,
               as_user: str | None = None, update_only: bool = False) -> SaveResult:
        """Update the record whose `ext_field` is `value`, or create it (`created` says which).

        Several matches fail with DUPLICATE_EXTERNAL_ID (the REST resource answers 300 before
        calling this). `update_only` turns "no match" into NOT_FOUND instead of an insert.
        """
        with self.transaction():
            meta = self.describe(object_name)
            key = meta.field(ext_field)
            if key is None:
                raise rules.no_such_column(ext_field, meta.name)
            if not (key.external_id or key.id_lookup):
                raise rules.not_an_external_id(key.name, meta.name)
            coerced = rules.coerce(key, value)
            matches = self.find_by(meta.name, key.name, coerced) if coerced is not None else []
            if len(matches) > 1:
                return SaveResult.failed(rules.several_matches(key, matches))
            if matches:
                return self.update(meta.name, matches[0], fields, as_user=as_user)
            if update_only or (key.type == "id" and coerced is not None):
                return SaveResult.failed(rules.no_such_record())
            body = dict(fields)
            if key.type != "id" and not any(meta.field(k) is key for k in body if k != "attributes"):
                body[key.name] = value
            return self.insert(meta.name, body, as_user=as_user)

    def delete(self, object_name: str | None, record_id: str, *, as_user: str | None = None) -> SaveResult:
        """Soft-delete one record (`object_name` None: whatever object the id belongs to)."""
        with self.transaction():
            id18 = to18(record_id)
            if id18 is None:
                return SaveResult.failed(rules.malformed_id(record_id))
            located = self.locate(id18)
            name = object_name or (located[0] if located else None)
            if name is None:
                return SaveResult.failed(rules.invalid_cross_reference())
            meta = self.describe(name)
            current, error = self._target(meta, id18)
            if current is None:
                return SaveResult.failed(error or rules.invalid_cross_reference())
            if not meta.deletable:
                return SaveResult.failed(rules.not_deletable(), id=id18)
            fields = {**current.fields, "IsDeleted": True}
            self._stamp(meta, fields, as_user or self.api_user_id, inserting=False)
            self._write(meta, id18, fields, deleted=True)
            for trigger in self._triggers.get(meta.name, ()):
                if trigger.after_delete:
                    trigger.after_delete(self, StoredRecord(id18, meta.name, fields, True))
            return SaveResult(id18, True)

    def _save(self, meta: ObjectMeta, record: dict[str, Any], current: StoredRecord | None) -> SaveResult:
        """Write a validated record through the object's triggers."""
        triggers = self._triggers.get(meta.name, ())
        for trigger in triggers:
            errors = trigger.before_save(self, meta, record, current) if trigger.before_save else []
            if errors:
                return SaveResult.failed(*errors, id=current.id if current else None)
        self._write(meta, record["Id"], record)
        stored = StoredRecord(record["Id"], meta.name, record)
        for trigger in triggers:
            if trigger.after_save:
                trigger.after_save(self, stored, current is None)
        return SaveResult(stored.id, True, created=current is None)

    def system_insert(self, object_name: str, values: Mapping[str, Any], *,
                      as_user: str | None = None) -> str:
        """Write a record the platform itself creates (a ContentDocument behind a ContentVersion...).

        No rules and no triggers: `values` are stored as given (storage form), with a new id, the
        defaults and the system fields. Returns the id.
        """
        with self.transaction():
            meta = self.describe(object_name)
            record_id = self._next_id(meta)
            record = self._new_record(meta, record_id, values, as_user or self.api_user_id)
            self._write(meta, record_id, record)
            return record_id

    def system_update(self, record_id: str, values: Mapping[str, Any]) -> None:
        """Set fields the platform computes on an existing record (no rules, triggers or audit stamps)."""
        with self.transaction():
            current = self.get(record_id)
            if current is None:
                raise KeyError(record_id)
            self._write(self.describe(current.object), current.id, {**current.fields, **values},
                        deleted=current.deleted)

    def _target(self, meta: ObjectMeta, record_id: str) -> tuple[StoredRecord | None, SaveError | None]:
        """The live record `record_id` of `meta`, or the error an update or delete reports."""
        id18 = to18(record_id)
        record = self.get(id18) if id18 else None
        if id18 is None or (record is None and id18[:3] != meta.key_prefix) or \
                (record is not None and record.object != meta.name):
            return None, rules.wrong_record_type(meta, record_id)
        if record is None:
            return None, rules.invalid_cross_reference()
        if record.deleted:
            return None, rules.entity_is_deleted()
        return record, None

    # -- storage -------------------------------------------------------------------------------------

    def _counter(self, name: str) -> int:
        """The next value of sequence `name` (a key prefix, or an auto-number's `auto:<object>`)."""
        row = self._db.execute("SELECT next FROM sequences WHERE prefix = ?", (name,)).fetchone()
        counter = int(row[0]) if row else 1
        self._db.execute("INSERT OR REPLACE INTO sequences (prefix, next) VALUES (?, ?)", (name, counter + 1))
        return counter

    def _next_id(self, meta: ObjectMeta) -> str:
        return make_id(meta.key_prefix, self._counter(meta.key_prefix))

    def _new_record(self, meta: ObjectMeta, record_id: str, values: Mapping[str, Any],
                    user: str) -> dict[str, Any]:
        record: dict[str, Any] = {"Id": record_id}
        for field in meta.fields.values():
            if field.type == "boolean":
                record[field.name] = bool(field.default_value)
            elif field.picklist and any(v.default for v in field.picklist):
                record[field.name] = next(v.value for v in field.picklist if v.default)
        record.update({k: v for k, v in values.items() if v is not None})
        record["IsDeleted"] = False
        if "OwnerId" in meta.fields and record.get("OwnerId") is None:
            record["OwnerId"] = user
        if meta.name_format and meta.name_field:
            record[meta.name_field] = auto_number(meta.name_format, self._counter(f"auto:{meta.name}"))
        self._stamp(meta, record, user, inserting=True)
        return record

    def _stamp(self, meta: ObjectMeta, record: dict[str, Any], user: str, *, inserting: bool) -> None:
        """System fields and computed names."""
        now = self.timestamp()
        if inserting:
            record.setdefault("CreatedDate", now)
            record.setdefault("CreatedById", user)
            record.setdefault("LastModifiedDate", now)
            record.setdefault("LastModifiedById", user)
        else:
            record["LastModifiedDate"] = now
            record["LastModifiedById"] = user
        record["SystemModstamp"] = now
        if meta.name in ("Contact", "User"):
            parts = [record.get(n) for n in ("FirstName", "MiddleName", "LastName", "Suffix")]
            record["Name"] = " ".join(str(p) for p in parts if p) or None
        elif meta.custom and meta.name_field and not record.get(meta.name_field):
            record[meta.name_field] = record["Id"]

    def _write(self, meta: ObjectMeta, record_id: str, fields: Mapping[str, Any], *,
               deleted: bool = False) -> None:
        body = {k: v for k, v in fields.items() if v is not None}
        self._db.execute("INSERT OR REPLACE INTO records (id, object, deleted, body) VALUES (?, ?, ?, ?)",
                         (record_id, meta.name, int(deleted), json.dumps(body, ensure_ascii=False)))
        self._db.execute("DELETE FROM keys WHERE id = ?", (record_id,))
        if deleted:
            return
        rows = [(meta.name, f.name, key_value(f, body[f.name]), record_id)
                for f in meta.fields.values() if f.key_field and body.get(f.name) is not None]
        self._db.executemany("INSERT INTO keys (object, field, value, id) VALUES (?, ?, ?, ?)", rows)
