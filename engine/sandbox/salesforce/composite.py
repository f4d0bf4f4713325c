"""sObject Collections: up to 200 records per request, one result per record, in order.

    POST   /composite/sobjects                 create (types may be mixed; no Id)        v42.0+
    PATCH  /composite/sobjects                 update (each record carries Id)           v42.0+
    DELETE /composite/sobjects?ids=a,b&allOrNone=true                                    v42.0+
    GET    /composite/sobjects/T?ids=&fields=  retrieve (POST with {"ids", "fields"} too) v42.0+
    PATCH  /composite/sobjects/T/ExtField      upsert by external id, results with `created` v46.0+

A well-formed request answers 200 with one item per record
({"id", "success", "errors": [{"statusCode", "message", "fields"}]}); a
failed item has no id unless the record already existed. With `allOrNone`
true one failure rolls everything back: the failed items keep their errors,
the others fail with ALL_OR_NONE_OPERATION_ROLLED_BACK "Record rolled back
because not all records were valid and the request was using AllOrNone
header". Records are saved in order, so a later record sees an earlier one
(e.g. a parent created earlier in the same request resolves as an external-id
reference: open question 2 of the reference, chosen permissively).

Refused as a whole with 400 (nothing saved): more than 200 records
(EXCEEDED_ID_LIMIT "record limit reached. cannot submit more than 200 records
into this call"), a record without `attributes.type` or of an unknown object
(INVALID_TYPE), in an upsert a record whose type is not the URI's
(INVALID_TYPE), and whatever rules.parse refuses (unknown field
INVALID_FIELD, JSON_PARSER_ERROR). Per record: an Id on create or upsert
(INVALID_FIELD), a missing Id on update (MISSING_ARGUMENT "Id not specified
in an update call"), a missing external id on upsert (MISSING_ARGUMENT
"<ExtField> not specified"), the same external id twice in one upsert (every
such record fails with DUPLICATE_VALUE "Duplicate external id specified: <v>").
The platform's 10-chunk limit on alternating types is not enforced.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from engine.sandbox.salesforce import rules
from engine.sandbox.salesforce.app import Call, Route
from engine.sandbox.salesforce.errors import RequestError, SaveResult, not_found
from engine.sandbox.salesforce.metadata import FieldMeta, ObjectMeta
from engine.sandbox.salesforce.records import attributes
from engine.sandbox.server import Response

MAX_RECORDS = 200
MAX_RETRIEVE = 2000
_BASE = r"/composite/sobjects"


def routes() -> list[Route]:
    return [
        Route("POST", _BASE, create),
        Route("PATCH", _BASE, update),
        Route("DELETE", _BASE, delete),
        Route("GET", _BASE + r"/(?P<object>[A-Za-z0-9_]+)", retrieve),
        Route("POST", _BASE + r"/(?P<object>[A-Za-z0-9_]+)", retrieve),
        Route("PATCH", _BASE + r"/(?P<object>[A-Za-z0-9_]+)/(?P<field>[A-Za-z0-9_]+)", upsert),
    ]


def _need_version(call: Call, version: float) -> None:
    if call.version_number < version:
        raise not_found()


def _too_many() -> RequestError:
    return RequestError("EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into "
                        "this call")


def _records(call: Call) -> tuple[list[dict[str, Any]], bool]:
    body = call.json_object()
    records = body.get("records")
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise RequestError("JSON_PARSER_ERROR", "The request body needs \"records\": a list of sObjects")
    if len(records) > MAX_RECORDS:
        raise _too_many()
    return records, bool(body.get("allOrNone", False))


def _type_of(call: Call, record: dict[str, Any], index: int) -> ObjectMeta:
    attrs = record.get("attributes")
    name = attrs.get("type") if isinstance(attrs, dict) else None
    if not isinstance(name, str):
        raise RequestError("INVALID_TYPE", f"Record {index} has no type: each record needs "
                           "\"attributes\": {\"type\": \"<sObject>\"}")
    meta = call.org.object_meta(name)
    if meta is None:
        raise RequestError("INVALID_TYPE", f"sObject type '{name}' is not supported.")
    return meta


def _fields(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "attributes"}


def _run(call: Call, all_or_none: bool, count: int,
         save: Callable[[int], tuple[SaveResult, bool]]) -> list[SaveResult]:
    """Save each record (`save(i)` → result, whether the record existed before) in one transaction."""
    with call.org.transaction() as tx:
        outcomes = [save(index) for index in range(count)]
        if not all_or_none or all(result.success for result, _ in outcomes):
            return [result for result, _ in outcomes]
        tx.rollback()
    return [result if not result.success else
            SaveResult(result.id if existed else None, False, [rules.ROLLED_BACK])
            for result, existed in outcomes]


def _answer(results: list[SaveResult], *, with_created: bool = False) -> Response:
    return Response.json(200, [r.to_json(with_created=with_created) for r in results])


def create(call: Call) -> Response:
    _need_version(call, 42)
    records, all_or_none = _records(call)
    types = [_type_of(call, record, i) for i, record in enumerate(records)]

    def save(index: int) -> tuple[SaveResult, bool]:
        result = call.org.insert(types[index].name, _fields(records[index]), as_user=call.as_user)
        result.created = None
        return result, False

    return _answer(_run(call, all_or_none, len(records), save))


def update(call: Call) -> Response:
    _need_version(call, 42)
    records, all_or_none = _records(call)
    types = [_type_of(call, record, i) for i, record in enumerate(records)]

    def save(index: int) -> tuple[SaveResult, bool]:
        fields = _fields(records[index])
        record_id = next((str(v) for k, v in fields.items() if k.lower() == "id" and v), None)
        if record_id is None:
            return SaveResult.failed(rules.missing_id()), False
        result = call.org.update(types[index].name, record_id, fields, as_user=call.as_user)
        return result, result.id is not None

    return _answer(_run(call, all_or_none, len(records), save))


def delete(call: Call) -> Response:
    _need_version(call, 42)
    ids = [i.strip() for i in (call.param("ids") or "").split(",") if i.strip()]
    if not ids:
        raise RequestError("MISSING_ARGUMENT", "Required parameter ids is missing")
    if len(ids) > MAX_RECORDS:
        raise _too_many()

    def save(index: int) -> tuple[SaveResult, bool]:
        result = call.org.delete(None, ids[index], as_user=call.as_user)
        return result, result.id is not None

    return _answer(_run(call, call.flag("allOrNone"), len(ids), save))


def retrieve(call: Call) -> Response:
    _need_version(call, 42)
    meta = call.org.object_meta(call.params["object"])
    if meta is None:
        raise not_found()
    if call.request.method == "POST":
        body = call.json_object()
        ids, fields = body.get("ids"), body.get("fields")
    else:
        ids = [i for i in (call.param("ids") or "").split(",") if i]
        fields = [f for f in (call.param("fields") or "").split(",") if f]
    if not isinstance(ids, list) or not ids or not isinstance(fields, list) or not fields:
        raise RequestError("MISSING_ARGUMENT", "Required parameters ids and fields are missing")
    if len(ids) > MAX_RETRIEVE:
        raise _too_many()
    out: list[dict[str, Any] | None] = []
    for record_id in ids:
        values = call.org.retrieve(meta.name, str(record_id), [str(f) for f in fields])
        out.append(None if values is None else
                   {"attributes": attributes(call.version, meta.name, values["Id"]), **values})
    return Response.json(200, out)


def upsert(call: Call) -> Response:
    _need_version(call, 46)
    meta = call.org.object_meta(call.params["object"])
    if meta is None:
        raise not_found()
    key = meta.field(call.params["field"])
    if key is None:
        raise rules.no_such_column(call.params["field"], meta.name)
    if not (key.external_id or key.id_lookup):
        raise rules.not_an_external_id(key.name, meta.name)
    records, all_or_none = _records(call)
    for index, record in enumerate(records):
        if _type_of(call, record, index).name != meta.name:
            raise RequestError("INVALID_TYPE", f"Record {index} is of type {record['attributes']['type']}; "
                               f"this request upserts {meta.name} records only")
    values = [_external_value(key, _fields(r)) for r in records]
    shared = Counter(_normal(key, v) for v in values if v is not None)

    def save(index: int) -> tuple[SaveResult, bool]:
        fields = _fields(records[index])
        if any(k.lower() == "id" for k in fields):
            return SaveResult.failed(rules.id_on_upsert()), False
        value = values[index]
        if value is None:
            return SaveResult.failed(rules.missing_external_id(key.name)), False
        if shared[_normal(key, value)] > 1:
            return SaveResult.failed(rules.duplicate_in_request(value)), False
        body = {k: v for k, v in fields.items() if meta.field(k) is not key}
        result = call.org.upsert(meta.name, key.name, value, body, as_user=call.as_user)
        return result, result.success and result.created is False

    return _answer(_run(call, all_or_none, len(records), save), with_created=True)


def _external_value(key: FieldMeta, fields: dict[str, Any]) -> Any:
    for name, value in fields.items():
        if name.lower() == key.name.lower():
            return None if value in (None, "") else value
    return None


def _normal(key: FieldMeta, value: Any) -> str:
    text = str(value)
    return text if key.case_sensitive else text.casefold()
