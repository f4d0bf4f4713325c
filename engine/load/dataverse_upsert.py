"""Upserts by alternate key, the way that suits the batch: one PATCH per record, UpsertMultiple, or $batch.

Up to `bulk_threshold` records (limits.yaml, 100): one `PATCH <set>(<key>='<value>')` per
record with `Prefer: return=representation`, whose 201 or 200 tells create from update and
returns the GUID. Above it, `UpsertMultiple` in groups of `bulk_batch` (limits.yaml
upsert_multiple_batch, 1000) where the table supports the message (sdkmessagefilters;
ref §3), else `$batch` of the same PATCH requests with `odata.continue-on-error`, one
answer per record. UpsertMultiple answers 204 without ids and is one transaction on
standard tables: created-or-updated comes from the rows found by key beforehand, the
new rows' GUIDs from a query afterwards, and a group it refuses is sent again as
`$batch`, so each record gets its own answer and the good ones still load.

Every request is keyed, so a retried call (429, 503, dropped connection) writes the
same rows again and never duplicates one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from engine.load.dataverse_batch import BatchAnswer, BatchRequest
from engine.load.dataverse_client import DataverseClient, key_literal
from engine.load.dataverse_records import Rendered, Renderer, row_id
from engine.load.target import LoadResult
from engine.records import TargetRecord

KEYS_PER_QUERY = 100  # keeps a query URL far below the 32 KB limit
DEFAULT_BULK_THRESHOLD = 100
DEFAULT_BULK_BATCH = 1000


@dataclass
class Item:
    """One record on its way: its body, its address by key, and its row's id when it exists already."""

    record: TargetRecord
    rendered: Rendered
    path: str
    existing: str | None


def in_filter(column: str, values: Sequence[str]) -> str:
    literals = ",".join(key_literal(v) for v in values)
    return f"Microsoft.Dynamics.CRM.In(PropertyName='{column}',PropertyValues=[{literals}])"


def chunks(items: Sequence[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield list(items[start:start + size])


class Upserter:
    def __init__(self, client: DataverseClient, renderer: Renderer, *,
                 bulk_threshold: int = DEFAULT_BULK_THRESHOLD, bulk_batch: int = DEFAULT_BULK_BATCH,
                 upsert_multiple: bool | None = None) -> None:
        """`upsert_multiple`: True or False forces the bulk path; None asks the environment per table."""
        self.client = client
        self.renderer = renderer
        self.bulk_threshold = bulk_threshold
        self.bulk_batch = bulk_batch
        self.upsert_multiple = upsert_multiple
        self._supported: dict[str, bool] = {}

    # -- rows that exist -------------------------------------------------------------------------
    def existing(self, table: str, key_column: str, keys: Sequence[str],
                 select: Sequence[str] = ()) -> dict[str, dict[str, Any]]:
        """Rows with these keys, by key; each carries its primary id and the `select` columns."""
        info = self.client.table(table)
        by_id = key_column == info.primary_id
        wanted = list(dict.fromkeys(k for k in keys if k))
        lookup = {row_id(table, k): k for k in wanted} if by_id else {k: k for k in wanted}
        column = info.primary_id if by_id else key_column
        columns = list(dict.fromkeys([info.primary_id, column, *select]))
        found: dict[str, dict[str, Any]] = {}
        for chunk in chunks(list(lookup), KEYS_PER_QUERY):
            for row in self.client.query(info.entity_set, select=columns, filter=in_filter(column, chunk),
                                         annotations=True):
                value = str(row.get(column) or "")
                key = lookup.get(value) or lookup.get(value.lower())
                if key is not None:
                    found[key] = row
        return found

    def items(self, table: str, key_column: str, records: Sequence[TargetRecord],
              existing: dict[str, dict[str, Any]], **render: Any) -> list[Item]:
        primary = self.client.table(table).primary_id
        out = []
        for record in records:
            row = existing.get(record.key)
            rendered = self.renderer.render(table, key_column, record, creating=row is None, **render)
            out.append(Item(record, rendered, self.renderer.path(table, key_column, record.key),
                            str(row[primary]) if row else None))
        return out

    # -- sending -----------------------------------------------------------------------------------
    def send(self, table: str, key_column: str, items: Sequence[Item], *, update_only: bool = False,
             bulk: bool = True) -> list[LoadResult]:
        """One result per item, in order (see the module docstring for the path taken)."""
        if len(items) <= self.bulk_threshold:
            return [self._one(table, item, update_only) for item in items]
        if bulk and not update_only and self._supports(table):
            results: list[LoadResult] = []
            for group in chunks(items, self.bulk_batch):
                results += self._upsert_multiple(table, key_column, group)
            return results
        return self._batch(table, items, update_only)

    def _request(self, table: str, item: Item, update_only: bool) -> tuple[str, dict[str, str]]:
        primary = self.client.table(table).primary_id
        headers = {"Prefer": "return=representation"}
        if update_only:
            headers["If-Match"] = "*"
        return f"{item.path}?$select={primary}", headers

    def _one(self, table: str, item: Item, update_only: bool) -> LoadResult:
        path, headers = self._request(table, item, update_only)
        response = self.client.send("PATCH", path, body=item.rendered.body, headers=headers)
        answer = BatchAnswer(response.status_code, {k.lower(): v for k, v in response.headers.items()},
                             response.content)
        return self.result(table, item, answer)

    def _batch(self, table: str, items: Sequence[Item], update_only: bool) -> list[LoadResult]:
        requests = []
        for item in items:
            path, headers = self._request(table, item, update_only)
            requests.append(BatchRequest("PATCH", self.client.url(path), item.rendered.body, headers))
        answers = self.client.batch(requests)
        return [self.result(table, item, answer) for item, answer in zip(items, answers, strict=True)]

    def result(self, table: str, item: Item, answer: BatchAnswer) -> LoadResult:
        """A PATCH upsert's answer as a LoadResult (201 created, 200/204 updated or as found before)."""
        source_id = item.record.source_id
        if not answer.ok:
            code, message = answer.error()
            return LoadResult(source_id, item.existing, False, code, message,
                              item.rendered.fields_of(message))
        primary = self.client.table(table).primary_id
        payload = answer.json() if answer.status in (200, 201) else None
        target_id = str(payload[primary]) if isinstance(payload, dict) and payload.get(primary) else None
        if target_id is None:
            location = answer.headers.get("odata-entityid", "")
            inside = location.rsplit("(", 1)[-1].rstrip(")") if "(" in location else ""
            target_id = inside if "=" not in inside and inside else item.existing
        created = answer.status == 201 or (answer.status == 204 and item.existing is None)
        return LoadResult(source_id, target_id, created)

    # -- UpsertMultiple ------------------------------------------------------------------------------
    def _supports(self, table: str) -> bool:
        if self.upsert_multiple is not None:
            return self.upsert_multiple
        known = self._supported.get(table)
        if known is None:
            response = self.client.send("GET", "sdkmessagefilters", params={
                "$select": "sdkmessagefilterid",
                "$filter": f"sdkmessageid/name eq 'UpsertMultiple' and primaryobjecttypecode eq '{table}'"})
            # An environment that cannot answer (an emulator without the table) is tried: a refusal of
            # the message itself marks the table unsupported (see _upsert_multiple).
            known = bool(response.json().get("value")) if response.status_code == 200 else True
            self._supported[table] = known
        return known

    def _upsert_multiple(self, table: str, key_column: str, items: list[Item]) -> list[LoadResult]:
        info = self.client.table(table)
        targets = []
        for item in items:
            target = {"@odata.type": f"Microsoft.Dynamics.CRM.{table}", "@odata.id": item.path,
                      **item.rendered.body}
            if key_column != info.primary_id:
                target[key_column] = item.record.key  # as Microsoft's client does: the key in the item too
            targets.append(target)
        response = self.client.send("POST", f"{info.entity_set}/Microsoft.Dynamics.CRM.UpsertMultiple",
                                    body={"Targets": targets})
        if response.status_code >= 300:
            if response.status_code in (404, 405, 501):
                self._supported[table] = False
            # One transaction: the refusal of one record rolled back all; each now gets its own answer.
            return self._batch(table, items, False)
        new = [item.record.key for item in items if item.existing is None]
        ids = {key: str(row[info.primary_id]) for key, row in self.existing(table, key_column, new).items()}
        results = []
        for item in items:
            target_id = item.existing or ids.get(item.record.key)
            if target_id is None:
                results.append(LoadResult(item.record.source_id, None, False, "NOT_FOUND_AFTER_UPSERT",
                                          "UpsertMultiple succeeded but the row is not found by its key"))
            else:
                results.append(LoadResult(item.record.source_id, target_id, item.existing is None))
        return results
