"""Running a SOQL query tree against the org: names checked against metadata, rows filtered and rendered.

Semantics, as the platform's:
- string comparisons (=, !=, IN, LIKE, <, >) ignore case; ids compare in their
  18-character form (15-character literals are accepted);
- `Field != 'x'` and `Field NOT IN (...)` include records where Field is null;
  `<`, `>` and LIKE never match null; `= null` / `!= null` test for null;
- ORDER BY sorts nulls first ascending and last descending unless NULLS says
  otherwise; without ORDER BY rows come in insertion order;
- a literal of the wrong kind fails with INVALID_QUERY_FILTER_OPERATOR "value of
  filter criterion for field 'Birthdate' must be of type date and should not be
  enclosed in quotes"; a malformed id literal with "invalid ID field: abc";
- long text areas can be neither filtered nor sorted (INVALID_FIELD);
- TODAY, YESTERDAY, TOMORROW, LAST_N_DAYS:n, NEXT_N_DAYS:n are days in UTC (the
  org's time zone is UTC); on a date-time field they cover whole days;
- OFFSET is at most 2000 (NUMBER_OUTSIDE_VALID_RANGE).

Records come back as the REST API sends them: `attributes {type, url}`, the
selected fields under their canonical names, parent fields as nested objects
(with their own attributes) or null when the lookup is empty.

A query whose WHERE has a top-level `Id = / IN` or `<external id> = / IN`
reads only those records through the org's key index, so a loader's key
lookups stay fast on a large org.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from engine.sandbox.salesforce.errors import RequestError
from engine.sandbox.salesforce.ids import to18
from engine.sandbox.salesforce.metadata import FieldMeta, ObjectMeta
from engine.sandbox.salesforce.records import StoredRecord, attributes
from engine.sandbox.salesforce.soql import (
    Compare,
    Condition,
    InList,
    Junction,
    Like,
    Literal,
    Not,
    Path,
    Query,
    parse,
    query_error,
)
from engine.sandbox.salesforce.values import ID_TYPES, TEXT_LIKE, day_start, parse_datetime

MAX_OFFSET = 2000
_REFERENCE = "Please reference your WSDL or the describe call for the appropriate names."
_NO_SUCH_COLUMN = ("No such column '{name}' on entity '{object}'. If you are attempting to use a custom "
                   "field, be sure to append the '__c' after the custom field name. " + _REFERENCE)
_NO_RELATIONSHIP = ("Didn't understand relationship '{name}' in field path. If you are attempting to use a "
                    "custom relationship, be sure to append the '__r' after the custom relationship name. "
                    + _REFERENCE)
_NO_OBJECT = ("sObject type '{name}' is not supported. If you are attempting to use a custom object, be sure "
              "to append the '__c' after the entity name. " + _REFERENCE)
_TYPE_NAMES = {"boolean": "boolean", "date": "date", "datetime": "dateTime", "int": "integer",
               "long": "long", "double": "double", "currency": "currency", "percent": "percent", "id": "id",
               "reference": "id"}


class QuerySource(Protocol):
    def object_meta(self, name: str) -> ObjectMeta | None: ...

    def records(self, object_name: str, *, include_deleted: bool,
                ids: Collection[str] | None = None) -> Iterator[StoredRecord]: ...

    def get(self, record_id: str) -> StoredRecord | None: ...

    def find_by(self, object_name: str, field_name: str, value: Any) -> list[str]: ...

    def now(self) -> float: ...


@dataclass
class QueryResult:
    records: list[dict[str, Any]]
    total_size: int


@dataclass(frozen=True)
class Resolved:
    path: Path
    lookups: tuple[FieldMeta, ...]  # the reference fields followed, child to parent
    field: FieldMeta  # the field read at the end


Getter = Callable[[StoredRecord], Any]
Predicate = Callable[[StoredRecord], bool]


class _Run:
    def __init__(self, source: QuerySource, query: Query, version: str) -> None:
        self.source = source
        self.query = query
        self.version = version
        self._parents: dict[str, StoredRecord | None] = {}
        meta = source.object_meta(query.object)
        if meta is None or not meta.queryable:
            raise self.error("INVALID_TYPE", query.object_pos, _NO_OBJECT.format(name=query.object))
        self.meta = meta

    def error(self, code: str, pos: int, reason: str) -> RequestError:
        return query_error(code, self.query.text, pos, reason)

    # -- names --------------------------------------------------------------------------------------

    def resolve(self, path: Path, *, purpose: str = "select") -> Resolved:
        meta = self.meta
        lookups: list[FieldMeta] = []
        for part in path.parts[:-1]:
            lookup = meta.relationship(part)
            parent = self.source.object_meta(lookup.reference_to[0]) if lookup else None
            if lookup is None or parent is None:
                raise self.error("INVALID_FIELD", path.pos, _NO_RELATIONSHIP.format(name=part))
            lookups.append(lookup)
            meta = parent
        found = meta.field(path.parts[-1])
        if found is None:
            raise self.error("INVALID_FIELD", path.pos,
                             _NO_SUCH_COLUMN.format(name=path.parts[-1], object=meta.name))
        if purpose != "select" and found.type == "textarea" and found.length > 255:
            verb = "filtered" if purpose == "filter" else "sorted"
            raise self.error("INVALID_FIELD", path.pos,
                             f"field '{found.name}' can not be {verb} in a query call")
        return Resolved(path, tuple(lookups), found)

    def parent(self, record: StoredRecord, lookup: FieldMeta) -> StoredRecord | None:
        parent_id = record.fields.get(lookup.name)
        if not parent_id:
            return None
        if parent_id not in self._parents:
            self._parents[parent_id] = self.source.get(parent_id)
        return self._parents[parent_id]

    def getter(self, resolved: Resolved) -> Getter:
        def get(record: StoredRecord) -> Any:
            current: StoredRecord | None = record
            for lookup in resolved.lookups:
                current = self.parent(current, lookup) if current is not None else None
            return None if current is None else current.fields.get(resolved.field.name)
        return get

    # -- WHERE ----------------------------------------------------------------------------------------

    def predicate(self, condition: Condition) -> Predicate:
        if isinstance(condition, Junction):
            parts = [self.predicate(item) for item in condition.items]
            if condition.op == "AND":
                return lambda r: all(p(r) for p in parts)
            return lambda r: any(p(r) for p in parts)
        if isinstance(condition, Not):
            inner = self.predicate(condition.item)
            return lambda r: not inner(r)
        resolved = self.resolve(condition.path, purpose="filter")
        get = self.getter(resolved)
        field = resolved.field
        if isinstance(condition, Like):
            if field.type not in TEXT_LIKE:
                raise self.error("INVALID_QUERY_FILTER_OPERATOR", condition.path.pos,
                                 f"invalid operator on field '{field.name}': LIKE applies to text fields")
            pattern = _like(condition.pattern.raw)
            return lambda r: isinstance(v := get(r), str) and pattern.fullmatch(v) is not None
        if isinstance(condition, InList):
            wanted = [self.literal(field, lit) for lit in condition.values]
            keys = {_key(field, w) for w in wanted if not isinstance(w, _Range)}
            if condition.negate:
                return lambda r: _key(field, get(r)) not in keys
            return lambda r: _key(field, get(r)) in keys
        return self.comparison(condition, field, get)

    def comparison(self, condition: Compare, field: FieldMeta, get: Getter) -> Predicate:
        wanted = self.literal(field, condition.value)
        op = condition.op
        if isinstance(wanted, _Range):
            return _range_predicate(op, wanted, get)
        if wanted is None:
            if op not in ("=", "!="):
                return lambda r: False
            return (lambda r: get(r) is None) if op == "=" else (lambda r: get(r) is not None)
        target = _key(field, wanted)
        if op == "!=":
            return lambda r: (v := get(r)) is None or _key(field, v) != target
        compare = _OPERATORS[op]
        return lambda r: (v := get(r)) is not None and compare(_key(field, v), target)

    def literal(self, field: FieldMeta, literal: Literal) -> Any:
        """The literal as a stored value of `field` (or a day range), or the platform's type error."""
        if literal.kind == "null":
            return None
        kind = field.type
        expected: tuple[str, ...]
        if kind in TEXT_LIKE:
            expected = ("string",)
        elif kind == "boolean":
            expected = ("boolean",)
        elif kind in ("date", "datetime"):
            expected = (kind, "dateliteral")
        elif kind in ("double", "currency", "percent", "int", "long"):
            expected = ("number",)
        else:
            expected = ("string",)
        if literal.kind not in expected:
            quoted = "should be enclosed in quotes" if expected == ("string",) else \
                "should not be enclosed in quotes"
            type_name = _TYPE_NAMES.get(kind, "string")
            raise self.error("INVALID_QUERY_FILTER_OPERATOR", literal.pos, f"value of filter criterion for "
                             f"field '{field.name}' must be of type {type_name} and {quoted}")
        if kind in ID_TYPES:
            id18 = to18(str(literal.value))
            if id18 is None:
                raise self.error("INVALID_QUERY_FILTER_OPERATOR", literal.pos,
                                 f"invalid ID field: {literal.value}")
            return id18
        if literal.kind == "dateliteral":
            return self.day_range(literal.value, datetime_field=kind == "datetime")
        if literal.kind == "datetime":
            return parse_datetime(str(literal.value))
        return literal.value

    def day_range(self, literal: tuple[str, int], *, datetime_field: bool) -> _Range:
        name, amount = literal
        today = datetime.fromtimestamp(self.source.now(), UTC).date()
        first, last = {
            "TODAY": (today, today), "YESTERDAY": (today - timedelta(1), today - timedelta(1)),
            "TOMORROW": (today + timedelta(1), today + timedelta(1)),
            "LAST_N_DAYS": (today - timedelta(amount), today),
            "NEXT_N_DAYS": (today + timedelta(1), today + timedelta(amount)),
        }[name]
        end = last + timedelta(1)
        if datetime_field:
            return _Range(day_start(first), day_start(end))
        return _Range(first.isoformat(), end.isoformat())

    # -- running ------------------------------------------------------------------------------------

    def candidates(self, include_deleted: bool) -> Collection[str] | None:
        """Ids that can match, from a top-level Id or external-id equality; None: every record."""
        where = self.query.where
        conjuncts = where.items if isinstance(where, Junction) and where.op == "AND" else (where,)
        for condition in conjuncts:
            literals: tuple[Literal, ...]
            if isinstance(condition, Compare) and condition.op == "=":
                path, literals = condition.path, (condition.value,)
            elif isinstance(condition, InList) and not condition.negate:
                path, literals = condition.path, condition.values
            else:
                continue
            field = self.meta.field(path.parts[0]) if len(path.parts) == 1 else None
            if field is None or any(lit.kind != "string" for lit in literals):
                continue
            if field.type == "id":
                return {i for i in (to18(str(lit.value)) for lit in literals) if i}
            indexed = field.key_field and not field.case_sensitive and field.type in TEXT_LIKE
            if indexed and not include_deleted:
                found: set[str] = set()
                for lit in literals:
                    found.update(self.source.find_by(self.meta.name, field.name, lit.value))
                return found
        return None

    def run(self, include_deleted: bool) -> QueryResult:
        query = self.query
        selected = [self.resolve(p) for p in query.fields]
        aggregated = [(a, self.resolve(a.path)) for a in query.aggregates]
        keep = self.predicate(query.where) if query.where is not None else None
        order = [(item, self.resolve(item.path, purpose="order")) for item in query.order]
        if query.offset is not None and query.offset > MAX_OFFSET:
            raise RequestError("NUMBER_OUTSIDE_VALID_RANGE", f"Maximum SOQL offset allowed is {MAX_OFFSET}")
        ids = self.candidates(include_deleted) if query.where is not None else None
        rows = [r for r in self.source.records(self.meta.name, include_deleted=include_deleted, ids=ids)
                if keep is None or keep(r)]
        for item, resolved in reversed(order):
            get = self.getter(resolved)
            present = [r for r in rows if get(r) is not None]
            absent = [r for r in rows if get(r) is None]
            present.sort(key=_sorter(resolved.field, get), reverse=item.descending)
            rows = present + absent if item.nulls_last else absent + present
        rows = rows[query.offset or 0:]
        if query.limit is not None:
            rows = rows[:query.limit]
        if query.count_only:
            return QueryResult([], len(rows))
        if aggregated:
            record: dict[str, Any] = {"attributes": {"type": "AggregateResult"}}
            for aggregate, resolved in aggregated:
                get = self.getter(resolved)
                record[aggregate.alias] = sum(1 for r in rows if get(r) is not None)
            return QueryResult([record], 1)
        return QueryResult([self.render(r, selected) for r in rows], len(rows))

    def render(self, record: StoredRecord, selected: list[Resolved]) -> dict[str, Any]:
        out: dict[str, Any] = {"attributes": attributes(self.version, record.object, record.id)}
        for resolved in selected:
            target: dict[str, Any] = out
            current: StoredRecord | None = record
            for lookup in resolved.lookups:
                name = lookup.relationship_name or lookup.name
                current = self.parent(current, lookup) if current is not None else None
                if current is None:
                    target.setdefault(name, None)
                    break
                if target.get(name) is None:
                    target[name] = {"attributes": attributes(self.version, current.object, current.id)}
                target = target[name]
            else:
                if current is not None:
                    default = False if resolved.field.type == "boolean" else None
                    target[resolved.field.name] = current.fields.get(resolved.field.name, default)
        return out


@dataclass(frozen=True)
class _Range:
    """A day literal: values from `low` (included) to `high` (excluded)."""

    low: str
    high: str


def _range_predicate(op: str, day: _Range, get: Getter) -> Predicate:
    tests: dict[str, Callable[[Any], bool]] = {
        "=": lambda v: day.low <= v < day.high, "!=": lambda v: not day.low <= v < day.high,
        "<": lambda v: v < day.low, "<=": lambda v: v < day.high,
        ">": lambda v: v >= day.high, ">=": lambda v: v >= day.low,
    }
    test = tests[op]
    if op == "!=":
        return lambda r: (v := get(r)) is None or test(v)
    return lambda r: (v := get(r)) is not None and test(v)


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}


def _key(field: FieldMeta, value: Any) -> Any:
    """A value as comparisons see it: text without case (ids excepted), numbers as floats."""
    if value is None:
        return None
    if field.type in ID_TYPES:
        return value
    if isinstance(value, str) and field.type in TEXT_LIKE:
        return value.casefold()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return value


def _sorter(field: FieldMeta, get: Getter) -> Callable[[StoredRecord], Any]:
    return lambda record: _key(field, get(record))


def _like(raw: str) -> re.Pattern[str]:
    out: list[str] = []
    index = 0
    while index < len(raw):
        char = raw[index]
        if char == "\\" and index + 1 < len(raw):
            nxt = raw[index + 1]
            out.append(re.escape({"n": "\n", "t": "\t", "r": "\r"}.get(nxt, nxt)))
            index += 2
            continue
        out.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        index += 1
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


def run_query(source: QuerySource, text: str, *, all_rows: bool = False, version: str) -> QueryResult:
    """Parse and run `text`; `all_rows` includes deleted records (queryAll)."""
    return _Run(source, parse(text), version).run(include_deleted=all_rows)


