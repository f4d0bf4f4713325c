"""How a TargetRecord becomes a Salesforce request body, and how Salesforce's errors map back to it.

Shared by the Collections path (salesforce.py), Bulk API 2.0 (salesforce_bulk.py) and files
(salesforce_files.py), so a record is rendered one way and an error is reported one way,
whichever API carried it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from engine.spec.catalog import CatalogField

_FOREIGN_KEY = re.compile(r"^Foreign key external ID: (?P<value>.*) not found for field (?P<field>\S+) "
                          r"in entity (?P<entity>\S+)$")


def relationship_name(field_name: str, described: CatalogField | None) -> str:
    """The relationship a lookup field is written through: the catalog's, else the platform's rule."""
    if described is not None and described.relationship:
        return described.relationship
    if field_name.endswith("__c"):
        return field_name[:-3] + "__r"
    if field_name.endswith("Id") and len(field_name) > 2:
        return field_name[:-2]
    raise ValueError(f"{field_name} is not a lookup field with a known relationship name")


def json_value(value: Any) -> Any:
    """A plain value as the REST API takes it (see the module docstring for Decimal)."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ";".join(str(json_value(v)) for v in value)  # a multi-select picklist
    return value


@dataclass(frozen=True)
class Rendered:
    body: dict[str, Any]
    relationships: dict[str, str]       # relationship name → target field
    refs: dict[str, tuple[str, str, str]]  # target field → (parent object, parent key field, external id)


def top_error(content: Any) -> tuple[str, str]:
    if isinstance(content, list) and content and isinstance(content[0], dict):
        first = content[0]
        return str(first.get("errorCode", "")), str(first.get("message", ""))
    return "", str(content)[:300]


def target_fields(reported: Sequence[str], message: str, rendered: Rendered) -> tuple[str, ...]:
    """The spec's target fields an error is about (relationship names → lookup fields)."""
    fields = [rendered.relationships.get(f, f) for f in reported]
    if not fields:
        miss = _FOREIGN_KEY.match(message)
        if miss:
            fields = [name for name, (parent, key, value) in rendered.refs.items()
                      if value == miss["value"] and key.lower() == miss["field"].lower()
                      and parent.lower() == miss["entity"].lower()]
    return tuple(dict.fromkeys(fields))
