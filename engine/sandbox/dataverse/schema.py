"""The environment's tables: the standard ones plus what metadata requests added, replayed on open.

    schema = Schema(saved_customizations, record=store_change, clock=time.time)
    schema.table("contact")                      # Table, or 404 for an unknown logical name
    schema.by_set("contacts")                    # Table for an entity set name
    schema.add_table({...EntityMetadata...})     # POST EntityDefinitions
    schema.add_attribute("contact", {...})       # POST EntityDefinitions(LogicalName='contact')/Attributes
    schema.add_relationship({...})               # POST RelationshipDefinitions (OneToMany with Lookup)
    schema.add_key("contact", {...})             # POST .../Keys: Pending until its index is built

A new key's index "builds" asynchronously, as on the platform: it reads
Pending the first time its status is asked, and Active from the next read on
(or once `key_delay` seconds have passed). Upserts by a key that is not
Active are refused, so a client has to poll, as against a real org.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from engine.sandbox.dataverse.errors import DataverseError, invalid_argument, resource_not_found
from engine.sandbox.dataverse.model import Attribute, Key, Table
from engine.sandbox.dataverse.standard import standard_tables

Change = Callable[[str, dict[str, Any]], None]
KEY_TYPES = frozenset({"Decimal", "Integer", "String", "DateTime", "Lookup", "Picklist"})
MAX_KEYS = 10
_TYPES = {"String": "String", "Memo": "Memo", "Integer": "Integer", "Decimal": "Decimal", "Money": "Money",
          "DateTime": "DateTime", "Boolean": "Boolean", "Picklist": "Picklist", "Double": "Double",
          "BigInt": "BigInt"}


def _label_text(value: Any, default: str) -> str:
    try:
        return str(value["LocalizedLabels"][0]["Label"])
    except (KeyError, IndexError, TypeError):
        return default


def entity_set_name(logical: str) -> str:
    """The platform's plural of a logical name (cr123_clinic → cr123_clinics, …_category → …_categories)."""
    if logical.endswith(("s", "x", "z", "ch", "sh")):
        return logical + "es"
    if logical.endswith("y") and logical[-2:-1] not in ("a", "e", "i", "o", "u"):
        return logical[:-1] + "ies"
    return logical + "s"


class Schema:
    def __init__(self, saved: Iterable[tuple[str, dict[str, Any]]], record: Change,
                 clock: Callable[[], float], key_delay: float = 2.0) -> None:
        self.tables: dict[str, Table] = standard_tables()
        self._record = record
        self._clock = clock
        self.key_delay = key_delay
        self._key_state: dict[tuple[str, str], tuple[float, bool]] = {}  # (table, key) → (created, seen)
        self._lock = threading.RLock()
        for kind, body in saved:
            self._apply(kind, body, replay=True)

    # -- reading ------------------------------------------------------------------------------------

    def table(self, logical: str) -> Table:
        table = self.tables.get(logical)
        if table is None:
            raise DataverseError(404, "0x80040217", f"Could not find an entity with the name {logical}.")
        return table

    def by_set(self, entity_set: str) -> Table:
        for table in self.tables.values():
            if table.entity_set == entity_set:
                return table
        raise resource_not_found(entity_set)

    def key_status(self, table: str, key: str, *, reading: bool) -> str:
        """Pending → Active: a metadata read after the first (or `key_delay` seconds) finishes the index."""
        with self._lock:
            state = self._key_state.get((table, key))
            if state is None:
                return "Active"
            created, seen = state
            if seen or self._clock() - created >= self.key_delay:
                del self._key_state[(table, key)]
                return "Active"
            if reading:
                self._key_state[(table, key)] = (created, True)
            return "Pending"

    def key_statuses(self, table: Table) -> dict[str, str]:
        return {name: self.key_status(table.logical_name, name, reading=True) for name in table.keys}

    # -- writing ------------------------------------------------------------------------------------

    def add_table(self, body: dict[str, Any]) -> Table:
        return self._apply("table", body)  # type: ignore[no-any-return]

    def add_attribute(self, table: str, body: dict[str, Any]) -> Attribute:
        return self._apply("attribute", {**body, "_table": table})  # type: ignore[no-any-return]

    def add_relationship(self, body: dict[str, Any]) -> Attribute:
        return self._apply("relationship", body)  # type: ignore[no-any-return]

    def add_key(self, table: str, body: dict[str, Any]) -> Key:
        return self._apply("key", {**body, "_table": table})  # type: ignore[no-any-return]

    def _apply(self, kind: str, body: dict[str, Any], *, replay: bool = False) -> Any:
        with self._lock:
            made = {"table": self._table, "attribute": self._attribute, "relationship": self._relationship,
                    "key": self._key}[kind](body, replay)
            if not replay:
                self._record(kind, body)
            return made

    def _table(self, body: dict[str, Any], replay: bool) -> Table:
        schema_name = _required(body, "SchemaName", "EntityMetadata")
        logical = schema_name.lower()
        if logical in self.tables:
            raise DataverseError(400, "0x80047013", f"An entity with the specified name {schema_name} "
                                 "already exists. Specify a unique name.")
        attributes = body.get("Attributes") or []
        primary = [a for a in attributes if a.get("IsPrimaryName")]
        kind = str(primary[0].get("@odata.type", "")) if len(primary) == 1 else ""
        if not kind.endswith("StringAttributeMetadata"):
            raise invalid_argument("A new table needs exactly one StringAttributeMetadata with IsPrimaryName "
                                   "true in Attributes.")
        ownership = str(body.get("OwnershipType") or "UserOwned")
        base = standard_tables()["account" if ownership == "UserOwned" else "uom"]
        system = {n: a for n, a in base.attributes.items()
                  if n in ("createdon", "modifiedon", "overriddencreatedon", "importsequencenumber",
                           "versionnumber", "createdby", "modifiedby", "ownerid", "owningbusinessunit")}
        primary_id = f"{logical}id"
        table = Table(logical, entity_set_name(logical), primary_id, str(primary[0]["SchemaName"]).lower(),
                      {primary_id: Attribute(primary_id, "Uniqueidentifier", updateable=False,
                                             schema_name=f"{schema_name}Id", custom=True), **system},
                      ownership=ownership, schema_name=schema_name, custom=True,
                      has_notes=bool(body.get("HasNotes", False)), state_status={0: (1,), 1: (2,)},
                      display_name=_label_text(body.get("DisplayName"), schema_name))
        table.attributes["statecode"] = Attribute("statecode", "State", options=(0, 1),
                                                  required="SystemRequired")
        table.attributes["statuscode"] = Attribute("statuscode", "Status", options=(1, 2))
        self.tables[logical] = table
        for attribute in attributes:
            table.attributes[attribute["SchemaName"].lower()] = _attribute(attribute)
        return table

    def _attribute(self, body: dict[str, Any], replay: bool) -> Attribute:
        table = self.table(body["_table"])
        attribute = _attribute(body)
        if attribute.logical_name in table.attributes:
            raise DataverseError(400, "0x80044363", f"An attribute with the specified name "
                                 f"{attribute.schema_name} already exists on {table.logical_name}.")
        table.attributes[attribute.logical_name] = attribute
        return attribute

    def _relationship(self, body: dict[str, Any], replay: bool) -> Attribute:
        referenced = self.table(_required(body, "ReferencedEntity", "OneToManyRelationshipMetadata"))
        referencing = self.table(_required(body, "ReferencingEntity", "OneToManyRelationshipMetadata"))
        lookup = body.get("Lookup")
        if not isinstance(lookup, dict):
            raise invalid_argument("A OneToManyRelationshipMetadata needs its Lookup "
                                   "(LookupAttributeMetadata).")
        schema_name = _required(lookup, "SchemaName", "LookupAttributeMetadata")
        logical = schema_name.lower()
        if logical in referencing.attributes:
            raise DataverseError(400, "0x80044363", f"An attribute with the specified name {schema_name} "
                                 f"already exists on {referencing.logical_name}.")
        navigation = str(body.get("ReferencingEntityNavigationPropertyName") or schema_name)
        attribute = Attribute(logical, "Lookup", targets=(referenced.logical_name,),
                              navigation={referenced.logical_name: navigation},
                              required=_level(lookup), schema_name=schema_name, custom=True,
                              relationship=str(body.get("SchemaName") or ""))
        referencing.attributes[logical] = attribute
        return attribute

    def _key(self, body: dict[str, Any], replay: bool) -> Key:
        table = self.table(body["_table"])
        schema_name = _required(body, "SchemaName", "EntityKeyMetadata")
        columns = body.get("KeyAttributes")
        if not isinstance(columns, list) or not columns or len(columns) > 16:
            raise invalid_argument("KeyAttributes must list 1 to 16 columns.")
        for column in columns:
            attribute = table.attributes.get(str(column))
            if attribute is None:
                raise invalid_argument(f"The key attribute '{column}' does not exist on "
                                       f"{table.logical_name}.")
            if attribute.type not in KEY_TYPES:
                raise invalid_argument(f"The attribute '{column}' of type {attribute.type} cannot be part of "
                                       f"a key; allowed types: {', '.join(sorted(KEY_TYPES))}.")
        if len(table.keys) >= MAX_KEYS:
            raise invalid_argument(f"A table has at most {MAX_KEYS} alternate keys.")
        key = Key(schema_name, tuple(str(c) for c in columns))
        if key.name in table.keys:
            raise DataverseError(400, "0x80047013", f"A key named {schema_name} already exists on "
                                 f"{table.logical_name}.")
        table.keys[key.name] = key
        if not replay:
            self._key_state[(table.logical_name, key.name)] = (self._clock(), False)
        return key


def _required(body: dict[str, Any], name: str, kind: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise invalid_argument(f"{kind}: '{name}' is required.")
    return value


def _level(body: dict[str, Any]) -> str:
    level = body.get("RequiredLevel")
    return str(level.get("Value", "None")) if isinstance(level, dict) else "None"


def _attribute(body: dict[str, Any]) -> Attribute:
    """A column from its AttributeMetadata (String, Memo, Integer, Decimal, Money, DateTime, Boolean,
    Picklist)."""
    schema_name = _required(body, "SchemaName", "AttributeMetadata")
    kind = str(body.get("@odata.type", "")).rsplit(".", 1)[-1].removesuffix("AttributeMetadata")
    if kind not in _TYPES:
        raise invalid_argument(f"Attribute {schema_name}: the @odata.type '{body.get('@odata.type')}' is not "
                               "supported (String, Memo, Integer, Decimal, Money, DateTime, Boolean, "
                               "Picklist).")
    attribute = Attribute(schema_name.lower(), _TYPES[kind], required=_level(body), schema_name=schema_name,
                          custom=True)
    if kind in ("String", "Memo"):
        default = 100 if kind == "String" else 2000
        return replace(attribute, max_length=int(body.get("MaxLength") or default))
    if kind in ("Integer", "Decimal", "Money", "Double", "BigInt"):
        low = body.get("MinValue", -2147483648 if kind == "Integer" else -1e11)
        high = body.get("MaxValue", 2147483647 if kind == "Integer" else 1e11)
        return replace(attribute, min_value=float(low), max_value=float(high))
    if kind == "DateTime":
        behavior = body.get("DateTimeBehavior")
        value = behavior.get("Value") if isinstance(behavior, dict) else None
        return replace(attribute, date_only=body.get("Format") == "DateOnly" or value == "DateOnly")
    if kind == "Picklist":
        options = (body.get("OptionSet") or {}).get("Options") or []
        values = tuple(int(o["Value"]) for o in options if isinstance(o, dict) and "Value" in o)
        if not values:
            raise invalid_argument(f"Picklist {schema_name}: OptionSet.Options must list at least one Value.")
        return replace(attribute, options=values)
    return attribute
