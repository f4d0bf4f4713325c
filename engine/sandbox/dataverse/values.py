"""Column values: checking a written value against its column and putting it in the stored (API) form.

Stored forms are what the Web API returns: strings, ints, floats, booleans,
GUIDs in lower case, date-times as `YYYY-MM-DDTHH:MM:SSZ` (UTC) and DateOnly
columns as `YYYY-MM-DD`. A value of the wrong JSON type is refused as OData
does ("Cannot convert the literal ..."), one outside its column's rules with
the platform's validation error (0x80044331).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from engine.sandbox.dataverse.errors import DataverseError, invalid_argument, validation
from engine.sandbox.dataverse.model import OPTION_TYPES, STRING_TYPES, Attribute

_EDM = {"String": "Edm.String", "Memo": "Edm.String", "Integer": "Edm.Int32", "BigInt": "Edm.Int64",
        "Decimal": "Edm.Decimal", "Money": "Edm.Decimal", "Double": "Edm.Double", "Boolean": "Edm.Boolean",
        "DateTime": "Edm.DateTimeOffset", "Picklist": "Edm.Int32", "State": "Edm.Int32",
        "Status": "Edm.Int32", "Uniqueidentifier": "Edm.Guid"}
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _cannot_convert(value: Any, attribute: Attribute) -> DataverseError:
    return DataverseError(400, "0x0", f"Cannot convert the literal '{value}' to the expected type "
                          f"'{_EDM.get(attribute.type, 'Edm.String')}'.")


def convert(table: str, attribute: Attribute, value: Any) -> Any:
    """The stored form of `value` for `attribute`, or the platform's refusal."""
    if value is None:
        if attribute.required == "SystemRequired":
            raise validation(f"The '{attribute.logical_name}' attribute of the '{table}' entity is "
                             "required and cannot be null.")
        return None
    kind = attribute.type
    if kind in STRING_TYPES:
        if not isinstance(value, str):
            raise _cannot_convert(value, attribute)
        if attribute.max_length is not None and len(value) > attribute.max_length:
            raise validation(f"The length of the '{attribute.logical_name}' attribute of the '{table}' "
                             f"entity exceeded the maximum allowed length of '{attribute.max_length}'.")
        return value
    if kind in ("Integer", "BigInt") or kind in OPTION_TYPES:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _cannot_convert(value, attribute)
        if kind in OPTION_TYPES and value not in attribute.options:
            accepted = ",".join(str(v) for v in attribute.options)
            raise validation(f"The value {value} of '{attribute.logical_name}' on record of type "
                             f"'{table}' is outside the valid range. Accepted Values: {accepted}")
        _check_range(table, attribute, value)
        return value
    if kind in ("Decimal", "Money", "Double"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _cannot_convert(value, attribute)
        _check_range(table, attribute, value)
        return value
    if kind == "Boolean":
        if not isinstance(value, bool):
            raise _cannot_convert(value, attribute)
        return value
    if kind == "DateTime":
        return convert_datetime(value, attribute)
    if kind == "Uniqueidentifier":
        if not isinstance(value, str) or not GUID.match(value):
            raise _cannot_convert(value, attribute)
        return value.lower()
    raise _cannot_convert(value, attribute)


def _check_range(table: str, attribute: Attribute, value: float) -> None:
    low, high = attribute.min_value, attribute.max_value
    if (low is not None and value < low) or (high is not None and value > high):
        raise validation(f"The value {value} of '{attribute.logical_name}' on record of type '{table}' is "
                         f"outside the valid range ({low:g} to {high:g}).")


def convert_datetime(value: Any, attribute: Attribute) -> str:
    if not isinstance(value, str):
        raise _cannot_convert(value, attribute)
    if attribute.date_only:
        if _DATE.match(value):
            return value
        moment = parse_datetime(value)
        if moment is None:
            raise _cannot_convert(value, attribute)
        return moment.date().isoformat()
    moment = parse_datetime(value)
    if moment is None:
        raise _cannot_convert(value, attribute)
    return format_datetime(moment)


def parse_datetime(text: str) -> datetime | None:
    """An ISO 8601 date or date-time; one without an offset is UTC (as the platform reads it)."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def format_datetime(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_text(clock_value: float) -> str:
    return format_datetime(datetime.fromtimestamp(clock_value, UTC))


def parse_guid(text: str) -> str:
    if not GUID.match(text):
        raise invalid_argument("Guid should contain 32 digits with 4 dashes "
                               f"(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx): '{text}'")
    return text.lower()


def new_guid() -> str:
    return str(uuid.uuid4())
