"""REST resources: version root, limits, userinfo, describe, and single-record sObject calls.

    GET    /                                   the version's resources
    GET    /limits                             DailyApiRequests {Max, Remaining} and other allowances
    GET    /sobjects                           global describe
    GET    /sobjects/T                         basic info {objectDescribe, recentItems}
    POST   /sobjects/T   (and /sobjects/T/Id)  create: 201 {id, success, errors}
    GET    /sobjects/T/describe                describe
    GET    /sobjects/T/{id}[?fields=a,b]       the record; a segment that is not an id is read as an
                                               external-id field name: 404 "Provided external ID field
                                               does not exist or is not accessible: X"
    PATCH  /sobjects/T/{id}                    update: 204
    DELETE /sobjects/T/{id}                    delete: 204
    GET    /sobjects/T/{ExtField}/{value}      by external id: 200, 404, or 300 with the matches' URLs
    PATCH  /sobjects/T/{ExtField}/{value}      upsert: 201 + {id, success, errors, created:true} when
                                               created; when updated 200 + {..., created:false} from
                                               v46.0 on, 204 before (the documented cut-over);
                                               300 when the value matches several records;
                                               ?updateOnly=true: 404 instead of creating
    DELETE /sobjects/T/{ExtField}/{value}      delete by external id
    GET    /services/oauth2/userinfo           who the token is (for the sf CLI's login)
    GET    /id/{org}/{user}                    the identity URL the version root names (jsforce identity())

A record that fails validation answers 400 with its errors in the top-level
shape ([{"message", "errorCode", "fields"}]). Unknown objects in the path are
404 NOT_FOUND; a deleted record is 404 NOT_FOUND for reads and 404
ENTITY_IS_DELETED for writes. Values in the path are percent-decoded (a `+`
stays a `+`).
"""

from __future__ import annotations

from typing import Any

from engine.sandbox.salesforce.app import Call, Route
from engine.sandbox.salesforce.describe import describe_object, global_describe, object_summary
from engine.sandbox.salesforce.errors import RequestError, SaveResult, not_found
from engine.sandbox.salesforce.ids import to18
from engine.sandbox.salesforce.metadata import FieldMeta, ObjectMeta
from engine.sandbox.salesforce.records import attributes, sobject_url
from engine.sandbox.salesforce.rules import not_an_external_id
from engine.sandbox.server import Response

_OBJECT = r"/sobjects/(?P<object>[A-Za-z0-9_]+)"
NO_EXTERNAL_FIELD = "Provided external ID field does not exist or is not accessible: {name}"


def routes() -> list[Route]:
    return [
        Route("GET", r"/", version_root),
        Route("GET", r"/limits", limits),
        Route("GET", r"/sobjects", lambda call: Response.json(200, global_describe(call.org, call.version))),
        Route("GET", _OBJECT, basic_info),
        Route("POST", _OBJECT, create),
        Route("POST", _OBJECT + r"/Id", create),
        Route("GET", _OBJECT + r"/describe", describe),
        Route("GET", _OBJECT + r"/(?P<id>[^/]+)", get_record),
        Route("PATCH", _OBJECT + r"/(?P<id>[^/]+)", update_record),
        Route("DELETE", _OBJECT + r"/(?P<id>[^/]+)", delete_record),
        Route("GET", _OBJECT + r"/(?P<field>[A-Za-z0-9_]+)/(?P<value>[^/]+)", get_by_external_id),
        Route("PATCH", _OBJECT + r"/(?P<field>[A-Za-z0-9_]+)/(?P<value>[^/]+)", upsert),
        Route("DELETE", _OBJECT + r"/(?P<field>[A-Za-z0-9_]+)/(?P<value>[^/]+)", delete_by_external_id),
        Route("GET", r"/services/oauth2/userinfo", userinfo, versioned=False, counted=False),
        Route("POST", r"/services/oauth2/userinfo", userinfo, versioned=False, counted=False),
        Route("GET", r"/id/(?P<org>[A-Za-z0-9]+)/(?P<user>[A-Za-z0-9]+)", identity, versioned=False,
              auth=False, counted=False),
    ]


def _object(call: Call) -> ObjectMeta:
    meta = call.org.object_meta(call.params["object"])
    if meta is None:
        raise not_found()
    return meta


def failed(result: SaveResult) -> Response:
    """A single record's failure: 400 with its errors in the top-level shape."""
    return Response.json(400, [e.top_level() for e in result.errors])


def version_root(call: Call) -> Response:
    base = f"/services/data/v{call.version}"
    names = ("sobjects", "query", "queryAll", "limits", "composite", "jobs", "tooling", "search")
    resources = {name: f"{base}/{name}" for name in names}
    resources["identity"] = f"{call.request.base_url}/id/{call.org.org_id}/{call.as_user}"
    return Response.json(200, resources)


def limits(call: Call) -> Response:
    usage = call.org.api_usage()

    def allowance(maximum: int, remaining: int | None = None) -> dict[str, int]:
        return {"Max": maximum, "Remaining": maximum if remaining is None else remaining}

    return Response.json(200, {
        "ConcurrentAsyncGetReportInstances": allowance(200), "DailyApiRequests": allowance(usage.limit,
                                                                                          usage.remaining),
        "DailyAsyncApexExecutions": allowance(250000), "DailyBulkApiBatches": allowance(15000),
        "DailyBulkV2QueryFileStorageMB": allowance(976562), "DailyBulkV2QueryJobs": allowance(10000),
        "DailyStreamingApiEvents": allowance(10000), "DataStorageMB": allowance(1024),
        "FileStorageMB": allowance(10240), "HourlyODataCallout": allowance(20000),
        "SingleEmail": allowance(5000),
    })


def identity(call: Call) -> Response:
    """The identity URL (`identity` of the version root): who the token (header or ?oauth_token=) is."""
    authorization = call.request.headers.get("authorization") or ""
    token = authorization.partition(" ")[2].strip() or call.param("oauth_token")
    user_id = call.app.user_for_token(token)
    if call.params["user"] != user_id and to18(call.params["user"]) != user_id:
        raise RequestError("FORBIDDEN", "Bad_Id", status=403)
    user = call.org.get(user_id)
    fields: dict[str, Any] = user.fields if user else {}
    base = f"{call.request.base_url}/services/data/v{{version}}"
    return Response.json(200, {
        "id": f"{call.request.base_url}/id/{call.org.org_id}/{user_id}", "asserted_user": True,
        "user_id": user_id, "organization_id": call.org.org_id, "username": fields.get("Username"),
        "nick_name": fields.get("CommunityNickname"), "display_name": fields.get("Name"),
        "email": fields.get("Email"), "email_verified": True, "first_name": fields.get("FirstName"),
        "last_name": fields.get("LastName"), "timezone": fields.get("TimeZoneSidKey"),
        "active": bool(fields.get("IsActive")), "user_type": "STANDARD",
        "language": fields.get("LanguageLocaleKey"), "locale": fields.get("LocaleSidKey"),
        "utcOffset": 36000000,
        "urls": {"rest": f"{base}/", "sobjects": f"{base}/sobjects/", "query": f"{base}/query/",
                 "profile": f"{call.request.base_url}/{user_id}"},
    })


def userinfo(call: Call) -> Response:
    org = call.org
    user = org.get(call.as_user)
    fields: dict[str, Any] = user.fields if user else {}
    return Response.json(200, {
        "sub": f"https://login.salesforce.com/id/{org.org_id}/{call.as_user}", "user_id": call.as_user,
        "organization_id": org.org_id, "preferred_username": fields.get("Username"),
        "nickname": fields.get("CommunityNickname"), "name": fields.get("Name"), "email": fields.get("Email"),
        "email_verified": True, "given_name": fields.get("FirstName"), "family_name": fields.get("LastName"),
        "zoneinfo": fields.get("TimeZoneSidKey"), "active": bool(fields.get("IsActive")),
        "user_type": "STANDARD", "language": fields.get("LanguageLocaleKey"),
        "locale": fields.get("LocaleSidKey"), "is_app_installed": True,
        "urls": {"rest": f"{call.request.base_url}/services/data/v{{version}}/"},
    })


def basic_info(call: Call) -> Response:
    return Response.json(200, {"objectDescribe": object_summary(_object(call), call.version),
                                "recentItems": []})


def describe(call: Call) -> Response:
    return Response.json(200, describe_object(call.org, _object(call), call.version))


def create(call: Call) -> Response:
    meta = _object(call)
    result = call.org.insert(meta.name, call.json_object(), as_user=call.as_user)
    if not result.success:
        return failed(result)
    return Response.json(201, result.to_json())


def _field_names(call: Call) -> list[str] | None:
    text = call.param("fields")
    return [f.strip() for f in text.split(",") if f.strip()] if text else None


def _render(call: Call, meta: ObjectMeta, record_id: str) -> dict[str, Any] | None:
    values = call.org.retrieve(meta.name, record_id, _field_names(call))
    if values is None:
        return None
    return {"attributes": attributes(call.version, meta.name, values["Id"]), **values}


def get_record(call: Call) -> Response:
    meta = _object(call)
    if to18(call.params["id"]) is None:
        raise not_found(NO_EXTERNAL_FIELD.format(name=call.params["id"]))
    found = _render(call, meta, call.params["id"])
    if found is None:
        raise not_found()
    return Response.json(200, found)


def _live_target(call: Call, meta: ObjectMeta) -> str:
    """The 18-character id of the path's record, or the 404 a write to it answers."""
    record_id = call.params["id"]
    if to18(record_id) is None:
        raise not_found(NO_EXTERNAL_FIELD.format(name=record_id))
    record = call.org.get(record_id)
    if record is None or record.object != meta.name:
        raise not_found()
    if record.deleted:
        raise RequestError("ENTITY_IS_DELETED", "entity is deleted", status=404, fields=[])
    return record.id


def update_record(call: Call) -> Response:
    meta = _object(call)
    record_id = _live_target(call, meta)
    result = call.org.update(meta.name, record_id, call.json_object(), as_user=call.as_user)
    return Response(204) if result.success else failed(result)


def delete_record(call: Call) -> Response:
    meta = _object(call)
    record_id = _live_target(call, meta)
    result = call.org.delete(meta.name, record_id, as_user=call.as_user)
    return Response(204) if result.success else failed(result)


def _external_field(call: Call, meta: ObjectMeta, *, missing: str) -> FieldMeta:
    found = meta.field(call.params["field"])
    if found is None or not (found.external_id or found.id_lookup):
        raise not_found(missing.format(name=call.params["field"]))
    return found


def _matches(call: Call, meta: ObjectMeta, key: FieldMeta) -> list[str]:
    matches = call.org.find_by(meta.name, key.name, call.params["value"])
    if len(matches) > 1:
        raise _multiple(call, meta, matches)
    return matches


class _Multiple(RequestError):
    def __init__(self, urls: list[str]) -> None:
        super().__init__("MULTIPLE_CHOICES", "more than one record matches", status=300)
        self.urls = urls

    def response(self, headers: dict[str, str] | None = None) -> Response:
        return Response.json(300, self.urls, headers)


def _multiple(call: Call, meta: ObjectMeta, ids: list[str]) -> RequestError:
    """300 Multiple Choices: the body lists the matching records' URLs."""
    return _Multiple([sobject_url(call.version, meta.name, i) for i in ids])


def get_by_external_id(call: Call) -> Response:
    meta = _object(call)
    key = _external_field(call, meta, missing=NO_EXTERNAL_FIELD)
    matches = _matches(call, meta, key)
    found = _render(call, meta, matches[0]) if matches else None
    if found is None:
        raise not_found()
    return Response.json(200, found)


def upsert(call: Call) -> Response:
    meta = _object(call)
    key = meta.field(call.params["field"])
    if key is None:
        raise not_found()
    if not (key.external_id or key.id_lookup):
        raise not_an_external_id(key.name, meta.name)
    _matches(call, meta, key)
    body = call.json_object()
    result = call.org.upsert(meta.name, key.name, call.params["value"], body, as_user=call.as_user,
                             update_only=call.flag("updateOnly"))
    if not result.success:
        if result.errors and result.errors[0].status_code == "NOT_FOUND":
            raise not_found()
        return failed(result)
    with_created = call.version_number >= 46
    if result.created:
        return Response.json(201, result.to_json(with_created=with_created))
    return Response.json(200, result.to_json(with_created=True)) if with_created else Response(204)


def delete_by_external_id(call: Call) -> Response:
    meta = _object(call)
    key = _external_field(call, meta, missing=NO_EXTERNAL_FIELD)
    matches = _matches(call, meta, key)
    if not matches:
        raise not_found()
    result = call.org.delete(meta.name, matches[0], as_user=call.as_user)
    return Response(204) if result.success else failed(result)
