"""Expected and read-back values in one comparable form, per kind of target field.

The target answers in its own forms — Salesforce datetimes as
`2024-01-02T03:04:05.000+0000`, numbers as floats, unset checkboxes as false,
multi-select picklists as `a;b` — while the spec produced `…Z` instants,
Decimals and lists. `canonical` maps both sides to the same text, so a
difference that remains is a difference in the data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from engine.provision.plan import CURRENCY_SCALE
from engine.spec.catalog import CatalogField
from engine.spec.model import Spec

KINDS = ("text", "multi", "bool", "number", "date", "datetime", "id")
_KIND_OF_TYPE = {
    "multipicklist": "multi", "boolean": "bool",
    "double": "number", "currency": "number", "percent": "number", "int": "number", "long": "number",
    "integer": "number", "decimal": "number", "money": "number",
    "date": "date", "datetime": "datetime", "id": "id", "reference": "id", "lookup": "id",
    "customer": "id", "owner": "id", "uniqueidentifier": "id",
}  # Salesforce describe types and Dataverse AttributeTypes, lower-cased
_DATE = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})")
_ID = re.compile(r"^[A-Za-z0-9]{18}$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_OFFSET = re.compile(r"([+-]\d{2})(\d{2})$")  # +0000 → +00:00 for fromisoformat on every Python
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


def field_kind(field: CatalogField | None) -> str:
    return "text" if field is None else _KIND_OF_TYPE.get(field.type.lower(), "text")


def field_scale(spec: Spec, target_object: str, field_name: str) -> int | None:
    """Decimal places the target keeps for a provisioned number field (None: compare as given)."""
    provision = spec.provision.get(target_object)
    pf = provision.fields.get(field_name) if provision else None
    if pf is None:
        return None
    if pf.kind == "number":
        return int(pf.args[1]) if len(pf.args) == 2 else 0
    if pf.kind == "currency":
        return CURRENCY_SCALE  # the abstract type takes no arguments
    return None


def canonical(value: Any, kind: str, scale: int | None = None) -> str | None:
    """One text form per value and field kind; None for no value (false for a checkbox)."""
    if isinstance(value, str) and kind != "text":
        value = value.strip()
    if value is None or value == "" or value == [] or value == ():
        return "false" if kind == "bool" else None
    if kind == "bool":
        return _boolean(value)
    if kind == "number":
        return _number(value, scale)
    if kind == "datetime":
        return _datetime(value)
    if kind == "date":
        return _date(value)
    if kind == "multi":
        parts = value if isinstance(value, list | tuple) else str(value).split(";")
        chosen = sorted({str(p).strip() for p in parts if str(p).strip()})
        return ";".join(chosen) or None
    if kind == "id":
        text = str(value)
        if _GUID.match(text):
            return text.lower()  # Dataverse GUIDs compare without regard to case
        return text[:15] if _ID.match(text) else text  # an 18-character id is the 15 plus a checksum
    return _text(value)


def matches(expected: Any, actual: Any, kind: str, scale: int | None = None) -> bool:
    return canonical(expected, kind, scale) == canonical(actual, kind, scale)


def shown(value: Any) -> str:
    """A value as a report cell: text as it is, anything else as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, default=str, ensure_ascii=False, sort_keys=True)
    return str(value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, str):
        return value
    return shown(value)


def _boolean(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value).strip().lower()
    if text in _TRUE:
        return "true"
    if text in _FALSE:
        return "false"
    return str(value)


def _number(value: Any, scale: int | None) -> str:
    if isinstance(value, bool):
        return str(value)
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
    except InvalidOperation:
        return str(value)
    if not number.is_finite():
        return str(value)
    if scale is not None:
        number = number.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)
    if number == 0:
        return "0"  # no -0, no 0E-2
    return format(number.normalize(), "f")


def _datetime(value: Any) -> str:
    moment: datetime | None = value if isinstance(value, datetime) else None
    if moment is None:
        text = str(value).strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        text = _OFFSET.sub(r"\1:\2", text)
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return str(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    # Milliseconds: what Salesforce keeps of an instant.
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _date(value: Any) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    match = _DATE.match(str(value))
    if match is None:
        return str(value)
    try:
        return date(int(match[1]), int(match[2]), int(match[3])).isoformat()
    except ValueError:
        return str(value)
