"""The compiler's entry point: a loaded spec in, runnable objects and the plan out."""

from __future__ import annotations

from dataclasses import dataclass

from engine.compile.expressions import expression_getter
from engine.compile.joins import JoinIndex, fields_used
from engine.compile.plan import Plan
from engine.compile.record import CompiledObject, compile_rule
from engine.extract.normalise import complete_record
from engine.spec.loader import LoadedSpec
from engine.spec.target_view import target_objects


@dataclass
class CompiledSpec:
    loaded: LoadedSpec
    objects: dict[str, CompiledObject]

    @property
    def plan(self) -> Plan:
        return self.loaded.plan

    def join_indexes(self, object_name: str) -> dict[str, JoinIndex]:
        """Empty indexes for an object's joins, to be filled from the joined resources."""
        obj = self.objects[object_name].spec
        return {name: JoinIndex(join, fields_used(obj, name)) for name, join in obj.joins.items()}


def compile_spec(loaded: LoadedSpec) -> CompiledSpec:
    spec = loaded.spec
    views = target_objects(spec, loaded.target)
    prefixes = {name: (obj.key.prefix if obj.key else "") for name, obj in spec.objects.items()}
    source_fields = {name: list(o.fields) for name, o in loaded.source.objects.items()} \
        if loaded.source else {}
    objects: dict[str, CompiledObject] = {}
    for name, obj in spec.objects.items():
        view = views[obj.target]
        assert obj.key is not None
        fields = tuple(
            (rule.target, compile_rule(rule, spec, view.fields.get(rule.target), prefixes))
            for rule in obj.fields
        )
        objects[name] = CompiledObject(
            spec=obj,
            fields=fields,
            key=compile_rule(obj.key.rule, spec, None, prefixes),
            key_prefix=obj.key.prefix,
            where=expression_getter(obj.where) if obj.where else None,
            each=expression_getter(obj.each.path) if obj.each else None,
            each_name=obj.each.name if obj.each else None,
            seed=tuple(complete_record(r, source_fields.get(obj.source, ())) for r in obj.seed),
        )
    return CompiledSpec(loaded, objects)
