"""JSON Schema validation with errors located in the YAML and worded for analysts.

`schemas/` is the single source of truth for every YAML format; this module
turns jsonschema's errors into `file:line:column` diagnostics with the YAML
path and, where it can, a suggestion of what to write instead.
"""

from __future__ import annotations

import difflib
import json
from functools import cache
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource

from engine.errors import Diagnostic
from engine.paths import SCHEMA_DIR
from engine.spec.yamldoc import format_path, locate


@cache
def _registry() -> Registry:
    """Every schema under schemas/, so one may refer to another by its $id."""
    resources = []
    for path in sorted(SCHEMA_DIR.glob("*.schema.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        resources.append((contents["$id"], Resource.from_contents(contents)))
    return Registry().with_resources(resources)


@cache
def _validator(schema_name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMA_DIR / schema_name).read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema, registry=_registry())


def check_against_schema(doc: Any, schema_name: str) -> list[Diagnostic]:
    validator = _validator(schema_name)
    diagnostics: list[Diagnostic] = []
    for error in validator.iter_errors(doc):
        diagnostics.extend(_describe(doc, _deepest(error)))
    unique = {(d.loc, d.path, d.message): d for d in diagnostics}
    return sorted(unique.values(), key=lambda d: (d.loc.line, d.loc.column) if d.loc else (0, 0))


def _deepest(error: ValidationError) -> ValidationError:
    """For anyOf/oneOf, report the branch that got furthest, not 'not valid under any'."""
    if error.validator in ("anyOf", "oneOf") and error.context:
        # A branch that failed inside the value accepted its shape: that is the one the user meant.
        deeper = [e for e in error.context if len(e.absolute_path) > len(error.absolute_path)]
        typed = [e for e in error.context if e.validator != "type"]
        candidates = deeper or typed
        if not candidates:
            return error  # only type mismatches at this very value: _describe lists what may go here
        # Prefer the branch whose schema expects the type the user actually wrote.
        best = max(candidates, key=lambda e: (len(e.absolute_path), e.validator != "const"))
        return _deepest(best)
    return error


def _names(schema: dict[str, Any]) -> list[str]:
    return sorted(schema.get("properties", {}))


def _describe(doc: Any, error: ValidationError) -> list[Diagnostic]:
    schema: dict[str, Any] = error.schema if isinstance(error.schema, dict) else {}
    expected_value: Any = error.validator_value
    path = tuple(error.absolute_path)
    where = format_path(path)
    kind = error.validator
    if kind == "additionalProperties" and isinstance(error.instance, dict):
        allowed = _names(schema)
        result = []
        for key in sorted(set(error.instance) - set(allowed)):
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"did you mean '{close[0]}'?" if close else ""
            hint = (hint + " " if hint else "") + f"allowed here: {', '.join(allowed)}"
            result.append(Diagnostic(locate(doc, (*path, key), key=True), format_path((*path, key)),
                                     f"unknown key '{key}'", hint))
        return result
    if "propertyNames" in error.absolute_schema_path and isinstance(error.instance, str):
        # A bad name (of an object, a field, a value map ...): point at the name itself.
        name_path = (*path, error.instance)
        return [Diagnostic(locate(doc, name_path, key=True), format_path(name_path),
                           f"'{error.instance}' is not a valid name here", _name_hint(path))]
    loc = locate(doc, path)
    if kind in ("anyOf", "oneOf") and error.context and all(e.validator == "type" for e in error.context):
        kinds: list[str] = []
        for branch in error.context:
            value: Any = branch.validator_value
            kinds.extend(str(k) for k in (value if isinstance(value, list) else [value]) if k not in kinds)
        wanted = " or ".join(_article(k) for k in kinds)
        return [Diagnostic(loc, where, f"expected {wanted}, got {_type_name(error.instance)}",
                           _type_hint(kinds))]
    if kind == "required":
        missing = str(error.message).split("'")[1] if "'" in error.message else error.message
        return [Diagnostic(loc, where, f"missing required key '{missing}'",
                           f"add `{missing}:` here")]
    if kind == "type":
        expected = expected_value
        kinds = expected if isinstance(expected, list) else [expected]
        wanted = " or ".join(_article(str(k)) for k in kinds)
        return [Diagnostic(loc, where, f"expected {wanted}, got {_type_name(error.instance)}",
                           _type_hint(expected))]
    if kind == "enum":
        options = ", ".join(str(v) for v in expected_value)
        close = difflib.get_close_matches(str(error.instance), [str(v) for v in expected_value], n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        return [Diagnostic(loc, where, f"'{error.instance}' is not allowed here",
                           f"{hint}one of: {options}")]
    if kind == "const":
        return [Diagnostic(loc, where, f"'{error.instance}' is not allowed here",
                           f"write {json.dumps(error.validator_value)}")]
    if kind == "pattern":
        description = schema.get("description", "")
        hint = description or f"must match {error.validator_value}"
        return [Diagnostic(loc, where, f"'{error.instance}' is not a valid value here", hint)]
    if kind in ("minimum", "minLength", "minItems"):
        return [Diagnostic(loc, where, f"{error.message}")]
    return [Diagnostic(loc, where, error.message)]


def _type_hint(expected: Any) -> str:
    kinds = (set(expected) if isinstance(expected, list) else {expected}) - {"null"}
    if kinds == {"object"}:
        return "write `key: value` pairs here, indented under the key, or {key: value}"
    if kinds == {"array"}:
        return "write a list here: `- item` lines, or [item, item]"
    if "string" in kinds:
        return "write text here; quote it if it looks like a number, a boolean or a date"
    if kinds & {"integer", "number"}:
        return "write a number here, without quotes"
    if kinds == {"boolean"}:
        return "write true or false"
    return ""


def _name_hint(path: tuple[Any, ...]) -> str:
    if path and path[-1] in ("objects", "value_maps", "joins"):
        return "use lowercase letters, digits and underscores, starting with a letter (e.g. patient_note)"
    return "use letters, digits and underscores, starting with a letter (e.g. Cliniko_Id__c)"


def _type_name(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    return f"text ('{value}')"


def _article(kind: str) -> str:
    words = {"object": "a mapping", "array": "a list", "string": "text", "integer": "a whole number",
             "number": "a number", "boolean": "true or false", "null": "nothing"}
    return words.get(kind, kind)
