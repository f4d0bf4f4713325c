"""What a spec needs the target to have: the provisioning plan, platform-neutral.

Every target object the spec writes or provisions, with every field it writes
or provisions: new fields (from `provision:`) with their resolved type, size,
picklist values and lookup target, existing catalog fields as the catalog
describes them, and for each field the rules that write it. Renderers (the
Salesforce metadata, the field sheet) read this plan and never the spec.

An object the target cannot add fields to names, in its catalog entry, the
object that holds them instead (`custom_fields_on`: Salesforce keeps a
ContentNote's custom fields on ContentVersion); its provisioned fields are
planned on that object, and a field declared for both must be declared alike.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from engine.errors import Diagnostic
from engine.spec.catalog import Catalog, CatalogField
from engine.spec.loader import LoadedSpec
from engine.spec.model import FieldRule, ProvisionField, ProvisionObject, Spec, ValueMap
from engine.spec.target_view import target_objects
from engine.spec.yamldoc import YPath

# Scale of a currency field: the abstract type has no arguments.
CURRENCY_PRECISION = 18
CURRENCY_SCALE = 2


@dataclass(frozen=True)
class FieldWrite:
    """One rule of the spec that writes a field."""

    spec_object: str   # the spec's object (business, patient, ...)
    rule: str          # path, expr, template, const, lookup; "key" for the object's key
    source: str        # the rule's own text
    options: str       # its modifiers in words ("type: datetime; max_length: 80, truncate")
    value_map: str     # the value map it translates through, or ""
    values: tuple[Any, ...]  # target values it can produce, when knowable (const, value map outputs)


@dataclass(frozen=True)
class PlannedField:
    object: str                    # the object the spec writes (ContentNote)
    name: str
    label: str
    new: bool                      # provisioned by the spec, versus already in the catalog
    spec_type: str                 # the abstract type as written (text(40)); "" for existing fields
    kind: str                      # the abstract kind (text, picklist, ...); "" for existing fields
    target_type: str               # the platform's describe type (string, picklist, reference, ...)
    length: int | None
    precision: int | None
    scale: int | None
    required: bool
    external_id: bool
    unique: bool
    description: str
    help: str
    value_map: str                 # picklist(<value map>)
    picklist_values: tuple[str, ...]
    restricted: bool
    reference_to: tuple[str, ...]
    placed_on: str                 # where a new field is deployed: the object, or its custom_fields_on
    writes: tuple[FieldWrite, ...]
    ypath: YPath | None            # the `provision:` entry of a new field

    @property
    def deployed_as(self) -> str:
        return f"{self.placed_on}.{self.name}" if self.new else ""


@dataclass(frozen=True)
class NameField:
    """A new custom object's record name."""

    name: str
    label: str
    type: str                      # text | autonumber
    display_format: str
    ypath: YPath


@dataclass(frozen=True)
class PlannedObject:
    name: str
    label: str
    plural_label: str
    description: str
    new: bool                      # a custom object to create
    name_field: NameField | None   # new objects only
    fields: tuple[PlannedField, ...]
    written_by: tuple[str, ...]    # spec objects that load it
    fields_on: str                 # custom_fields_on from the catalog, or ""
    ypath: YPath | None


@dataclass(frozen=True)
class ProvisionPlan:
    spec_name: str
    target_system: str
    objects: tuple[PlannedObject, ...]
    value_maps: dict[str, ValueMap]

    def object(self, name: str) -> PlannedObject:
        return next(o for o in self.objects if o.name == name)

    def new_objects(self) -> list[PlannedObject]:
        return [o for o in self.objects if o.new]

    def deployments(self) -> dict[str, list[PlannedField]]:
        """New fields by the object that holds them, one per name (an object's own declaration wins)."""
        placed: dict[str, dict[str, PlannedField]] = {}
        for own_first in (True, False):
            for obj in self.objects:
                for f in obj.fields:
                    if f.new and (f.placed_on == obj.name) == own_first:
                        placed.setdefault(f.placed_on, {}).setdefault(f.name, f)
        return {obj: [fields[n] for n in sorted(fields)] for obj, fields in sorted(placed.items())}


# -- describing rules ----------------------------------------------------------------------------
def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def rule_source(rule: FieldRule) -> str:
    if rule.kind == "lookup":
        return f"{rule.value} (key: {rule.key})"
    return _text(rule.value)


def rule_options(rule: FieldRule) -> str:
    parts = []
    if rule.type:
        parts.append(f"type: {rule.type}")
    if rule.timezone:
        parts.append(f"timezone: {rule.timezone}")
    if rule.max_length is not None:
        parts.append(f"max_length: {rule.max_length}, {rule.on_overflow}")
    if rule.has_default:
        parts.append(f"default: {_text(rule.default)}")
    if rule.required:
        parts.append("required")
    return "; ".join(parts)


def _write(spec: Spec, spec_object: str, rule: FieldRule, kind: str, extra: str = "") -> FieldWrite:
    values: tuple[Any, ...] = ()
    if rule.kind == "lookup":
        pass  # its map translates parent ids: it writes no target values of its own
    elif rule.map and rule.map in spec.value_maps:
        values = spec.value_maps[rule.map].outputs()
    elif rule.kind == "const" and rule.value is not None:
        values = (rule.value,)
    options = "; ".join(p for p in (extra, rule_options(rule)) if p)
    return FieldWrite(spec_object=spec_object, rule=kind, source=rule_source(rule), options=options,
                      value_map=rule.map or "", values=values)


def _writes(spec: Spec) -> dict[str, dict[str, list[FieldWrite]]]:
    """Target object → field → the rules that write it, in spec order."""
    found: dict[str, dict[str, list[FieldWrite]]] = {}
    for obj in spec.objects.values():
        fields = found.setdefault(obj.target, {})
        if obj.key is not None:
            extra = f"prefix: {obj.key.prefix}" if obj.key.prefix else ""
            fields.setdefault(obj.key.target, []).append(_write(spec, obj.name, obj.key.rule, "key", extra))
        for rule in obj.fields:
            fields.setdefault(rule.target, []).append(_write(spec, obj.name, rule, rule.kind))
    return found


# -- building the plan ---------------------------------------------------------------------------
def _new_field(obj: str, pf: ProvisionField, described: CatalogField, placed_on: str,
               writes: list[FieldWrite]) -> PlannedField:
    precision = scale = None
    if pf.kind == "number" and len(pf.args) == 2:
        precision, scale = int(pf.args[0]), int(pf.args[1])
    elif pf.kind == "currency":
        precision, scale = CURRENCY_PRECISION, CURRENCY_SCALE
    return PlannedField(
        object=obj, name=pf.name, label=pf.label, new=True, spec_type=pf.type_text, kind=pf.kind,
        target_type=described.type, length=described.length, precision=precision, scale=scale,
        required=pf.required, external_id=pf.external_id, unique=pf.unique,
        description=pf.description, help=pf.help,
        value_map=pf.args[0] if pf.kind == "picklist" and pf.args else "",
        picklist_values=tuple(str(v) for v in described.picklist_values),
        restricted=described.restricted, reference_to=described.reference_to,
        placed_on=placed_on, writes=tuple(writes), ypath=pf.ypath,
    )


def _existing_field(obj: str, described: CatalogField, writes: list[FieldWrite]) -> PlannedField:
    return PlannedField(
        object=obj, name=described.name, label=described.label, new=False, spec_type="", kind="",
        target_type=described.type, length=described.length, precision=None, scale=None,
        required=described.required, external_id=described.external_id, unique=described.unique,
        description="", help="", value_map="",
        picklist_values=tuple(str(v) for v in described.picklist_values),
        restricted=described.restricted, reference_to=described.reference_to,
        placed_on=obj, writes=tuple(writes), ypath=None,
    )


def _name_field(catalog: Catalog, prov: ProvisionObject, label: str) -> NameField:
    raw = prov.name_field
    return NameField(
        name=str(raw.get("name") or catalog.custom_name_field or "Name"),
        label=str(raw.get("label") or f"{label} Name"),
        type=str(raw.get("type") or "text"),
        display_format=str(raw.get("display_format") or ""),
        ypath=(*prov.ypath, "name_field"),
    )


def _mismatch(spec: Spec, obj: str, pf: ProvisionField, host: str,
              other: ProvisionField) -> Diagnostic | None:
    ours = (pf.type_text.replace(" ", ""), pf.required, pf.external_id, pf.unique)
    theirs = (other.type_text.replace(" ", ""), other.required, other.external_id, other.unique)
    if ours == theirs:
        return None
    return spec.diagnostic(pf.ypath, f"{obj}.{pf.name} is deployed on {host}, where {host}.{pf.name} is "
                           f"declared differently ({other.type_text}, required {other.required}, "
                           f"external_id {other.external_id}, unique {other.unique})",
                           f"declare it under {host} and {obj} with the same type and flags: "
                           f"{obj} cannot hold custom fields of its own", key=True)


def build_plan(loaded: LoadedSpec) -> tuple[ProvisionPlan, list[Diagnostic]]:
    spec, catalog = loaded.spec, loaded.target
    views = target_objects(spec, catalog)
    writes = _writes(spec)
    problems: list[Diagnostic] = []
    names = sorted(set(writes) | set(spec.provision))
    objects: list[PlannedObject] = []
    for name in names:
        view = views[name]
        prov = spec.provision.get(name)
        in_catalog = catalog.objects.get(name)
        fields_on = str(in_catalog.attributes.get("custom_fields_on", "")) if in_catalog else ""
        field_writes = writes.get(name, {})
        planned: list[PlannedField] = []
        for fname in sorted(set(field_writes) | set(prov.fields if prov else ())):
            if fname not in view.fields:
                continue  # reported by validation; a loaded spec has none
            by = field_writes.get(fname, [])
            if prov is not None and fname in prov.fields:
                pf = prov.fields[fname]
                host = fields_on or name
                other = spec.provision.get(host)
                if fields_on and other is not None and fname in other.fields:
                    mismatch = _mismatch(spec, name, pf, host, other.fields[fname])
                    if mismatch:
                        problems.append(mismatch)
                planned.append(_new_field(name, pf, view.fields[fname], host, by))
            else:
                planned.append(_existing_field(name, view.fields[fname], by))
        new = in_catalog is None
        label = (prov.label if prov and prov.label else "") or \
            (in_catalog.label if in_catalog else name.removesuffix("__c").replace("_", " "))
        plural = (prov.plural_label if prov and prov.plural_label else "") or f"{label}s"
        objects.append(PlannedObject(
            name=name, label=label, plural_label=plural,
            description=prov.description if prov else "",
            new=new, name_field=_name_field(catalog, prov, label) if new and prov else None,
            fields=tuple(planned),
            written_by=tuple(o.name for o in spec.objects.values() if o.target == name),
            fields_on=fields_on, ypath=prov.ypath if prov else None,
        ))
    return ProvisionPlan(spec.name, spec.target_system, tuple(objects), dict(spec.value_maps)), problems
