"""Type coercions of the spec language (`type:` on a field rule).

Each coercer takes a non-null value and returns the target-ready value, or
raises `CoercionError` with a sentence an analyst can act on. Datetimes are
normalised to UTC `YYYY-MM-DDTHH:MM:SSZ`; decimals stay `Decimal` so money is
never rounded through binary floats.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Coercer = Callable[[Any], Any]


class CoercionError(ValueError):
    """A value cannot become the declared type."""


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def to_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, float):
        return repr(int(value)) if value.is_integer() else repr(value)
    raise CoercionError(f"expected text, got {type(value).__name__} {_show(value)}")


def to_integer(value: Any) -> int:
    if isinstance(value, bool):
        raise CoercionError(f"expected a whole number, got {_show(value)}")
    if isinstance(value, int):
        return value
    if isinstance(value, (float, Decimal)) and value == int(value):
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"[+-]?\d+", text):
            return int(text)
        if re.fullmatch(r"[+-]?\d+\.0*", text):
            return int(text.split(".")[0])
    raise CoercionError(f"expected a whole number, got {_show(value)}")


def to_decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise CoercionError(f"expected a decimal number, got {_show(value)}")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            pass
        else:
            if result.is_finite():
                return result
    raise CoercionError(f"expected a decimal number, got {_show(value)}")


_TRUE = {"true", "yes", "y", "1", "t"}
_FALSE = {"false", "no", "n", "0", "f"}


def to_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise CoercionError(f"expected true or false, got {_show(value)}")


_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


def to_date(value: Any) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        match = _DATE.match(value.strip())
        if match:
            try:
                return date(int(match[1]), int(match[2]), int(match[3])).isoformat()
            except ValueError:
                pass
    raise CoercionError(f"expected a date (YYYY-MM-DD), got {_show(value)}")


def zone(name: str | None) -> tzinfo:
    if not name or name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CoercionError(f"unknown time zone {name!r}") from None


def parse_datetime(value: Any, naive_zone: tzinfo = UTC) -> datetime:
    """A datetime in UTC from ISO-8601 text (Z, offsets, or naive in `naive_zone`)."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise CoercionError(f"expected a date and time (ISO-8601), got {_show(value)}") from None
    else:
        raise CoercionError(f"expected a date and time (ISO-8601), got {_show(value)}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=naive_zone)
    return moment.astimezone(UTC)


def format_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def datetime_coercer(naive_zone_name: str | None) -> Coercer:
    naive_zone = zone(naive_zone_name)

    def to_datetime(value: Any) -> str:
        return format_utc(parse_datetime(value, naive_zone))

    return to_datetime


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


def to_email(value: Any) -> str:
    if isinstance(value, str):
        text = value.strip()
        if _EMAIL.match(text):
            local, _, domain = text.rpartition("@")
            return f"{local}@{domain.lower()}"
    raise CoercionError(f"expected an e-mail address, got {_show(value)}")


_PHONE_NOISE = re.compile(r"[\s().\-/]")


def to_phone(value: Any) -> str:
    """Formatting characters removed, a leading + kept; 6 to 15 digits (E.164's maximum)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str):
        text = _PHONE_NOISE.sub("", value.strip())
        digits = text[1:] if text.startswith("+") else text
        if digits.isdigit() and 6 <= len(digits) <= 15:
            return text
    raise CoercionError(f"expected a phone number, got {_show(value)}")


def date_coercer(zone_name: str | None) -> Coercer:
    """Dates pass through; a date and time becomes its calendar date in `zone_name`."""
    if not zone_name:
        return to_date
    local = zone(zone_name)

    def to_local_date(value: Any) -> str:
        if isinstance(value, str) and len(value.strip()) > 10:
            return parse_datetime(value, local).astimezone(local).date().isoformat()
        return to_date(value)

    return to_local_date


def coercer_for(type_name: str, timezone_name: str | None = None) -> Coercer:
    if type_name == "datetime":
        return datetime_coercer(timezone_name)
    if type_name == "date":
        return date_coercer(timezone_name)
    return _SIMPLE[type_name]


_SIMPLE: dict[str, Coercer] = {
    "text": to_text,
    "integer": to_integer,
    "decimal": to_decimal,
    "boolean": to_boolean,
    "date": to_date,
    "email": to_email,
    "phone": to_phone,
}
