"""A stored record, how the API shows one, how its key values are indexed, and triggers.

Records are stored in the API's JSON form (values.py), keyed by canonical field
names, so rendering only adds `attributes` and picks fields: GET
/sobjects/T/{id} sends every field the API user can see (null when unset), in
describe order; `?fields=` narrows it to those (Id always comes along).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.sandbox.salesforce.errors import SaveError
from engine.sandbox.salesforce.metadata import FieldMeta, ObjectMeta
from engine.sandbox.salesforce.values import NUMBER_TYPES, number_text

if TYPE_CHECKING:
    from engine.sandbox.salesforce.org import Org


@dataclass(frozen=True)
class StoredRecord:
    id: str
    object: str
    fields: dict[str, Any]
    deleted: bool = False


def sobject_url(version: str, object_name: str, record_id: str) -> str:
    return f"/services/data/v{version}/sobjects/{object_name}/{record_id}"


def attributes(version: str, object_name: str, record_id: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": object_name}
    if record_id is not None:
        out["url"] = sobject_url(version, object_name, record_id)
    return out


def render(record: StoredRecord, meta: ObjectMeta, version: str,
           fields: Iterable[str] | None = None) -> dict[str, Any]:
    """The record as GET /sobjects/T/{id} answers: attributes, then all visible fields (or `fields`)."""
    out: dict[str, Any] = {"attributes": attributes(version, meta.name, record.id)}
    names = [f.name for f in meta.visible_fields()] if fields is None else ["Id", *fields]
    for name in names:
        if name not in out:
            out[name] = record.fields.get(name, False if meta.fields[name].type == "boolean" else None)
    return out


BeforeSave = Callable[["Org", ObjectMeta, dict[str, Any], StoredRecord | None], list[SaveError]]
AfterSave = Callable[["Org", StoredRecord, bool], None]
AfterDelete = Callable[["Org", StoredRecord], None]


@dataclass(frozen=True)
class Trigger:
    """Object-specific behaviour (e.g. a ContentVersion insert creating its ContentDocument).

    `before_save(org, meta, record, current)` gets the whole record about to be written (it may
    change it) and the stored one (None on insert); SaveErrors it returns fail the record.
    `after_save(org, record, created)` and `after_delete(org, record)` run after the write. All run
    inside the write's transaction, so an allOrNone rollback undoes what they did too.
    """

    before_save: BeforeSave | None = None
    after_save: AfterSave | None = None
    after_delete: AfterDelete | None = None


def key_value(field: FieldMeta, value: Any) -> str:
    """How a key field's value is indexed: text without case unless case-sensitive, numbers canonical."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if field.type in NUMBER_TYPES:
        try:
            return number_text(float(value))
        except (TypeError, ValueError):
            return str(value)
    text = str(value)
    return text if field.case_sensitive or field.type in ("id", "reference") else text.casefold()


def auto_number(display_format: str, counter: int) -> str:
    """An auto-number Name: `P-{0000}` and 7 give `P-0007`."""
    start, end = display_format.find("{"), display_format.find("}")
    if start == -1 or end < start:
        return f"{display_format}{counter}"
    width = end - start - 1
    return f"{display_format[:start]}{counter:0{width}d}{display_format[end + 1:]}"
