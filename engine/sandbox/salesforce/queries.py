"""Query resources and paging: `query`, `queryAll` and the `nextRecordsUrl` cursors.

    GET /query?q=SOQL          live records        GET /queryAll?q=SOQL     deleted ones too
    GET /query/<locator>-<n>   the page starting at record n (also under /queryAll)

A query runs once; its rendered records wait in a cursor for the later pages,
so paging sees one consistent result. Pages hold 2000 records, or the
`Sforce-Query-Options: batchSize=N` of the first request (200 to 2000; the
platform treats it as a hint, the sandbox clamps it into that range). Every
later page keeps the first request's size. `nextRecordsUrl` is a path,
`/services/data/vXX.X/query/01g…-2000`, as simple-salesforce's query_more
needs. The newest 200 cursors are kept; an unknown or expired locator answers
400 INVALID_QUERY_LOCATOR.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from engine.sandbox.salesforce.app import Call, Route
from engine.sandbox.salesforce.errors import RequestError
from engine.sandbox.salesforce.ids import make_id
from engine.sandbox.server import Response

DEFAULT_BATCH = 2000
MIN_BATCH = 200
MAX_CURSORS = 200
_BATCH = re.compile(r"batchSize\s*=\s*(\d+)", re.IGNORECASE)


@dataclass
class _Cursor:
    records: list[dict[str, Any]]
    batch: int


class Cursors:
    """Results waiting for their next pages, newest last."""

    def __init__(self) -> None:
        self._items: OrderedDict[str, _Cursor] = OrderedDict()
        self._lock = threading.Lock()
        self._counter = 0

    def add(self, records: list[dict[str, Any]], batch: int) -> str:
        with self._lock:
            self._counter += 1
            locator = make_id("01g", self._counter)[:15]
            self._items[locator] = _Cursor(records, batch)
            while len(self._items) > MAX_CURSORS:
                self._items.popitem(last=False)
            return locator

    def get(self, locator: str) -> _Cursor | None:
        with self._lock:
            return self._items.get(locator)


def _cursors(call: Call) -> Cursors:
    cursors: Cursors = call.app.state("queries.cursors", Cursors)
    return cursors


def routes() -> list[Route]:
    return [
        Route("GET", r"/query", lambda call: run(call, all_rows=False)),
        Route("GET", r"/queryAll", lambda call: run(call, all_rows=True)),
        Route("GET", r"/query/(?P<locator>[^/]+)", more),
        Route("GET", r"/queryAll/(?P<locator>[^/]+)", more),
    ]


def _batch_size(call: Call) -> int:
    match = _BATCH.search(call.request.headers.get("sforce-query-options") or "")
    if match is None:
        return DEFAULT_BATCH
    return max(MIN_BATCH, min(DEFAULT_BATCH, int(match[1])))


def _page(call: Call, records: list[dict[str, Any]], start: int, batch: int, locator: str | None,
          total: int | None = None) -> Response:
    end = start + batch
    body: dict[str, Any] = {"totalSize": len(records) if total is None else total,
                            "done": end >= len(records)}
    if end < len(records):
        body["nextRecordsUrl"] = f"/services/data/v{call.version}/query/{locator}-{end}"
    body["records"] = records[start:end]
    return Response.json(200, body)


def run(call: Call, *, all_rows: bool) -> Response:
    text = call.param("q")
    if text is None:
        raise RequestError("MALFORMED_QUERY", "A query string has to be specified: pass the SOQL text as ?q=")
    result = call.org.query(text, all_rows=all_rows, version=call.version)
    batch = _batch_size(call)
    if len(result.records) <= batch:
        return _page(call, result.records, 0, batch, None, result.total_size)
    locator = _cursors(call).add(result.records, batch)
    return _page(call, result.records, 0, batch, locator)


def more(call: Call) -> Response:
    locator, _, offset = call.params["locator"].rpartition("-")
    cursor = _cursors(call).get(locator) if offset.isdigit() else None
    if cursor is None or int(offset) > len(cursor.records):
        raise RequestError("INVALID_QUERY_LOCATOR", "invalid query locator")
    return _page(call, cursor.records, int(offset), cursor.batch, locator)
