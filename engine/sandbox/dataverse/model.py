"""The table model: tables, their columns (attributes), lookups and alternate keys, as the platform has them.

    Table("contact", "contacts", "contactid", "fullname", attributes={...}, keys={...})
    Attribute("lastname", "String", max_length=50)
    Attribute("parentcustomerid", "Customer", targets=("account", "contact"),
              navigation={"account": "parentcustomerid_account", "contact": "parentcustomerid_contact"})

A lookup's value is stored and read as `_<name>_value` (a GUID); writes bind it
through a navigation property (`<nav>@odata.bind`), one per target table.
Only SystemRequired is enforced, as on the platform. Metadata ids are derived
from names (uuid5), so they are stable across restarts.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

LOOKUP_TYPES = frozenset({"Lookup", "Customer", "Owner"})
OPTION_TYPES = frozenset({"Picklist", "State", "Status"})
STRING_TYPES = frozenset({"String", "Memo"})
_NAMESPACE = uuid.UUID("6f1c8f8e-9a55-4d8e-9d0e-3a52b1d0c0de")


def metadata_id(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


@dataclass(frozen=True)
class Attribute:
    logical_name: str
    type: str  # AttributeType: String, Memo, Integer, Decimal, Money, DateTime, Boolean, Picklist, Lookup…
    max_length: int | None = None
    required: str = "None"  # RequiredLevel: None, Recommended, ApplicationRequired, SystemRequired
    options: tuple[int, ...] = ()
    targets: tuple[str, ...] = ()
    navigation: dict[str, str] = field(default_factory=dict)  # target table → navigation property
    createable: bool = True
    updateable: bool = True
    date_only: bool = False
    min_value: float | None = None
    max_value: float | None = None
    schema_name: str = ""
    custom: bool = False
    relationship: str = ""  # a custom lookup's relationship SchemaName (RelationshipDefinitions)

    @property
    def is_lookup(self) -> bool:
        return self.type in LOOKUP_TYPES

    @property
    def value_name(self) -> str:
        """The property the Web API reads and filters: `_x_value` for lookups."""
        return f"_{self.logical_name}_value" if self.is_lookup else self.logical_name

    def nav_for(self, table: str) -> str:
        return self.navigation.get(table) or self.logical_name


@dataclass(frozen=True)
class Key:
    schema_name: str
    attributes: tuple[str, ...]
    logical_name: str = ""

    @property
    def name(self) -> str:
        return self.logical_name or self.schema_name.lower()


@dataclass
class Table:
    logical_name: str
    entity_set: str
    primary_id: str
    primary_name: str
    attributes: dict[str, Attribute] = field(default_factory=dict)
    keys: dict[str, Key] = field(default_factory=dict)
    ownership: str = "UserOwned"
    schema_name: str = ""
    custom: bool = False
    is_activity: bool = False
    has_notes: bool = True
    state_status: dict[int, tuple[int, ...]] = field(default_factory=dict)  # statecode → its statuscodes
    display_name: str = ""

    def navigation(self) -> dict[str, tuple[Attribute, str]]:
        """Every single-valued navigation property → (its lookup column, the table it points at)."""
        out: dict[str, tuple[Attribute, str]] = {}
        for attribute in self.attributes.values():
            for target in attribute.targets:
                out[attribute.nav_for(target)] = (attribute, target)
        return out

    def by_value_name(self) -> dict[str, Attribute]:
        return {a.value_name: a for a in self.attributes.values()}

    # -- metadata documents (EntityDefinitions) ---------------------------------------------------

    def definition(self) -> dict[str, Any]:
        return {
            "MetadataId": metadata_id("entity", self.logical_name),
            "LogicalName": self.logical_name,
            "SchemaName": self.schema_name or self.logical_name,
            "EntitySetName": self.entity_set,
            "LogicalCollectionName": self.entity_set,
            "PrimaryIdAttribute": self.primary_id,
            "PrimaryNameAttribute": self.primary_name,
            "OwnershipType": self.ownership,
            "IsCustomEntity": self.custom,
            "IsActivity": self.is_activity,
            "HasNotes": self.has_notes,
            "DisplayName": label(self.display_name or self.logical_name),
        }

    def attribute_definitions(self) -> list[dict[str, Any]]:
        return [attribute_definition(self.logical_name, a) for a in self.attributes.values()]

    def key_definitions(self, status: dict[str, str]) -> list[dict[str, Any]]:
        return [{"MetadataId": metadata_id("key", self.logical_name, k.name), "SchemaName": k.schema_name,
                 "LogicalName": k.name, "EntityLogicalName": self.logical_name,
                 "KeyAttributes": list(k.attributes), "EntityKeyIndexStatus": status.get(k.name, "Active")}
                for k in self.keys.values()]

    def many_to_one(self) -> list[dict[str, Any]]:
        out = []
        for attribute in self.attributes.values():
            for target in attribute.targets:
                nav = attribute.nav_for(target)
                out.append({"MetadataId": metadata_id("rel", self.logical_name, nav),
                            "SchemaName": attribute.relationship
                            or f"{target}_{self.logical_name}_{attribute.logical_name}",
                            "ReferencedEntity": target, "ReferencingEntity": self.logical_name,
                            "ReferencingAttribute": attribute.logical_name,
                            "ReferencingEntityNavigationPropertyName": nav})
        return out


def attribute_definition(table: str, a: Attribute) -> dict[str, Any]:
    out: dict[str, Any] = {
        "@odata.type": f"#Microsoft.Dynamics.CRM.{_metadata_type(a.type)}",
        "MetadataId": metadata_id("attribute", table, a.logical_name),
        "LogicalName": a.logical_name, "SchemaName": a.schema_name or a.logical_name,
        "EntityLogicalName": table, "AttributeType": a.type, "IsCustomAttribute": a.custom,
        "IsValidForCreate": a.createable, "IsValidForUpdate": a.updateable,
        "RequiredLevel": {"Value": a.required},
    }
    if a.max_length is not None:
        out["MaxLength"] = a.max_length
    if a.targets:
        out["Targets"] = list(a.targets)
    if a.type in OPTION_TYPES:
        out["OptionSet"] = {"Options": [{"Value": v} for v in a.options]}
    if a.type == "DateTime":
        out["Format"] = "DateOnly" if a.date_only else "DateAndTime"
    return out


def _metadata_type(attribute_type: str) -> str:
    if attribute_type in ("Customer", "Owner"):
        return "LookupAttributeMetadata"
    names = {"Uniqueidentifier": "UniqueIdentifier", "EntityName": "EntityName"}
    return f"{names.get(attribute_type, attribute_type)}AttributeMetadata"


def label(text: str) -> dict[str, Any]:
    localized = {"Label": text, "LanguageCode": 1033}
    return {"LocalizedLabels": [localized], "UserLocalizedLabel": localized}
