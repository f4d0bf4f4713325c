"""Rendering our own HTML report templates (autoescaped; the templates are ours, not the spec's)."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape


@cache
def _environment() -> Environment:
    return Environment(loader=PackageLoader("engine.report", "templates"),
                       autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
                       trim_blocks=True, lstrip_blocks=True)


def render_html(template: str, **context: Any) -> str:
    return _environment().get_template(template).render(**context)
