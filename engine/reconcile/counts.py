"""An object's balance: the source's outcome ids against the crosswalk's standing, then the target.

source = loaded + quarantined + filtered, where only ids the current source still gives are
counted; ids the state knows that the source no longer gives are `gone_from_source`, source
ids the state has never seen are `missing`. Every loaded record's target id is read back:
those the target no longer has are `missing_in_target`.
"""

from __future__ import annotations

from collections.abc import Set

from engine.reconcile.model import ObjectBalance
from engine.state.store import StateStore


def balance(store: StateStore, object_name: str, target_object: str,
            source_ids: Set[str]) -> tuple[ObjectBalance, dict[str, str | None]]:
    """The balance without the target check, and the loaded records (source id → target id)."""
    result = ObjectBalance(object_name, target_object, source=len(source_ids))
    loaded: dict[str, str | None] = {}
    seen: set[str] = set()
    for entry in store.crosswalk_of(object_name):
        if entry.source_id not in source_ids:
            result.gone_from_source.append(entry.source_id)
            continue
        seen.add(entry.source_id)
        if entry.status == "loaded":
            loaded[entry.source_id] = entry.target_id
        elif entry.status == "quarantined":
            result.quarantined += 1
        elif entry.status == "filtered":
            result.filtered += 1
    result.loaded = len(loaded)
    result.missing = sorted(source_ids - seen)
    return result, loaded


def verify_in_target(result: ObjectBalance, loaded: dict[str, str | None], present: Set[str]) -> None:
    """Loaded records whose target id the target did not return (a record loaded with no id recorded
    cannot be verified, so it counts as missing too)."""
    result.missing_in_target = sorted(source_id for source_id, target_id in loaded.items()
                                      if target_id is None or target_id not in present)
