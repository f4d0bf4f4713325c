"""System catalogs: the objects and fields a source or target really has.

Loaded from `sources/<system>/catalog.yaml` and `targets/<system>/catalog.yaml`
(plus the target's `types.yaml`, which says what each abstract provisioning
type becomes), validated against their JSON Schemas like any spec.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from engine.errors import Diagnostic, SpecError
from engine.paths import SOURCES_DIR, TARGETS_DIR
from engine.spec.schema_check import check_against_schema
from engine.spec.yamldoc import load_yaml


@dataclass(frozen=True)
class CatalogField:
    name: str
    type: str
    label: str = ""
    length: int | None = None
    required: bool = False
    external_id: bool = False
    unique: bool = False
    createable: bool = True
    updateable: bool = True
    values: tuple[Any, ...] = ()
    restricted: bool = False
    reference_to: tuple[str, ...] = ()
    relationship: str = ""

    @property
    def picklist_values(self) -> tuple[Any, ...]:
        """Allowed values: text for Salesforce, option integers for Dataverse."""
        return tuple(v["value"] if isinstance(v, dict) else v for v in self.values)


@dataclass(frozen=True)
class CatalogObject:
    name: str
    label: str
    fields: dict[str, CatalogField] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Catalog:
    system: str
    kind: str
    objects: dict[str, CatalogObject]
    types: dict[str, dict[str, Any]]
    folder: Path
    custom_object_fields: dict[str, CatalogField] = field(default_factory=dict)
    custom_name_field: str = ""
    # The field that names a record's owning user (Salesforce OwnerId, Dataverse ownerid); None:
    # the target has no record owners, so a spec for it cannot have `owners:`.
    owner_field: str | None = None


def _field(name: str, raw: dict[str, Any]) -> CatalogField:
    return CatalogField(
        name=name,
        type=raw["type"],
        label=raw.get("label", name),
        length=raw.get("length"),
        required=raw.get("required", False),
        external_id=raw.get("external_id", False),
        unique=raw.get("unique", False),
        createable=raw.get("createable", True),
        updateable=raw.get("updateable", True),
        values=tuple(raw.get("values", ())),
        restricted=raw.get("restricted", False),
        reference_to=tuple(raw.get("reference_to", ())),
        relationship=raw.get("relationship", ""),
    )


def _load_checked(path: Path, schema: str) -> Any:
    doc = load_yaml(path)
    problems = check_against_schema(doc, schema)
    if problems:
        raise SpecError(problems)
    return doc


@cache
def load_catalog(kind: str, system: str) -> Catalog:
    """The catalog of a `source` or `target` system, or SpecError if there is none."""
    base = SOURCES_DIR if kind == "source" else TARGETS_DIR
    folder = base / system
    path = folder / "catalog.yaml"
    if not path.is_file():
        known = sorted(p.name for p in base.iterdir() if (p / "catalog.yaml").is_file()) \
            if base.is_dir() else []
        raise SpecError([Diagnostic(None, f"{kind}.system",
                                    f"unknown {kind} system '{system}'",
                                    f"known: {', '.join(known) or 'none'}")])
    doc = _load_checked(path, "catalog.schema.json")
    types_path = folder / "types.yaml"
    type_doc = _load_checked(types_path, "types.schema.json") if types_path.is_file() else {}
    types = type_doc.get("types", {})
    custom = type_doc.get("custom_object", {})
    objects = {
        name: CatalogObject(
            name=name,
            label=raw.get("label", name),
            fields={f: _field(f, spec) for f, spec in raw["fields"].items()},
            attributes={k: v for k, v in raw.items() if k != "fields"},
        )
        for name, raw in doc["objects"].items()
    }
    return Catalog(system=doc["system"], kind=doc["kind"], objects=objects, types=dict(types),
                   folder=folder,
                   custom_object_fields={f: _field(f, spec) for f, spec in custom.get("fields", {}).items()},
                   custom_name_field=custom.get("name_field", ""),
                   owner_field=doc.get("owner_field"))


def known_systems(kind: str) -> list[str]:
    base = SOURCES_DIR if kind == "source" else TARGETS_DIR
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir() if (p / "catalog.yaml").is_file())
