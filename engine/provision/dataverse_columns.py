"""Dataverse column definitions: one planned field → the body of
`POST EntityDefinitions(LogicalName='<table>')/Attributes` (ref/dataverse.md §5).

The abstract type decides the `@odata.type` (targets/dynamics365/types.yaml
`metadata_type`) and the type's own properties: MaxLength and FormatName for
strings, Precision and range for decimals, the date behaviour, the two
options of a Boolean, the local option set of a Picklist. Lookups are not
columns of their own: they are the `Lookup` of a relationship (dataverse.py),
built with `lookup_attribute` here.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from engine.provision.plan import PlannedField
from engine.spec.catalog import Catalog
from engine.spec.model import ValueMap

LANGUAGE = 1033  # English; the labels come from the spec, which is written in English
TYPE_PREFIX = "Microsoft.Dynamics.CRM."
# Decimal columns hold -/+ 100,000,000,000 at most; Money -/+ 922,337,203,685,477.
DECIMAL_LIMIT = Decimal(100_000_000_000)
MONEY_LIMIT = 922_337_203_685_477
# Money takes the precision of the row's currency (0: the column's own, 1: the organisation's).
MONEY_PRECISION_SOURCE = 2
# Lengths of the standard columns these formats copy (emailaddress1, telephone1) when
# types.yaml gives none.
STRING_FORMATS = {"text": "Text", "email": "Email", "phone": "Phone"}
DEFAULT_LENGTHS = {"email": 100, "phone": 50}
# UserLocal keeps an instant: Dataverse stores UTC and shows it in each user's zone. Cliniko's
# timestamps are UTC instants, so TimeZoneIndependent (a wall-clock value shown unchanged)
# would show a Sydney clinic's 09:00 as 23:00. UserLocal is also the one behaviour that can
# be changed later (to DateOnly or TimeZoneIndependent); the others cannot be changed back.
DATETIME_BEHAVIOR = "UserLocal"


def label(text: str) -> dict[str, Any]:
    """A Label complex type with one English LocalizedLabel."""
    return {"@odata.type": f"{TYPE_PREFIX}Label",
            "LocalizedLabels": [{"@odata.type": f"{TYPE_PREFIX}LocalizedLabel", "Label": text,
                                 "LanguageCode": LANGUAGE}]}


def required_level(required: bool) -> dict[str, Any]:
    """ApplicationRequired for a required field. Dataverse enforces only SystemRequired (which
    customers cannot set): ApplicationRequired makes forms insist, while the Web API, and so the
    loader, may still create a row without the value; the spec's `required:` is what enforces it."""
    return {"Value": "ApplicationRequired" if required else "None", "CanBeChanged": True,
            "ManagedPropertyLogicalName": "canmodifyrequirementlevelsettings"}


def _head(metadata_type: str, attribute_type: str, name: str, display: str, description: str,
          required: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "@odata.type": metadata_type,
        "AttributeType": attribute_type,
        "AttributeTypeName": {"Value": f"{attribute_type}Type"},
        "SchemaName": name,
        "DisplayName": label(display),
    }
    if description:
        body["Description"] = label(description)
    body["RequiredLevel"] = required_level(required)
    return body


def describe(f: PlannedField) -> str:
    """Dataverse has one description per column (shown as its tooltip): the spec's description,
    then its help text."""
    return " ".join(part for part in (f.description, f.help) if part)


def humanise(key: str) -> str:
    """An option label from a value map's source word: did_not_arrive → Did not arrive."""
    if re.fullmatch(r"[a-z][a-z0-9_]*", key):
        text = key.replace("_", " ")
        return text[0].upper() + text[1:]
    return key


def integer_outputs(vmap: ValueMap) -> bool:
    outputs = vmap.outputs()
    return bool(outputs) and all(isinstance(v, int) and not isinstance(v, bool) for v in outputs)


def options(vmap: ValueMap, base: int) -> list[tuple[int, str]]:
    """(value, label) of each option, in the order the value map first produces each output.

    A map that outputs integers gives the option values itself (the Dataverse spec's maps do:
    365000000 + n); each is labelled with the first source word that maps to it. A map that
    outputs words gets values counted up from the publisher's `base`, labelled with the words:
    an option added at the end of the map leaves the others' values alone.
    """
    outputs = vmap.outputs()
    if integer_outputs(vmap):
        words: dict[Any, str] = {}
        for key, value in vmap.values.items():
            words.setdefault(value, humanise(str(key)))
        return [(int(v), words.get(v, str(v))) for v in outputs]
    return [(base + index, str(v)) for index, v in enumerate(outputs)]


def _decimal_range(precision: int, scale: int) -> tuple[int | float, int | float]:
    largest = min(Decimal(10) ** (precision - scale) - Decimal(10) ** -scale, DECIMAL_LIMIT)
    value: int | float = int(largest) if scale == 0 else float(largest)
    return -value, value


def column_body(f: PlannedField, catalog: Catalog, value_maps: dict[str, ValueMap],
                option_base: int) -> dict[str, Any]:
    """The Attributes POST body of one new non-lookup column."""
    platform = catalog.types.get(f.kind, {})
    metadata_type = f"{TYPE_PREFIX}{str(platform['metadata_type']).removeprefix(TYPE_PREFIX)}"
    body = _head(metadata_type, str(platform["type"]), f.name, f.label, describe(f), f.required)
    if f.kind in STRING_FORMATS:
        body["MaxLength"] = f.length or int(platform.get("default_length") or DEFAULT_LENGTHS[f.kind])
        body["FormatName"] = {"Value": STRING_FORMATS[f.kind]}
    elif f.kind == "longtext":
        body["MaxLength"] = f.length or int(platform["default_length"])
        body["Format"] = "TextArea"
    elif f.kind == "number":
        precision, scale = f.precision or 10, f.scale or 0
        body["Precision"] = scale
        body["MinValue"], body["MaxValue"] = _decimal_range(precision, scale)
    elif f.kind == "currency":
        body["PrecisionSource"] = MONEY_PRECISION_SOURCE
        body["Precision"] = f.scale
        body["MinValue"], body["MaxValue"] = -MONEY_LIMIT, MONEY_LIMIT
    elif f.kind == "date":
        body["Format"] = "DateOnly"
        body["DateTimeBehavior"] = {"Value": "DateOnly"}
    elif f.kind == "datetime":
        body["Format"] = "DateAndTime"
        body["DateTimeBehavior"] = {"Value": DATETIME_BEHAVIOR}
    elif f.kind == "bool":
        body["DefaultValue"] = False
        body["OptionSet"] = {"@odata.type": f"{TYPE_PREFIX}BooleanOptionSetMetadata",
                             "TrueOption": {"Value": 1, "Label": label("Yes")},
                             "FalseOption": {"Value": 0, "Label": label("No")},
                             "OptionSetType": "Boolean"}
    elif f.kind == "picklist":
        choices = options(value_maps[f.value_map], option_base)
        body["OptionSet"] = {"@odata.type": f"{TYPE_PREFIX}OptionSetMetadata", "IsGlobal": False,
                             "OptionSetType": "Picklist",
                             "Options": [{"Value": value, "Label": label(text)} for value, text in choices]}
    return body


def lookup_attribute(f: PlannedField) -> dict[str, Any]:
    """The Lookup column a OneToManyRelationshipMetadata creates on the referencing table."""
    return _head(f"{TYPE_PREFIX}LookupAttributeMetadata", "Lookup", f.name, f.label, describe(f), f.required)


def primary_name_body(name: str, display: str, max_length: int, description: str,
                      autonumber_format: str) -> dict[str, Any]:
    """A new table's primary name column, created in the same POST as the table."""
    body = _head(f"{TYPE_PREFIX}StringAttributeMetadata", "String", name, display, description, False)
    body["IsPrimaryName"] = True
    body["MaxLength"] = max_length
    body["FormatName"] = {"Value": "Text"}
    if autonumber_format:
        body["AutoNumberFormat"] = autonumber_format
    return body


def autonumber_format(display_format: str) -> str:
    """A Salesforce-style display format (PR-{00000}) as a Dataverse AutoNumberFormat (PR-{SEQNUM:5})."""
    return re.sub(r"\{(0+)\}", lambda m: f"{{SEQNUM:{len(m.group(1))}}}", display_format or "{000000}")
