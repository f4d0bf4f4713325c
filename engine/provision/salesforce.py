"""Salesforce provisioning artifacts, rendered from `targets/salesforce/templates/`.

Two forms of the same metadata:

- SFDX source (`force-app/main/default/...`, with `sfdx-project.json` and
  `package.xml`) for `sf project deploy start`;
- a Metadata API zip (`deploy.zip`: package.xml at the root, one
  `objects/<Object>.object` per object with its new fields inside, the
  permission set) for a Metadata API `deploy()` call, which simple-salesforce
  makes with singlePackage forced on.

This module turns the plan into what each XML element needs (metadata types,
sizes, relationship names, delete constraints); the templates only lay it out.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from engine.provision.files import deterministic_zip
from engine.provision.plan import PlannedField, PlannedObject, ProvisionPlan
from engine.provision.templates import render_target
from engine.spec.catalog import Catalog
from engine.spec.yamldoc import load_yaml

SYSTEM = "salesforce"
PERMISSION_SET = "Flitstack_Migration"
PERMISSION_SET_LABEL = "Flitstack Migration"
SOURCE_ROOT = "force-app/main/default"
VISIBLE_LINES = 3
RELATIONSHIP_NAME_MAX = 40
EXTERNAL_ID_TYPES = ("Text", "Number", "Email")
DEFAULT_API_VERSION = "62.0"


@dataclass(frozen=True)
class SfField:
    """One CustomField as its XML needs it; None leaves an element out."""

    object: str
    name: str
    label: str
    type: str
    description: str
    help: str
    length: int | None
    precision: int | None
    scale: int | None
    visible_lines: int | None
    default_value: str | None
    required: bool | None
    external_id: bool | None
    unique: bool | None
    case_sensitive: bool | None
    values: tuple[str, ...]
    restricted: bool
    reference_to: str
    relationship_name: str
    relationship_label: str
    delete_constraint: str

    @property
    def member(self) -> str:
        return f"{self.object}.{self.name}"


@dataclass(frozen=True)
class SfObject:
    """A new custom object (label, name field, sharing) as its XML needs it."""

    name: str
    label: str
    plural_label: str
    description: str
    name_label: str
    name_type: str            # Text | AutoNumber
    display_format: str


@dataclass(frozen=True)
class SalesforcePackage:
    objects: list[SfObject]                    # new custom objects
    fields: dict[str, list[SfField]]           # new fields by the object that holds them
    permitted: list[SfField]                   # fields the permission set grants (not required ones)
    api_version: str
    spec_name: str

    @property
    def field_count(self) -> int:
        return sum(len(f) for f in self.fields.values())


@cache
def api_version(catalog_file: Path) -> str:
    """The Metadata API version: the catalog's `api_version`, which its facts were checked against."""
    doc = load_yaml(catalog_file)
    return str(doc.get("api_version") or DEFAULT_API_VERSION)


def _relationship_base(text: str) -> str:
    base = re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9]+", "_", text)).strip("_")
    return base if base[:1].isalpha() else f"R_{base}".rstrip("_")


def relationship_names(plan: ProvisionPlan, catalog: Catalog) -> dict[tuple[str, str], tuple[str, str]]:
    """(child object, lookup field) → (relationshipName, relationshipLabel), unique per parent.

    A new custom object's only lookup to a parent is named after the child's plural label
    (Appointments); a second lookup to the same parent, or a lookup from a standard object
    (whose parent already lists it under its plural), adds the field's name
    (Contacts_Referring_Doctor, "Contacts (Referring Doctor)").
    """
    plurals = {o.name: o.plural_label for o in plan.objects}
    new_objects = {o.name for o in plan.new_objects()}
    lookups = [(child, f) for child, fields in plan.deployments().items() for f in fields
               if f.kind == "lookup" and f.reference_to]
    per_parent: dict[tuple[str, str], int] = {}
    for child, f in lookups:
        per_parent[(child, f.reference_to[0])] = per_parent.get((child, f.reference_to[0]), 0) + 1
    taken: dict[str, set[str]] = {}
    names: dict[tuple[str, str], tuple[str, str]] = {}
    for child, f in lookups:
        parent = f.reference_to[0]
        known = catalog.objects.get(child)
        plural = plurals.get(child) or f"{known.label if known else child}s"
        if child in new_objects and per_parent[(child, parent)] == 1:
            name, label = _relationship_base(plural), plural
        else:
            name = _relationship_base(f"{plural}_{f.name.removesuffix('__c')}")
            label = f"{plural} ({f.label})"
        name = name[:RELATIONSHIP_NAME_MAX].rstrip("_")
        used = taken.setdefault(parent, set())
        unique, number = name, 2
        while unique.lower() in used:
            suffix = f"_{number}"
            unique = name[: RELATIONSHIP_NAME_MAX - len(suffix)].rstrip("_") + suffix
            number += 1
        used.add(unique.lower())
        names[(child, f.name)] = (unique, label)
    return names


def _sf_field(host: str, f: PlannedField, catalog: Catalog,
              relationships: dict[tuple[str, str], tuple[str, str]]) -> SfField:
    metadata_type = str(catalog.types.get(f.kind, {}).get("metadata_type", f.kind))
    checkbox = metadata_type == "Checkbox"
    lookup = metadata_type == "Lookup"
    keyable = metadata_type in EXTERNAL_ID_TYPES
    relationship = relationships.get((host, f.name), ("", ""))
    return SfField(
        object=host, name=f.name, label=f.label, type=metadata_type,
        description=f.description, help=f.help,
        length=f.length if metadata_type in ("Text", "LongTextArea") else None,
        precision=f.precision, scale=f.scale,
        visible_lines=VISIBLE_LINES if metadata_type == "LongTextArea" else None,
        default_value="false" if checkbox else None,
        required=None if checkbox else f.required,
        external_id=f.external_id if keyable else None,
        unique=f.unique if keyable else None,
        case_sensitive=False if metadata_type == "Text" and f.unique else None,  # Text only
        values=f.picklist_values, restricted=f.restricted,
        reference_to=f.reference_to[0] if lookup and f.reference_to else "",
        relationship_name=relationship[0], relationship_label=relationship[1],
        delete_constraint=("Restrict" if f.required else "SetNull") if lookup else "",
    )


def _sf_object(obj: PlannedObject) -> SfObject:
    nf = obj.name_field
    autonumber = nf is not None and nf.type == "autonumber"
    return SfObject(
        name=obj.name, label=obj.label, plural_label=obj.plural_label, description=obj.description,
        name_label=nf.label if nf else f"{obj.label} Name",
        name_type="AutoNumber" if autonumber else "Text",
        display_format=(nf.display_format if nf and nf.display_format else "{000000}") if autonumber else "",
    )


def salesforce_package(plan: ProvisionPlan, catalog: Catalog) -> SalesforcePackage:
    relationships = relationship_names(plan, catalog)
    fields = {host: [_sf_field(host, f, catalog, relationships) for f in planned]
              for host, planned in plan.deployments().items()}
    # Required fields get no field-level security: Salesforce refuses permissions on them.
    permitted = sorted((f for fs in fields.values() for f in fs if not f.required), key=lambda f: f.member)
    return SalesforcePackage(
        objects=[_sf_object(o) for o in plan.new_objects()],
        fields=fields, permitted=permitted,
        api_version=api_version(catalog.folder / "catalog.yaml"),
        spec_name=plan.spec_name,
    )


def _xml(template: str, **context: object) -> bytes:
    return render_target(SYSTEM, template, **context).encode("utf-8")


def render_salesforce(package: SalesforcePackage) -> dict[str, bytes]:
    """Every file of the Salesforce output, by path under `salesforce/`."""
    objects = {o.name: o for o in package.objects}
    hosts = sorted(set(objects) | set(package.fields))
    manifest = _xml("package.xml", package=package, permission_set=PERMISSION_SET,
                    objects=sorted(objects),
                    fields=sorted(f.member for fs in package.fields.values() for f in fs))
    permission_set = _xml("permissionset.xml", package=package, label=PERMISSION_SET_LABEL,
                          objects=sorted(objects))
    files: dict[str, bytes] = {"package.xml": manifest}
    project = {
        "name": f"flitstack-{package.spec_name}",
        "namespace": "",
        "packageDirectories": [{"default": True, "path": "force-app"}],
        "sfdcLoginUrl": "https://login.salesforce.com",
        "sourceApiVersion": package.api_version,
    }
    files["sfdx-project.json"] = (json.dumps(project, indent=2) + "\n").encode("utf-8")
    for name in hosts:
        folder = f"{SOURCE_ROOT}/objects/{name}"
        if name in objects:
            files[f"{folder}/{name}.object-meta.xml"] = _xml("object-meta.xml", object=objects[name])
        for f in package.fields.get(name, []):
            files[f"{folder}/fields/{f.name}.field-meta.xml"] = _xml("field-meta.xml", field=f)
    files[f"{SOURCE_ROOT}/permissionsets/{PERMISSION_SET}.permissionset-meta.xml"] = permission_set
    entries = [("package.xml", manifest)]
    entries += [(f"objects/{name}.object", _xml("object.xml", object=objects.get(name),
                                                 fields=package.fields.get(name, [])))
                for name in hosts]
    entries.append((f"permissionsets/{PERMISSION_SET}.permissionset", permission_set))
    files["deploy.zip"] = deterministic_zip(entries)
    return files
