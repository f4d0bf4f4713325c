"""Loading a spec: YAML with locations → overlays → JSON Schema → model → semantic checks.

`load_spec` either returns a spec that is safe to compile or raises one
SpecError carrying every problem found, each located in the file that holds it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from engine.compile.plan import Plan, build_plan
from engine.errors import Diagnostic, SpecError
from engine.spec.catalog import Catalog, known_systems, load_catalog
from engine.spec.model import Spec, build_model
from engine.spec.overlay import load_with_overlays
from engine.spec.schema_check import check_against_schema
from engine.spec.semantics import SemanticChecker
from engine.spec.target_view import target_objects
from engine.spec.yamldoc import LDict, plain


@dataclass
class LoadedSpec:
    spec: Spec
    source: Catalog | None
    target: Catalog
    plan: Plan
    content_hash: str = ""  # sha256 of the spec as resolved (overlays applied): what a sign-off approves


def _catalog(spec: Spec, kind: str, system: str) -> Catalog | None:
    try:
        return load_catalog(kind, system)
    except SpecError as exc:
        if exc.diagnostics and exc.diagnostics[0].loc is None and system not in known_systems(kind):
            raise SpecError([spec.diagnostic((kind, "system"), f"unknown {kind} system '{system}'",
                                             f"known: {', '.join(known_systems(kind)) or 'none'}")]) from None
        raise


def required_fields(spec: Spec, target: Catalog) -> set[tuple[str, str]]:
    return {(obj, name) for obj, view in target_objects(spec, target).items()
            for name, f in view.fields.items() if f.required}


def load_spec(path: Path) -> LoadedSpec:
    doc = load_with_overlays(path)
    problems: list[Diagnostic] = check_against_schema(doc, "spec.schema.json")
    if problems:
        raise SpecError(problems)
    spec, problems = build_model(doc, path)
    if spec is None:
        raise SpecError(problems)
    source = _catalog(spec, "source", spec.source_system)
    target = _catalog(spec, "target", spec.target_system)
    assert target is not None
    problems += SemanticChecker(spec, source, target).run()
    plan, plan_problems = build_plan(spec, required_fields(spec, target))
    problems += plan_problems
    if problems:
        unique = {(d.loc, d.message): d for d in problems}
        raise SpecError(sorted(unique.values(),
                               key=lambda d: (d.loc.file, d.loc.line, d.loc.column) if d.loc else ("", 0, 0)))
    return LoadedSpec(spec, source, target, plan, resolved_hash(doc))


def resolved_hash(doc: LDict) -> str:
    """The spec's content as it will run: comments, layout and key order do not count."""
    text = json.dumps(plain(doc), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
