"""What the org knows about its objects and fields: the single source describe, rules and SOQL read.

The org starts from `targets/salesforce/catalog.yaml` (standard objects, their
fields as the platform describes them) and `types.yaml` (`custom_object`: the
fields every custom object gets), plus two objects the sf CLI reads when it
logs in (Organization, Profile). Every object also gets the system fields the
platform adds everywhere (Id, IsDeleted, CreatedDate, CreatedById,
LastModifiedDate, LastModifiedById, SystemModstamp) when the catalog leaves
them out.

Catalog → describe, decisions:
- `required: true` → `nillable: false` (and not defaulted): an insert without it fails.
- `external_id: true` on a standard field means the platform flags it
  `idLookup` (usable as an upsert key or in an external-id reference), not
  `externalId`, which only custom fields carry. Custom fields declared
  `externalId` are `idLookup` too, as on the platform.
- Audit fields (CreatedDate, CreatedById, LastModifiedDate, LastModifiedById)
  are `audit`: createable on insert only while the org's "Set Audit Fields upon
  Record Creation" knob is on (see `FieldMeta.is_createable`).
- Booleans are never null: `nillable: false`, `defaultedOnCreate: true`.
  OwnerId is `defaultedOnCreate` (the running user).
- Field-level security is modelled per field (`accessible`, `editable`): a
  field the API user cannot read is absent from describe and unknown to SOQL
  and writes, as on the platform. Standard fields and fields added with
  `accessible=True` are visible; the Metadata API emulator adds fields hidden
  and grants them through permission sets.

Names are case-insensitive everywhere (`ObjectMeta.field("lastname")`), as the
platform treats them; describe and results use the canonical spelling.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from functools import cache
from typing import Any

from engine.paths import TARGETS_DIR
from engine.spec.yamldoc import load_yaml

AUDIT_FIELDS = ("CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById")

# Metadata API CustomField <type> → (describe type, default length). For the Metadata emulator.
METADATA_TYPES: dict[str, tuple[str, int]] = {
    "Text": ("string", 255), "TextArea": ("textarea", 255), "LongTextArea": ("textarea", 32768),
    "Html": ("textarea", 32768), "EncryptedText": ("encryptedstring", 175), "Number": ("double", 0),
    "Currency": ("currency", 0), "Percent": ("percent", 0), "Date": ("date", 0), "DateTime": ("datetime", 0),
    "Checkbox": ("boolean", 0), "Email": ("email", 80), "Phone": ("phone", 40), "Url": ("url", 255),
    "Picklist": ("picklist", 255), "MultiselectPicklist": ("multipicklist", 4099),
    "Lookup": ("reference", 18), "MasterDetail": ("reference", 18), "AutoNumber": ("string", 30),
}

DESCRIBE_TYPES = frozenset({"id", "string", "textarea", "picklist", "multipicklist", "reference", "boolean",
                            "date", "datetime", "double", "int", "long", "currency", "percent", "email",
                            "phone", "url", "base64", "encryptedstring", "combobox", "address"})

_DEFAULT_LENGTH = {"email": 80, "phone": 40, "url": 255, "textarea": 255, "picklist": 255, "string": 255,
                   "multipicklist": 4099, "reference": 18, "id": 18, "encryptedstring": 175}
_DEFAULT_NUMBER = {"double": (18, 0), "currency": (18, 2), "percent": (18, 2)}


@dataclass(frozen=True)
class PicklistValue:
    value: str
    label: str = ""
    active: bool = True
    default: bool = False

    def describe(self) -> dict[str, Any]:
        return {"active": self.active, "defaultValue": self.default, "label": self.label or self.value,
                "validFor": None, "value": self.value}


@dataclass(frozen=True)
class FieldMeta:
    """One field, with every attribute describe reports."""

    name: str
    label: str
    type: str
    length: int = 0
    precision: int = 0
    scale: int = 0
    digits: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    defaulted_on_create: bool = False
    unique: bool = False
    case_sensitive: bool = False
    external_id: bool = False
    id_lookup: bool = False
    custom: bool = False
    calculated: bool = False
    auto_number: bool = False
    name_field: bool = False
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    picklist: tuple[PicklistValue, ...] = ()
    restricted_picklist: bool = False
    default_value: Any = None
    audit: bool = False  # createable on insert only with "Set Audit Fields upon Record Creation"
    accessible: bool = True  # field-level security: the API user can read it
    editable: bool = True  # field-level security: the API user can write it
    description: str = ""

    @property
    def required(self) -> bool:
        """An insert must give a value (REQUIRED_FIELD_MISSING otherwise)."""
        return not self.nillable and not self.defaulted_on_create and self.createable

    @property
    def polymorphic(self) -> bool:
        return len(self.reference_to) > 1

    @property
    def key_field(self) -> bool:
        """Values are indexed for lookups: unique, external id or idLookup (Id itself excepted)."""
        return self.type != "id" and (self.unique or self.external_id or self.id_lookup)

    def is_createable(self, set_audit_fields: bool) -> bool:
        if self.audit and set_audit_fields:
            return self.editable
        return self.createable and self.editable

    def is_updateable(self) -> bool:
        return self.updateable and self.editable

    def picklist_values(self) -> tuple[str, ...]:
        return tuple(v.value for v in self.picklist if v.active)


@dataclass
class ObjectMeta:
    """One sObject type: its fields in describe order, keyed case-insensitively."""

    name: str
    label: str
    label_plural: str
    key_prefix: str
    custom: bool = False
    fields: dict[str, FieldMeta] = field(default_factory=dict)
    createable: bool = True
    updateable: bool = True
    deletable: bool = True
    queryable: bool = True
    name_format: str | None = None  # an auto-number Name's display format, e.g. "P-{0000}"
    _lower: dict[str, str] = field(default_factory=dict, repr=False)
    _relationships: dict[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.reindex()

    def reindex(self) -> None:
        self._lower = {name.lower(): name for name in self.fields}
        self._relationships = {f.relationship_name.lower(): f.name for f in self.fields.values()
                               if f.type == "reference" and f.relationship_name}

    def field(self, name: str, *, hidden: bool = False) -> FieldMeta | None:
        """The field called `name` (any case); None when unknown or hidden from the API user by FLS."""
        canonical = self._lower.get(name.lower())
        found = self.fields[canonical] if canonical else None
        if found is None or (not found.accessible and not hidden):
            return None
        return found

    def relationship(self, name: str) -> FieldMeta | None:
        """The reference field whose relationship name is `name` (`Account`, `Owner`, `Practitioner__r`)."""
        canonical = self._relationships.get(name.lower())
        found = self.fields[canonical] if canonical else None
        return found if found is not None and found.accessible else None

    def visible_fields(self) -> list[FieldMeta]:
        return [f for f in self.fields.values() if f.accessible]

    def put_field(self, meta: FieldMeta) -> None:
        """Add or replace a field (keeping its position when it exists)."""
        existing = self._lower.get(meta.name.lower())
        if existing is not None and existing != meta.name:
            self.fields = {(meta.name if k == existing else k): (meta if k == existing else v)
                           for k, v in self.fields.items()}
        else:
            self.fields[meta.name] = meta
        self.reindex()

    @property
    def name_field(self) -> str | None:
        for meta in self.fields.values():
            if meta.name_field:
                return meta.name
        return None


def field_to_json(meta: FieldMeta) -> dict[str, Any]:
    """A field as JSON, for the org's record of metadata changes."""
    out = {k: v for k, v in asdict(meta).items() if k != "picklist"}
    out["reference_to"] = list(meta.reference_to)
    out["picklist"] = [asdict(v) for v in meta.picklist]
    return out


def field_from_json(raw: Mapping[str, Any]) -> FieldMeta:
    values = dict(raw)
    values["reference_to"] = tuple(values.get("reference_to", ()))
    values["picklist"] = tuple(PicklistValue(**v) for v in values.get("picklist", ()))
    return FieldMeta(**values)


# -- building fields ----------------------------------------------------------------------------------

def _picklist(values: Iterable[Any], default: str | None = None) -> tuple[PicklistValue, ...]:
    out = []
    for value in values:
        if isinstance(value, Mapping):
            text = str(value.get("value"))
            out.append(PicklistValue(text, str(value.get("label", text)), bool(value.get("active", True)),
                                     bool(value.get("default", False)) or text == default))
        else:
            out.append(PicklistValue(str(value), str(value), True, str(value) == default))
    return tuple(out)


def field_from_catalog(name: str, raw: Mapping[str, Any], *, custom: bool = False) -> FieldMeta:
    """A catalog (or types.yaml) field entry as describe reports it."""
    type_ = str(raw["type"])
    required = bool(raw.get("required", False))
    createable = bool(raw.get("createable", True))
    updateable = bool(raw.get("updateable", True))
    length = int(raw.get("length") or _DEFAULT_LENGTH.get(type_, 0)) if type_ in _DEFAULT_LENGTH else 0
    precision, scale, digits = int(raw.get("precision") or 0), int(raw.get("scale") or 0), 0
    if type_ == "int":
        digits, precision, scale = precision or 9, 0, 0
    elif type_ in _DEFAULT_NUMBER and not precision:
        precision, scale = _DEFAULT_NUMBER[type_]
    nillable = not required and type_ not in ("boolean", "id") and name != "OwnerId"
    defaulted = type_ == "boolean" or name == "OwnerId" or (name == "Name" and custom)
    external = bool(raw.get("external_id", False))
    return FieldMeta(
        name=name, label=str(raw.get("label", name)), type=type_, length=length, precision=precision,
        scale=scale, digits=digits, nillable=nillable, createable=createable, updateable=updateable,
        defaulted_on_create=defaulted, unique=bool(raw.get("unique", False)),
        external_id=external and custom and name.endswith("__c"),
        id_lookup=external or type_ == "id", custom=name.endswith("__c"),
        name_field=name == "Name",
        reference_to=tuple(raw.get("reference_to", ())), relationship_name=raw.get("relationship") or None,
        picklist=_picklist(raw.get("values", ())), restricted_picklist=bool(raw.get("restricted", False)),
        default_value=False if type_ == "boolean" else None,
        audit=name in AUDIT_FIELDS and not createable, description=str(raw.get("description", "")),
    )


def custom_field(name: str, type_: str, *, label: str | None = None, length: int | None = None,
                 precision: int | None = None, scale: int | None = None, required: bool = False,
                 unique: bool = False, external_id: bool = False, case_sensitive: bool = False,
                 picklist: Iterable[str | PicklistValue] = (), restricted: bool = False,
                 reference_to: Iterable[str] = (), relationship_name: str | None = None,
                 default_value: Any = None, accessible: bool = True, editable: bool = True,
                 description: str = "") -> FieldMeta:
    """A custom field (`X__c`) of describe type `type_`, with the platform's defaults filled in.

    `relationship_name` defaults to the field name with `__c` replaced by `__r`. A required
    field is always accessible: the platform does not let FLS hide it.
    """
    if not name.endswith("__c") or len(name) <= 3:
        raise ValueError(f"a custom field's API name ends in __c: {name!r}")
    if type_ not in DESCRIBE_TYPES or type_ in ("id", "address"):
        raise ValueError(f"unknown field type {type_!r}; expected one of {sorted(DESCRIBE_TYPES)}")
    values = tuple(v if isinstance(v, PicklistValue) else PicklistValue(str(v), str(v)) for v in picklist)
    if type_ in _DEFAULT_NUMBER:
        default_precision, default_scale = _DEFAULT_NUMBER[type_]
        precision = default_precision if precision is None else precision
        scale = default_scale if scale is None else scale
        if not 0 < precision <= 18 or not 0 <= scale <= precision:
            raise ValueError(f"{name}: precision must be 1..18 and scale 0..precision")
    targets = tuple(reference_to)
    if type_ == "reference" and not targets:
        raise ValueError(f"{name}: a lookup needs reference_to")
    return FieldMeta(
        name=name, label=label or name[:-3].replace("_", " "), type=type_,
        length=int(length if length is not None else _DEFAULT_LENGTH.get(type_, 0)),
        precision=int(precision or 0), scale=int(scale or 0), nillable=not required and type_ != "boolean",
        defaulted_on_create=type_ == "boolean", unique=unique, case_sensitive=case_sensitive,
        external_id=external_id, id_lookup=external_id, custom=True, reference_to=targets,
        relationship_name=(relationship_name or name[:-3] + "__r") if type_ == "reference" else None,
        picklist=values, restricted_picklist=restricted,
        default_value=bool(default_value) if type_ == "boolean" else default_value,
        accessible=accessible or required, editable=editable or required, description=description,
    )


def system_fields(object_name: str) -> dict[str, FieldMeta]:
    """The fields the platform adds to every object, in describe order."""
    label = object_name.removesuffix("__c").replace("_", " ")

    def audit(name: str, field_label: str, type_: str, relationship: str | None = None) -> FieldMeta:
        reference = type_ == "reference"
        return FieldMeta(name, field_label, type_, length=18 if reference else 0, nillable=False,
                         createable=False, updateable=False, defaulted_on_create=True,
                         reference_to=("User",) if reference else (), relationship_name=relationship,
                         audit=name in AUDIT_FIELDS)

    return {
        "Id": FieldMeta("Id", f"{label} ID", "id", length=18, nillable=False, createable=False,
                        updateable=False, defaulted_on_create=True, id_lookup=True),
        "IsDeleted": FieldMeta("IsDeleted", "Deleted", "boolean", nillable=False, createable=False,
                               updateable=False, defaulted_on_create=True, default_value=False),
        "CreatedDate": audit("CreatedDate", "Created Date", "datetime"),
        "CreatedById": audit("CreatedById", "Created By ID", "reference", "CreatedBy"),
        "LastModifiedDate": audit("LastModifiedDate", "Last Modified Date", "datetime"),
        "LastModifiedById": audit("LastModifiedById", "Last Modified By ID", "reference", "LastModifiedBy"),
        "SystemModstamp": audit("SystemModstamp", "System Modstamp", "datetime"),
    }


def with_system_fields(object_name: str, fields: Mapping[str, FieldMeta]) -> dict[str, FieldMeta]:
    """`fields` with the system fields added where missing: Id and IsDeleted first, audit fields last."""
    system = system_fields(object_name)
    out: dict[str, FieldMeta] = {}
    for name in ("Id", "IsDeleted"):
        out[name] = fields.get(name) or system[name]
        if name == "IsDeleted" and name in fields:
            out[name] = replace(fields[name], createable=False, updateable=False)
    for name, meta in fields.items():
        if name not in out:
            # Catalog audit fields keep their labels; their createability follows the knob.
            out[name] = replace(meta, audit=True, nillable=False, defaulted_on_create=True) \
                if name in AUDIT_FIELDS else meta
    for name, meta in system.items():
        out.setdefault(name, meta)
    return out


# -- the starting org --------------------------------------------------------------------------------

_BUILTIN_OBJECTS: dict[str, dict[str, Any]] = {
    # Read by `sf org login access-token` (sfdx-core) and handy for sanity checks; never written.
    "Organization": {"label": "Organization", "key_prefix": "00D", "createable": False, "fields": {
        "Name": {"type": "string", "label": "Name", "length": 80, "updateable": False, "createable": False},
        "InstanceName": {"type": "string", "label": "Instance Name", "length": 5, "createable": False,
                         "updateable": False},
        "IsSandbox": {"type": "boolean", "label": "Is Sandbox", "createable": False, "updateable": False},
        "TrialExpirationDate": {"type": "datetime", "label": "Trial Expiration Date", "createable": False,
                                "updateable": False},
        "NamespacePrefix": {"type": "string", "label": "Namespace Prefix", "length": 15, "createable": False,
                            "updateable": False},
        "OrganizationType": {"type": "picklist", "label": "Edition", "length": 40, "createable": False,
                             "updateable": False, "values": ["Developer Edition", "Enterprise Edition"]},
    }},
    "Profile": {"label": "Profile", "key_prefix": "00e", "createable": False, "fields": {
        "Name": {"type": "string", "label": "Name", "length": 255, "required": True, "createable": False},
        "UserType": {"type": "picklist", "label": "User Type", "length": 40, "createable": False,
                     "updateable": False, "values": ["Standard"]},
    }},
}


@cache
def _catalog_documents() -> tuple[dict[str, Any], dict[str, Any]]:
    folder = TARGETS_DIR / "salesforce"
    return load_yaml(folder / "catalog.yaml"), load_yaml(folder / "types.yaml")


def _object(name: str, raw: Mapping[str, Any], *, custom: bool = False) -> ObjectMeta:
    fields = {f: field_from_catalog(f, spec, custom=custom) for f, spec in raw["fields"].items()}
    label = str(raw.get("label", name))
    createable = bool(raw.get("createable", True))
    return ObjectMeta(name=name, label=label, label_plural=str(raw.get("label_plural", label + "s")),
                      key_prefix=str(raw["key_prefix"]), custom=custom,
                      fields=with_system_fields(name, fields), createable=createable, updateable=createable,
                      deletable=createable)


def standard_objects() -> dict[str, ObjectMeta]:
    """Fresh metadata for the catalog's standard objects and the built-in ones."""
    catalog, _ = _catalog_documents()
    objects = {name: _object(name, raw) for name, raw in catalog["objects"].items()}
    for name, raw in _BUILTIN_OBJECTS.items():
        objects[name] = _object(name, raw)
    return objects


def custom_object_fields() -> dict[str, FieldMeta]:
    """The fields `types.yaml` says every custom object comes with (Name, OwnerId)."""
    _, types = _catalog_documents()
    raw = types.get("custom_object", {}).get("fields", {})
    return {name: field_from_catalog(name, spec, custom=True) for name, spec in raw.items()}


def api_version() -> str:
    catalog, _ = _catalog_documents()
    return str(catalog.get("api_version", "62.0"))
