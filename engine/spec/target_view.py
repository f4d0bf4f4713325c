"""The target as a spec will find it: the catalog's objects plus what `provision:` adds.

Provisioned fields are described with the same `CatalogField` as catalog
fields (their abstract type translated through the platform's `types.yaml`),
so validation and compilation ask one question — "what is this field?" — in
one way.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from engine.spec.catalog import Catalog, CatalogField
from engine.spec.model import ProvisionField, Spec


@dataclass(frozen=True)
class TargetObjectView:
    name: str
    fields: dict[str, CatalogField]
    provisioned: frozenset[str]
    custom: bool


def provisioned_field(spec: Spec, catalog: Catalog, pf: ProvisionField) -> CatalogField:
    platform = catalog.types.get(pf.kind, {})
    values: tuple[object, ...] = ()
    reference_to: tuple[str, ...] = ()
    if pf.kind == "picklist" and pf.args and pf.args[0] in spec.value_maps:
        values = spec.value_maps[pf.args[0]].outputs()
    if pf.kind == "lookup" and pf.args:
        reference_to = (pf.args[0],)
    length = pf.length
    if length is None and pf.kind == "longtext":
        length = platform.get("default_length")
    return CatalogField(
        name=pf.name,
        type=str(platform.get("type", pf.kind)),
        label=pf.label,
        length=length,
        required=pf.required,
        external_id=pf.external_id,
        unique=pf.unique,
        values=values,
        restricted=pf.kind == "picklist",
        reference_to=reference_to,
        relationship=pf.name[:-3] + "__r" if pf.name.endswith("__c") and pf.kind == "lookup" else "",
    )


def _platform_fields(catalog: Catalog, object_name: str,
                     name_field: dict[str, object]) -> dict[str, CatalogField]:
    """Fields a new custom object gets from the platform itself (Name, OwnerId, ...)."""
    prefix = object_name.split("_", 1)[0]
    fields = {n.replace("{prefix}", prefix): replace(f, name=n.replace("{prefix}", prefix))
              for n, f in catalog.custom_object_fields.items()}
    default_name = catalog.custom_name_field.replace("{prefix}", prefix)
    chosen = str(name_field.get("name") or default_name)
    if chosen and chosen != default_name and default_name in fields:
        fields[chosen] = replace(fields.pop(default_name), name=chosen)
    if name_field.get("type") == "autonumber" and chosen in fields:
        fields[chosen] = replace(fields[chosen], createable=False, updateable=False)
    return fields


def target_objects(spec: Spec, catalog: Catalog) -> dict[str, TargetObjectView]:
    views: dict[str, TargetObjectView] = {}
    for name, obj in catalog.objects.items():
        views[name] = TargetObjectView(name, dict(obj.fields), frozenset(), custom=False)
    for name, prov in spec.provision.items():
        base = views.get(name)
        fields = dict(base.fields) if base else _platform_fields(catalog, name, prov.name_field)
        added = {fname: provisioned_field(spec, catalog, pf) for fname, pf in prov.fields.items()}
        fields.update(added)
        views[name] = TargetObjectView(name, fields, frozenset(added), custom=base is None)
    return views
