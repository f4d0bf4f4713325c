"""Rows through the Web API: create, retrieve, update, upsert, delete, query, WhoAmI (ref §2).

    POST   /contacts                          204 + OData-EntityId (201 + the row with return=representation)
    GET    /contacts(<id>) | (key='v')        the row ($select), 404 0x80040217 when missing
    PATCH  /contacts(<id>) | (key='v')        upsert: If-Match: * update only, If-None-Match: * create only;
                                              204 + OData-EntityId in the form addressed, or 201/200 + row
    DELETE /contacts(<id>)                    204
    GET    /contacts?$select&$filter&$orderby&$top&$count   pages of Prefer: odata.maxpagesize (≤ 5000)
                                              with @odata.nextLink carrying $skiptoken; no $skip
    GET    /annotations(<id>)/documentbody[/$value]          one column
    GET    /WhoAmI

Rows come back with `@odata.etag` (W/"<versionnumber>") and their primary key
even when $select leaves them out; lookups as `_x_value`, and with
`Prefer: odata.include-annotations` their table as
`_x_value@Microsoft.Dynamics.CRM.lookuplogicalname`.
"""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import quote

from engine.sandbox.dataverse import seed
from engine.sandbox.dataverse.app import Call, Route, json_response, no_content, require_int
from engine.sandbox.dataverse.errors import (
    DataverseError,
    does_not_exist,
    invalid_argument,
    key_row_missing,
    unknown_property,
)
from engine.sandbox.dataverse.model import Table
from engine.sandbox.dataverse.odata import parse_filter, parse_key, parse_orderby
from engine.sandbox.dataverse.rules import LOOKUP_TABLE
from engine.sandbox.dataverse.store import Row, etag
from engine.sandbox.server import Response

MAX_PAGE = 5000
_SET = r"(?P<set>[A-Za-z_]\w*)"
_KEY = r"\((?P<key>[^/]*)\)"
_COOKIE = re.compile(r'pagenumber="(?P<page>\d+)"[^>]*offset="(?P<offset>\d+)"')
_SAFE = "$'(),=:"  # left as is in a nextLink, as the platform does
_UNSUPPORTED = ("$skip", "$expand", "$apply", "fetchXml", "savedQuery", "userQuery", "$search")


def routes() -> list[Route]:
    return [
        Route("GET", r"/WhoAmI(?:\(\))?", who_am_i),
        Route("GET", rf"/{_SET}{_KEY}/(?P<prop>\w+)(?P<raw>/\$value)?", get_property),
        Route("GET", rf"/{_SET}{_KEY}", get_one),
        Route("PATCH", rf"/{_SET}{_KEY}", patch),
        Route("DELETE", rf"/{_SET}{_KEY}", delete),
        Route("GET", rf"/{_SET}", query),
        Route("POST", rf"/{_SET}", create),
    ]


def who_am_i(call: Call) -> Response:
    context = f"{call.api_root}/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse"
    return json_response(200, {"@odata.context": context,
                               "BusinessUnitId": seed.BUSINESS_UNIT_ID, "UserId": call.user_id,
                               "OrganizationId": seed.ORGANIZATION_ID}, {"x-ms-dop-hint": "4"})


# -- writes -----------------------------------------------------------------------------------------

def create(call: Call) -> Response:
    table = call.env.schema.by_set(call.params["set"])
    row = call.env.create(table.logical_name, call.json_body(), caller=call.user_id, refs=call.refs)
    row_id = row[table.primary_id]
    call.result = (table.logical_name, row_id)
    location = f"{call.api_root}/{table.entity_set}({row_id})"
    if call.prefer().get("return") == "representation":
        return json_response(201, _entity(call, table, row), {"Preference-Applied": "return=representation",
                                                               "Location": location})
    return no_content({"OData-EntityId": location, "Location": location})


def patch(call: Call) -> Response:
    table = call.env.schema.by_set(call.params["set"])
    key = _key(call, table)
    if_match = call.headers.get("if-match")
    if_none_match = call.headers.get("if-none-match")
    if if_none_match not in (None, "*", "null"):
        raise invalid_argument(f"If-None-Match on a PATCH takes only '*' (create only), "
                               f"not '{if_none_match}'.")
    create_only = "*" if if_none_match == "*" else None
    row, created = call.env.upsert(table.logical_name, key, call.json_body(), caller=call.user_id,
                                   refs=call.refs, if_match=if_match, if_none_match=create_only)
    call.result = (table.logical_name, row[table.primary_id])
    location = f"{call.api_root}/{table.entity_set}({call.params['key']})"
    if call.prefer().get("return") == "representation":
        return json_response(201 if created else 200, _entity(call, table, row),
                             {"Preference-Applied": "return=representation"})
    return no_content({"OData-EntityId": location})


def delete(call: Call) -> Response:
    table = call.env.schema.by_set(call.params["set"])
    call.env.delete(table.logical_name, _existing(call, table))
    return no_content()


# -- reads ------------------------------------------------------------------------------------------

def get_one(call: Call) -> Response:
    table = call.env.schema.by_set(call.params["set"])
    row = call.env.get(table.logical_name, _existing(call, table))
    if call.headers.get("if-none-match") == etag(row):
        return Response(304, b"", {"ETag": etag(row)})
    return json_response(200, _entity(call, table, row), {"ETag": etag(row)})


def get_property(call: Call) -> Response:
    table = call.env.schema.by_set(call.params["set"])
    row = call.env.get(table.logical_name, _existing(call, table))
    name = call.params["prop"]
    attribute = table.by_value_name().get(name)
    if attribute is None:
        raise unknown_property(name, table.logical_name)
    value = row.get(name)
    if call.params.get("raw"):
        if value is None:
            return no_content()
        return Response(200, str(value).encode("utf-8"), {"Content-Type": "text/plain"})
    if value is None:
        return no_content()
    return json_response(200, {"@odata.context": f"{call.api_root}/$metadata#{table.entity_set}"
                                                 f"({row[table.primary_id]})/{name}", "value": value})


def query(call: Call) -> Response:
    table = call.env.schema.by_set(call.params["set"])
    for name in _UNSUPPORTED:
        if call.param(name) is not None:
            why = "by this sandbox"
            if name == "$skip":
                why = "by the Web API: page with Prefer: odata.maxpagesize and @odata.nextLink"
            raise DataverseError(400, "0x80060888", f"The query option {name} is not supported {why}.")
    check = _checker(table)
    select = _select(call, table)
    rows = call.env.rows(table.logical_name)
    filter_text, order_text = call.param("$filter"), call.param("$orderby")
    if filter_text is not None:
        predicate = parse_filter(filter_text, check)
        rows = [r for r in rows if predicate(r)]
    order = parse_orderby(order_text, check) if order_text else []
    rows.sort(key=lambda r: str(r.get(table.primary_id)))
    for name, descending in reversed(order):
        rows.sort(key=lambda r, n=name: _sort_key(r.get(n)), reverse=descending)  # type: ignore[misc]
    top = require_int(call, "$top")
    if top is not None:
        rows = rows[:top]
    preferences = call.prefer()
    size = MAX_PAGE
    headers: dict[str, str] = {}
    if (wanted := preferences.get("odata.maxpagesize")) is not None:
        try:
            size = max(1, min(MAX_PAGE, int(wanted)))
        except ValueError:
            raise invalid_argument(f"odata.maxpagesize must be a whole number, not '{wanted}'.") from None
        headers["Preference-Applied"] = f"odata.maxpagesize={size}"
    page, offset = _cookie(call.param("$skiptoken"))
    chunk = rows[offset:offset + size]
    context = f"{call.api_root}/$metadata#{table.entity_set}"
    if call.param("$select"):
        context += f"({call.param('$select')})"
    out: dict[str, Any] = {"@odata.context": context}
    if (call.param("$count") or "").lower() == "true":
        out["@odata.count"] = min(len(rows), MAX_PAGE)
    out["value"] = [_render(call, table, r, select) for r in chunk]
    if offset + size < len(rows):
        cookie = (f'<cookie pagenumber="{page + 1}" pagingcookie="" istracking="False" '
                  f'offset="{offset + size}" />')
        params = [(k, v) for k, values in call.query.items() if k != "$skiptoken" for v in values]
        params.append(("$skiptoken", cookie))
        query_text = "&".join(f"{quote(k, safe='$')}={quote(v, safe=_SAFE)}" for k, v in params)
        out["@odata.nextLink"] = f"{call.api_root}/{table.entity_set}?{query_text}"
    return json_response(200, out, headers)


# -- helpers ----------------------------------------------------------------------------------------

def _key(call: Call, table: Table) -> dict[str, Any]:
    key = call.params["key"]
    if call.refs is not None and key.startswith("$"):
        return {"": call.refs[key][1]} if key in call.refs else parse_key(key)
    return parse_key(key)


def _existing(call: Call, table: Table) -> str:
    key = _key(call, table)
    row_id = call.env.find(table.logical_name, key)
    if row_id is None:
        if "" in key:
            raise does_not_exist(table.logical_name, key[""])
        raise key_row_missing(table.logical_name, call.params["key"])
    return row_id


def _checker(table: Table) -> Any:
    known = set(table.by_value_name())

    def check(name: str) -> None:
        if name not in known:
            raise unknown_property(name, table.logical_name)
    return check


def _select(call: Call, table: Table) -> list[str] | None:
    text = call.param("$select")
    if not text:
        return None
    check = _checker(table)
    names = [n.strip() for n in text.split(",") if n.strip()]
    for name in names:
        check(name)
    return names


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, str):
        return (1, value.lower())
    return (2, value) if isinstance(value, (int, float)) else (1, str(value))


def _cookie(token: str | None) -> tuple[int, int]:
    if token is None:
        return 1, 0
    match = _COOKIE.search(html.unescape(token))
    if match is None:
        raise invalid_argument("The $skiptoken is not a paging cookie this service issued: follow "
                               "@odata.nextLink unchanged.")
    return int(match["page"]), int(match["offset"])


def _annotations(call: Call) -> bool:
    wanted = call.prefer().get("odata.include-annotations", "")
    return wanted == "*" or "lookuplogicalname" in wanted


def _render(call: Call, table: Table, row: Row, select: list[str] | None) -> dict[str, Any]:
    names = select if select is not None else [a.value_name for a in table.attributes.values()]
    out: dict[str, Any] = {"@odata.etag": etag(row)}
    annotate = _annotations(call)
    for name in names:
        if annotate and name.startswith("_") and row.get(name) is not None:
            out[f"{name}{LOOKUP_TABLE}"] = row.get(name + LOOKUP_TABLE)
        out[name] = row.get(name)
    out[table.primary_id] = row[table.primary_id]
    return out


def _entity(call: Call, table: Table, row: Row) -> dict[str, Any]:
    select = _select(call, table)
    context = f"{call.api_root}/$metadata#{table.entity_set}"
    context += f"({call.param('$select')})/$entity" if select else "/$entity"
    return {"@odata.context": context, **_render(call, table, row, select)}
