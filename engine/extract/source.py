"""What the pipeline reads from: any source of records by resource, and the join indexes built from it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, Protocol

from engine.compile.compiler import CompiledSpec
from engine.compile.joins import JoinIndex


class RecordSource(Protocol):
    def read(self, resource: str, *, since: datetime | None = None) -> Iterator[dict[str, Any]]:
        """Every record of a resource (archived included); with `since`, those updated at or after it."""
        ...


def fill_join_indexes(compiled: CompiledSpec, source: RecordSource,
                      objects: list[str] | None = None) -> dict[str, dict[str, JoinIndex]]:
    """Join indexes of every object (or of `objects`), each joined resource read once, in full."""
    names = objects if objects is not None else list(compiled.objects)
    indexes = {name: compiled.join_indexes(name) for name in names}
    by_resource: dict[str, list[JoinIndex]] = {}
    for per_object in indexes.values():
        for index in per_object.values():
            by_resource.setdefault(index.join.resource, []).append(index)
    for resource, wanted in by_resource.items():
        for record in source.read(resource):
            for index in wanted:
                index.add(record)
    return indexes
