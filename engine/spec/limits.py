"""A platform's limits (targets/<platform>/limits.yaml, sources/<system>/limits.yaml)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from engine.errors import SpecError
from engine.spec.catalog import Catalog
from engine.spec.schema_check import check_against_schema
from engine.spec.yamldoc import load_yaml, plain


@cache
def _limits(path: Path) -> dict[str, float]:
    doc = load_yaml(path)
    problems = check_against_schema(doc, "limits.schema.json")
    if problems:
        raise SpecError(problems)
    return {name: entry["value"] for name, entry in plain(doc)["limits"].items()}


def target_limit(catalog: Catalog, name: str) -> float | None:
    """One named limit of the catalog's platform, or None when the platform does not declare it."""
    path = catalog.folder / "limits.yaml"
    if not path.is_file():
        return None
    return _limits(path).get(name)
