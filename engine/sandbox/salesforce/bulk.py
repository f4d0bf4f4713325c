"""Bulk API 2.0 ingest jobs (ref §1.4, §3), writing through the same Org API and rules as REST.

    POST   /jobs/ingest                      create: {object, operation, externalIdFieldName?, contentType,
                                             lineEnding, columnDelimiter} → 200 job info, state Open
    GET    /jobs/ingest                      the org's ingest jobs {done, records, nextRecordsUrl}
    PUT    /jobs/ingest/{id}/batches         the CSV (text/csv) → 201, no body
    PATCH  /jobs/ingest/{id}                 {"state": "UploadComplete"} runs the job; {"state": "Aborted"}
    GET    /jobs/ingest/{id}                 job info: state, numberRecordsProcessed/Failed, errorMessage
    DELETE /jobs/ingest/{id}                 204
    GET    /jobs/ingest/{id}/successfulResults   sf__Id, sf__Created, then the original columns
    GET    /jobs/ingest/{id}/failedResults       sf__Id, sf__Error, then the original columns
    GET    /jobs/ingest/{id}/unprocessedrecords  the original columns (any case of the path)

Decisions:
- The job runs synchronously when UploadComplete arrives: the PATCH answers
  state UploadComplete and the next GET sees JobComplete or Failed (so
  simple-salesforce's `wait=0` works and tests are deterministic).
- Rows are written one by one with `Org.insert/update/upsert/delete`, so a
  row's error is exactly the REST one (code and message), rendered in
  `sf__Error` as "CODE:message:Field1,Field2 --" (several errors joined by a
  space). A value that does not parse as its field's type (REST's
  JSON_PARSER_ERROR) is INVALID_TYPE_ON_FIELD_IN_RECORD "Label: value not of
  required type: v".
- CSV: an empty cell leaves the field unchanged (null on insert); `#N/A` sets
  null. A job whose `lineEnding` is LF receiving CRLF data fails as the
  platform does ("ClientInputError : LineEnding is invalid on user data...").
- Relationship columns (`Account.Cliniko_Id__c`, `Owner.Id`,
  `Contact:Who.Ext__c` for polymorphic lookups) are resolved before the first
  row is written, so only records that existed before the job count: a row
  pointing at a parent created by the same job fails with the REST
  foreign-key error ("Foreign key external ID: X not found for field F in
  entity T").
- An unknown column (or relationship, or a relationship column naming a field
  that is not an external id) fails the whole job with errorMessage
  "InvalidBatch : Field name not found : X" and every row unprocessed.
- hardDelete deletes like delete (the org keeps no recycle bin to skip).
- One upload per job; another PUT, or a PUT to a job that is not Open, is 409
  INVALIDJOBSTATE, as are state changes a job's state does not allow.
"""

from __future__ import annotations

import csv
import io
import threading
from dataclasses import dataclass, field
from typing import Any

from engine.sandbox.salesforce import rules
from engine.sandbox.salesforce.app import Call, Route, SalesforceApp
from engine.sandbox.salesforce.errors import RequestError, SaveError, SaveResult, not_found
from engine.sandbox.salesforce.ids import make_id, to18
from engine.sandbox.salesforce.metadata import FieldMeta, ObjectMeta
from engine.sandbox.salesforce.org import Org
from engine.sandbox.server import Response

JOB_PREFIX = "750"
NULL = "#N/A"
OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^", "BACKQUOTE": "`"}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
TERMINAL = ("JobComplete", "Failed", "Aborted")
_JOB = r"/jobs/ingest/(?P<id>[^/]+)"
_STATE_KEY = "bulk_ingest"


def routes() -> list[Route]:
    return [
        Route("POST", r"/jobs/ingest", create_job),
        Route("GET", r"/jobs/ingest", list_jobs),
        Route("PUT", _JOB + r"/batches", upload),
        Route("GET", _JOB + r"/(?P<kind>successfulResults|failedResults|unprocessedRecords)", results),
        Route("GET", _JOB, job_info),
        Route("PATCH", _JOB, change_state),
        Route("DELETE", _JOB, delete_job),
    ]


def register(app: SalesforceApp) -> None:
    app.add_routes(routes())


@dataclass
class Job:
    id: str
    object: str
    operation: str
    external_id: str | None
    line_ending: str
    delimiter: str
    created_by: str
    created: str
    version: str
    state: str = "Open"
    modstamp: str = ""
    data: bytes | None = None
    error_message: str | None = None
    header: list[str] = field(default_factory=list)
    successes: list[list[str]] = field(default_factory=list)
    failures: list[list[str]] = field(default_factory=list)
    unprocessed: list[list[str]] = field(default_factory=list)
    processing_ms: int = 0

    def info(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id, "operation": self.operation, "object": self.object, "createdById": self.created_by,
            "createdDate": self.created, "systemModstamp": self.modstamp or self.created, "state": self.state,
        }
        if self.external_id is not None:
            out["externalIdFieldName"] = self.external_id
        out.update({
            "concurrencyMode": "Parallel", "contentType": "CSV", "apiVersion": float(self.version),
            "jobType": "V2Ingest",
            "contentUrl": f"services/data/v{self.version}/jobs/ingest/{self.id}/batches",
            "lineEnding": self.line_ending, "columnDelimiter": self.delimiter,
            "numberRecordsProcessed": len(self.successes) + len(self.failures),
            "numberRecordsFailed": len(self.failures), "retries": 0,
            "totalProcessingTime": self.processing_ms, "apiActiveProcessingTime": self.processing_ms,
            "apexProcessingTime": 0,
        })
        if self.error_message:
            out["errorMessage"] = self.error_message
        return out


@dataclass
class _Jobs:
    lock: threading.RLock = field(default_factory=threading.RLock)
    jobs: dict[str, Job] = field(default_factory=dict)
    counter: int = 0


def _jobs(call: Call) -> _Jobs:
    jobs: _Jobs = call.app.state(_STATE_KEY, _Jobs)
    return jobs


def _job(call: Call) -> Job:
    id18 = to18(call.params["id"])
    job = _jobs(call).jobs.get(id18 or "")
    if job is None:
        raise not_found()
    return job


def _invalid_job(message: str) -> RequestError:
    return RequestError("INVALIDJOB", message)


def _bad_state(message: str) -> RequestError:
    return RequestError("INVALIDJOBSTATE", message, status=409)


# -- resources ------------------------------------------------------------------------------------------

def create_job(call: Call) -> Response:
    body = call.json_object()
    object_name = body.get("object")
    operation = body.get("operation")
    if not isinstance(object_name, str) or not object_name:
        raise _invalid_job("InvalidJob : Required field is missing: object")
    if operation not in OPERATIONS:
        raise _invalid_job(f"InvalidJob : Invalid operation: {operation}; expected one of "
                           f"{', '.join(OPERATIONS)}")
    meta = call.org.object_meta(object_name)
    if meta is None:
        raise _invalid_job(f"InvalidJob : Unable to find object: {object_name}")
    content_type = body.get("contentType", "CSV")
    if content_type != "CSV":
        raise _invalid_job(f"InvalidJob : Invalid content type: {content_type}; only CSV is supported")
    line_ending = body.get("lineEnding", "LF")
    delimiter = body.get("columnDelimiter", "COMMA")
    if line_ending not in LINE_ENDINGS:
        raise _invalid_job(f"InvalidJob : Invalid lineEnding: {line_ending}")
    if delimiter not in DELIMITERS:
        raise _invalid_job(f"InvalidJob : Invalid columnDelimiter: {delimiter}")
    external = body.get("externalIdFieldName")
    if operation == "upsert":
        if not external:
            raise _invalid_job(f"InvalidJob : External ID was blank for {meta.name}. An External ID must be "
                               "specified for upsert.")
        key = meta.field(str(external))
        if key is None or not (key.external_id or key.id_lookup):
            raise _invalid_job(f"InvalidJob : Field name provided, {external} is not an External ID or "
                               f"indexed field for {meta.name}")
        external = key.name
    jobs = _jobs(call)
    with jobs.lock:
        jobs.counter += 1
        job = Job(make_id(JOB_PREFIX, jobs.counter), meta.name, str(operation),
                  str(external) if operation == "upsert" else None, str(line_ending), str(delimiter),
                  call.as_user, call.org.timestamp(), call.version)
        jobs.jobs[job.id] = job
    return Response.json(200, job.info())


def list_jobs(call: Call) -> Response:
    jobs = _jobs(call)
    with jobs.lock:
        records = [job.info() for job in jobs.jobs.values()]
    return Response.json(200, {"done": True, "records": records, "nextRecordsUrl": None})


def job_info(call: Call) -> Response:
    return Response.json(200, _job(call).info())


def upload(call: Call) -> Response:
    jobs = _jobs(call)
    with jobs.lock:
        job = _job(call)
        if job.state != "Open":
            raise _bad_state(f"Job {job.id} is not Open: its state is {job.state}")
        if job.data is not None:
            raise _bad_state(f"Job {job.id} already has its data: a job takes one upload")
        job.data = call.request.body
    return Response(201)


def change_state(call: Call) -> Response:
    body = call.json_object()
    wanted = body.get("state")
    jobs = _jobs(call)
    with jobs.lock:
        job = _job(call)
        if wanted == "UploadComplete":
            if job.state != "Open":
                raise _bad_state(f"Job {job.id} cannot change from {job.state} to UploadComplete")
            job.state = "UploadComplete"
            job.modstamp = call.org.timestamp()
            answer = job.info()
            run_job(call.app, job)
            return Response.json(200, answer)
        if wanted == "Aborted":
            if job.state in TERMINAL:
                raise _bad_state(f"Job {job.id} cannot change from {job.state} to Aborted")
            job.state = "Aborted"
            job.modstamp = call.org.timestamp()
            header, rows = _split(job)
            job.header, job.unprocessed = header, rows
            return Response.json(200, job.info())
    raise _invalid_job(f"InvalidJob : Invalid state: {wanted}; use UploadComplete or Aborted")


def delete_job(call: Call) -> Response:
    jobs = _jobs(call)
    with jobs.lock:
        job = _job(call)
        if job.state in ("UploadComplete", "InProgress"):
            raise _bad_state(f"Job {job.id} is {job.state}: abort it before deleting it")
        del jobs.jobs[job.id]
    return Response(204)


def results(call: Call) -> Response:
    job = _job(call)
    kind = call.params["kind"].lower()
    if kind == "successfulresults":
        header, rows = ["sf__Id", "sf__Created", *job.header], job.successes
    elif kind == "failedresults":
        header, rows = ["sf__Id", "sf__Error", *job.header], job.failures
    else:
        header, rows = list(job.header), job.unprocessed
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if job.header:
        writer.writerow(header)
    writer.writerows(rows)
    return Response(200, out.getvalue().encode("utf-8"), {"Content-Type": "text/csv; charset=utf-8"})


# -- running a job ---------------------------------------------------------------------------------------

def _split(job: Job) -> tuple[list[str], list[list[str]]]:
    text = (job.data or b"").decode("utf-8-sig", errors="replace")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=DELIMITERS[job.delimiter]))
    rows = [r for r in rows if r != []]
    return (rows[0], rows[1:]) if rows else ([], [])


@dataclass(frozen=True)
class _Column:
    header: str
    field: FieldMeta  # the record's field (AccountId for Account.Cliniko_Id__c)
    target: ObjectMeta | None = None  # a relationship column's parent object
    ext_field: FieldMeta | None = None  # ... and its external id / idLookup field


def _column(meta: ObjectMeta, header: str, org: Org) -> _Column | None:
    found = meta.field(header)
    if found is not None:
        return _Column(header, found)
    path, dot, ext_name = header.partition(".")
    if not dot or "." in ext_name:
        return None
    type_name, colon, relationship = path.rpartition(":")
    lookup = meta.relationship(relationship)
    if lookup is None or (colon and not lookup.polymorphic):
        return None
    target_name = type_name if colon else lookup.reference_to[0]
    if target_name.lower() not in (t.lower() for t in lookup.reference_to):
        return None
    target = org.object_meta(target_name)
    ext_field = target.field(ext_name) if target is not None else None
    if target is None or ext_field is None or not (ext_field.external_id or ext_field.id_lookup):
        return None
    return _Column(header, lookup, target, ext_field)


def _error_text(errors: list[SaveError]) -> str:
    return " ".join(f"{e.status_code}:{e.message}:{','.join(e.fields)} --" for e in errors)


def run_job(app: SalesforceApp, job: Job) -> None:
    """Process an UploadComplete job to JobComplete (or Failed), row by row."""
    org = app.org
    started = org.now()
    job.state = "InProgress"
    header, rows = _split(job)
    job.header = header
    meta = org.describe(job.object)
    if job.line_ending == "LF" and b"\r\n" in (job.data or b""):
        return _fail(job, rows, "ClientInputError : LineEnding is invalid on user data. Current LineEnding "
                     f"setting is {job.line_ending}")
    if not header:
        return _fail(job, rows, "InvalidBatch : Records not processed: the upload has no header row")
    columns: list[_Column] = []
    for name in header:
        column = _column(meta, name, org)
        if column is None:
            return _fail(job, rows, f"InvalidBatch : Field name not found : {name}")
        columns.append(column)
    if job.operation in ("delete", "hardDelete") and [c.field.name for c in columns] != ["Id"]:
        return _fail(job, rows, "InvalidBatch : A delete job takes only an Id column")
    prepared = [_prepare(meta, columns, row, org) for row in rows]  # references resolve before any write
    for row, (body, errors) in zip(rows, prepared, strict=True):
        cells = row + [""] * (len(header) - len(row))
        record_id = str(body.get("Id") or "")
        if errors:
            job.failures.append([record_id, _error_text(errors), *cells])
            continue
        try:
            result = _write(org, job, meta, body)
        except RequestError as error:
            result = SaveResult.failed(SaveError(error.error_code, error.message, tuple(error.fields or ())))
        if result.success:
            job.successes.append([result.id or "", "true" if result.created else "false", *cells])
        else:
            job.failures.append([result.id or record_id, _error_text(result.errors), *cells])
    job.state = "JobComplete"
    job.modstamp = org.timestamp()
    job.processing_ms = int((org.now() - started) * 1000)
    return None


def _fail(job: Job, rows: list[list[str]], message: str) -> None:
    job.state = "Failed"
    job.error_message = message
    job.unprocessed = rows


def _prepare(meta: ObjectMeta, columns: list[_Column], row: list[str],
             org: Org) -> tuple[dict[str, Any], list[SaveError]]:
    """A row as a REST-style body (references already resolved to ids), or its errors."""
    body: dict[str, Any] = {}
    errors: list[SaveError] = []
    for column, cell in zip(columns, row, strict=False):
        if cell == "":
            continue
        if column.target is None:
            if cell == NULL:
                body[column.field.name] = None
                continue
            try:
                rules.coerce(column.field, cell)
            except RequestError:
                errors.append(SaveError("INVALID_TYPE_ON_FIELD_IN_RECORD", f"{column.field.label}: value not "
                                        f"of required type: {cell}", (column.field.name,)))
                continue
            body[column.field.name] = cell
            continue
        if cell == NULL:
            body[column.field.name] = None
            continue
        assert column.ext_field is not None
        try:
            value = rules.coerce(column.ext_field, cell)
        except RequestError:
            errors.append(rules.foreign_key_not_found(cell, column.ext_field.name, column.target.name))
            continue
        if column.ext_field.type == "id":
            id18 = to18(str(value))
            located = org.locate(id18) if id18 else None
            ids = [id18] if id18 and located == (column.target.name, False) else []
        else:
            ids = org.find_by(column.target.name, column.ext_field.name, value)
        if not ids:
            errors.append(rules.foreign_key_not_found(value, column.ext_field.name, column.target.name))
        elif len(ids) > 1:
            errors.append(rules.several_matches(column.ext_field, ids))
        else:
            body[column.field.name] = ids[0]
    return body, errors


def _write(org: Org, job: Job, meta: ObjectMeta, body: dict[str, Any]) -> SaveResult:
    user = job.created_by
    if job.operation == "insert":
        return SaveResult.failed(rules.id_on_insert()) if body.get("Id") else \
            org.insert(meta.name, body, as_user=user)
    if job.operation == "update":
        record_id = body.pop("Id", None)
        if not record_id:
            return SaveResult.failed(rules.missing_id())
        return org.update(meta.name, str(record_id), body, as_user=user)
    if job.operation == "upsert":
        key = str(job.external_id)
        value = body.get(key)
        if key == "Id":
            body.pop("Id", None)
            if not value:
                return org.insert(meta.name, body, as_user=user)
        elif not value:
            return SaveResult.failed(rules.missing_external_id(key))
        return org.upsert(meta.name, key, value, body, as_user=user)
    record_id = body.get("Id")
    if not record_id:
        return SaveResult.failed(rules.missing_id())
    return org.delete(meta.name, str(record_id), as_user=user)
