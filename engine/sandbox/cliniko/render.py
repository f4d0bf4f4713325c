"""Storage form → the JSON Cliniko sends.

- `id` and other id-typed values as strings ("836447129235883061"), integers
  as numbers, decimals as strings ("50.0"), booleans, dates and `...Z`
  timestamps as stored; a catalog field missing from storage is null.
- every to-one relation `<x>_id` becomes the link object
  `"x": {"links": {"self": "<api>/<resource>/<id>"}}` (null without an id); the
  `_id` key itself is not sent, as the real API has none.
- has-many and action links (`invoices`, `attendees`, `conflicts`) point at
  `<record url>/<field>`; `repeats` is null unless the record has a
  repeat rule (as in Cliniko's examples).
- attachments get `"content": {"links": {"self": "<record url>/content"}}`.
- each record ends with `"links": {"self": "<record url>"}`.
Keys follow catalog order. `api` is the absolute base, e.g.
`https://127.0.0.1:8443/shards/au1/v1`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.sandbox.cliniko.schema import ResourceSchema


def link(url: str) -> dict[str, Any]:
    return {"links": {"self": url}}


def _blank(value: Any) -> bool:
    return value is None or value == ""


def _value(value: Any, type_: str) -> Any:
    if _blank(value):
        return value
    if type_ == "id":
        return str(int(value))
    if type_ == "integer" and isinstance(value, str):
        return int(value)
    if type_ == "decimal" and not isinstance(value, str):
        return str(value)
    return value


def record_url(api: str, resource: str, id_: Any) -> str:
    return f"{api}/{resource}/{int(id_)}"


def render(record: Mapping[str, Any], schema: ResourceSchema, api: str) -> dict[str, Any]:
    url = record_url(api, schema.name, record["id"])
    out: dict[str, Any] = {}
    for field in schema.output:
        name = field.name
        if field.kind == "value":
            out[name] = _value(record.get(name), field.type)
        elif field.kind == "relation":
            relation = schema.relations[name]
            target = record.get(relation.id_field)
            out[name] = None if _blank(target) else link(record_url(api, relation.path, target))
        elif field.kind == "list_link":
            hidden = name == "repeats" and not record.get("repeat_rule")
            out[name] = None if hidden else link(f"{url}/{name}")
        elif field.kind == "content_link":
            out[name] = link(f"{url}/content")
        else:
            out[name] = {"self": url}
    return out
