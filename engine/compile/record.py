"""One spec object compiled into a record transform.

Every field rule becomes one closure, built once; transforming a record is a
loop over those closures with no interpretation of the spec left to do. A
record whose fields cannot all be produced comes back `Quarantined` with every
problem found (object, source id, field, reason), never dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import chain
from typing import Any

from engine.compile.coerce import CoercionError, coercer_for
from engine.compile.expressions import (
    RECORD_ERRORS,
    Getter,
    expression_getter,
    path_getter,
    record_error_text,
)
from engine.compile.jmes_closures import is_false
from engine.compile.joins import JoinIndex
from engine.compile.templates import parse_template
from engine.compile.value_maps import compile_value_map, map_key
from engine.errors import FieldProblem
from engine.records import Filtered, Outcome, Quarantined, Ref, TargetRecord
from engine.spec.catalog import CatalogField
from engine.spec.model import FieldRule, ObjectSpec, Spec

Producer = Callable[[dict[str, Any]], Any]


def _source_getter(rule: FieldRule) -> Getter:
    if rule.kind == "path":
        return path_getter(rule.value)
    if rule.kind == "expr":
        return expression_getter(rule.value)
    if rule.kind == "template":
        render, _ = parse_template(rule.value)
        return render
    if rule.kind == "lookup":
        assert rule.key is not None
        return expression_getter(rule.key)
    constant = rule.value
    return lambda _record: constant


@dataclass(frozen=True)
class RuleParts:
    """The steps of one field rule, each compiled once (docs/spec-language.md, "Field rules")."""

    get: Getter
    translate: Callable[[Any], Any] | None
    coerce: Callable[[Any], Any] | None
    limit: int | None
    truncate: bool
    has_default: bool
    default: Any
    required: bool


def rule_parts(rule: FieldRule, spec: Spec, target_field: CatalogField | None) -> RuleParts:
    # Without max_length, the target field's own length applies, and overlong values are rejected.
    return RuleParts(
        get=_source_getter(rule),
        translate=compile_value_map(spec.value_maps[rule.map]) if rule.map else None,
        coerce=coercer_for(rule.type, rule.timezone) if rule.type and rule.kind != "lookup" else None,
        limit=rule.max_length or (target_field.length if target_field else None),
        truncate=rule.on_overflow == "truncate" and rule.max_length is not None,
        has_default=rule.has_default,
        default=rule.default,
        required=rule.required or bool(target_field and target_field.required),
    )


def compile_rule(rule: FieldRule, spec: Spec, target_field: CatalogField | None,
                 key_prefixes: dict[str, str]) -> Producer:
    """A function record → target value; raises CoercionError with the reason."""
    parts = rule_parts(rule, spec, target_field)
    get, translate, coerce = parts.get, parts.translate, parts.coerce
    if rule.kind == "lookup":
        return _lookup_producer(rule, get, translate, key_prefixes.get(rule.value, ""))
    limit, truncate = parts.limit, parts.truncate
    has_default, default, required = parts.has_default, parts.default, parts.required
    target = rule.target
    if translate is None and coerce is None and not has_default and not required:
        return _plain_producer(get, limit, truncate)

    def produce(record: dict[str, Any]) -> Any:
        value = get(record)
        if value == "":
            value = None
        if value is not None:
            if translate is not None:
                value = translate(value)
            if coerce is not None and value is not None:
                value = coerce(value)
            if limit is not None and isinstance(value, str) and len(value) > limit:
                if not truncate:
                    raise CoercionError(f"{len(value)} characters, longer than the maximum {limit}")
                value = value[:limit]
        if value is None:
            if has_default:
                return default
            if required:
                raise CoercionError(f"{target} is required but the record has no value for it")
        return value

    return produce


def _plain_producer(get: Getter, limit: int | None, truncate: bool) -> Producer:
    """The common rule — read a value, maybe bound its length — without the general rule's steps."""
    if limit is None:
        def produce_plain(record: dict[str, Any]) -> Any:
            value = get(record)
            return None if value == "" else value

        return produce_plain

    def produce_bounded(record: dict[str, Any]) -> Any:
        value = get(record)
        if value.__class__ is str:
            if value == "":
                return None
            if len(value) > limit:
                if not truncate:
                    raise CoercionError(f"{len(value)} characters, longer than the maximum {limit}")
                return value[:limit]
        return value

    return produce_bounded


def _lookup_producer(rule: FieldRule, get: Getter, translate: Callable[[Any], Any] | None,
                     prefix: str) -> Producer:
    parent = rule.value
    has_default, default = rule.has_default, rule.default
    required = rule.required

    def produce(record: dict[str, Any]) -> Ref | None:
        key = get(record)
        if key == "":
            key = None
        if key is not None and translate is not None:
            key = translate(key)
        if key is None and has_default:
            key = default
        if key is None:
            if required:
                raise CoercionError(f"lookup to {parent} is required but the record has no key for it")
            return None
        source_id = map_key(key)
        return Ref(parent, source_id, prefix + source_id)

    return produce


@dataclass(frozen=True)
class CompiledObject:
    """A spec object ready to run: `transform(record)` gives the record's outcomes."""

    spec: ObjectSpec
    fields: tuple[tuple[str, Producer], ...]
    key: Producer
    key_prefix: str
    where: Getter | None
    each: Getter | None
    each_name: str | None
    seed: tuple[dict[str, Any], ...] = ()

    @property
    def name(self) -> str:
        return self.spec.name

    def bind(self, indexes: dict[str, JoinIndex] | None = None) -> Callable[[dict[str, Any]], list[Outcome]]:
        """The transform for this object, with its joins resolved through `indexes`."""
        if self.spec.joins and indexes is None:
            raise ValueError(f"object {self.name} needs its join indexes")
        joins = [(name, indexes[name]) for name in self.spec.joins] if indexes else []
        fields = self.fields
        key = self.key
        prefix = self.key_prefix
        where = self.where
        each = self.each
        each_name = self.each_name or ""
        object_name = self.name
        key_field = self.spec.key.target if self.spec.key else "key"

        def one(context: dict[str, Any], raw_id: str) -> Outcome:
            problems: list[FieldProblem] = []
            try:
                key_value = key(context)
            except RECORD_ERRORS as exc:
                return Quarantined(object_name, raw_id, [FieldProblem(key_field, record_error_text(exc))],
                                   context)
            if key_value is None:
                return Quarantined(object_name, raw_id,
                                   [FieldProblem(key_field, "the record has no key value")], context)
            source_id = map_key(key_value)
            values: dict[str, Any] = {}
            for target, produce in fields:
                try:
                    values[target] = produce(context)
                except RECORD_ERRORS as exc:
                    problems.append(FieldProblem(target, record_error_text(exc)))
            if problems:
                return Quarantined(object_name, source_id, problems, context)
            return TargetRecord(object_name, source_id, prefix + source_id, values)

        def transform(record: dict[str, Any]) -> list[Outcome]:
            raw_id = str(record.get("id", ""))
            context = record
            stage = "joins"
            try:
                if joins:
                    context = dict(record)
                    for name, index in joins:
                        context[name] = index.lookup(context)
                stage = "where"
                if where is not None and is_false(where(context)):
                    return [Filtered(object_name, raw_id)]
                stage = "each"
                items = each(context) if each is not None else None
            except RECORD_ERRORS as exc:
                return [Quarantined(object_name, raw_id, [FieldProblem(stage, record_error_text(exc))],
                                    context)]
            if each is None:
                return [one(context, raw_id)]
            if not isinstance(items, list):
                return [] if items is None else [Quarantined(
                    object_name, raw_id,
                    [FieldProblem("each", f"expected a list to explode, got {type(items).__name__}")],
                    context)]
            results: list[Outcome] = []
            for position, item in enumerate(items):
                element = dict(context)
                element[each_name] = item
                element[f"{each_name}_index"] = position
                results.append(one(element, raw_id))
            return results

        return transform

    def transform_all(self, records: Iterable[dict[str, Any]],
                      indexes: dict[str, JoinIndex] | None = None) -> list[Outcome]:
        transform = self.bind(indexes)
        out: list[Outcome] = []
        for record in chain(records, self.seed):  # streamed: the records are never copied into a tuple
            out.extend(transform(record))
        return out
