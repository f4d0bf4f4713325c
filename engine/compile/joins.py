"""Joins: a record sees a chosen record (or all records) of another resource.

An index is built in one pass over the joined resource and keeps only what the
join can return (one record per match value for first/latest/earliest), so its
memory is bounded by the number of distinct match values, not by the size of
the joined resource. When every use of a join in the object's rules is a plain
`join.field`, the index keeps only those fields of each record (a note's
appointment is its start time, not the whole appointment): `fields_used`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from engine.compile.expressions import Getter, expression_getter, path_getter
from engine.spec.model import JoinSpec, ObjectSpec


def _match_key(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def _expressions(obj: ObjectSpec) -> list[str]:
    """Every text of the object that may name a join: rule paths, expressions, templates, keys."""
    texts = [str(rule.value) for rule in obj.fields if rule.kind in ("path", "expr", "template", "lookup")]
    texts += [rule.key for rule in obj.fields if rule.key]
    texts += [obj.where or "", obj.each.path if obj.each else ""]
    if obj.key is not None:
        texts.append(str(obj.key.rule.value))
    texts += [j.on for j in obj.joins.values()]
    return texts


def fields_used(obj: ObjectSpec, join_name: str) -> frozenset[str] | None:
    """The fields of `join_name` the object reads, or None when some use is not a plain `name.field`
    (a projection, an index, the join passed whole): then the index keeps whole records."""
    mention = re.compile(rf"(?<![\w.$]){re.escape(join_name)}(?!\w)(\.(\w+))?")
    # `{% if visit %}` only asks whether there is a record: a projected one answers the same.
    presence = re.compile(rf"{{%-?\s*(?:el)?if\s+{re.escape(join_name)}\s*-?%}}")
    used: set[str] = set()
    for text in _expressions(obj):
        for found in mention.finditer(presence.sub("", text)):
            if found.group(2) is None:
                return None
            used.add(found.group(2))
    return frozenset(used)


class JoinIndex:
    def __init__(self, join: JoinSpec, keep: frozenset[str] | None = None) -> None:
        """`keep`: the fields to hold of each picked record (None: all of them)."""
        self.join = join
        self._keep = None if keep is None else keep | {f for f in (join.order_by,) if f}
        self._match: Getter = path_getter(join.match)
        self._on: Getter = expression_getter(join.on)
        self._order: Getter | None = path_getter(join.order_by) if join.order_by else None
        self._picked: dict[str, Any] = {}

    def add(self, record: dict[str, Any]) -> None:
        key = _match_key(self._match(record))
        if key is None:
            return
        if self._keep is not None:
            record = {name: record.get(name) for name in self._keep}
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
