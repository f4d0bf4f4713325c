"""Dataverse provisioning artifacts: Web API metadata requests, one JSON body per file.

    dataverse/tables/<table>.json                 POST EntityDefinitions
    dataverse/columns/<table>/<column>.json       POST EntityDefinitions(LogicalName='<table>')/Attributes
    dataverse/relationships/<schema name>.json    POST RelationshipDefinitions (one per lookup)
    dataverse/keys/<table>/<key>.json             POST EntityDefinitions(LogicalName='<table>')/Keys
    dataverse/manifest.json                       the requests in the order they must be sent

Applying is a loop over the manifest's entries: GET `exists` (200: already there, skip;
404: send `method` `path` with the body file). Tables come first (a lookup or column
needs its table), then columns, relationships (a lookup needs both tables), and keys
last (a key needs its columns). Key indexes build asynchronously: an upsert by key
works once the key's EntityKeyIndexStatus is Active.

Names are the spec's own (lower case), so SchemaName and LogicalName are the same
text and the spec's field names are the columns' logical names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from engine.provision.dataverse_columns import (
    autonumber_format,
    column_body,
    label,
    lookup_attribute,
    primary_name_body,
)
from engine.provision.dataverse_rules import (
    OPTION_RANGE,
    TABLE_LIMIT,
    key_columns,
    option_value_prefix,
    publisher_prefix,
)
from engine.provision.plan import PlannedField, PlannedObject, ProvisionPlan
from engine.spec.catalog import Catalog
from engine.spec.limits import target_limit
from engine.spec.yamldoc import load_yaml

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
DEFAULT_API_VERSION = "9.2"
NAME_LENGTH = 100          # primary name column, as types.yaml custom_object describes it
KINDS = ("table", "column", "relationship", "key")
# Referential behaviour with a choice on delete: a deleted parent unlinks its migrated
# children, or, for a required lookup, cannot be deleted while they point at it; merging
# two parents (duplicate patients) moves the children to the survivor.
CASCADE = {"Assign": "NoCascade", "Share": "NoCascade", "Unshare": "NoCascade",
           "Reparent": "NoCascade", "Merge": "Cascade", "RollupView": "NoCascade"}


@dataclass(frozen=True)
class Request:
    """One metadata request of the manifest."""

    kind: str              # table | column | relationship | key
    table: str             # the table it creates or changes (the referencing one for a relationship)
    name: str              # the SchemaName it creates
    method: str
    path: str              # relative to the Web API service root
    exists: str            # GET this: 200 means it is already there
    file: str              # the body, relative to dataverse/
    body: dict[str, Any]

    def entry(self, step: int) -> dict[str, Any]:
        return {"step": step, "kind": self.kind, "table": self.table, "name": self.name,
                "method": self.method, "path": self.path, "body": self.file, "exists": self.exists}


@dataclass(frozen=True)
class DataversePackage:
    spec_name: str
    api_version: str
    prefix: str
    option_value_prefix: int
    custom_tables: int
    table_limit: int | None
    requests: list[Request]          # in the order they must be sent

    def count(self, kind: str) -> int:
        return sum(1 for r in self.requests if r.kind == kind)

    def table_line(self) -> str:
        """The custom-table count against the Professional licence's cap, for the command's output."""
        if self.table_limit is None:
            return f"{self.custom_tables} custom tables"
        return f"{self.custom_tables} of {self.table_limit} custom tables (Professional tier)"


def entity(table: str) -> str:
    return f"EntityDefinitions(LogicalName='{table}')"


def _unprefixed(name: str, prefix: str) -> str:
    return name.removeprefix(f"{prefix}_")


def _primary_id(table: str, catalog: Catalog) -> str:
    """The referenced table's primary key: the catalog's, or <table>id for a new table."""
    known = catalog.objects.get(table)
    return str(known.attributes.get("primary_id") or f"{table}id") if known else f"{table}id"


def _table(obj: PlannedObject, plan: ProvisionPlan, catalog: Catalog) -> Request:
    nf = obj.name_field
    # `{prefix}` (types.yaml custom_object) is the table's own prefix: fs_practitioner → fs_name.
    name = (nf.name if nf else catalog.custom_name_field).replace("{prefix}", obj.name.split("_", 1)[0])
    described = catalog.custom_object_fields.get(catalog.custom_name_field)
    autonumber = nf is not None and nf.type == "autonumber"
    primary = primary_name_body(
        name, nf.label if nf else "Name", (described.length if described else None) or NAME_LENGTH,
        f"The name of the {obj.label.lower()}.",
        autonumber_format(nf.display_format) if nf and autonumber else "")
    description = obj.description or f"{obj.plural_label} migrated by flitstack ({plan.spec_name})."
    body = {
        "@odata.type": "Microsoft.Dynamics.CRM.EntityMetadata",
        "SchemaName": obj.name,
        "DisplayName": label(obj.label),
        "DisplayCollectionName": label(obj.plural_label),
        "Description": label(description),
        "OwnershipType": "UserOwned",
        "IsActivity": False,
        "HasActivities": False,
        "HasNotes": True,
        "Attributes": [primary],
    }
    return Request("table", obj.name, obj.name, "POST", "EntityDefinitions", entity(obj.name),
                   f"tables/{obj.name}.json", body)


def _column(host: str, f: PlannedField, plan: ProvisionPlan, catalog: Catalog, option_base: int) -> Request:
    return Request("column", host, f.name, "POST", f"{entity(host)}/Attributes",
                   f"{entity(host)}/Attributes(LogicalName='{f.name}')", f"columns/{host}/{f.name}.json",
                   column_body(f, catalog, plan.value_maps, option_base))


def relationship_name(prefix: str, parent: str, child: str, lookup: str) -> str:
    """<prefix>_<parent>_<child>_<lookup>, the publisher's prefix once: unique per lookup."""
    parts = [_unprefixed(n, prefix) for n in (parent, child, lookup)]
    return "_".join([prefix, *parts])


def _relationship(host: str, f: PlannedField, prefix: str, catalog: Catalog) -> Request:
    parent = f.reference_to[0]
    schema_name = relationship_name(prefix, parent, host, f.name)
    body = {
        "@odata.type": "Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata",
        "SchemaName": schema_name,
        "ReferencedEntity": parent,
        "ReferencedAttribute": _primary_id(parent, catalog),
        "ReferencingEntity": host,
        # The navigation property `<lookup>@odata.bind` uses: named here so the loader knows it.
        "ReferencingEntityNavigationPropertyName": f.name,
        "CascadeConfiguration": {**CASCADE, "Delete": "Restrict" if f.required else "RemoveLink"},
        "AssociatedMenuConfiguration": {"Behavior": "UseCollectionName", "Group": "Details", "Order": 10000},
        "Lookup": lookup_attribute(f),
    }
    return Request("relationship", host, schema_name, "POST", "RelationshipDefinitions",
                   f"RelationshipDefinitions(SchemaName='{schema_name}')",
                   f"relationships/{schema_name}.json", body)


def _key(host: str, f: PlannedField, prefix: str) -> Request:
    name = f"{prefix}_{_unprefixed(host, prefix)}_{_unprefixed(f.name, prefix)}_key"
    body = {
        "@odata.type": "Microsoft.Dynamics.CRM.EntityKeyMetadata",
        "SchemaName": name,
        "DisplayName": label(f"{f.label} (alternate key)"),
        "KeyAttributes": [f.name],
    }
    return Request("key", host, name, "POST", f"{entity(host)}/Keys",
                   f"{entity(host)}/Keys(LogicalName='{name}')", f"keys/{host}/{name}.json", body)


def dataverse_package(plan: ProvisionPlan, catalog: Catalog) -> DataversePackage:
    """Every request the plan needs, in the order they must be sent. The plan has passed
    DataverseRules, so names carry the prefix and option sets are well formed."""
    prefix = publisher_prefix(plan)
    option_prefix = option_value_prefix(catalog)
    deployments = plan.deployments()
    requests = [_table(o, plan, catalog) for o in plan.new_objects()]
    requests += [_column(host, f, plan, catalog, option_prefix * OPTION_RANGE)
                 for host, fields in deployments.items() for f in fields if f.kind != "lookup"]
    requests += [_relationship(host, f, prefix, catalog)
                 for host, fields in deployments.items() for f in fields if f.kind == "lookup"]
    requests += [_key(host, f, prefix) for host, fields in deployments.items() for f in key_columns(fields)]
    limit = target_limit(catalog, TABLE_LIMIT)
    return DataversePackage(
        spec_name=plan.spec_name, api_version=api_version(catalog.folder / "catalog.yaml"), prefix=prefix,
        option_value_prefix=option_prefix, custom_tables=len(plan.new_objects()),
        table_limit=int(limit) if limit is not None else None, requests=requests,
    )


@cache
def api_version(catalog_file: Path) -> str:
    """The Web API version the catalog's facts were checked against (its `api_version`)."""
    return str(load_yaml(catalog_file).get("api_version") or DEFAULT_API_VERSION)


def _json(data: Any) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def manifest(package: DataversePackage) -> dict[str, Any]:
    return {
        "manifest_version": MANIFEST_VERSION,
        "spec": package.spec_name,
        "target": "dynamics365",
        "service_root": f"/api/data/v{package.api_version}/",
        "publisher": {"customization_prefix": package.prefix,
                      "option_value_prefix": package.option_value_prefix},
        "custom_tables": {"count": package.custom_tables, "limit": package.table_limit,
                          "limit_name": TABLE_LIMIT},
        "order": list(KINDS),
        "entries": [r.entry(step) for step, r in enumerate(package.requests, start=1)],
    }


def render_dataverse(package: DataversePackage) -> dict[str, bytes]:
    """Every file of the Dataverse output, by path under `dataverse/`."""
    files = {r.file: _json(r.body) for r in package.requests}
    files[MANIFEST] = _json(manifest(package))
    return files
