"""Field values in the form the org stores them and the API sends them.

Storage form is the API's JSON form, so nothing is converted on the way out:

    string, textarea, picklist,      str
    email, phone, url, id, reference
    multipicklist                    str, values joined with ';'
    boolean                          bool (never null: null is stored as false)
    int                              int
    double, currency, percent        float
    date                             'YYYY-MM-DD'
    datetime                         'YYYY-MM-DDTHH:MM:SS.000+0000' (UTC, milliseconds; the API's output form)

Datetimes in UTC with a fixed width compare correctly as strings, which the
query engine relies on. Accepted input (REST JSON, SOQL literals) is wider:
ISO-8601 with `Z`, `±HH:MM` or `±HHMM`, optional seconds and fraction, or a
bare date (midnight UTC).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta, timezone

STRING_TYPES = frozenset({"string", "textarea", "picklist", "multipicklist", "email", "phone", "url",
                          "combobox", "encryptedstring"})
ID_TYPES = frozenset({"id", "reference"})
NUMBER_TYPES = frozenset({"double", "currency", "percent", "int", "long"})
TEXT_LIKE = STRING_TYPES | ID_TYPES

SOAP_TYPES = {
    "id": "tns:ID", "reference": "tns:ID", "boolean": "xsd:boolean", "date": "xsd:date",
    "datetime": "xsd:dateTime", "double": "xsd:double", "currency": "xsd:double", "percent": "xsd:double",
    "int": "xsd:int", "long": "xsd:long", "base64": "xsd:base64Binary", "address": "urn:address",
}

_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_DATETIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?"
    r"(Z|[+-]\d{2}:?\d{2})?)?$")
# What the platform accepts as an e-mail address: a dot-atom local part, a domain with a dot.
_EMAIL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
                    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z0-9-]{2,}$")


def soap_type(field_type: str) -> str:
    return SOAP_TYPES.get(field_type, "xsd:string")


def format_datetime(moment: datetime | float) -> str:
    """A UTC instant in the API's output form."""
    if not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment, UTC)
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def parse_date(text: str) -> str | None:
    """'YYYY-MM-DD' when `text` is exactly a valid calendar date, else None."""
    match = _DATE.match(text)
    if match is None:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3])).isoformat()
    except ValueError:
        return None


def parse_datetime(text: str) -> str | None:
    """The storage form of an ISO-8601 date-time (or bare date, as midnight UTC), or None."""
    match = _DATETIME.match(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        moment = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                          int(second or 0), int((fraction or "0").ljust(6, "0")[:6]), tzinfo=_zone(zone))
    except ValueError:
        return None
    return format_datetime(moment)


def _zone(text: str | None) -> timezone:
    if not text or text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def day_start(day: date) -> str:
    return format_datetime(datetime(day.year, day.month, day.day, tzinfo=UTC))


def is_email(text: str) -> bool:
    return bool(_EMAIL.match(text)) and len(text.split("@", 1)[0]) <= 64


def integer_digits(value: float) -> int:
    """How many digits `value` has before the decimal point (0 for |value| < 1)."""
    magnitude = abs(value)
    return 0 if magnitude < 1 else math.floor(math.log10(magnitude)) + 1


def number_text(value: float | int) -> str:
    """A number as the platform prints it in messages: integral values without a fraction."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
