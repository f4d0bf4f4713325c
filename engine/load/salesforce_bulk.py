"""Large loads into Salesforce through Bulk API 2.0 ingest jobs (ref §1.4, §3).

`SalesforceLoader` sends an object's records here instead of sObject
Collections when there are more than `bulk_threshold` (limits.yaml, 2,000) of
them. The records are rendered exactly as for Collections (`render`,
`json_value`) and then laid out as CSV:

- a `Ref` becomes the relationship column `<RelationshipName>.<ParentKeyField>`
  (`Account.Cliniko_Id__c`) holding the parent's external id;
- None, and the empty string (which REST stores as null), become `#N/A`,
  Bulk's null: an empty cell would leave the field *unchanged*. An empty cell
  is therefore only written where a record does not carry the column at all,
  which is what leaving the key out of a Collections body means too;
- a Decimal is its exact digits, dates ISO 8601, booleans `true`/`false`.

Jobs: one `upsert` job per chunk of at most 10,000 rows and
`bulk_upload_max_bytes` (100 MB) of CSV, run through simple-salesforce's
public `sf.bulk2.<Object>.upsert(records=..., wait=...)` (create, upload,
close, poll, then `get_successful/failed/unprocessed_records`). That client
is used rather than hand-driven endpoints because it is the same unmodified
client the rest of the loader uses, already aborts a job when a step fails,
and re-splits a chunk that its own size estimate finds too big; the price is
that a Failed/Aborted job surfaces as `SalesforceOperationError` carrying the
job's `errorMessage` (without the job id), which is all `LoadStopped` needs.

Results are mapped back per record, in input order, by the external-id column
(result files are not ordered): `sf__Created` gives `created`, `sf__Error`
("CODE:message:Field1,Field2 --", several separated by a space) gives the
first error's code, message and fields, with fields mapped back to the spec's
target fields as for Collections (relationship → lookup field; the
foreign-key miss traced to the lookup carrying that id).

Rows of a completed job listed as unprocessed, or absent from every result
file, become `LoadResult` errors (BULK_UNPROCESSED / BULK_NO_RESULT), not
retries: the job already ran, and because the upsert is keyed the next run
sends them again safely. A Failed or Aborted job stops the load
(`LoadStopped` with the job's errorMessage). HTTP 5xx and connection errors
re-run the whole chunk after a backoff (safe for the same reason; rows the
failed attempt created then report `created=False`); other refusals stop.

Bulk resolves relationship columns only against records that existed before
the job: a child whose parent is created in the same job fails with the
foreign-key error, so parents must be loaded first (the plan's order, and its
deferred second pass for self-references, already do this).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceError, SalesforceOperationError

from engine.load.salesforce_records import Rendered, target_fields, top_error
from engine.load.target import LoadResult, LoadStopped
from engine.records import TargetRecord

NULL = "#N/A"
DEFAULT_BULK_THRESHOLD = 2000
BULK_MAX_ROWS = 10_000
DEFAULT_BULK_MAX_BYTES = 100 * 1024 * 1024
UNPROCESSED = "BULK_UNPROCESSED"
NO_RESULT = "BULK_NO_RESULT"
_JOB_FAILURE = "Job failure. Response content: "
_ERROR = re.compile(r"(?P<code>[A-Za-z_]+):(?P<message>.*?):(?P<fields>[\w.,]*) --(?= |$)", re.DOTALL)


def csv_cell(value: Any) -> str:
    """A rendered (JSON-ready) value as a Bulk CSV cell; None and "" are `#N/A` (null)."""
    if value is None or value == "":
        return NULL
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def csv_row(body: dict[str, Any]) -> dict[str, str]:
    """A Collections body (`render`) as CSV columns: `{"Account": {"K": "x"}}` → `{"Account.K": "x"}`."""
    row: dict[str, str] = {}
    for name, value in body.items():
        if name == "attributes":
            continue
        if isinstance(value, dict):
            for parent_key, external_id in value.items():
                row[f"{name}.{parent_key}"] = csv_cell(external_id)
        else:
            row[name] = csv_cell(value)
    return row


@dataclass(frozen=True)
class BulkError:
    code: str
    message: str
    fields: tuple[str, ...]


def parse_error(text: str) -> BulkError:
    """The first error of an `sf__Error` cell ("CODE:message:Field1,Field2 --")."""
    found = _ERROR.match(text.strip())
    if found is None:
        return BulkError("UNKNOWN_ERROR", text.strip(), ())
    fields = tuple(f for f in found["fields"].split(",") if f)
    return BulkError(found["code"], found["message"], fields)


def _csv_size(rows: Sequence[dict[str, str]]) -> list[int]:
    sizes = []
    for row in rows:
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerow(row.values())
        sizes.append(len(out.getvalue().encode("utf-8")))
    return sizes


def chunk_rows(rows: Sequence[dict[str, str]], *, max_rows: int, max_bytes: int) -> list[list[int]]:
    """Indexes of `rows` cut into jobs of at most `max_rows` rows and about `max_bytes` of CSV."""
    header_room = 32_000  # the largest header row Bulk accepts
    chunks: list[list[int]] = []
    current: list[int] = []
    size = header_room
    for index, row_size in enumerate(_csv_size(rows)):
        if current and (len(current) >= max_rows or size + row_size > max_bytes):
            chunks.append(current)
            current, size = [], header_room
        current.append(index)
        size += row_size
    if current:
        chunks.append(current)
    return chunks


class BulkUpserter:
    """Runs keyed upsert jobs and maps their result files back to `LoadResult`s."""

    def __init__(self, sf: Salesforce, *, max_bytes: int = DEFAULT_BULK_MAX_BYTES,
                 max_rows: int = BULK_MAX_ROWS, wait: int = 1, retries: int = 4,
                 backoff_seconds: float = 0.5, sleep: Callable[[float], None]) -> None:
        self.sf = sf
        self.max_bytes = max_bytes
        self.max_rows = max_rows
        self.wait = wait
        self.retries = retries
        self.backoff_seconds = backoff_seconds
        self.sleep = sleep
        self.jobs: list[str] = []  # ids of the jobs run, in order

    def upsert(self, target_object: str, key_field: str, records: Sequence[TargetRecord],
               rendered: Sequence[Rendered]) -> list[LoadResult]:

        rows = [csv_row(r.body) for r in rendered]
        results: list[LoadResult | None] = [None] * len(records)
        for chunk in chunk_rows(rows, max_rows=self.max_rows, max_bytes=self.max_bytes):
            files = self._run(target_object, key_field, [rows[i] for i in chunk])
            by_key: dict[str, list[int]] = {}
            for index in chunk:
                by_key.setdefault(rows[index][key_field], []).append(index)

            def claim(row: dict[str, str], by_key: dict[str, list[int]] = by_key) -> int | None:
                waiting = by_key.get(row.get(key_field, ""), [])
                return waiting.pop(0) if waiting else None

            for job_id, successes, failures, unprocessed in files:
                for row in successes:
                    at = claim(row)
                    if at is not None:
                        results[at] = LoadResult(records[at].source_id, row.get("sf__Id") or None,
                                                 row.get("sf__Created", "").lower() == "true")
                for row in failures:
                    at = claim(row)
                    if at is not None:
                        error = parse_error(row.get("sf__Error", ""))
                        fields = target_fields(error.fields, error.message, rendered[at])
                        results[at] = LoadResult(records[at].source_id, row.get("sf__Id") or None,
                                                 False, error.code, error.message, fields)
                for row in unprocessed:
                    at = claim(row)
                    if at is not None:
                        results[at] = LoadResult(
                            records[at].source_id, None, False, UNPROCESSED,
                            f"Bulk job {job_id} left this row unprocessed; loading again sends it again")
            for index in chunk:
                if results[index] is None:
                    results[index] = LoadResult(
                        records[index].source_id, None, False, NO_RESULT,
                        "no Bulk result file lists this row; loading again sends it again")
        return [r for r in results if r is not None]

    def _run(self, target_object: str, key_field: str, rows: list[dict[str, str]]
             ) -> list[tuple[str, list[dict[str, str]], list[dict[str, str]], list[dict[str, str]]]]:
        """One chunk as (normally) one job: (job id, successes, failures, unprocessed) per job run."""

        bulk = getattr(self.sf.bulk2, target_object)
        reason = ""
        for attempt in range(self.retries + 1):
            try:
                summaries = bulk.upsert(records=rows, external_id_field=key_field,
                                        batch_size=self.max_rows, wait=self.wait)
                files = []
                for summary in summaries:
                    job_id = str(summary["job_id"])
                    self.jobs.append(job_id)
                    files.append((job_id, _parse(bulk.get_successful_records(job_id)),
                                  _parse(bulk.get_failed_records(job_id)),
                                  _parse(bulk.get_unprocessed_records(job_id))))
                return files
            except SalesforceOperationError as exc:
                message = str(exc).removeprefix(_JOB_FAILURE)
                raise LoadStopped(f"{target_object}: the Bulk API job stopped: {message}") from exc
            except SalesforceError as exc:
                code, message = top_error(exc.content)
                if exc.status < 500:
                    raise LoadStopped(f"{target_object}: Salesforce refused the Bulk API job: HTTP "
                                      f"{exc.status} {code}: {message}", code=code or None) from exc
                reason = f"HTTP {exc.status} {code}: {message}"
            except requests.exceptions.ConnectionError as exc:
                reason = f"connection error: {exc}"
            if attempt < self.retries:
                self.sleep(self.backoff_seconds * 2 ** attempt)
        raise LoadStopped(f"{target_object}: Bulk API job still failing after {self.retries + 1} "
                          f"attempts: {reason}")


def _parse(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text))) if text else []

