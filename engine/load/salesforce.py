"""Loading into Salesforce through the unmodified simple-salesforce client.

Records go up by their external-id key with sObject Collections upsert
(`PATCH composite/sobjects/{T}/{KeyField}`, `allOrNone: false`, at most
`collection_batch_size` (200) records a call), so every record gets its own
result and a rejected record never holds back the rest of its batch. Because
the upsert is keyed, re-sending a batch never duplicates a record: that is what
makes retries safe.

Rendering a `TargetRecord` (ref §2 "Relationship by external ID"):
- a `Ref` becomes `{"<relationship>": {"<parent key field>": "<external id>"}}`,
  the relationship named by the catalog (or provisioned field: `X__c` → `X__r`,
  standard `AccountId` → `Account`), the parent key field being the key target
  field of the spec object looked up; a missing lookup (None) sets the field null;
- a Decimal is sent as a string of its exact digits (never a float: a float
  keeps only ~15-17 significant digits, so currency and precision-18 numbers
  could change; the REST API parses numeric strings for number fields);
- dates and date-times as ISO 8601 text.

Errors are mapped back to the spec's target fields: a relationship name
becomes its lookup field, and the foreign-key miss, which Salesforce reports
without `fields`, is traced to the lookup that carried that external id.

Retries (backoff, then `LoadStopped`): HTTP 503 / 500-class answers,
connection errors, and records failing with UNABLE_TO_LOCK_ROW (only those
records are sent again). REQUEST_LIMIT_EXCEEDED (403) is not transient within
the day: the loader stops at once with `LoadStopped`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from simple_salesforce.api import Salesforce

from engine.compile.compiler import CompiledSpec
from engine.load.salesforce_bulk import DEFAULT_BULK_MAX_BYTES, DEFAULT_BULK_THRESHOLD, BulkUpserter
from engine.load.salesforce_calls import SalesforceCalls
from engine.load.salesforce_records import Rendered, json_value, relationship_name, target_fields
from engine.load.target import LoadResult, LoadStopped, TargetLoader
from engine.records import Ref, TargetRecord
from engine.spec.limits import target_limit
from engine.spec.target_view import TargetObjectView, target_objects

DEFAULT_BATCH_SIZE = 200
TRANSIENT_RECORD_CODES = frozenset({"UNABLE_TO_LOCK_ROW"})
STOP_CODES = frozenset({"REQUEST_LIMIT_EXCEEDED"})



class SalesforceLoader:
    """`TargetLoader` for Salesforce (see the module docstring)."""

    def __init__(self, sf: Salesforce, *, views: Mapping[str, TargetObjectView],
                 spec_targets: Mapping[str, tuple[str, str]], batch_size: int = DEFAULT_BATCH_SIZE,
                 retries: int = 4, backoff_seconds: float = 0.5,
                 sleep: Callable[[float], None] = time.sleep,
                 bulk_threshold: int = DEFAULT_BULK_THRESHOLD, bulk_max_bytes: int = DEFAULT_BULK_MAX_BYTES,
                 bulk_wait: int = 1) -> None:
        """`spec_targets`: spec object → (target object, key target field), for lookups' parents.

        More than `bulk_threshold` records of one object go through Bulk API 2.0 (salesforce_bulk.py)."""
        if not 1 <= batch_size <= DEFAULT_BATCH_SIZE:
            raise ValueError(f"batch size must be 1..{DEFAULT_BATCH_SIZE}, not {batch_size}")
        self.sf = sf
        self.views = views
        self.spec_targets = spec_targets
        self.batch_size = batch_size
        self.retries = retries
        self.backoff_seconds = backoff_seconds
        self.sleep = sleep
        self.rest = SalesforceCalls(sf, retries=retries, backoff_seconds=backoff_seconds, sleep=sleep)
        self.bulk_threshold = bulk_threshold
        self.bulk = BulkUpserter(sf, max_bytes=bulk_max_bytes, wait=bulk_wait, retries=retries,
                                 backoff_seconds=backoff_seconds, sleep=sleep)

    @classmethod
    def for_spec(cls, sf: Salesforce, compiled: CompiledSpec, **options: Any) -> SalesforceLoader:
        loaded = compiled.loaded
        spec_targets = {name: (obj.target, obj.key.target) for name, obj in loaded.spec.objects.items()
                        if obj.key is not None}
        batch = target_limit(loaded.target, "collection_batch_size")
        options.setdefault("batch_size", int(batch) if batch else DEFAULT_BATCH_SIZE)
        for option, limit in (("bulk_threshold", "bulk_threshold"),
                              ("bulk_max_bytes", "bulk_upload_max_bytes")):
            value = target_limit(loaded.target, limit)
            if value:
                options.setdefault(option, int(value))
        return cls(sf, views=target_objects(loaded.spec, loaded.target), spec_targets=spec_targets, **options)

    # -- rendering -------------------------------------------------------------------------------
    def render(self, target_object: str, key_field: str, record: TargetRecord,
               only: Collection[str] | None = None, omit: Collection[str] = ()) -> Rendered:
        view = self.views.get(target_object)
        body: dict[str, Any] = {"attributes": {"type": target_object}, key_field: record.key}
        relationships: dict[str, str] = {}
        refs: dict[str, tuple[str, str, str]] = {}
        for name, value in record.values.items():
            if name in omit or (only is not None and name not in only) or name == key_field:
                continue
            if isinstance(value, Ref):
                parent_object, parent_key = self.spec_targets[value.object]
                relationship = relationship_name(name, view.fields.get(name) if view else None)
                body[relationship] = {parent_key: value.external_id}
                relationships[relationship] = name
                refs[name] = (parent_object, parent_key, value.external_id)
            else:
                body[name] = json_value(value)
        return Rendered(body, relationships, refs)

    # -- the protocol ----------------------------------------------------------------------------
    def upsert(self, object_spec_name: str, target_object: str, key_field: str,
               records: Sequence[TargetRecord], *, omit: Collection[str] = ()) -> list[LoadResult]:
        return self._upsert(object_spec_name, target_object, key_field, records, None, omit)

    def update_lookups(self, object_spec_name: str, target_object: str, key_field: str,
                       records: Sequence[TargetRecord], fields: Collection[str]) -> list[LoadResult]:
        return self._upsert(object_spec_name, target_object, key_field, records, set(fields), ())

    def delete(self, target_object: str, ids: Sequence[str]) -> list[LoadResult]:
        results: list[LoadResult] = []
        for chunk in _chunks(list(ids), self.batch_size):
            answer = self._call("DELETE", "composite/sobjects",
                                params={"ids": ",".join(chunk), "allOrNone": "false"})
            for record_id, item in zip(chunk, answer, strict=True):
                errors = item.get("errors") or []
                if item.get("success"):
                    results.append(LoadResult(record_id, record_id, False))
                else:
                    first = errors[0] if errors else {}
                    results.append(LoadResult(record_id, record_id, False, str(first.get("statusCode")),
                                              str(first.get("message")), tuple(first.get("fields") or ())))
        return results

    def update_by_id(self, target_object: str,
                     items: Sequence[tuple[str, Mapping[str, Any]]]) -> list[LoadResult]:
        """Set fields of records by Id (a rollback restoring before-values); values go as given."""
        results: list[LoadResult] = []
        for chunk in _chunks(list(items), self.batch_size):
            records = [{"attributes": {"type": target_object}, "Id": record_id, **values}
                       for record_id, values in chunk]
            body = {"allOrNone": False, "records": records}
            answer = self._call("PATCH", "composite/sobjects", body=body)
            for (record_id, _), item in zip(chunk, answer, strict=True):
                errors = item.get("errors") or [{}]
                results.append(LoadResult(record_id, record_id, False) if item.get("success") else LoadResult(
                    record_id, record_id, False, str(errors[0].get("statusCode") or "UNKNOWN_ERROR"),
                    str(errors[0].get("message") or ""), tuple(errors[0].get("fields") or ())))
        return results

    def read(self, target_object: str, ids: Sequence[str],
             fields: Sequence[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        wanted = list(dict.fromkeys(["Id", *fields]))
        for chunk in _chunks(list(ids), self.batch_size):
            answer = self._call("POST", f"composite/sobjects/{target_object}",
                                body={"ids": chunk, "fields": wanted})
            for item in answer:
                if isinstance(item, dict) and item.get("Id"):
                    found[str(item["Id"])] = {k: v for k, v in item.items() if k != "attributes"}
        return found

    # -- upsert ------------------------------------------------------------------------------------
    def _upsert(self, object_spec_name: str, target_object: str, key_field: str,
                records: Sequence[TargetRecord], only: Collection[str] | None,
                omit: Collection[str]) -> list[LoadResult]:
        strays = sorted({r.object for r in records} - {object_spec_name})
        if strays:
            raise ValueError(f"records of {', '.join(strays)} handed to the load of {object_spec_name}")
        rendered = [self.render(target_object, key_field, r, only, omit) for r in records]
        if len(records) > self.bulk_threshold:
            return self.bulk.upsert(target_object, key_field, records, rendered)
        results: list[LoadResult | None] = [None] * len(records)
        path = f"composite/sobjects/{target_object}/{quote(key_field, safe='')}"
        for chunk in _chunks(list(range(len(records))), self.batch_size):
            pending = chunk
            for attempt in range(self.retries + 1):
                body = {"allOrNone": False, "records": [rendered[i].body for i in pending]}
                answer = self._call("PATCH", path, body=body)
                if not isinstance(answer, list) or len(answer) != len(pending):
                    raise LoadStopped(f"{target_object}: Salesforce answered {len(pending)} records "
                                      f"with an unexpected body: {str(answer)[:200]}")
                retry: list[int] = []
                for index, item in zip(pending, answer, strict=True):
                    result = _result(records[index].source_id, item, rendered[index])
                    if result.code in TRANSIENT_RECORD_CODES and attempt < self.retries:
                        retry.append(index)
                    results[index] = result
                if not retry:
                    break
                pending = retry
                self.sleep(self.backoff_seconds * 2 ** attempt)
        return [r for r in results if r is not None]

    # -- HTTP ------------------------------------------------------------------------------------
    def _call(self, method: str, path: str, *, body: Any = None,
              params: dict[str, str] | None = None) -> Any:
        """One REST call, with transient failures retried; LoadStopped when it cannot succeed."""
        return self.rest.rest(method, path, body=body, params=params)

    @property
    def calls(self) -> int:
        """REST calls made (retries included); Bulk API calls are the BulkUpserter's."""
        return self.rest.count


def _result(source_id: str, item: Mapping[str, Any], rendered: Rendered) -> LoadResult:
    if item.get("success"):
        return LoadResult(source_id, item.get("id"), bool(item.get("created")))
    errors = item.get("errors") or [{}]
    first = errors[0]
    code = str(first.get("statusCode") or "UNKNOWN_ERROR")
    message = str(first.get("message") or "")
    fields = target_fields(first.get("fields") or [], message, rendered)
    return LoadResult(source_id, item.get("id"), False, code, message, fields)


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _conforms(loader: SalesforceLoader) -> TargetLoader:
    """mypy's proof that SalesforceLoader implements the TargetLoader protocol."""
    return loader
