"""How a Cliniko list is asked for, and how one page of the answer is read.

Request: `GET /<resource>?per_page=100&sort=<sort>` plus filters, each a repeated
`q[]` parameter (AND):

- `q[]=updated_at:>=<since, UTC …Z>` when `since` is given (`updated_at` is set on
  create too, so new and changed rows both match; `>=` because timestamps have
  whole seconds — the reader dedupes by id);
- `q[]=archived_at:*` when archived rows are wanted and the resource has `archived_at`
  (lists hide archived rows unless the filter names that column);
- `q[]=cancelled_at:*` whenever the resource has `cancelled_at` (individual
  appointments, attendees): cancelled bookings are history to migrate, not archive.

Only columns the catalog lists for the resource are filtered on, because Cliniko
answers 400 "This column is not searchable." for others.

Answer: `{"<resource>": [...], "total_entries": N, "links": {"self", "next"?}}`; the
array key is the last segment of the resource path; `next` is absent on the last page.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from engine.connectors.errors import SourceProtocolError

PER_PAGE = 100  # sources/cliniko/limits.yaml per_page_max
DEFAULT_SORT = "created_at,id"


def utc_text(moment: datetime) -> str:
    """`moment` as Cliniko's UTC form `YYYY-MM-DDTHH:MM:SSZ` (naive values are taken as UTC)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def list_params(fields: Collection[str], *, since: datetime | None, include_archived: bool,
                sort: str = DEFAULT_SORT) -> list[tuple[str, str]]:
    params = [("per_page", str(PER_PAGE)), ("sort", sort)]
    if since is not None:
        params.append(("q[]", f"updated_at:>={utc_text(since)}"))
    if include_archived and "archived_at" in fields:
        params.append(("q[]", "archived_at:*"))
    if "cancelled_at" in fields:
        params.append(("q[]", "cancelled_at:*"))
    return params


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    total: int | None
    next_url: str | None


def parse_page(payload: object, array_key: str, url: str) -> Page:
    """The rows, total and next link of one list response, or SourceProtocolError naming the URL."""
    if not isinstance(payload, dict):
        raise SourceProtocolError(f"GET {url}: expected a JSON object with a {array_key!r} array, "
                                  f"got {type(payload).__name__}")
    rows = payload.get(array_key)
    if not isinstance(rows, list):
        keys = ", ".join(sorted(map(str, payload))) or "none"
        raise SourceProtocolError(f"GET {url}: no {array_key!r} array in the response (keys: {keys})")
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            raise SourceProtocolError(f"GET {url}: {array_key}[{index}] is {type(row).__name__}, "
                                      "not a record object")
    total = payload.get("total_entries")
    try:
        total_count = int(total) if isinstance(total, int | str) and not isinstance(total, bool) else None
    except ValueError:
        total_count = None
    links = payload.get("links")
    next_url = links.get("next") if isinstance(links, dict) else None
    if next_url is not None and not (isinstance(next_url, str) and next_url):
        raise SourceProtocolError(f"GET {url}: links.next is {next_url!r}, not a URL")
    return Page(rows=rows, total=total_count, next_url=next_url or None)


def follow(next_url: str, current: str, api_root: httpx.URL) -> str:
    """The absolute next-page URL; refuses links that leave the API's origin (the key would follow)."""
    resolved = httpx.URL(current).join(next_url)
    if (resolved.scheme, resolved.host, resolved.port) != (api_root.scheme, api_root.host, api_root.port):
        raise SourceProtocolError(f"GET {current}: links.next points to another site ({resolved.host}); "
                                  "refusing to send the API key there")
    return str(resolved)
