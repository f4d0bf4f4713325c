"""Cliniko's `q[]` filter language, compiled to SQL over the store.

A filter is `<field>:<operator><value>`; repeated `q[]` parameters AND
together (the legacy single `q=` is read as one more). Operators by the
field's catalog type, as docs.api.cliniko.com lists them:

    date                = >= > <= < ? !?      `=` takes * wildcards: ****-05-**
    datetime            >= > <= < ? !? *      * = any value (also null)
    id integer decimal  = != >= > <= < ? !?   `=` takes a list: =1,2,3
    string text         = != ~ ~~ ? !?        ~ contains, ~~ SQL LIKE (% and _)
    boolean             = !=
    array               ~                     the array holds the value

`?` is "is not null", `!?` "is null". Every catalog field that is not an
object is searchable, including the `<relation>_id` names (`patient_id`),
which the API filters by although it only sends link objects. Anything else
answers 400 `{"message":"This column is not searchable."}` as Cliniko does;
a known column with an operator its type lacks, or a value that does not
parse, answers 400 with a message saying what is wrong (Cliniko's own text
for these is unconfirmed).

Choices where the docs are silent: `~` and `~~` ignore case (Unicode
casefold); `=`/`!=` are exact. Comparisons never match null, as in SQL
(`draft:!=true` skips notes with no `draft`). A datetime value may carry an
offset or fractions (compared at second precision, as stored) or be a bare
date (midnight UTC).

Visibility: archived records, cancelled ones (resources with `cancelled_at`:
individual appointments, attendees) and deleted ones are left out unless a
filter names that column. `archived_at:*` includes them, `archived_at:?`
returns only archived ones, `archived_at:!?` only live ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.sandbox.cliniko.columns import field_sql
from engine.sandbox.cliniko.errors import bad_request, not_searchable
from engine.sandbox.cliniko.schema import ResourceSchema
from engine.sandbox.cliniko.store import Clause

# Longest first, so `>=` is not read as `>` followed by "=...".
OPERATORS = ("!?", "!=", ">=", "<=", "~~", "?", "=", ">", "<", "~", "*")
ALLOWED = {
    "date": ("=", ">=", ">", "<=", "<", "?", "!?"),
    "datetime": (">=", ">", "<=", "<", "?", "!?", "*"),
    "id": ("=", "!=", ">=", ">", "<=", "<", "?", "!?"),
    "string": ("=", "!=", "~", "~~", "?", "!?"),
    "boolean": ("=", "!="),
    "array": ("~",),
}
for _numeric in ("integer", "decimal"):
    ALLOWED[_numeric] = ALLOWED["id"]
ALLOWED["text"] = ALLOWED["string"]

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATE_WILDCARD = re.compile(r"^[\d*]{4}-[\d*]{2}-[\d*]{2}$")
_INTEGER = re.compile(r"^[+-]?\d+$")
INT64_MAX = 2**63 - 1
_TRUE = {"true", "t", "1"}
_FALSE = {"false", "f", "0"}


@dataclass(frozen=True)
class Filter:
    field: str
    type: str
    operator: str
    value: str


def parse(expression: str, schema: ResourceSchema) -> Filter:
    field, colon, rest = expression.partition(":")
    field = field.strip()
    if field not in schema.searchable:
        raise not_searchable()
    if not colon:
        raise bad_request(f"Invalid filter '{expression}': expected <field>:<operator><value>.")
    operator = next((op for op in OPERATORS if rest.startswith(op)), "")
    type_ = schema.searchable[field]
    if operator not in ALLOWED[type_]:
        allowed = " ".join(ALLOWED[type_])
        raise bad_request(f"Invalid filter '{expression}': {field} ({type_}) takes the operators {allowed}.")
    value = rest[len(operator):]
    if operator in ("?", "!?", "*") and value:
        raise bad_request(f"Invalid filter '{expression}': '{operator}' takes no value.")
    return Filter(field, type_, operator, value)


def _invalid(f: Filter, expected: str) -> Exception:
    return bad_request(f"Invalid filter '{f.field}:{f.operator}{f.value}': {f.field} expects {expected}.")


def _integer(f: Filter, text: str) -> int:
    if not _INTEGER.match(text.strip()) or abs(int(text)) > INT64_MAX:
        raise _invalid(f, "an integer" if f.type == "integer" else "an id (digits)")
    return int(text)


def _decimal(f: Filter, text: str) -> float:
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        raise _invalid(f, "a number") from None
    if not number.is_finite():
        raise _invalid(f, "a number")
    return float(number)


def _date(f: Filter) -> str:
    if _DATE.match(f.value):
        try:
            date.fromisoformat(f.value)
        except ValueError:
            raise _invalid(f, "a date YYYY-MM-DD") from None
        return f.value
    raise _invalid(f, "a date YYYY-MM-DD (with = also * wildcards: ****-05-**)")


def _datetime(f: Filter) -> tuple[str, str]:
    """(operator, value) with the value as stored text: UTC, whole seconds, Z."""
    text = f.value.strip()
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise _invalid(f, "a UTC date-time like 2014-08-30T18:00:00Z") from None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    operator = f.operator
    if moment.microsecond:  # stored values are whole seconds: move the bound to one
        whole = moment.replace(microsecond=0)
        if operator in (">", ">="):
            operator, moment = ">=", whole + timedelta(seconds=1)
        else:
            operator, moment = "<=", whole
    return operator, moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def compile_filter(f: Filter) -> Clause | None:
    """The SQL condition of one filter; None when it matches everything (`*`)."""
    column = field_sql(f.field, f.type)
    op = f.operator
    if op == "*":
        return None
    if op == "?":
        return Clause(f"{column} IS NOT NULL")
    if op == "!?":
        return Clause(f"{column} IS NULL")
    type_ = f.type
    value: Any
    if type_ in ("id", "integer", "decimal"):
        convert = _decimal if type_ == "decimal" else _integer
        if op == "=":
            items = [convert(f, part) for part in f.value.split(",")]
            return Clause(f"{column} IN ({', '.join('?' * len(items))})", tuple(items))
        value = convert(f, f.value)
    elif type_ == "date":
        if op == "=" and "*" in f.value and _DATE_WILDCARD.match(f.value):
            return Clause(f"{column} GLOB ?", (f.value.replace("*", "?"),))
        value = _date(f)
    elif type_ == "datetime":
        op, value = _datetime(f)
    elif type_ == "boolean":
        lowered = f.value.strip().lower()
        if lowered not in _TRUE | _FALSE:
            raise _invalid(f, "true or false")
        value = 1 if lowered in _TRUE else 0
    elif type_ == "array":
        return Clause(f"EXISTS (SELECT 1 FROM json_each(body, '$.{f.field}') AS e "
                      f"WHERE CAST(e.value AS TEXT) = ?)", (f.value,))
    else:
        value = f.value
        if op == "~":
            return Clause(f"cl_contains({column}, ?)", (value,))
        if op == "~~":
            return Clause(f"cl_like({column}, ?)", (value,))
    return Clause(f"{column} {op} ?", (value,))


def visibility(schema: ResourceSchema, named: Iterable[str]) -> list[Clause]:
    """Hide archived, cancelled and deleted records unless a filter names the column."""
    mentioned = set(named)
    return [Clause(f"{column} IS NULL") for column in schema.hiding if column not in mentioned]


def compile_filters(expressions: Iterable[str], schema: ResourceSchema) -> list[Clause]:
    """Every `q[]` expression as SQL, plus the default visibility rules."""
    parsed = [parse(expression, schema) for expression in expressions]
    clauses = [c for c in (compile_filter(f) for f in parsed) if c is not None]
    return clauses + visibility(schema, (f.field for f in parsed))

