"""Checking a patient body for `POST /patients` and `PATCH /patients/{id}`.

The body is the patient's fields as flat JSON, relations as `<relation>_id`
(ids as strings, as Cliniko accepts them). Fields the API computes or
manages (`id`, timestamps, `label`, `archived_at`...) and unknown keys are
ignored, as Rails' strong parameters do. Problems answer 422
`{"message":"Validation Failed","errors":{"first_name":"can’t be blank"}}`
with one string per field (Cliniko's shape, not Rails' arrays):

- first_name and last_name must not be blank (on create, and after a PATCH);
- strings are text of at most 255 characters ("is too long (maximum is 255
  characters)"), booleans are booleans, dates are YYYY-MM-DD, arrays and
  objects have those JSON types ("is invalid");
- a relation id must name an existing record ("<relation>": "must exist").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from engine.sandbox.cliniko.errors import bad_request, validation_failed
from engine.sandbox.cliniko.schema import ResourceSchema
from engine.sandbox.cliniko.store import ClinikoStore
from engine.sandbox.server import Request

STRING_MAX = 255
BLANK = "can’t be blank"
REQUIRED = ("first_name", "last_name")
READ_ONLY = frozenset({"id", "created_at", "updated_at", "archived_at", "deleted_at", "merged_at", "label"})
_ID = re.compile(r"^\d+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, or 400."""
    try:
        body = request.json()
    except (ValueError, UnicodeDecodeError):
        raise bad_request("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    return body


def _problem(value: Any, type_: str) -> str | None:
    if value is None:
        return None
    if type_ in ("string", "text"):
        if not isinstance(value, str):
            return "is invalid"
        return f"is too long (maximum is {STRING_MAX} characters)" if type_ == "string" and \
            len(value) > STRING_MAX else None
    if type_ == "boolean":
        return None if isinstance(value, bool) else "is invalid"
    if type_ == "date":
        if value == "":
            return None
        if not isinstance(value, str) or not _DATE.match(value):
            return "is not a valid date"
        try:
            date.fromisoformat(value)
        except ValueError:
            return "is not a valid date"
        return None
    if type_ == "array":
        return None if isinstance(value, list) else "is invalid"
    if type_ == "object":
        return None if isinstance(value, dict) else "is invalid"
    return None


def patient_changes(body: Mapping[str, Any], schema: ResourceSchema, store: ClinikoStore,
                    current: Mapping[str, Any] | None) -> dict[str, Any]:
    """The storage changes a create (`current` None) or PATCH asks for, or the 422 answer."""
    writable = {f.name: f.type for f in schema.output if f.kind == "value" and f.name not in READ_ONLY}
    relations = {r.id_field: r for r in schema.relations.values()}
    changes: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, value in body.items():
        if name in writable:
            problem = _problem(value, writable[name])
            if problem:
                errors[name] = problem
            else:
                changes[name] = value
        elif name in relations:
            relation = relations[name]
            if value in (None, ""):
                changes[name] = None
            elif not _ID.match(str(value)) or not any(store.get(t, str(value)) for t in relation.targets):
                errors[relation.name] = "must exist"
            else:
                changes[name] = str(int(value))
    merged = {**(current or {}), **changes}
    for name in REQUIRED:
        value = merged.get(name)
        if name not in errors and (value is None or (isinstance(value, str) and not value.strip())):
            errors[name] = BLANK
    if errors:
        raise validation_failed(errors)
    if any(name in changes for name in REQUIRED):
        changes["label"] = f"{merged['first_name']} {merged['last_name']}"
    return changes
