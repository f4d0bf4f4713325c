"""Table definitions through the Web API: EntityDefinitions, their Attributes, Keys, relationships (ref §5).

    GET  /EntityDefinitions?$select=…&$filter=LogicalName eq 'x'&$expand=Attributes,Keys($select=…)
    GET  /EntityDefinitions(LogicalName='x') | (<MetadataId>)
         [/Attributes | /Keys | /ManyToOneRelationships]
    POST /EntityDefinitions                                     a new table (one primary name String)
    POST /EntityDefinitions(LogicalName='x')/Attributes         String, Memo, Integer, Decimal, Money,
                                                                DateTime, Boolean, Picklist
    POST /EntityDefinitions(LogicalName='x')/Keys               an alternate key: Pending, then Active
    POST /RelationshipDefinitions                               OneToMany with its Lookup column

Writes answer 204 with OData-EntityId, as the platform does; the server
derives LogicalName, EntitySetName and PrimaryIdAttribute of a new table.
"""

from __future__ import annotations

import re
from typing import Any

from engine.sandbox.dataverse.app import Call, Route, json_response, no_content
from engine.sandbox.dataverse.errors import DataverseError, invalid_argument, resource_not_found
from engine.sandbox.dataverse.model import Table, attribute_definition, metadata_id
from engine.sandbox.dataverse.odata import parse_filter, parse_key
from engine.sandbox.server import Response

_ENTITY = r"/EntityDefinitions\((?P<key>[^/]*)\)"
_EXPAND = re.compile(r"(?P<name>\w+)(?:\((?P<options>[^)]*)\))?")


def routes() -> list[Route]:
    return [
        Route("GET", r"/EntityDefinitions", list_tables),
        Route("POST", r"/EntityDefinitions", create_table),
        Route("GET", _ENTITY, get_table),
        Route("GET", _ENTITY + r"/(?P<part>Attributes|Keys|ManyToOneRelationships)", list_part),
        Route("GET", _ENTITY + r"/Attributes\((?P<name>[^/]*)\)", get_attribute),
        Route("POST", _ENTITY + r"/Attributes", create_attribute),
        Route("GET", _ENTITY + r"/Keys\((?P<name>[^/]*)\)", get_key),
        Route("POST", _ENTITY + r"/Keys", create_key),
        Route("GET", r"/RelationshipDefinitions\((?P<name>[^/]*)\)", get_relationship),
        Route("POST", r"/RelationshipDefinitions", create_relationship),
    ]


def _table(call: Call) -> Table:
    key = parse_key(call.params["key"])
    if "" in key:
        for table in call.env.schema.tables.values():
            if metadata_id("entity", table.logical_name) == key[""]:
                return table
        raise DataverseError(404, "0x80040217", f"Could not find an entity with MetadataId {key['']}.")
    name = key.get("LogicalName")
    if not isinstance(name, str) or len(key) != 1:
        raise invalid_argument("Address a table as EntityDefinitions(LogicalName='<name>') or by MetadataId.")
    return call.env.schema.table(name)


def _part(call: Call, table: Table, part: str) -> list[dict[str, Any]]:
    if part == "Attributes":
        return table.attribute_definitions()
    if part == "Keys":
        return table.key_definitions(call.env.schema.key_statuses(table))
    return table.many_to_one()


def _shape(items: list[dict[str, Any]], select: str | None, filter_text: str | None) -> list[dict[str, Any]]:
    if filter_text:
        known = set(items[0]) if items else set()

        def check(name: str) -> None:
            if known and name not in known:
                raise DataverseError(400, "0x80060888", f"Could not find a property named '{name}' on the "
                                     "metadata type.")
        predicate = parse_filter(filter_text, check)
        items = [i for i in items if predicate(i)]
    if select:
        names = [n.strip() for n in select.split(",") if n.strip()]
        items = [{k: i[k] for k in ("MetadataId", *names) if k in i} for i in items]
    return items


def _definition(call: Call, table: Table, expand: str | None) -> dict[str, Any]:
    out = table.definition()
    for match in _EXPAND.finditer(expand or ""):
        name = match["name"]
        if name not in ("Attributes", "Keys", "ManyToOneRelationships"):
            raise invalid_argument(f"Cannot $expand '{name}' on EntityDefinitions: Attributes, Keys or "
                                   "ManyToOneRelationships.")
        options = dict(o.split("=", 1) for o in (match["options"] or "").split(";") if "=" in o)
        out[name] = _shape(_part(call, table, name), options.get("$select"), options.get("$filter"))
    return out


def list_tables(call: Call) -> Response:
    tables = [_definition(call, t, call.param("$expand")) for t in call.env.schema.tables.values()]
    expanded = {m["name"] for m in _EXPAND.finditer(call.param("$expand") or "")}
    shaped = _shape(tables, None, call.param("$filter"))
    if (select := call.param("$select")):
        names = [n.strip() for n in select.split(",") if n.strip()]
        shaped = [{k: t[k] for k in ("MetadataId", *names, *expanded) if k in t} for t in shaped]
    return json_response(200, {"@odata.context": f"{call.api_root}/$metadata#EntityDefinitions",
                               "value": shaped})


def get_table(call: Call) -> Response:
    table = _table(call)
    out = _definition(call, table, call.param("$expand"))
    if (select := call.param("$select")):
        keep = {"MetadataId", *[n.strip() for n in select.split(",")],
                *[m["name"] for m in _EXPAND.finditer(call.param("$expand") or "")]}
        out = {k: v for k, v in out.items() if k in keep}
    context = f"{call.api_root}/$metadata#EntityDefinitions/$entity"
    return json_response(200, {"@odata.context": context, **out})


def list_part(call: Call) -> Response:
    table = _table(call)
    items = _shape(_part(call, table, call.params["part"]), call.param("$select"), call.param("$filter"))
    return json_response(200, {"@odata.context": f"{call.api_root}/$metadata#EntityDefinitions"
                                                 f"('{table.logical_name}')/{call.params['part']}",
                               "value": items})


def get_attribute(call: Call) -> Response:
    table = _table(call)
    key = parse_key(call.params["name"])
    name = key.get("LogicalName")
    for attribute in table.attributes.values():
        if attribute.logical_name == name or metadata_id("attribute", table.logical_name,
                                                         attribute.logical_name) == key.get(""):
            return json_response(200, attribute_definition(table.logical_name, attribute))
    raise resource_not_found(f"Attributes({call.params['name']})")


def _one(items: list[dict[str, Any]], segment: str, name_field: str) -> dict[str, Any]:
    """The item a `Part(Name='x')` or `Part(<MetadataId>)` segment names, or 404."""
    key = parse_key(segment)
    for item in items:
        if item.get(name_field) == key.get(name_field) or item.get("MetadataId") == key.get(""):
            return item
    raise resource_not_found(segment)


def get_key(call: Call) -> Response:
    table = _table(call)
    keys = table.key_definitions(call.env.schema.key_statuses(table))
    return json_response(200, _one(keys, call.params["name"], "LogicalName"))


def get_relationship(call: Call) -> Response:
    relationships = [r for table in call.env.schema.tables.values() for r in table.many_to_one()]
    return json_response(200, _one(relationships, call.params["name"], "SchemaName"))


def _object(call: Call, kind: str) -> dict[str, Any]:
    body = call.json_body()
    if not isinstance(body, dict):
        raise invalid_argument(f"The request body must be a {kind} JSON object.")
    return body


def create_table(call: Call) -> Response:
    table = call.env.schema.add_table(_object(call, "EntityMetadata"))
    location = f"{call.api_root}/EntityDefinitions({metadata_id('entity', table.logical_name)})"
    return no_content({"OData-EntityId": location})


def create_attribute(call: Call) -> Response:
    table = _table(call)
    attribute = call.env.schema.add_attribute(table.logical_name, _object(call, "AttributeMetadata"))
    location = (f"{call.api_root}/EntityDefinitions({metadata_id('entity', table.logical_name)})/Attributes"
                f"({metadata_id('attribute', table.logical_name, attribute.logical_name)})")
    return no_content({"OData-EntityId": location})


def create_key(call: Call) -> Response:
    table = _table(call)
    key = call.env.schema.add_key(table.logical_name, _object(call, "EntityKeyMetadata"))
    location = (f"{call.api_root}/EntityDefinitions({metadata_id('entity', table.logical_name)})/Keys"
                f"({metadata_id('key', table.logical_name, key.name)})")
    return no_content({"OData-EntityId": location})


def create_relationship(call: Call) -> Response:
    body = _object(call, "OneToManyRelationshipMetadata")
    if not str(body.get("@odata.type", "")).endswith("OneToManyRelationshipMetadata"):
        raise invalid_argument("This sandbox creates OneToManyRelationshipMetadata relationships "
                               "(with a Lookup).")
    attribute = call.env.schema.add_relationship(body)
    referencing = str(body["ReferencingEntity"])
    location = (f"{call.api_root}/RelationshipDefinitions"
                f"({metadata_id('rel', referencing, attribute.nav_for(attribute.targets[0]))})")
    return no_content({"OData-EntityId": location})
