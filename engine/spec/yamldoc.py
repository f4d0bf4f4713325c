"""YAML documents that remember where every node came from.

Mappings load as `LDict` and sequences as `LList`; each records the location of
its own keys and values, so any value found by a YAML path can be pointed at
with file:line:column — even after overlays have merged several files.

The YAML dialect is the 1.2 core flavour analysts expect: only `true`/`false`
are booleans (a country code `NO` stays text) and dates stay text (`1990-04-01`
is a string, as it is in the source systems' JSON). Mapping keys are always
text, so a value map can list Cliniko's numeric codes as `10: Open`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from engine.errors import Diagnostic, Loc, SpecError

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc,valid-type]
    """SafeLoader with YAML 1.2 booleans and no implicit timestamps."""


_Loader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)
# Only JSON's kinds of value: an explicit `!!timestamp`, `!!binary`, `!!set`, ... is reported as an
# unsupported tag instead of building values no spec can use (or failing inside PyYAML).
_Loader.yaml_constructors = {
    tag: constructor
    for tag, constructor in yaml.SafeLoader.yaml_constructors.items()
    if tag is None or tag.rsplit(":", 1)[-1] in ("null", "bool", "int", "float", "str", "seq", "map")
}

PathKey = str | int
YPath = tuple[PathKey, ...]


class LDict(dict[str, Any]):
    """A mapping that knows the location of itself, its keys and its values."""

    loc: Loc | None
    key_locs: dict[str, Loc]
    value_locs: dict[str, Loc]

    def __init__(self, *args: Any, loc: Loc | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.loc = loc
        self.key_locs = {}
        self.value_locs = {}


class LList(list[Any]):
    """A sequence that knows the location of itself and of each item."""

    loc: Loc | None
    item_locs: list[Loc | None]

    def __init__(self, *args: Any, loc: Loc | None = None) -> None:
        super().__init__(*args)
        self.loc = loc
        self.item_locs = []


def _loc(file: str, node: yaml.Node) -> Loc:
    return Loc(file, node.start_mark.line + 1, node.start_mark.column + 1)


def _key_text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class _Builder:
    def __init__(self, file: str, loader: _Loader) -> None:
        self.file = file
        self.loader = loader
        self.problems: list[Diagnostic] = []

    def build(self, node: yaml.Node, path: str) -> Any:
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            items = LList(loc=_loc(self.file, node))
            for index, child in enumerate(node.value):
                items.append(self.build(child, f"{path}[{index}]"))
                items.item_locs.append(_loc(self.file, child))
            return items
        try:
            return self.loader.construct_object(node, deep=True)
        except (ValueError, TypeError):  # e.g. `!!int abc`: PyYAML's constructors raise plain errors
            self.problems.append(Diagnostic(_loc(self.file, node), path,
                                            f"cannot read {node.value!r} as {node.tag.rsplit(':', 1)[-1]}",
                                            "remove the tag, or quote the value if it is text"))
            return None

    def _mapping(self, node: yaml.MappingNode, path: str) -> LDict:
        result = LDict(loc=_loc(self.file, node))
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag == "tag:yaml.org,2002:merge":
                self.problems.append(
                    Diagnostic(_loc(self.file, key_node), path, "YAML merge keys (<<) are not supported",
                               "write the keys out, or use `extends:` to build on another spec")
                )
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.problems.append(
                    Diagnostic(_loc(self.file, key_node), path, "a mapping key must be plain text")
                )
                continue
            key = _key_text(self.loader.construct_object(key_node))
            child_path = f"{path}.{key}" if path else key
            if key in result:
                first = result.key_locs[key]
                self.problems.append(
                    Diagnostic(_loc(self.file, key_node), child_path,
                               f"duplicate key '{key}' (first defined at line {first.line})",
                               "remove one of the two; YAML would silently keep only the last")
                )
                continue
            result[key] = self.build(value_node, child_path)
            result.key_locs[key] = _loc(self.file, key_node)
            result.value_locs[key] = _loc(self.file, value_node)
        return result


def load_yaml(path: Path, display_name: str | None = None) -> Any:
    """Load one YAML file into LDict/LList/scalars, or raise a located SpecError."""
    name = display_name or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError([Diagnostic(None, "", f"{name}: no such file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError([Diagnostic(None, "", f"{name}: cannot read: {exc}")]) from None
    return parse_yaml(text, name)


def _syntax_error(exc: yaml.MarkedYAMLError, text: str, name: str) -> Diagnostic:
    """PyYAML's error, worded as one sentence: what is wrong where, and where the construct began."""
    mark = exc.problem_mark or exc.context_mark
    loc = Loc(name, mark.line + 1, mark.column + 1) if mark else None
    message = exc.problem or exc.context or "invalid YAML"
    start = exc.context_mark
    if exc.problem and exc.context and exc.problem.startswith("but "):
        message = f"{exc.context}, {exc.problem}"
    elif exc.problem and exc.context and start is not None and mark is not None \
            and (start.line, start.column) != (mark.line, mark.column):
        message += f" ({exc.context} that starts at line {start.line + 1}, column {start.column + 1})"
    lines = text.splitlines()
    line = lines[mark.line] if mark is not None and mark.line < len(lines) else ""
    if "\t" in line[: mark.column + 1 if mark is not None else 0]:
        hint = "indent with spaces: YAML does not allow tabs"
    elif "mapping values are not allowed" in message:
        hint = "quote a value that contains ': ', e.g. title: \"Note: draft\""
    elif "constructor for the tag" in message:
        tag = message.split("tag", 1)[1].strip(" '").replace("tag:yaml.org,2002:", "!!")
        message = f"the YAML tag {tag} is not supported"
        hint = "write a plain value (quote text that starts with '!')"
    elif "single document" in message:
        hint = "a spec is one YAML document: remove the `---` line"
    else:
        hint = "check the brackets, quotes and indentation here and on the lines just above"
    return Diagnostic(loc, "", f"YAML syntax: {message}", hint)


def parse_yaml(text: str, name: str) -> Any:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        builder = _Builder(name, loader)
        value = builder.build(node, "")
    except yaml.MarkedYAMLError as exc:
        raise SpecError([_syntax_error(exc, text, name)]) from None
    except yaml.YAMLError as exc:
        raise SpecError([Diagnostic(None, "", f"{name}: YAML syntax: {exc}")]) from None
    finally:
        loader.dispose()
    if builder.problems:
        raise SpecError(builder.problems)
    return value


def locate(root: Any, path: YPath, *, key: bool = False) -> Loc | None:
    """The location of the value at `path` (or of its key), else the nearest parent's."""
    best: Loc | None = getattr(root, "loc", None)
    node = root
    for index, step in enumerate(path):
        last = index == len(path) - 1
        if isinstance(node, LDict) and isinstance(step, str) and step in node:
            where = node.key_locs.get(step) if (key and last) else node.value_locs.get(step)
            best = where or best
            node = node[step]
        elif isinstance(node, LList) and isinstance(step, int) and 0 <= step < len(node):
            best = node.item_locs[step] or best
            node = node[step]
        else:
            break
    return best


def format_path(path: YPath) -> str:
    text = ""
    for step in path:
        if isinstance(step, int):
            text += f"[{step}]"
        else:
            text += f".{step}" if text else step
    return text


def plain(node: Any) -> Any:
    """A deep copy made of plain dicts and lists (for code that must not see locations)."""
    if isinstance(node, dict):
        return {k: plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    return node
