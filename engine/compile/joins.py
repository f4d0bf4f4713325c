"""Joins: a record sees a chosen record (or all records) of another resource.

An index is built in one pass over the joined resource and keeps only what the
join can return (one record per match value for first/latest/earliest), so its
memory is bounded by the number of distinct match values, not by the size of
the joined resource.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from engine.compile.expressions import Getter, expression_getter, path_getter
from engine.spec.model import JoinSpec


def _match_key(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


class JoinIndex:
    def __init__(self, join: JoinSpec) -> None:
        self.join = join
        self._match: Getter = path_getter(join.match)
        self._on: Getter = expression_getter(join.on)
        self._order: Getter | None = path_getter(join.order_by) if join.order_by else None
        self._picked: dict[str, Any] = {}

    def add(self, record: dict[str, Any]) -> None:
        key = _match_key(self._match(record))
        if key is None:
            return
        pick = self.join.pick
        if pick == "all":
            self._picked.setdefault(key, []).append(record)
            return
        current = self._picked.get(key)
        if current is None:
            self._picked[key] = record
            return
        if pick == "first" or self._order is None:
            return
        new_order, old_order = self._order(record), self._order(current)
        if new_order is None:
            return
        if old_order is None or (new_order > old_order if pick == "latest" else new_order < old_order):
            self._picked[key] = record

    def add_all(self, records: Iterable[dict[str, Any]]) -> JoinIndex:
        for record in records:
            self.add(record)
        return self

    def lookup(self, record: dict[str, Any]) -> Any:
        key = _match_key(self._on(record))
        if key is None:
            return [] if self.join.pick == "all" else None
        found = self._picked.get(key)
        if found is None and self.join.pick == "all":
            return []
        return found
