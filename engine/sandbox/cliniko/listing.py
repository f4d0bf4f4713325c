"""Paging, sorting and the list envelope.

    {"<resource>": [...], "total_entries": N,
     "links": {"self": ..., "previous": ..., "next": ...}}

- `per_page`: default 50; an integer from 1 to 100, anything else answers 400
  (the current OpenAPI types it `[1 .. 100]`; whether Cliniko clamps or
  refuses is unconfirmed: refusing surfaces a client bug here, not in production).
- `page`: 1-based, default 1; not a positive integer answers 400. A page past
  the end is an empty list with the true total, a `previous` link and no `next`.
- Links are absolute (`request.base_url` + the request path) and keep every
  query parameter of the request (each `q[]`, `sort`, `per_page`, ...), with
  `page` first: `...?page=2&per_page=100&q%5B%5D=updated_at%3A%3E%3D...`.
  `next` only when a later page has records, `previous` only after page 1.
- `sort=a,b:desc` orders by catalog fields (typed: ids and numbers
  numerically), each ascending unless `:desc`; the deprecated `order=desc`
  flips the columns that carry no direction. Default `created_at` ascending.
  `id` is always the last key (in the direction of the last sort column), so
  records with equal sort values keep one order from page to page. Nulls sort
  last ascending and first descending, as PostgreSQL (Cliniko's database)
  does; `id`, `created_at` and `updated_at` are always set, and are sorted
  without that clause so the store's indexes serve the order. Unknown sort
  columns answer 400.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from engine.sandbox.cliniko.columns import field_sql
from engine.sandbox.cliniko.errors import bad_request
from engine.sandbox.cliniko.schema import ResourceSchema
from engine.sandbox.server import Request

PER_PAGE_DEFAULT = 50
PER_PAGE_MAX = 100
ALWAYS_SET = frozenset({"id", "created_at", "updated_at"})

_POSITIVE = re.compile(r"^\d+$")


@dataclass(frozen=True)
class Page:
    number: int
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


def _positive(request: Request, name: str, default: int, maximum: int | None) -> int:
    text = request.param(name)
    if text is None or text == "":
        return default
    value = int(text) if _POSITIVE.match(text.strip()) else 0
    if value < 1 or (maximum is not None and value > maximum):
        bound = f"from 1 to {maximum}" if maximum else "of 1 or more"
        raise bad_request(f"{name} must be an integer {bound} (got '{text}').")
    return value


def parse_page(request: Request) -> Page:
    return Page(_positive(request, "page", 1, None), _positive(request, "per_page", PER_PAGE_DEFAULT,
                                                                PER_PAGE_MAX))


def _direction(text: str, where: str) -> str:
    lowered = text.strip().lower()
    if lowered not in ("asc", "desc"):
        raise bad_request(f"Invalid {where} direction '{text}': use asc or desc.")
    return lowered


def order_by(request: Request, schema: ResourceSchema) -> str:
    """The SQL ORDER BY list for the request's `sort` (and deprecated `order`)."""
    order = request.param("order")
    default_direction = _direction(order, "order") if order else "asc"
    sort = request.param("sort") or "created_at"
    keys: list[str] = []
    names: set[str] = set()
    chosen = default_direction
    for token in sort.split(","):
        name, colon, direction = token.strip().partition(":")
        if name not in schema.searchable or schema.searchable[name] == "array":
            raise bad_request(f"Invalid sort column '{name}'.")
        chosen = _direction(direction, "sort") if colon else default_direction
        nulls = "" if name in ALWAYS_SET else " NULLS LAST" if chosen == "asc" else " NULLS FIRST"
        keys.append(f"{field_sql(name, schema.searchable[name])} {chosen.upper()}{nulls}")
        names.add(name)
    if "id" not in names:
        keys.append(f"id {chosen.upper()}")
    return ", ".join(keys)


def _page_url(request: Request, number: int) -> str:
    items: list[tuple[str, str]] = [("page", str(number))]
    items += [(key, value) for key, values in request.query.items() if key != "page" for value in values]
    return f"{request.base_url}{request.path}?{urlencode(items, quote_via=quote)}"


def envelope(key: str, records: list[dict[str, Any]], total: int, page: Page,
             request: Request) -> dict[str, Any]:
    links = {"self": _page_url(request, page.number)}
    if page.number > 1:
        links["previous"] = _page_url(request, page.number - 1)
    if page.offset + page.size < total:
        links["next"] = _page_url(request, page.number + 1)
    return {key: records, "total_entries": total, "links": links}
