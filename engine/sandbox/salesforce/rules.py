"""Every write rule of the org, with the platform's codes and messages. All write paths use this module.

A write goes through two steps, so REST, sObject Collections and Bulk report
the same codes and messages:

1. `parse(meta, body, org)`: the JSON body as field changes. A problem here
   refuses the whole request (`RequestError`), because the platform fails while
   deserializing, before any record is saved:
   - unknown (or FLS-hidden) field → 400 INVALID_FIELD
     "No such column 'X' on sobject of type Contact";
   - a value of the wrong JSON type → 400 JSON_PARSER_ERROR "Cannot deserialize
     instance of date from VALUE_STRING value 31/12/2020 or request may be missing
     a required field" (the REST layer appends "at [line:L, column:C]");
   - a malformed external-id reference (`"Account": {...}` naming no field, a
     field that is not an external id or idLookup, both AccountId and Account).
2. `validate(meta, changes, org, current=...)`: the record's problems, as
   SaveErrors (per-record `statusCode` in collections, a 400 for a single
   record), checked in this order, the first group that fails is reported:
   1. INVALID_FIELD "cannot specify Id in an insert call"; INVALID_FIELD_FOR_INSERT_UPDATE
      "Unable to create/update fields: CreatedDate. Please check the security settings...";
   2. external-id references: INVALID_FIELD "Foreign key external ID: 123 not
      found for field Cliniko_Id__c in entity Account"; DUPLICATE_EXTERNAL_ID when
      it matches several records;
   3. values: STRING_TOO_LONG "<Label>: data value too large: <value> (max length=80)",
      INVALID_EMAIL_ADDRESS "<Label>: invalid email address: <value>",
      INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST "<Label>: bad value for restricted picklist field: <value>",
      NUMBER_OUTSIDE_VALID_RANGE "<Label>: value outside of valid range on numeric field: <value>",
      lookups: MALFORMED_ID "<Label>: id value of incorrect type: <value>" (not an id),
      FIELD_INTEGRITY_EXCEPTION with the same message (an id of another object),
      INVALID_CROSS_REFERENCE_KEY "invalid cross reference id" (no such record),
      ENTITY_IS_DELETED "entity is deleted" (a deleted record);
   4. REQUIRED_FIELD_MISSING "Required fields are missing: [LastName]", fields [LastName];
   5. INACTIVE_OWNER_OR_USER "operation performed with inactive user [005…] as owner of contact";
   6. DUPLICATE_VALUE "duplicate value found: Ext__c duplicates value on record with id: 003…".

The other per-record errors of the write paths live here too, so every API
reports them alike: MISSING_ARGUMENT "Id not specified in an update call" /
"<ExtField> not specified", INVALID_FIELD "Record ID: cannot specify Id in an
insert call" (and "... an upsert call"), MALFORMED_ID "Contact ID: id value of
incorrect type: 001…" (a record of another object), "malformed id X", and
ALL_OR_NONE_OPERATION_ROLLED_BACK.

Decisions where the platform's documentation is silent (see the module's tests):
- An id of the wrong object in a lookup is FIELD_INTEGRITY_EXCEPTION, the
  platform's answer ("Account ID: id value of incorrect type: 005…"), not
  INVALID_CROSS_REFERENCE_KEY, which is kept for ids of the right type that name
  no record.
- The same external id twice in one upsert request fails every record that
  carries it with DUPLICATE_VALUE "Duplicate external id specified: <value>"
  (what Bulk and collections report); DUPLICATE_EXTERNAL_ID is the code for an
  external id that matches several existing records.
- "" is null, as the platform stores it; null for a boolean is false.
- Strings accept JSON numbers and booleans (Jackson coerces them); numbers,
  booleans ("true"/"false") and dates are accepted as strings, dates only as
  `YYYY-MM-DD`, date-times as ISO-8601 (a bare date is midnight UTC, no zone is UTC).
- Numbers are rounded to the field's scale; too many integer digits is NUMBER_OUTSIDE_VALID_RANGE.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from engine.sandbox.salesforce.errors import RequestError, SaveError
from engine.sandbox.salesforce.ids import to18
from engine.sandbox.salesforce.metadata import FieldMeta, ObjectMeta
from engine.sandbox.salesforce.values import (
    ID_TYPES,
    STRING_TYPES,
    integer_digits,
    is_email,
    number_text,
    parse_date,
    parse_datetime,
)

_JACKSON_TYPES = {"double": "double", "currency": "double", "percent": "double", "int": "int", "long": "long",
                  "boolean": "boolean", "date": "date", "datetime": "datetime", "reference": "id", "id": "id"}


class OrgView(Protocol):
    """What the rules need to know about the org's data."""

    set_audit_fields: bool
    allow_inactive_owners: bool

    def object_meta(self, name: str) -> ObjectMeta | None: ...

    def locate(self, id18: str) -> tuple[str, bool] | None:
        """(object, deleted) of the record with this id, or None."""

    def find_by(self, object_name: str, field_name: str, value: Any) -> list[str]:
        """Ids of the live records whose (key) field equals `value`."""

    def user_active(self, user_id: str) -> bool | None:
        """Whether the User is active; None when it is not a User."""


@dataclass(frozen=True)
class Reference:
    """`"Account": {"Cliniko_Id__c": "123"}`: set AccountId to the Account with that external id."""

    field: FieldMeta  # the lookup on the record (AccountId)
    target: ObjectMeta  # the parent object (Account)
    ext_field: FieldMeta  # the parent's external id or idLookup field
    value: Any  # the external id, coerced to that field's type


@dataclass
class Changes:
    """A parsed body: canonical field name → value, and external-id references to resolve."""

    values: dict[str, Any] = field(default_factory=dict)
    references: list[Reference] = field(default_factory=list)


# -- messages -------------------------------------------------------------------------------------------

def no_such_column(name: str, object_name: str) -> RequestError:
    return RequestError("INVALID_FIELD", f"No such column '{name}' on sobject of type {object_name}")


def not_an_external_id(name: str, object_name: str) -> RequestError:
    return RequestError("INVALID_FIELD", f"Field name provided, {name} is not an External ID or indexed "
                        f"field for {object_name}")


def cannot_deserialize(field_meta: FieldMeta, value: Any) -> RequestError:
    if isinstance(value, bool):
        token, text = ("VALUE_TRUE" if value else "VALUE_FALSE"), str(value).lower()
    elif isinstance(value, int):
        token, text = "VALUE_NUMBER_INT", str(value)
    elif isinstance(value, float):
        token, text = "VALUE_NUMBER_FLOAT", repr(value)
    elif isinstance(value, dict):
        token, text = "START_OBJECT", "{"
    elif isinstance(value, list):
        token, text = "START_ARRAY", "["
    else:
        token, text = "VALUE_STRING", str(value)
    target = _JACKSON_TYPES.get(field_meta.type, "string")
    return RequestError("JSON_PARSER_ERROR", f"Cannot deserialize instance of {target} from {token} value "
                        f"{text} or request may be missing a required field", locate=(field_meta.name, value))


def required_missing(names: list[str]) -> SaveError:
    return SaveError("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(names)}]",
                     tuple(names))


def string_too_long(meta: FieldMeta, value: str) -> SaveError:
    return SaveError("STRING_TOO_LONG",
                     f"{meta.label}: data value too large: {value} (max length={meta.length})", (meta.name,))


def bad_picklist(meta: FieldMeta, value: str) -> SaveError:
    return SaveError("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                     f"{meta.label}: bad value for restricted picklist field: {value}", (meta.name,))


def duplicate_value(field_name: str, other_id: str) -> SaveError:
    return SaveError("DUPLICATE_VALUE",
                     f"duplicate value found: {field_name} duplicates value on record with id: {other_id}")


def duplicate_in_request(value: Any) -> SaveError:
    """The same external id on several records of one upsert request (each of them fails)."""
    return SaveError("DUPLICATE_VALUE", f"Duplicate external id specified: {_text(value)}")


def several_matches(ext_field: FieldMeta, ids: list[str]) -> SaveError:
    return SaveError("DUPLICATE_EXTERNAL_ID", f"{ext_field.label}: more than one record found for external "
                     f"id field: [{', '.join(ids)}]")


def foreign_key_not_found(value: Any, ext_field: str, object_name: str) -> SaveError:
    return SaveError("INVALID_FIELD", f"Foreign key external ID: {_text(value)} not found for field "
                     f"{ext_field} in entity {object_name}")


def incorrect_id_type(meta: FieldMeta, value: str, *, malformed: bool) -> SaveError:
    code = "MALFORMED_ID" if malformed else "FIELD_INTEGRITY_EXCEPTION"
    return SaveError(code, f"{meta.label}: id value of incorrect type: {value}", (meta.name,))


def malformed_id(value: str) -> SaveError:
    return SaveError("MALFORMED_ID", f"malformed id {value}")


def invalid_cross_reference(meta: FieldMeta | None = None) -> SaveError:
    return SaveError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id",
                     (meta.name,) if meta else ())


def entity_is_deleted(meta: FieldMeta | None = None) -> SaveError:
    return SaveError("ENTITY_IS_DELETED", "entity is deleted", (meta.name,) if meta else ())


def inactive_owner(owner_id: str, object_name: str) -> SaveError:
    return SaveError("INACTIVE_OWNER_OR_USER",
                     f"operation performed with inactive user [{owner_id}] as owner of {object_name.lower()}")


def not_writable(names: list[str]) -> SaveError:
    return SaveError("INVALID_FIELD_FOR_INSERT_UPDATE",
                     f"Unable to create/update fields: {', '.join(names)}. Please check the security "
                     "settings of this field and verify that it is read/write for your profile or permission "
                     "set.",
                     tuple(names))


def id_on_insert() -> SaveError:
    return SaveError("INVALID_FIELD", "Record ID: cannot specify Id in an insert call", ("Id",))


def id_on_upsert() -> SaveError:
    return SaveError("INVALID_FIELD", "Record ID: cannot specify Id in an upsert call", ("Id",))


def missing_id() -> SaveError:
    return SaveError("MISSING_ARGUMENT", "Id not specified in an update call")


def missing_external_id(field_name: str) -> SaveError:
    return SaveError("MISSING_ARGUMENT", f"{field_name} not specified")


def wrong_record_type(meta: ObjectMeta, value: str) -> SaveError:
    """The record to update or delete is not a `meta` ("Contact ID: id value of incorrect type: 001…")."""
    label = meta.fields["Id"].label
    return SaveError("MALFORMED_ID", f"{label}: id value of incorrect type: {value}", ("Id",))


def no_such_record() -> SaveError:
    """An upsert with updateOnly, or by Id, that matches nothing (REST answers 404)."""
    return SaveError("NOT_FOUND", "The requested resource does not exist")


def not_insertable(object_name: str) -> SaveError:
    return SaveError("INVALID_TYPE_FOR_OPERATION", f"entity type cannot be inserted: {object_name}")


def not_deletable() -> SaveError:
    return SaveError("INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id")


ROLLED_BACK = SaveError("ALL_OR_NONE_OPERATION_ROLLED_BACK", "Record rolled back because not all records "
                        "were valid and the request was using AllOrNone header")


def _text(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return number_text(value)
    return str(value)


# -- step 1: parsing ------------------------------------------------------------------------------------

def coerce(meta: FieldMeta, value: Any) -> Any:
    """A JSON value in the field's storage form (see values.py), or JSON_PARSER_ERROR."""
    if value is None or value == "":
        return False if meta.type == "boolean" else None
    kind = meta.type
    if kind in STRING_TYPES or kind in ID_TYPES or kind == "base64":
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return number_text(value)
        if isinstance(value, str):
            return value
        raise cannot_deserialize(meta, value)
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise cannot_deserialize(meta, value)
    if kind in ("double", "currency", "percent", "int", "long"):
        number = _number(value)
        if number is None or (kind in ("int", "long") and not float(number).is_integer()):
            raise cannot_deserialize(meta, value)
        return int(number) if kind in ("int", "long") else float(number)
    if kind == "date":
        parsed = parse_date(value) if isinstance(value, str) else None
        if parsed is None:
            raise cannot_deserialize(meta, value)
        return parsed
    if kind == "datetime":
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is None:
            raise cannot_deserialize(meta, value)
        return parsed
    return value


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def parse(meta: ObjectMeta, body: Mapping[str, Any], org: OrgView) -> Changes:
    """The changes a JSON body asks for (see the module docstring), or RequestError."""
    changes = Changes()
    for key, value in body.items():
        if key == "attributes":
            continue
        target_field = meta.field(key)
        if target_field is not None:
            changes.values[target_field.name] = coerce(target_field, value)
            continue
        lookup = meta.relationship(key)
        if lookup is None:
            raise no_such_column(key, meta.name)
        if value is None:
            changes.values[lookup.name] = None
            continue
        if not isinstance(value, dict):
            raise RequestError("JSON_PARSER_ERROR", f"Cannot deserialize instance of "
                               f"{lookup.relationship_name} from VALUE_STRING value {value} or request may "
                               "be missing a required field",
                               locate=(key, value))
        changes.references.append(_reference(meta, lookup, value, org))
    for reference in changes.references:
        if reference.field.name in changes.values:
            raise RequestError("INVALID_FIELD", "Cannot specify both an external ID reference "
                               f"{reference.field.relationship_name} and a salesforce id, "
                               f"{reference.field.name}")
    return changes


def _reference(meta: ObjectMeta, lookup: FieldMeta, value: Mapping[str, Any], org: OrgView) -> Reference:
    attributes = value.get("attributes")
    type_name = attributes.get("type") if isinstance(attributes, dict) else None
    if type_name is None:
        if lookup.polymorphic:
            raise RequestError("INVALID_FIELD", f"The polymorphic foreign key {lookup.relationship_name} "
                               "needs \"attributes\": {\"type\": ...} to name the object of its external ID")
        type_name = lookup.reference_to[0]
    target = org.object_meta(str(type_name))
    if target is None or target.name.lower() not in (t.lower() for t in lookup.reference_to):
        raise RequestError("INVALID_FIELD", f"Invalid foreign key type {type_name} for field {lookup.name} "
                           f"on {meta.name}; it references {', '.join(lookup.reference_to)}")
    keys = [k for k in value if k != "attributes"]
    if len(keys) != 1:
        raise RequestError("INVALID_FIELD", f"The foreign key reference {lookup.relationship_name} must name "
                           f"exactly one external ID field of {target.name}, not {len(keys)}")
    ext_field = target.field(keys[0])
    if ext_field is None:
        raise no_such_column(keys[0], target.name)
    if not (ext_field.external_id or ext_field.id_lookup):
        raise not_an_external_id(ext_field.name, target.name)
    return Reference(lookup, target, ext_field, coerce(ext_field, value[keys[0]]))


# -- step 2: validation ---------------------------------------------------------------------------------

def validate(meta: ObjectMeta, changes: Changes, org: OrgView, *, current: Mapping[str, Any] | None,
             record_id: str | None = None) -> tuple[dict[str, Any], list[SaveError]]:
    """The values to write (references resolved, numbers rounded, ids in 18 characters) and the errors.

    `current` is the stored record for an update, None for an insert.
    """
    inserting = current is None
    values = dict(changes.values)
    access = _access_errors(meta, values, changes.references, org, inserting)
    if access:
        return values, access
    errors: list[SaveError] = []
    for reference in changes.references:
        resolved, error = _resolve(reference, org)
        if error is not None:
            errors.append(error)
        values[reference.field.name] = resolved
    if errors:
        return values, errors
    for name, value in list(values.items()):
        if value is None:
            continue
        checked, error = check_value(meta.fields[name], value, org)
        if error is not None:
            errors.append(error)
        values[name] = checked
    if errors:
        return values, errors
    merged = {**(current or {}), **values}
    missing = [f.name for f in meta.fields.values()
               if (f.required if inserting else f.name in values and not f.nillable and f.type != "boolean")
               and merged.get(f.name) is None]
    if missing:
        return values, [required_missing(missing)]
    owner = values.get("OwnerId")
    if owner is not None and not org.allow_inactive_owners and org.user_active(owner) is False:
        return values, [inactive_owner(owner, meta.name)]
    for name, value in values.items():
        field_meta = meta.fields[name]
        if value is None or not field_meta.unique:
            continue
        others = [i for i in org.find_by(meta.name, name, value) if i != record_id]
        if others:
            return values, [duplicate_value(name, others[0])]
    return values, []


def _access_errors(meta: ObjectMeta, values: Mapping[str, Any], references: list[Reference], org: OrgView,
                   inserting: bool) -> list[SaveError]:
    if inserting and "Id" in values:
        return [id_on_insert()]
    names = [*values, *(r.field.name for r in references)]
    refused = [n for n in names if n != "Id" and not (
        meta.fields[n].is_createable(org.set_audit_fields) if inserting else meta.fields[n].is_updateable())]
    return [not_writable(refused)] if refused else []


def _resolve(reference: Reference, org: OrgView) -> tuple[str | None, SaveError | None]:
    if reference.value is None:
        return None, None
    ext = reference.ext_field
    if ext.type == "id":
        found = to18(str(reference.value))
        located = org.locate(found) if found else None
        ids = [found] if found and located and not located[1] and located[0] == reference.target.name else []
    else:
        ids = org.find_by(reference.target.name, ext.name, reference.value)
    if not ids:
        return None, foreign_key_not_found(reference.value, ext.name, reference.target.name)
    if len(ids) > 1:
        return None, several_matches(ext, ids)
    return ids[0], None


def check_value(meta: FieldMeta, value: Any, org: OrgView) -> tuple[Any, SaveError | None]:
    """One non-null value against its field: lengths, e-mail, picklists, number ranges, lookups."""
    kind = meta.type
    if kind == "reference":
        return check_reference(meta, str(value), org)
    if kind == "email" and not is_email(value):
        return value, SaveError("INVALID_EMAIL_ADDRESS", f"{meta.label}: invalid email address: {value}",
                                (meta.name,))
    if kind in ("picklist", "multipicklist") and meta.restricted_picklist:
        allowed = meta.picklist_values()
        chosen = value.split(";") if kind == "multipicklist" else [value]
        for item in chosen:
            if item not in allowed:
                return value, bad_picklist(meta, item)
    if kind in STRING_TYPES and meta.length and len(value) > meta.length:
        return value, string_too_long(meta, value)
    if kind in ("double", "currency", "percent"):
        rounded = round(float(value), meta.scale)
        if meta.precision and integer_digits(rounded) > meta.precision - meta.scale:
            return value, _out_of_range(meta, value)
        return rounded, None
    if kind in ("int", "long") and meta.digits and integer_digits(value) > meta.digits:
        return value, _out_of_range(meta, value)
    return value, None


def _out_of_range(meta: FieldMeta, value: Any) -> SaveError:
    return SaveError("NUMBER_OUTSIDE_VALID_RANGE",
                     f"{meta.label}: value outside of valid range on numeric field: {_text(value)}",
                     (meta.name,))


def check_reference(meta: FieldMeta, value: str, org: OrgView) -> tuple[Any, SaveError | None]:
    """A lookup id: well formed, of one of the referenced objects, naming a live record."""
    id18 = to18(value)
    if id18 is None:
        return value, incorrect_id_type(meta, value, malformed=True)
    targets = [t for t in (org.object_meta(name) for name in meta.reference_to) if t is not None]
    if targets and id18[:3] not in {t.key_prefix for t in targets}:
        return value, incorrect_id_type(meta, value, malformed=False)
    located = org.locate(id18)
    if located is None:
        return id18, invalid_cross_reference(meta)
    object_name, deleted = located
    if targets and object_name not in {t.name for t in targets}:
        return id18, incorrect_id_type(meta, value, malformed=False)
    if deleted:
        return id18, entity_is_deleted(meta)
    return id18, None
