"""Named value maps compiled into one dictionary lookup each."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from engine.compile.coerce import CoercionError
from engine.spec.model import ValueMap


def map_key(value: Any) -> str:
    """The text a source value is looked up by (numeric codes match `10:` keys)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (str, int, float, Decimal)):
        return str(value)
    raise CoercionError(f"a value map cannot translate {type(value).__name__} values")


def compile_value_map(vmap: ValueMap) -> Callable[[Any], Any]:
    fold = vmap.ignore_case
    table = {(k.casefold() if fold else k): v for k, v in vmap.values.items()}
    missing = object()
    name = vmap.name
    quarantine = vmap.quarantine_unmapped
    fallback = vmap.fallback

    def translate(value: Any) -> Any:
        key = map_key(value)
        found = table.get(key.casefold() if fold else key, missing)
        if found is not missing:
            return found
        if quarantine:
            raise CoercionError(f"value {value!r} is not in value map '{name}'")
        return fallback

    return translate


def compile_coverage(vmap: ValueMap) -> Callable[[Any], bool]:
    """Whether a source value is listed in the map (what the audit asks of every value it sees)."""
    fold = vmap.ignore_case
    keys = {k.casefold() if fold else k for k in vmap.values}

    def covered(value: Any) -> bool:
        try:
            key = map_key(value)
        except CoercionError:
            return False
        return (key.casefold() if fold else key) in keys

    return covered
