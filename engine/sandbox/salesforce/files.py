"""Salesforce Files and notes (ref §4): ContentVersion, ContentDocument, ContentDocumentLink, ContentNote.

    POST /sobjects/ContentVersion                    JSON (VersionData base64) or multipart/form-data
                                                     (`entity_content` JSON part + `VersionData` binary part)
    GET  /sobjects/ContentVersion/{id}/VersionData   the file's bytes
    POST /sobjects/ContentNote                       {Title, Content: base64 of HTML/text} → the note's id
    GET  /sobjects/ContentNote/{id}                  the note (Title, Content URL, FileType SNOTE, ...)
    GET  /sobjects/ContentNote/{id}/Content          the note's body
    GET  /query, /queryAll                           ContentDocumentLink needs a filter on ContentDocumentId
                                                     or LinkedEntityId (MALFORMED_QUERY otherwise)

Every ContentVersion insert (REST, multipart, collections, Bulk) goes through
a trigger: the body is moved out of the record into `<org folder>/files/<id>`
(the stored VersionData is the URL of the bytes, as the platform answers);
FileType, FileExtension, ContentSize, Checksum (MD5) and VersionNumber are
set; a version without ContentDocumentId creates its ContentDocument (Title,
FileType, LatestPublishedVersionId), and FirstPublishLocationId then links
the document to that record (ContentDocumentLink, ShareType V, Visibility
AllUsers). A version with ContentDocumentId adds a version to that document.
Deleting a ContentDocument deletes its versions and links with it, as on the
platform (a ContentNote is deleted that way too: its id is the document's).

Decisions:
- Size limits are knobs of `register`: `json_max_bytes` (decoded VersionData
  in a JSON body; default 37.5 MB, the documented "37.5 MB of base64-encoded
  data") and `multipart_max_bytes` (default 2 GB, the ContentVersion
  multipart limit). Over a limit: 413 EXCEEDED_MAX_SIZE_REQUEST (the wording
  is this emulator's; the platform's exact answer is unverified).
- A ContentNote is a ContentDocument (same 069 id, as on the platform) with a
  ContentVersion of FileType SNOTE, so `ContentDocumentLink` inserts take its
  id as ContentDocumentId. Notes are readable at /sobjects/ContentNote/{id}
  and as ContentDocument / ContentVersion in SOQL, not by `FROM ContentNote`.
- The catalog limits FirstPublishLocationId and LinkedEntityId to Account,
  Contact, User and Product2; custom objects' records are not linkable yet.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.sandbox.salesforce import queries, soql
from engine.sandbox.salesforce.app import Call, Route, SalesforceApp
from engine.sandbox.salesforce.errors import RequestError, SaveError, not_found
from engine.sandbox.salesforce.ids import to18
from engine.sandbox.salesforce.metadata import ObjectMeta
from engine.sandbox.salesforce.org import Org
from engine.sandbox.salesforce.records import StoredRecord, Trigger, attributes
from engine.sandbox.server import Response

JSON_MAX_BYTES = 39_321_600  # 37.5 MB
MULTIPART_MAX_BYTES = 2 * 1024 ** 3  # 2 GB
LINK_FILTER = ("Implementation restriction: ContentDocumentLink requires a filter by a single Id on "
               "ContentDocumentId or LinkedEntityId using the equals operator or multiple Id's using the IN "
               "operator.")
_FILE_TYPES = {
    "pdf": "PDF", "txt": "TEXT", "csv": "CSV", "png": "PNG", "jpg": "JPG", "jpeg": "JPEG", "gif": "GIF",
    "doc": "WORD", "docx": "WORD_X", "xls": "EXCEL", "xlsx": "EXCEL_X", "ppt": "POWER_POINT",
    "pptx": "POWER_POINT_X", "htm": "HTML", "html": "HTML", "xml": "XML", "zip": "ZIP", "rtf": "RTF",
    "mp4": "MP4", "mp3": "MP3", "snote": "SNOTE", "json": "JSON", "bmp": "BMP", "tif": "TIFF", "tiff": "TIFF",
}
_STATE_KEY = "files"


@dataclass(frozen=True)
class Limits:
    json_max_bytes: int = JSON_MAX_BYTES
    multipart_max_bytes: int = MULTIPART_MAX_BYTES


def routes() -> list[Route]:
    return [
        Route("POST", r"/sobjects/ContentVersion", create_version),
        Route("GET", r"/sobjects/ContentVersion/(?P<id>[^/]+)/VersionData", version_data),
        Route("POST", r"/sobjects/ContentNote", create_note),
        Route("GET", r"/sobjects/ContentNote/(?P<id>[^/]+)/Content", note_content),
        Route("GET", r"/sobjects/ContentNote/(?P<id>[^/]+)", get_note),
        Route("GET", r"/query", lambda call: _query(call, all_rows=False)),
        Route("GET", r"/queryAll", lambda call: _query(call, all_rows=True)),
    ]


def register(app: SalesforceApp, *, json_max_bytes: int = JSON_MAX_BYTES,
             multipart_max_bytes: int = MULTIPART_MAX_BYTES) -> None:
    """Add the Files resources (before the generic sObject ones) and the ContentVersion trigger."""
    app.state(_STATE_KEY, lambda: Limits(json_max_bytes, multipart_max_bytes))
    app.add_routes(routes(), first=True)
    app.org.add_trigger("ContentVersion", Trigger(before_save=_before_version, after_save=_after_version))
    app.org.add_trigger("ContentDocument", Trigger(after_delete=_after_document_delete))


def blob_path(org: Org, record_id: str) -> Path:
    return org.path.parent / "files" / record_id


def read_blob(org: Org, record_id: str) -> bytes | None:
    path = blob_path(org, record_id)
    return path.read_bytes() if path.exists() else None


def file_type(path_on_client: str) -> tuple[str, str]:
    """(FileType, FileExtension) from a file name."""
    extension = path_on_client.rpartition(".")[2].lower() if "." in path_on_client else ""
    return _FILE_TYPES.get(extension, "UNKNOWN"), extension


# -- the trigger -----------------------------------------------------------------------------------------

def _before_version(org: Org, meta: ObjectMeta, record: dict[str, Any],
                    current: StoredRecord | None) -> list[SaveError]:
    if current is not None:
        return []
    raw = record.get("VersionData")
    if isinstance(raw, str) and raw.startswith("/services/data/"):
        return []  # already stored (a system write)
    try:
        data = base64.b64decode(str(raw or ""), validate=True)
    except (binascii.Error, ValueError):
        return [SaveError("INVALID_FIELD", "Version Data: value is not valid base64", ("VersionData",))]
    document_id = record.get("ContentDocumentId")
    number = 1
    if document_id:
        number = 1 + sum(1 for r in org.records("ContentVersion") if r.fields.get("ContentDocumentId") ==
                         document_id)
    path = blob_path(org, record["Id"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    kind, extension = file_type(str(record.get("PathOnClient") or ""))
    record.update({
        "VersionData": f"/services/data/v{org.version}/sobjects/ContentVersion/{record['Id']}/VersionData",
        "FileType": kind, "FileExtension": extension, "ContentSize": len(data),
        "Checksum": hashlib.md5(data).hexdigest(), "VersionNumber": str(number),
    })
    record.setdefault("ContentLocation", "S")
    record.setdefault("Origin", "H")
    return []


def _after_version(org: Org, stored: StoredRecord, created: bool) -> None:
    if not created:
        return
    fields = stored.fields
    document_id = fields.get("ContentDocumentId")
    document = {"Title": fields.get("Title"), "FileType": fields.get("FileType"),
                "LatestPublishedVersionId": stored.id}
    if document_id:
        org.system_update(str(document_id), document)
        return
    owner = fields.get("OwnerId")
    document_id = org.system_insert("ContentDocument", {**document, "OwnerId": owner},
                                    as_user=str(owner) if owner else None)
    org.system_update(stored.id, {"ContentDocumentId": document_id})
    location = fields.get("FirstPublishLocationId")
    if location:
        org.system_insert("ContentDocumentLink", {"ContentDocumentId": document_id,
                                                  "LinkedEntityId": location, "ShareType": "V",
                                                  "Visibility": "AllUsers"})


def _after_document_delete(org: Org, document: StoredRecord) -> None:
    """A document's versions and links go with it: none is left pointing at a deleted document."""
    for object_name in ("ContentVersion", "ContentDocumentLink"):
        for record_id in org.live_ids_with(object_name, "ContentDocumentId", document.id):
            org.delete(object_name, record_id)


# -- ContentVersion --------------------------------------------------------------------------------------

def _limits(call: Call) -> Limits:
    limits: Limits = call.app.state(_STATE_KEY, Limits)
    return limits


def _too_large(limit: int) -> RequestError:
    return RequestError("EXCEEDED_MAX_SIZE_REQUEST", f"Maximum size of request reached. Maximum size of "
                        f"request is {limit} bytes.", status=413)


def _multipart(call: Call) -> tuple[dict[str, Any], bytes | None]:
    """The `entity_content` JSON and the binary part of a multipart/form-data body."""
    content_type = call.request.headers.get("content-type") or ""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if match is None:
        raise RequestError("MALFORMED_REQUEST", "multipart/form-data without a boundary")
    boundary = b"--" + match[1].encode("latin-1")
    entity: dict[str, Any] | None = None
    binary: bytes | None = None
    for chunk in call.request.body.split(boundary)[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, body = chunk.partition(b"\r\n\r\n")
        body = body[:-2] if body.endswith(b"\r\n") else body
        name_match = re.search(rb'name="([^"]*)"', head)
        name = name_match[1].decode("utf-8") if name_match else ""
        if name == "entity_content":
            try:
                parsed = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as error:
                raise RequestError("JSON_PARSER_ERROR", f"entity_content is not JSON: {error}") from None
            if not isinstance(parsed, dict):
                raise RequestError("JSON_PARSER_ERROR", "entity_content must be a JSON object")
            entity = parsed
        elif b"filename=" in head or name == "VersionData":
            binary = body
    if entity is None:
        raise RequestError("MALFORMED_REQUEST", "The multipart body needs an entity_content part (the "
                           "record's fields as JSON)")
    return entity, binary


def create_version(call: Call) -> Response:
    content_type = (call.request.headers.get("content-type") or "").lower()
    limits = _limits(call)
    if content_type.startswith("multipart/"):
        if len(call.request.body) > limits.multipart_max_bytes:
            raise _too_large(limits.multipart_max_bytes)
        body, binary = _multipart(call)
        if binary is not None:
            body["VersionData"] = base64.b64encode(binary).decode("ascii")
    else:
        body = call.json_object()
        data = body.get("VersionData")
        if isinstance(data, str) and len(data) * 3 // 4 > limits.json_max_bytes:
            raise _too_large(limits.json_max_bytes)
    result = call.org.insert("ContentVersion", body, as_user=call.as_user)
    if not result.success:
        return Response.json(400, [e.top_level() for e in result.errors])
    return Response.json(201, result.to_json())


def version_data(call: Call) -> Response:
    record = call.org.get(call.params["id"])
    if record is None or record.deleted or record.object != "ContentVersion":
        raise not_found()
    data = read_blob(call.org, record.id)
    if data is None:
        raise not_found()
    return Response(200, data, {"Content-Type": "application/octet-stream"})


# -- ContentNote ---------------------------------------------------------------------------------------

def create_note(call: Call) -> Response:
    body = call.json_object()
    meta = call.org.describe("ContentNote")
    for key in body:
        if key != "attributes" and meta.field(key) is None:
            raise RequestError("INVALID_FIELD", f"No such column '{key}' on sobject of type ContentNote")
    title = body.get("Title")
    if not isinstance(title, str) or not title.strip():
        return Response.json(400, [{"message": "Required fields are missing: [Title]",
                                    "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["Title"]}])
    if len(title) > 255:
        return Response.json(400, [{"message": f"Title: data value too large: {title} (max length=255)",
                                    "errorCode": "STRING_TOO_LONG", "fields": ["Title"]}])
    content = body.get("Content") or ""
    try:
        data = base64.b64decode(str(content), validate=True)
    except (binascii.Error, ValueError):
        raise RequestError("JSON_PARSER_ERROR", "Cannot deserialize instance of base64 from VALUE_STRING "
                           "value: Content is not valid base64", locate=("Content", content)) from None
    owner = body.get("OwnerId") or call.as_user
    with call.org.transaction():
        result = call.org.insert("ContentVersion", {
            "Title": title, "PathOnClient": f"{title}.snote", "OwnerId": owner,
            "VersionData": base64.b64encode(data).decode("ascii"),
            **({"SharingPrivacy": body["SharingPrivacy"]} if body.get("SharingPrivacy") else {}),
        }, as_user=call.as_user)
        if not result.success or result.id is None:
            return Response.json(400, [e.top_level() for e in result.errors])
        version = call.org.get(result.id)
        assert version is not None
        document_id = str(version.fields["ContentDocumentId"])
        call.org.system_update(result.id, {"FileType": "SNOTE"})
        call.org.system_update(document_id, {"FileType": "SNOTE"})
    return Response.json(201, {"id": document_id, "success": True, "errors": []})


def _note(call: Call) -> tuple[StoredRecord, StoredRecord]:
    id18 = to18(call.params["id"])
    document = call.org.get(id18) if id18 else None
    if document is None or document.deleted or document.object != "ContentDocument" or \
            document.fields.get("FileType") != "SNOTE":
        raise not_found()
    version = call.org.get(str(document.fields.get("LatestPublishedVersionId")))
    if version is None:
        raise not_found()
    return document, version


def get_note(call: Call) -> Response:
    document, version = _note(call)
    data = read_blob(call.org, version.id) or b""
    text = re.sub(r"<[^>]+>", " ", data.decode("utf-8", errors="replace"))
    preview = " ".join(html.unescape(text).split())[:255]
    fields = document.fields
    body = {
        "attributes": attributes(call.version, "ContentNote", document.id), "Id": document.id,
        "Title": fields.get("Title"), "OwnerId": fields.get("OwnerId"), "FileType": "SNOTE",
        "FileExtension": "snote", "ContentSize": len(data), "TextPreview": preview, "IsReadOnly": False,
        "LatestPublishedVersionId": version.id, "SharingPrivacy": version.fields.get("SharingPrivacy", "N"),
        "Content": f"/services/data/v{call.version}/sobjects/ContentNote/{document.id}/Content",
        "CreatedDate": fields.get("CreatedDate"), "CreatedById": fields.get("CreatedById"),
        "LastModifiedDate": fields.get("LastModifiedDate"), "IsDeleted": False,
    }
    return Response.json(200, body)


def note_content(call: Call) -> Response:
    _, version = _note(call)
    return Response(200, read_blob(call.org, version.id) or b"", {"Content-Type": "application/octet-stream"})


# -- queries -------------------------------------------------------------------------------------------

def _filters_link(condition: soql.Condition | None) -> bool:
    """Whether a WHERE clause pins ContentDocumentId or LinkedEntityId (= or IN, under AND)."""
    if condition is None:
        return False
    if isinstance(condition, soql.Compare):
        return condition.op == "=" and condition.path.text.lower() in ("contentdocumentid", "linkedentityid")
    if isinstance(condition, soql.InList):
        return not condition.negate and condition.path.text.lower() in ("contentdocumentid", "linkedentityid")
    if isinstance(condition, soql.Junction):
        if condition.op == "AND":
            return any(_filters_link(item) for item in condition.items)
        return all(_filters_link(item) for item in condition.items)
    return False


def _query(call: Call, *, all_rows: bool) -> Response:
    text = call.param("q")
    if text:
        try:
            parsed = soql.parse(text)
        except RequestError:
            parsed = None  # the query resource answers the parse error itself
        if parsed is not None and parsed.object.lower() == "contentdocumentlink" and \
                not _filters_link(parsed.where):
            raise RequestError("MALFORMED_QUERY", LINK_FILTER)
    return queries.run(call, all_rows=all_rows)
