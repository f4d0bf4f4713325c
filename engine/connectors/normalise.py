"""Raw source record → the normalised record specs are written against.

Three steps, in this order:

1. Link ids. Every relation arrives as a link object
   `"patient": {"links": {"self": "https://…/v1/patients/42"}}`; the plain id is added
   beside it as `"patient_id": "42"`. The id is the last path segment of the link,
   taken only when the URL has no query and that segment is all digits (Cliniko ids
   are 64-bit integers), so list links (`…/patients/1/invoices`,
   `…/practitioners?q%5B%5D=…`) and endpoint links (`…/conflicts`, `…/content`) get no
   `_id`. A null relation gets nothing here and `x_id` ends up null via completion.
   An `x_id` the record already carries with a value is kept (the source said it).
   The record's own `links` is not a relation. A `content` link (patient attachments)
   is also copied to `content_url`, the download address.
2. Ids stay strings. `id`, `*_id` and catalogued id fields that arrive as JSON integers
   become decimal strings (exact: JSON integers are parsed as Python ints), and so do
   the elements of `*_ids` lists. A floating-point id may already have lost digits, so
   it is a protocol error rather than a guess.
3. Completion against the catalog (engine.extract.normalise.complete_record): every
   catalogued field is present, absent → None.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any
from urllib.parse import urlsplit

from engine.connectors.errors import SourceProtocolError
from engine.extract.normalise import complete_record


def link_url(value: object) -> str | None:
    """The `self` URL of a link object `{"links": {"self": url}}`, else None."""
    if isinstance(value, dict):
        links = value.get("links")
        if isinstance(links, dict):
            url = links.get("self")
            if isinstance(url, str) and url:
                return url
    return None


def link_target_id(url: str) -> str | None:
    """The id a to-one link points at (last path segment), or None for list/query URLs."""
    parts = urlsplit(url)
    if parts.query:
        return None
    segment = parts.path.rstrip("/").rsplit("/", 1)[-1]
    return segment if segment.isascii() and segment.isdigit() else None


def add_link_ids(record: dict[str, Any]) -> dict[str, Any]:
    """A copy of `record` with `<relation>_id` beside every to-one link object."""
    result = dict(record)
    for name, value in record.items():
        if name == "links":
            continue
        url = link_url(value)
        if url is None:
            continue
        if name == "content" and result.get("content_url") is None:
            result["content_url"] = url
        target = link_target_id(url)
        if target is not None and result.get(f"{name}_id") is None:
            result[f"{name}_id"] = target
    return result


def _id_text(value: Any, name: str, where: str) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        raise SourceProtocolError(f"{where}: {name} is the number {value!r}; ids must be strings or "
                                  "integers (a floating-point id may have lost digits)")
    return value


def stringify_ids(record: dict[str, Any], id_fields: Collection[str] = (), *,
                  where: str = "") -> dict[str, Any]:
    """A copy of `record` whose ids (and id lists) are strings."""
    result = dict(record)
    for name, value in record.items():
        if name == "id" or name.endswith("_id") or name in id_fields:
            result[name] = _id_text(value, name, where or "record")
        elif name.endswith("_ids") and isinstance(value, list):
            result[name] = [_id_text(v, name, where or "record") for v in value]
    return result


def normalise_record(record: dict[str, Any], fields: Iterable[str], *, id_fields: Collection[str] = (),
                     where: str = "") -> dict[str, Any]:
    """Link ids, string ids, then every field of `fields` present (absent → None)."""
    return complete_record(stringify_ids(add_link_ids(record), id_fields, where=where), fields)
