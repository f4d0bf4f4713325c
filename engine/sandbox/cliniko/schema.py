"""What the Cliniko catalog says about each resource, in the shape the emulator needs.

`sources/cliniko/catalog.yaml` describes records as the connector delivers
them. The emulator reads it backwards to know what the API itself serves:

- `<x>_id` beside an object field `x` is a to-one relation. The API sends only
  the link object `x`; `<x>_id` is a connector addition, but it is also the
  name Cliniko's filters use (`q[]=patient_id:=1`), so it stays searchable.
- other object fields described as "link..." are has-many or action links
  (`invoices`, `attendees`, `conflicts`), served as `<record url>/<field>`;
  patient attachments' `content` links to the file body.
- remaining object fields (`custom_fields`, `repeat_rule`, treatment note
  `content`) are plain JSON data.
- a few fields exist only on the connector's side (`content_url`) and are
  neither served nor searchable.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from engine.paths import SOURCES_DIR
from engine.spec.catalog import CatalogObject, load_catalog
from engine.spec.yamldoc import load_yaml

# Fields the connector adds that the API itself never sends.
CONNECTOR_ONLY: frozenset[tuple[str, str]] = frozenset({("patient_attachments", "content_url")})

# Relations whose link points at a path other than the referenced catalog resource.
LINK_PATHS: dict[tuple[str, str], str] = {
    ("attendees", "booking"): "bookings",  # /bookings/{id}: an individual or group appointment
    ("treatment_notes", "booking"): "bookings",
    ("invoices", "appointment"): "appointments",  # the deprecated /appointments resource
}

# Datetime columns that hide a record from default lists until a filter names them.
HIDING_COLUMNS = ("archived_at", "cancelled_at", "deleted_at")

SCALAR_TYPES = frozenset({"id", "string", "text", "integer", "decimal", "boolean", "date", "datetime"})


@dataclass(frozen=True)
class Relation:
    name: str  # "patient"
    id_field: str  # "patient_id"
    path: str  # URL segment of the linked resource: "patients"
    targets: tuple[str, ...]  # catalog resources the id may belong to


@dataclass(frozen=True)
class OutputField:
    """One key of a rendered record, in catalog order."""

    name: str
    kind: str  # "value" | "relation" | "list_link" | "content_link" | "self"
    type: str  # catalog type (for "value")


@dataclass(frozen=True)
class ResourceSchema:
    name: str
    searchable: dict[str, str]  # field -> catalog type, for q[] and sort
    output: tuple[OutputField, ...]
    relations: dict[str, Relation]  # by relation name
    hiding: tuple[str, ...]  # which of HIDING_COLUMNS this resource has

    def relation_to(self, parent: str) -> Relation | None:
        """The to-one relation of this resource that points at `parent` records, if exactly one does."""
        found = [r for r in self.relations.values() if parent in r.targets]
        return found[0] if len(found) == 1 else None


def _resource(obj: CatalogObject, descriptions: dict[str, str]) -> ResourceSchema:
    fields = obj.fields
    searchable: dict[str, str] = {}
    relations: dict[str, Relation] = {}
    output: list[OutputField] = []
    for name, spec in fields.items():
        if (obj.name, name) in CONNECTOR_ONLY:
            continue
        if spec.type != "object":
            searchable[name] = spec.type
        relation_name = name[:-3] if name.endswith("_id") else ""
        if relation_name and relation_name in fields and fields[relation_name].type == "object":
            path = LINK_PATHS.get((obj.name, relation_name)) or (
                spec.reference_to[0] if len(spec.reference_to) == 1 else relation_name + "s")
            relations[relation_name] = Relation(relation_name, name, path, spec.reference_to or (path,))
            continue  # the API sends the link object instead
        if spec.type != "object":
            output.append(OutputField(name, "value", spec.type))
            continue
        description = descriptions.get(name, "")
        if name == "links":
            output.append(OutputField(name, "self", "object"))
        elif f"{name}_id" in fields:
            output.append(OutputField(name, "relation", "object"))
        elif name == "content" and obj.name == "patient_attachments":
            output.append(OutputField(name, "content_link", "object"))
        elif description.lower().startswith("link"):
            output.append(OutputField(name, "list_link", "object"))
        else:
            output.append(OutputField(name, "value", "object"))
    hiding = tuple(c for c in HIDING_COLUMNS if searchable.get(c) == "datetime")
    return ResourceSchema(obj.name, searchable, tuple(output), relations, hiding)


@cache
def cliniko_schema() -> dict[str, ResourceSchema]:
    """Every catalog resource, keyed by its URL segment (which is also its envelope key)."""
    catalog = load_catalog("source", "cliniko")
    raw = _descriptions()
    return {name: _resource(obj, raw.get(name, {})) for name, obj in catalog.objects.items()}


def _descriptions() -> dict[str, dict[str, str]]:
    """Field descriptions (CatalogField keeps none): they tell link objects from data objects."""
    doc = load_yaml(SOURCES_DIR / "cliniko" / "catalog.yaml")
    return {
        resource: {field: str(spec.get("description", "")) for field, spec in body["fields"].items()}
        for resource, body in doc["objects"].items()
    }
