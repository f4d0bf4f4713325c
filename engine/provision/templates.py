"""Target templates: the files a platform's provisioning writes, as Jinja templates in
`targets/<platform>/templates/` (autoescaped: every one of them is XML).

The templates are ours, not a spec's, so they run unsandboxed; values from the
spec reach them only as template variables, escaped on output.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from engine.paths import TARGETS_DIR


@cache
def _environment(system: str) -> Environment:
    return Environment(loader=FileSystemLoader(TARGETS_DIR / system / "templates"),
                       autoescape=True, undefined=StrictUndefined, trim_blocks=True,
                       lstrip_blocks=True, keep_trailing_newline=True)


def render_target(system: str, template: str, **context: Any) -> str:
    """Render one of a target's templates, e.g. ("salesforce", "package.xml")."""
    return _environment(system).get_template(template).render(**context)
