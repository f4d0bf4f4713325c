"""The Cliniko API emulator: a function from Request to Response for `EmulatorServer`.

Routes, under `/shards/{shard}/v1` (the sandbox's stand-in for
`https://api.{shard}.cliniko.com/v1`):

    GET    /{resource}                     list, for every catalog resource (envelope: listing.py)
    GET    /{resource}/{id}                one record (archived and cancelled ones too; deleted: 404)
    GET    /{parent}/{id}/{child}          nested list: children whose relation points at the parent,
                                           e.g. /patients/1/invoices, /patients/1/treatment_notes,
                                           /patients/1/patient_attachments, /patients/1/medical_alerts,
                                           /invoices/1/invoice_items, /individual_appointments/1/attendees
    GET    /user                           the user owning the API key
    GET    /patient_attachments/{id}/content   the file, streamed (not a redirect to S3: unconfirmed)
    GET    /bookings/{id}, /appointments/{id}  where attendee, treatment note and invoice links point
    POST   /patients                       201 + Location
    PATCH  /patients/{id}  (and legacy PUT)    200 with the record; 422 on validation errors
    POST   /patients/{id}/archive | unarchive  204
    DELETE /patients/{id}                  204, archives (the current docs' meaning of DELETE)

Every request is checked in this order: path (404), User-Agent (400), Basic
auth and shard (401), rate limit per key owner (429), Accept (406, JSON routes
only). Rules for each step live in auth.py, ratelimit.py, filters.py,
listing.py, render.py and writes.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from engine.sandbox.cliniko.auth import (
    DEFAULT_SHARD,
    SHARD_PATTERN,
    KeyRing,
    Principal,
    check_accept,
    check_user_agent,
)
from engine.sandbox.cliniko.clock import Clock
from engine.sandbox.cliniko.columns import field_sql
from engine.sandbox.cliniko.errors import (
    ApiError,
    message,
    not_found,
    service_unavailable,
    too_many_requests,
    unauthorized,
)
from engine.sandbox.cliniko.filters import compile_filters
from engine.sandbox.cliniko.listing import envelope, order_by, parse_page
from engine.sandbox.cliniko.ratelimit import RateLimiter
from engine.sandbox.cliniko.render import record_url, render
from engine.sandbox.cliniko.schema import ResourceSchema, cliniko_schema
from engine.sandbox.cliniko.store import Clause, ClinikoStore
from engine.sandbox.cliniko.writes import json_object, patient_changes
from engine.sandbox.server import Request, Response

_PREFIX = re.compile(r"^/shards/(?P<shard>[^/]+)/v1(?P<rest>/.*)?$")
_ID = re.compile(r"^\d{1,19}$")
ID_MAX = 2**63 - 1  # ids are int64
CHUNK_SIZE = 256 * 1024


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as source:
        while chunk := source.read(CHUNK_SIZE):
            yield chunk


def _content_disposition(filename: str) -> str:
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename) or "file"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


class ClinikoApp:
    """One emulated Cliniko account on one shard."""

    def __init__(self, store: ClinikoStore, *, api_keys: Mapping[str, str | None], shard: str = DEFAULT_SHARD,
                 requests_per_minute: int = 200, clock: Clock | None = None,
                 fault_retry_after: int = 1) -> None:
        self.store = store
        self.shard = shard.lower()
        self.keys = KeyRing(api_keys)
        self.clock: Clock = clock or (lambda: store.clock())
        self.limiter = RateLimiter(requests_per_minute, lambda: self.clock())
        self.fault_retry_after = fault_retry_after
        self.schema = cliniko_schema()

    # -- entry points -------------------------------------------------------------------------------

    def __call__(self, request: Request) -> Response:
        try:
            return self._handle(request)
        except ApiError as error:
            return error.response

    def fault_response(self, status: int) -> Response:
        """What the server sends for an injected fault: Cliniko's 429 (with its headers) or a 503."""
        if status == 429:
            now = self.clock()
            return too_many_requests(now, now + self.fault_retry_after)
        if status == 503:
            return service_unavailable(self.fault_retry_after)
        return message(status, "Injected fault")

    # -- pipeline ------------------------------------------------------------------------------------

    def _handle(self, request: Request) -> Response:
        match = _PREFIX.match(request.path)
        if match is None or not SHARD_PATTERN.match(match["shard"]):
            raise not_found()
        shard = match["shard"].lower()
        check_user_agent(request.headers.get("user-agent"))
        principal = self.keys.authenticate(request.headers.get("authorization"), shard)
        if shard != self.shard:
            raise unauthorized()
        reset_at = self.limiter.acquire(self._bucket(principal))
        if reset_at is not None:
            return too_many_requests(self.clock(), reset_at)
        segments = [s for s in (match["rest"] or "").split("/") if s]
        method = "GET" if request.method == "HEAD" else request.method
        is_content = len(segments) == 3 and segments[0] == "patient_attachments" and segments[2] == "content"
        if not is_content:
            check_accept(request.headers.get("accept"))
        return self._route(method, segments, request, principal)

    @staticmethod
    def _bucket(principal: Principal) -> str:
        return f"user:{principal.user_id}" if principal.user_id is not None else f"key:{principal.key}"

    def _route(self, method: str, segments: list[str], request: Request, principal: Principal) -> Response:
        n = len(segments)
        head = segments[0] if segments else ""
        if method == "GET":
            if segments == ["user"]:
                return self._user(request, principal)
            if n == 1 and head in self.schema:
                return self._list(request, head)
            if n == 2 and head in self.schema:
                return self._show(request, head, self._id(segments[1]))
            if n == 2 and head in ("bookings", "appointments"):
                return self._alias(request, head, self._id(segments[1]))
            if n == 3 and head == "patient_attachments" and segments[2] == "content":
                return self._content(self._id(segments[1]), head_only=request.method == "HEAD")
            if n == 3 and head in self.schema and segments[2] in self.schema:
                return self._nested(request, head, self._id(segments[1]), segments[2])
        if head == "patients":
            if method == "POST" and n == 1:
                return self._create_patient(request)
            if method in ("PATCH", "PUT") and n == 2:
                return self._update_patient(request, self._id(segments[1]))
            if method == "POST" and n == 3 and segments[2] in ("archive", "unarchive"):
                return self._archive_patient(self._id(segments[1]), segments[2] == "archive")
            if method == "DELETE" and n == 2:
                return self._archive_patient(self._id(segments[1]), True)
        raise not_found()

    @staticmethod
    def _id(text: str) -> str:
        if not _ID.match(text) or int(text) > ID_MAX:
            raise not_found()
        return str(int(text))

    def _api(self, request: Request) -> str:
        return f"{request.base_url}/shards/{self.shard}/v1"

    def _live(self, resource: str, id_: str) -> dict[str, Any]:
        record = self.store.get(resource, id_)
        if record is None or record.get("deleted_at"):
            raise not_found()
        return record

    # -- reads ---------------------------------------------------------------------------------------

    def _list(self, request: Request, resource: str, scope: list[Clause] | None = None) -> Response:
        schema = self.schema[resource]
        page = parse_page(request)
        order = order_by(request, schema)
        where = compile_filters([*request.query.get("q[]", []), *request.query.get("q", [])], schema)
        where += scope or []
        total = self.store.count(resource, where)
        rows = self.store.select(resource, where, order=order, limit=page.size, offset=page.offset)
        api = self._api(request)
        items = [render(r, schema, api) for r in rows]
        return Response.json(200, envelope(resource, items, total, page, request))

    def _show(self, request: Request, resource: str, id_: str) -> Response:
        record = self._live(resource, id_)
        return Response.json(200, render(record, self.schema[resource], self._api(request)))

    def _alias(self, request: Request, alias: str, id_: str) -> Response:
        candidates = ("individual_appointments", "group_appointments") if alias == "bookings" \
            else ("individual_appointments",)
        for resource in candidates:
            record = self.store.get(resource, id_)
            if record is not None and not record.get("deleted_at"):
                return Response.json(200, render(record, self.schema[resource], self._api(request)))
        raise not_found()

    def _nested(self, request: Request, parent: str, id_: str, child: str) -> Response:
        schema: ResourceSchema = self.schema[child]
        relation = schema.relation_to(parent)
        if relation is None:
            raise not_found()
        self._live(parent, id_)
        scope = [Clause(f"{field_sql(relation.id_field, 'id')} = ?", (int(id_),))]
        return self._list(request, child, scope)

    def _user(self, request: Request, principal: Principal) -> Response:
        if principal.user_id is not None:
            user = self.store.get("users", principal.user_id)
        else:
            first = self.store.select("users", order="id", limit=1)
            user = first[0] if first else None
        if user is None:
            raise not_found()
        return Response.json(200, render(user, self.schema["users"], self._api(request)))

    def _content(self, id_: str, *, head_only: bool = False) -> Response:
        record = self._live("patient_attachments", id_)
        path = self.store.content_path("patient_attachments", id_)
        if not path.is_file():
            raise not_found()
        filename = str(record.get("filename") or f"attachment-{id_}")
        headers = {
            "Content-Type": str(record.get("content_type") or "application/octet-stream"),
            "Content-Disposition": _content_disposition(filename),
        }
        body: Iterator[bytes] = iter(()) if head_only else _file_chunks(path)
        return Response(200, body, headers, length=path.stat().st_size)

    # -- writes --------------------------------------------------------------------------------------

    def _create_patient(self, request: Request) -> Response:
        schema = self.schema["patients"]
        changes = patient_changes(json_object(request), schema, self.store, None)
        record = self.store.insert("patients", changes)
        url = record_url(self._api(request), "patients", record["id"])
        return Response.json(201, render(record, schema, self._api(request)), {"Location": url})

    def _update_patient(self, request: Request, id_: str) -> Response:
        schema = self.schema["patients"]
        current = self._live("patients", id_)
        changes = patient_changes(json_object(request), schema, self.store, current)
        record = self.store.update("patients", id_, changes)
        return Response.json(200, render(record, schema, self._api(request)))

    def _archive_patient(self, id_: str, archive: bool) -> Response:
        current = self._live("patients", id_)
        if archive and not current.get("archived_at"):
            self.store.archive("patients", id_)
        elif not archive and current.get("archived_at"):
            self.store.unarchive("patients", id_)
        return Response(204)

