"""The org's objects: the catalog's standard ones plus every customisation, replayed in order.

Customisations are changes recorded in the org's database (`customizations`
table, one JSON row each) and applied over a fresh copy of the standard
objects whenever the org opens:

    object  a custom object (label, plural, key prefix, Name label, auto-number format)
    field   a custom field definition (metadata.field_to_json), added or replacing one
    access  field-level security of the API user on one field (readable, editable)

So a deploy survives restarts, and re-deploying the same thing is harmless.
`Schema` is not thread-safe by itself; the Org calls it under its lock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any

from engine.sandbox.salesforce.ids import next_custom_prefix
from engine.sandbox.salesforce.metadata import (
    FieldMeta,
    ObjectMeta,
    custom_object_fields,
    field_from_json,
    field_to_json,
    standard_objects,
    with_system_fields,
)

Recorder = Callable[[str, str, dict[str, Any]], None]


class Schema:
    def __init__(self, changes: Iterable[tuple[str, str, dict[str, Any]]], record: Recorder) -> None:
        """`changes`: the recorded customisations (kind, object, body) in order; `record` stores new ones."""
        self._record = record
        self._objects = standard_objects()
        self._lower: dict[str, str] = {}
        for kind, object_name, body in changes:
            self._apply(kind, object_name, body)
        self._reindex()

    def _reindex(self) -> None:
        self._lower = {name.lower(): name for name in self._objects}

    def objects(self) -> list[ObjectMeta]:
        return list(self._objects.values())

    def object_meta(self, name: str) -> ObjectMeta | None:
        canonical = self._lower.get(name.lower())
        return self._objects[canonical] if canonical else None

    def _change(self, kind: str, object_name: str, body: dict[str, Any]) -> None:
        self._record(kind, object_name, body)
        self._apply(kind, object_name, body)
        self._reindex()

    def _apply(self, kind: str, object_name: str, body: dict[str, Any]) -> None:
        if kind == "object":
            existing = self._objects.get(object_name)
            if existing is not None:
                existing.label, existing.label_plural = body["label"], body["label_plural"]
                return
            base = custom_object_fields()
            if body.get("name_field_label"):
                base["Name"] = replace(base["Name"], label=body["name_field_label"])
            if body.get("name_format"):
                base["Name"] = replace(base["Name"], createable=False, updateable=False, auto_number=True)
            fields = with_system_fields(object_name, base)
            fields["Id"] = replace(fields["Id"], label="Record ID")
            self._objects[object_name] = ObjectMeta(object_name, body["label"], body["label_plural"],
                                                    body["key_prefix"], custom=True, fields=fields,
                                                    name_format=body.get("name_format"))
        elif kind == "field":
            self._objects[object_name].put_field(field_from_json(body))
        elif kind == "access":
            meta = self._objects[object_name]
            current = meta.fields[body["field"]]
            meta.put_field(replace(current, accessible=body["readable"] or not current.nillable,
                                   editable=body["editable"] or not current.nillable))

    def add_custom_object(self, name: str, *, label: str, label_plural: str | None = None,
                          name_field_label: str = "Name", name_format: str | None = None,
                          fields: Sequence[FieldMeta] = ()) -> ObjectMeta:
        if not name.endswith("__c") or len(name) <= 3:
            raise ValueError(f"a custom object's API name ends in __c: {name!r}")
        existing = self.object_meta(name)
        prefix = existing.key_prefix if existing else next_custom_prefix(m.key_prefix for m in self.objects())
        canonical = existing.name if existing else name
        self._change("object", canonical, {
            "label": label, "label_plural": label_plural or label + "s", "key_prefix": prefix,
            "name_field_label": name_field_label, "name_format": name_format})
        for meta in fields:
            self.add_custom_field(canonical, meta)
        return self._objects[canonical]

    def add_custom_field(self, object_name: str, field: FieldMeta) -> FieldMeta:
        meta = self._known(object_name)
        if not field.name.endswith("__c"):
            raise ValueError(f"a custom field's API name ends in __c: {field.name!r}")
        for target in field.reference_to:
            if self.object_meta(target) is None:
                raise ValueError(f"{meta.name}.{field.name} references unknown object {target}")
        self._change("field", meta.name, field_to_json(replace(field, custom=True)))
        found = meta.field(field.name, hidden=True)
        assert found is not None
        return found

    def set_field_access(self, object_name: str, field_name: str, *, readable: bool, editable: bool) -> None:
        meta = self._known(object_name)
        found = meta.field(field_name, hidden=True)
        if found is None:
            raise ValueError(f"{meta.name} has no field {field_name}")
        self._change("access", meta.name, {"field": found.name, "readable": readable,
                                           "editable": editable and readable})

    def _known(self, object_name: str) -> ObjectMeta:
        meta = self.object_meta(object_name)
        if meta is None:
            raise ValueError(f"the org has no object {object_name}")
        return meta
