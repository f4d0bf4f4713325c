"""Content hashes: whether a record's target values changed since they were last written.

A record is hashed over its key and the values of the fields one pass writes
(lookups as the parent they name), in a canonical JSON form, so the same
values always give the same hash, whatever order the rules produced them in.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from engine.records import Ref, TargetRecord


def plain_value(value: Any) -> Any:
    """A target value as JSON can hold it (lookups as {object, source_id, key})."""
    if isinstance(value, Ref):
        return {"lookup": value.object, "source_id": value.source_id, "key": value.external_id}
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [plain_value(v) for v in value]
    return value


def plain_values(record: TargetRecord) -> dict[str, Any]:
    return {name: plain_value(value) for name, value in record.values.items()}


def content_hash(record: TargetRecord, *, only: Collection[str] | None = None,
                 omit: Collection[str] = ()) -> str:
    values = {name: plain_value(value) for name, value in record.values.items()
              if name not in omit and (only is None or name in only)}
    text = json.dumps([record.key, values], sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
