"""The Microsoft Graph emulator's routes: a SharePoint site's drive, a function Request → Response.

    GET    /v1.0/sites/{site-id}                                     the site
    GET    /v1.0/sites/{site-id}/drive                               its document library
    GET    …/drive/root  ·  …/drive/items/{id}                       an item
    GET    …/drive/items/{parent-id}:/{path}[:]  ·  …/root:/{path}    an item by path (404 itemNotFound)
    GET    …/drive/items/{id}/children                               a folder's items
    POST   …/drive/items/{parent-id}/children                        a folder: {"name", "folder": {},
                                                                     "@microsoft.graph.conflictBehavior"}
    PUT    …/drive/items/{parent-id}:/{name}:/content                simple upload (250 MB at most)
    POST   …/drive/items/{parent-id}:/{name}:/createUploadSession    → uploadUrl
    PUT    {uploadUrl}  (Content-Range: bytes a-b/total)              202 + nextExpectedRanges, then 201/200
    GET    {uploadUrl}  ·  DELETE {uploadUrl}                         the session's state · cancel it
    DELETE …/drive/items/{id}                                        204

`…/drive` is `/v1.0/sites/{site-id}/drive` or `/v1.0/drives/{drive-id}`. Every
call but the uploadUrl's needs `Authorization: Bearer <token>` with a token
the tenant issued (`token_valid`), else 401 InvalidAuthenticationToken; the
uploadUrl is pre-authorised, as Graph's is. Fragments go in order, each a
multiple of 320 KiB except the last and under 60 MiB; one that does not
start at the next expected byte is refused with 416. Errors are Graph's
`{"error": {"code", "message"}}`. `calls` counts operations ("upload",
"fragment", "createUploadSession", "createFolder", "delete", "get").
"""

from __future__ import annotations

import mimetypes
import re
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from engine.sandbox.graph.store import (
    DRIVE_ID,
    LIBRARY,
    ROOT_ID,
    SITE_HOST,
    SITE_ID,
    SITE_PATH,
    Drive,
    GraphError,
)
from engine.sandbox.server import Request, Response

VERSION = "/v1.0"
SIMPLE_UPLOAD_LIMIT = 250 * 1024 * 1024  # the current driveitem-put-content documentation (ref §8)
FRAGMENT_UNIT = 320 * 1024
FRAGMENT_LIMIT = 60 * 1024 * 1024
_DRIVE = r"(?:/sites/(?P<site>[^/]+)/drive|/drives/(?P<drive>[^/]+))"
_ANCHOR = r"(?:items/(?P<id>[^/:]+)|root)"
_RANGE = re.compile(r"^bytes (?P<start>\d+)-(?P<end>\d+)/(?P<total>\d+)$")

TokenCheck = Callable[[str], bool]


def error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response.json(status, {"error": {"code": code, "message": message,
                                            "innerError": {"date": _now()}}}, headers)


def fault_response(status: int) -> Response:
    if status == 429:
        return error(429, "tooManyRequests", "Too many requests. Retry after the time in Retry-After.",
                     {"Retry-After": "1"})
    return error(status, "serviceNotAvailable", "The service is temporarily unavailable.",
                 {"Retry-After": "1"})


class GraphApp:
    def __init__(self, drive: Drive, token_valid: TokenCheck) -> None:
        self.drive = drive
        self.token_valid = token_valid
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        site = r"/sites/(?P<site>[^/]+)"
        self.routes: list[tuple[str, re.Pattern[str], Callable[[Request, dict[str, str]], Response]]] = [
            ("GET", re.compile(rf"^{site}$"), self.get_site),
            ("GET", re.compile(rf"^{_DRIVE}$"), self.get_drive),
            ("GET", re.compile(rf"^{_DRIVE}/root$"), self.get_item),
            ("PUT", re.compile(rf"^{_DRIVE}/{_ANCHOR}:/(?P<path>.+):/content$"), self.upload),
            ("POST", re.compile(rf"^{_DRIVE}/{_ANCHOR}:/(?P<path>.+):/createUploadSession$"),
             self.open_session),
            ("GET", re.compile(rf"^{_DRIVE}/{_ANCHOR}:/(?P<path>.+?):?$"), self.get_item),
            ("GET", re.compile(rf"^{_DRIVE}/items/(?P<id>[^/:]+)/children$"), self.list_children),
            ("POST", re.compile(rf"^{_DRIVE}/items/(?P<id>[^/:]+)/children$"), self.create_folder),
            ("GET", re.compile(rf"^{_DRIVE}/items/(?P<id>[^/:]+)$"), self.get_item),
            ("DELETE", re.compile(rf"^{_DRIVE}/items/(?P<id>[^/:]+)$"), self.delete_item),
        ]

    def __call__(self, request: Request) -> Response:
        try:
            if request.path.startswith("/upload/"):
                return self.session_call(request, unquote(request.path.removeprefix("/upload/")))
            if not request.path.startswith(VERSION + "/"):
                return error(400, "BadRequest", f"Invalid version in {request.path}: this emulator serves "
                                                "v1.0.")
            scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return error(401, "InvalidAuthenticationToken", "Access token is empty.")
            if not self.token_valid(token.strip()):
                return error(401, "InvalidAuthenticationToken", "Access token validation failure.")
            path = request.path.removeprefix(VERSION)
            allowed = False
            for method, regex, handler in self.routes:
                found = regex.match(path)
                if found is None:
                    continue
                allowed = True
                if method == request.method:
                    groups = {k: unquote(v) for k, v in found.groupdict().items() if v is not None}
                    self._check_drive(groups)
                    return handler(request, groups)
            if allowed:
                return error(405, "invalidRequest", f"{request.method} is not supported on {request.path}.")
            return error(400, "invalidRequest", f"Resource not found for the segment in {request.path}.")
        except GraphError as exc:
            return error(exc.status, exc.code, exc.message)

    def _count(self, what: str) -> None:
        with self._lock:
            self.calls[what] += 1

    @staticmethod
    def _check_drive(groups: dict[str, str]) -> None:
        if "site" in groups and groups["site"] not in (SITE_ID, "root"):
            raise GraphError(404, "itemNotFound", f"Requested site could not be found: {groups['site']}")
        if "drive" in groups and groups["drive"] != DRIVE_ID:
            raise GraphError(404, "itemNotFound", f"The drive {groups['drive']} does not exist.")

    # -- site and drive --------------------------------------------------------------------------------
    def get_site(self, request: Request, groups: dict[str, str]) -> Response:
        self._count("get")
        return Response.json(200, {"id": SITE_ID, "name": SITE_PATH.rsplit("/", 1)[-1],
                                   "displayName": "Clinic",
                                   "webUrl": f"https://{SITE_HOST}{SITE_PATH}",
                                   "siteCollection": {"hostname": SITE_HOST}})

    def get_drive(self, request: Request, groups: dict[str, str]) -> Response:
        self._count("get")
        return Response.json(200, {"id": DRIVE_ID, "name": "Documents", "driveType": "documentLibrary",
                                   "webUrl": f"https://{SITE_HOST}{SITE_PATH}/{LIBRARY.replace(' ', '%20')}"})

    # -- items -----------------------------------------------------------------------------------------
    def _anchor(self, groups: dict[str, str]) -> str:
        return groups.get("id") or ROOT_ID

    def get_item(self, request: Request, groups: dict[str, str]) -> Response:
        self._count("get")
        item = self.drive.resolve(self._anchor(groups), groups.get("path", ""))
        return Response.json(200, self.drive_item(item))

    def list_children(self, request: Request, groups: dict[str, str]) -> Response:
        self._count("get")
        return Response.json(200, {"value": [self.drive_item(i) for i in self.drive.children(groups["id"])]})

    def create_folder(self, request: Request, groups: dict[str, str]) -> Response:
        self._count("createFolder")
        body = _body(request)
        name = body.get("name")
        if not isinstance(name, str) or not name.strip() or "folder" not in body:
            raise GraphError(400, "invalidRequest", "A folder needs a name and a \"folder\": {} facet.")
        _check_name(name)
        conflict = _conflict(body.get("@microsoft.graph.conflictBehavior"), "fail")
        item, _ = self.drive.create_folder(groups["id"], name, conflict)
        return Response.json(201, self.drive_item(item))

    def delete_item(self, request: Request, groups: dict[str, str]) -> Response:
        self._count("delete")
        self.drive.delete(groups["id"])
        return Response(204)

    def _parent_and_name(self, groups: dict[str, str]) -> tuple[str, str]:
        folder, _, name = groups["path"].rstrip("/").rpartition("/")
        _check_name(name)
        parent = self.drive.resolve(self._anchor(groups), folder)
        return str(parent["id"]), name

    # -- uploads ---------------------------------------------------------------------------------------
    def upload(self, request: Request, groups: dict[str, str]) -> Response:
        self._count("upload")
        if len(request.body) > SIMPLE_UPLOAD_LIMIT:
            raise GraphError(413, "requestTooLarge", f"A simple upload takes at most {SIMPLE_UPLOAD_LIMIT} "
                                                     "bytes; use an upload session.")
        parent, name = self._parent_and_name(groups)
        scratch = self.drive.scratch()
        scratch.write_bytes(request.body)
        conflict = _conflict(request.param("@microsoft.graph.conflictBehavior"), "replace")
        item, created = self.drive.put_file(parent, name, scratch, _mime(name), conflict)
        return Response.json(201 if created else 200, self.drive_item(item))

    def open_session(self, request: Request, groups: dict[str, str]) -> Response:
        self._count("createUploadSession")
        parent, name = self._parent_and_name(groups)
        options = _body(request).get("item") or {}
        conflict = _conflict(options.get("@microsoft.graph.conflictBehavior"), "replace")
        size = options.get("fileSize")
        known = int(size) if isinstance(size, int) else None
        session = self.drive.open_session(parent, name, known, conflict)
        return Response.json(200, {"uploadUrl": f"{request.base_url}/upload/{session['id']}",
                                   "expirationDateTime": _when(session["expires"]),
                                   "nextExpectedRanges": ["0-"]})

    def session_call(self, request: Request, session_id: str) -> Response:
        if request.method == "DELETE":
            self.drive.cancel(session_id)
            return Response(204)
        if request.method == "GET":
            return self._progress(self.drive.session(session_id))
        if request.method != "PUT":
            return error(405, "invalidRequest", f"{request.method} is not supported on an upload URL.")
        self._count("fragment")
        found = _RANGE.match(request.headers.get("content-range", "").strip())
        if found is None:
            raise GraphError(400, "invalidRange", "Content-Range must be 'bytes start-end/total'.")
        start, end, total = (int(found[k]) for k in ("start", "end", "total"))
        size = len(request.body)
        if end < start or end >= total or size != end - start + 1:
            raise GraphError(400, "invalidRange", f"Content-Range {found[0]} does not match the {size} bytes "
                                                  "sent.")
        if size > FRAGMENT_LIMIT:
            raise GraphError(400, "invalidRange", f"A fragment takes at most {FRAGMENT_LIMIT} bytes.")
        if end + 1 < total and size % FRAGMENT_UNIT:
            raise GraphError(400, "invalidRange", f"A fragment other than the last must be a multiple of "
                                                  f"{FRAGMENT_UNIT} bytes (320 KiB); this one is {size}.")
        done = self.drive.append(session_id, start, request.body, total)
        if done is None:
            return self._progress(self.drive.session(session_id), 202)
        item, created = done
        return Response.json(201 if created else 200, self.drive_item(item))

    @staticmethod
    def _progress(session: dict[str, Any], status: int = 200) -> Response:
        return Response.json(status, {"expirationDateTime": _when(session["expires"]),
                                      "nextExpectedRanges": [f"{session['received']}-"]})

    # -- shapes ----------------------------------------------------------------------------------------
    def drive_item(self, item: dict[str, Any]) -> dict[str, Any]:
        shaped: dict[str, Any] = {
            "id": item["id"], "name": item["name"], "size": item["size"], "eTag": f'"{{{item["id"]}}},1"',
            "createdDateTime": item["created"], "lastModifiedDateTime": item["modified"],
            "webUrl": self.drive.web_url(item)}
        if item["parent_id"] is None:
            shaped["root"] = {}
        else:
            parent = self.drive.item(str(item["parent_id"]))
            where = f"/drive/root:/{self.drive.path_of(parent)}".rstrip("/")
            shaped["parentReference"] = {"driveType": "documentLibrary", "driveId": DRIVE_ID,
                                         "siteId": SITE_ID, "id": parent["id"], "path": where}
        if item["folder"]:
            shaped["folder"] = {"childCount": len(self.drive.children(str(item["id"])))}
        else:
            shaped["file"] = {"mimeType": item["mime"] or _mime(str(item["name"]))}
        return shaped


def _body(request: Request) -> dict[str, Any]:
    try:
        body = request.json()
    except ValueError as exc:
        raise GraphError(400, "invalidRequest", f"The request body is not JSON: {exc}") from exc
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise GraphError(400, "invalidRequest", "The request body must be a JSON object.")
    return body


def _conflict(value: Any, default: str) -> str:
    if value is None:
        return default
    if value not in ("fail", "replace", "rename"):
        raise GraphError(400, "invalidRequest", f"Invalid @microsoft.graph.conflictBehavior {value!r}: fail, "
                                                "replace or rename.")
    return str(value)


_FORBIDDEN = re.compile(r'["*:<>?/\\|]')


def _check_name(name: str) -> None:
    if not name or _FORBIDDEN.search(name) or name.strip() != name or name.endswith("."):
        raise GraphError(400, "invalidRequest", f"The name {name!r} is not valid in SharePoint (no "
                                                "\" * : < > ? / \\ |, no leading or trailing space or dot).")


def _mime(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _when(timestamp: Any) -> str:
    return datetime.fromtimestamp(float(timestamp), UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")


__all__ = ["FRAGMENT_UNIT", "SIMPLE_UPLOAD_LIMIT", "GraphApp", "error", "fault_response"]
