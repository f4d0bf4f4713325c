"""Sandboxed Jinja for `template:` field rules.

Templates run in a `SandboxedEnvironment` with `StrictUndefined`: a spec can
format values but cannot reach Python internals, files or the network. Unsafe
attribute access is refused twice: statically when the spec is validated (so
it never runs), and by the sandbox at render time as a second line of defence.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from functools import cache
from html.parser import HTMLParser
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.exceptions import SecurityError, TemplateAssertionError
from jinja2.sandbox import SandboxedEnvironment

from engine.compile.coerce import CoercionError, format_utc, parse_datetime, to_phone, zone


class TemplateProblem(ValueError):
    """A template is unsafe or malformed; `lineno` is 1-based inside the template."""

    def __init__(self, message: str, lineno: int = 1) -> None:
        super().__init__(message)
        self.lineno = lineno


def _date_filter(value: Any, fmt: str = "%Y-%m-%d", tz: str = "UTC") -> str:
    """Format a date or a date and time; `tz` names the zone to show a moment in."""
    if value is None or value == "":
        return ""
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        return parse_datetime(value.strip() + "T00:00:00Z").strftime(fmt)
    return parse_datetime(value).astimezone(zone(tz)).strftime(fmt)


def _datetime_utc_filter(value: Any) -> str:
    if value is None or value == "":
        return ""
    return format_utc(parse_datetime(value))


def _phone_filter(value: Any) -> str:
    if value is None or value == "":
        return ""
    try:
        return to_phone(value)
    except CoercionError:
        return str(value)


class _TextExtractor(HTMLParser):
    _BREAKS = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._BREAKS and tag != "br":
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def strip_html(value: Any) -> str:
    """Text of an HTML fragment: tags dropped, entities decoded, blocks on their own lines."""
    if value is None:
        return ""
    parser = _TextExtractor()
    parser.feed(str(value))
    parser.close()
    text = html.unescape("".join(parser.parts))
    lines = [re.sub(r"[ \t\xa0]+", " ", line).strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _truncate_filter(value: Any, length: int = 255, end: str = "") -> str:
    """Strict truncation: the result is never longer than `length` (Jinja's own allows leeway)."""
    text = "" if value is None else str(value)
    if len(text) <= length:
        return text
    return text[: max(0, length - len(end))] + end


def _finalize(value: Any) -> Any:
    return "" if value is None else value


@cache
def environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, finalize=_finalize,
                               keep_trailing_newline=False)
    for name in ("range", "lipsum", "cycler", "joiner"):
        env.globals.pop(name, None)
    env.filters.update({
        "date": _date_filter,
        "datetime_utc": _datetime_utc_filter,
        "phone": _phone_filter,
        "strip_html": strip_html,
        "truncate": _truncate_filter,
    })
    return env


_UNSAFE_NAMES = frozenset({"mro", "func_globals", "f_globals", "gi_frame", "gi_code", "cr_frame",
                           "tb_frame", "f_back", "co_code", "format_map"})


def _unsafe_access(tree: nodes.Template) -> tuple[str, int] | None:
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        name: Any = None
        if isinstance(node, nodes.Getattr):
            name = node.attr
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            name = node.arg.value
        if isinstance(name, str) and (name.startswith("_") or name in _UNSAFE_NAMES):
            return name, node.lineno
    return None


def parse_template(source: str) -> tuple[Callable[[dict[str, Any]], str], frozenset[str]]:
    """Compile a template once; return its renderer and the top-level names it reads."""
    env = environment()
    try:
        tree = env.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"Jinja syntax error: {exc.message}", exc.lineno or 1) from None
    unsafe = _unsafe_access(tree)
    if unsafe:
        name, lineno = unsafe
        raise TemplateProblem(
            f"template reaches for '{name}', which is off limits: templates may only format "
            f"record values", lineno)
    try:
        template = env.from_string(tree)
    except (TemplateSyntaxError, TemplateAssertionError) as exc:
        raise TemplateProblem(f"Jinja error: {exc.message}", exc.lineno or 1) from None
    # Names the template assigns itself ({% set %}, loop targets) are never record fields, even
    # where Jinja's scoping analysis reports them as read from outside (a set inside an if).
    assigned = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    names = frozenset(meta.find_undeclared_variables(tree) - assigned)
    render_root = template.root_render_func
    new_context = template.new_context

    def render(record: dict[str, Any]) -> str:
        try:
            return "".join(render_root(new_context(record)))
        except UndefinedError as exc:
            raise CoercionError(f"template: {exc.message}") from None
        except SecurityError as exc:
            raise CoercionError(f"template refused by the sandbox: {exc}") from None
        except (CoercionError, TypeError, ValueError, ArithmeticError) as exc:
            raise CoercionError(f"template failed: {exc}") from None

    return render, names
