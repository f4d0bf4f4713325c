"""`extends:` overlays: a customer spec changes a pair spec key by key.

Mappings merge recursively and keep the location of whichever file supplied
each value, so an error in overlay content points at the overlay. `null`
removes an object, a field rule, a provisioned field, a value map, the whole
`owners:` section or one of its optional keys (`fallback`, `user_field`) or
`follow` entries; a value map's `remove:` list drops inherited entries. Tests with the same name replace
the inherited test; tests of removed objects are dropped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.errors import Diagnostic, Loc, SpecError
from engine.spec.yamldoc import LDict, LList, load_yaml, locate


def load_with_overlays(path: Path, _chain: tuple[Path, ...] = ()) -> LDict:
    """Load `path`; when it extends another spec, merge it over that spec."""
    doc = load_yaml(path, _display(path))
    if not isinstance(doc, LDict):
        where = getattr(doc, "loc", None) or Loc(_display(path), 1, 1)
        found = "an empty file" if doc is None else "a list" if isinstance(doc, list) else "a single value"
        raise SpecError([Diagnostic(where, "", f"a spec must be a YAML mapping, not {found}",
                                    "write the top level as `key: value` lines: name:, source:, target:, "
                                    "objects: ...")])
    parent_ref = doc.get("extends")
    if parent_ref is None:
        return doc
    if not isinstance(parent_ref, str):
        raise SpecError([Diagnostic(locate(doc, ("extends",)), "extends",
                                    "`extends` must be the path of another spec")])
    parent_path = (path.parent / parent_ref).resolve()
    if parent_path in (*_chain, path.resolve()):
        raise SpecError([Diagnostic(locate(doc, ("extends",)), "extends",
                                    f"overlay cycle: {parent_ref} extends this spec again",
                                    "an overlay must extend a spec that does not extend it back")])
    if not parent_path.is_file():
        raise SpecError([Diagnostic(locate(doc, ("extends",)), "extends",
                                    f"the spec to extend does not exist: {parent_ref}",
                                    f"the path is relative to {_display(path.parent)}/")])
    base = load_with_overlays(parent_path, (*_chain, path.resolve()))
    return merge_overlay(base, doc)


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def merge_overlay(base: LDict, overlay: LDict) -> LDict:
    merged = _merge_mapping(base, overlay, ())
    merged.pop("extends", None)
    merged.key_locs.pop("extends", None)
    merged.value_locs.pop("extends", None)
    _drop_tests_of_removed_objects(merged)
    return merged


def _copy_slot(target: LDict, source: LDict, key: str, value: Any) -> None:
    target[key] = value
    target.key_locs[key] = source.key_locs[key]
    target.value_locs[key] = source.value_locs[key]


def _merge_mapping(base: LDict, overlay: LDict, path: tuple[str, ...]) -> LDict:
    result = LDict(base, loc=base.loc)
    result.key_locs = dict(base.key_locs)
    result.value_locs = dict(base.value_locs)
    is_value_map = len(path) == 2 and path[0] == "value_maps"
    for key, value in overlay.items():
        child = (*path, key)
        if key == "tests" and not path:
            _copy_slot(result, overlay, key, _merge_tests(base.get("tests"), value))
        elif is_value_map and key == "remove":
            _remove_values(result, value)
        elif value is None and _removable(child):
            result.pop(key, None)
            result.key_locs.pop(key, None)
            result.value_locs.pop(key, None)
        elif isinstance(value, LDict) and isinstance(base.get(key), LDict) and _mergeable(child):
            result[key] = _merge_mapping(base[key], value, child)
            result.key_locs[key] = overlay.key_locs[key]
            result.value_locs[key] = overlay.value_locs[key]
        else:
            _copy_slot(result, overlay, key, value)
    return result


def _mergeable(path: tuple[str, ...]) -> bool:
    """Field rules and keys are replaced whole; containers merge."""
    if path[0] == "objects":
        return len(path) <= 3
    if path[0] == "value_maps":
        return len(path) <= 3
    if path[0] == "provision":
        return len(path) <= 4
    if path[0] == "owners":
        return len(path) <= 2
    return path[0] in ("source", "target")


def _removable(path: tuple[str, ...]) -> bool:
    if path[0] == "objects":
        return len(path) == 2 or (len(path) == 4 and path[2] == "fields")
    if path[0] == "value_maps":
        return len(path) == 2
    if path[0] == "provision":
        return len(path) == 2 or (len(path) == 4 and path[2] == "fields")
    if path[0] == "owners":
        return len(path) == 1 or (len(path) == 2 and path[1] in ("fallback", "user_field")) \
            or (len(path) == 3 and path[1] == "follow")
    return False


def _remove_values(value_map: LDict, removed: Any) -> None:
    values = value_map.get("values")
    if not isinstance(values, LDict) or not isinstance(removed, list):
        return
    kept = LDict(values, loc=values.loc)
    kept.key_locs = dict(values.key_locs)
    kept.value_locs = dict(values.value_locs)
    for item in removed:
        name = str(item)
        kept.pop(name, None)
        kept.key_locs.pop(name, None)
        kept.value_locs.pop(name, None)
    value_map["values"] = kept


def _merge_tests(base: Any, overlay: Any) -> Any:
    if not isinstance(base, LList) or not isinstance(overlay, LList):
        return overlay
    names = {t.get("name") for t in overlay if isinstance(t, dict)}
    merged = LList(loc=overlay.loc)
    for test, where in zip(base, base.item_locs, strict=True):
        if not (isinstance(test, dict) and test.get("name") in names):
            merged.append(test)
            merged.item_locs.append(where)
    for test, where in zip(overlay, overlay.item_locs, strict=True):
        merged.append(test)
        merged.item_locs.append(where)
    return merged


def _drop_tests_of_removed_objects(doc: LDict) -> None:
    tests = doc.get("tests")
    objects = doc.get("objects")
    if not isinstance(tests, LList) or not isinstance(objects, dict):
        return
    kept = LList(loc=tests.loc)
    for test, where in zip(tests, tests.item_locs, strict=True):
        if isinstance(test, dict) and isinstance(test.get("object"), str) \
                and test["object"] not in objects:
            continue
        kept.append(test)
        kept.item_locs.append(where)
    doc["tests"] = kept
