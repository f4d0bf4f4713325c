"""JMESPath compiled into Python closures, once per expression.

The `jmespath` library parses an expression once but then walks its syntax
tree on every search, dispatching each node by name. Field rules run millions
of times, so the tree is turned into nested closures instead: evaluation is
then plain function calls. Semantics follow `jmespath.visitor.TreeInterpreter`
node for node (its truthiness, its equality that keeps 0/1 apart from
false/true, its projections that drop nulls); functions are the library's own.
Property tests check every construct against `jmespath.search`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from numbers import Number
from typing import Any, cast

from jmespath import functions as jfunctions
from jmespath.visitor import Visitor, _Expression

Fn = Callable[[Any], Any]
_FUNCTIONS = jfunctions.Functions()


def is_false(value: Any) -> bool:
    """JMESPath falsiness: null, false, empty text, list or object — but not 0."""
    return value == "" or value == [] or value == {} or value is None or value is False


def _is_number(x: Any) -> bool:
    kind = x.__class__
    if kind is int or kind is float:  # the JSON cases, without the slower abstract-class check
        return True
    return isinstance(x, Number) and kind is not bool


def _is_comparable(x: Any) -> bool:
    return _is_number(x) or isinstance(x, str)


def _equals(x: Any, y: Any) -> bool:
    """JMESPath equality: 0 and 1 never equal false and true, unlike in Python."""
    if x.__class__ is bool:
        if y.__class__ is not bool and _is_number(y) and y in (0, 1):
            return False
    elif y.__class__ is bool and _is_number(x) and x in (0, 1):
        return False
    return bool(x == y)


class _ClosureInterpreter(Visitor):
    """Lets a library function (sort_by, max_by, map) call a compiled expression reference."""

    def __init__(self, fn: Fn) -> None:
        super().__init__()
        self._fn = fn

    def visit(self, node: Any, value: Any) -> Any:
        return self._fn(value)


def _field(name: str) -> Fn:
    def field(value: Any) -> Any:
        try:
            return value.get(name)
        except AttributeError:
            return None

    return field


def _chain(parts: list[Fn]) -> Fn:
    if len(parts) == 2:
        first, second = parts

        def chain2(value: Any) -> Any:
            return second(first(value))

        return chain2

    def chain(value: Any) -> Any:
        for part in parts:
            value = part(value)
        return value

    return chain


def _index(position: int) -> Fn:
    def index(value: Any) -> Any:
        if not isinstance(value, list):
            return None
        try:
            return value[position]
        except IndexError:
            return None

    return index


def _slice(args: list[int | None]) -> Fn:
    cut = slice(*args)

    def do_slice(value: Any) -> Any:
        if not isinstance(value, list):
            return None
        return value[cut]

    return do_slice


def _comparator(op: str, left: Fn, right: Fn, text_literal: str | None = None) -> Fn:
    if text_literal is not None and op in ("eq", "ne"):
        # Against text, JMESPath equality is Python's: no 0/1-versus-boolean case can arise.
        if op == "eq":
            return lambda value: left(value) == text_literal
        return lambda value: left(value) != text_literal
    if op == "eq":
        return lambda value: _equals(left(value), right(value))
    if op == "ne":
        return lambda value: not _equals(left(value), right(value))
    func = {"lt": operator.lt, "gt": operator.gt, "lte": operator.le, "gte": operator.ge}[op]

    def ordered(value: Any) -> Any:
        a, b = left(value), right(value)
        if not (_is_comparable(a) and _is_comparable(b)):
            return None
        return func(a, b)

    return ordered


def _collect(items: Any, each: Fn) -> list[Any]:
    """A projection's result: `each` of every item, nulls dropped."""
    out = []
    for item in items:
        current = each(item)
        if current is not None:
            out.append(current)
    return out


def _projection(base: Fn, each: Fn) -> Fn:
    def project(value: Any) -> Any:
        items = base(value)
        return _collect(items, each) if isinstance(items, list) else None

    return project


def _value_projection(base: Fn, each: Fn) -> Fn:
    def project(value: Any) -> Any:
        try:
            items = base(value).values()
        except AttributeError:
            return None
        return _collect(items, each)

    return project


def _filter_projection(base: Fn, each: Fn, condition: Fn) -> Fn:
    def project(value: Any) -> Any:
        items = base(value)
        if not isinstance(items, list):
            return None
        out = []
        for item in items:
            if not is_false(condition(item)):
                current = each(item)
                if current is not None:
                    out.append(current)
        return out

    return project


def _first_match(base: Fn, each: Fn, condition: Fn) -> Fn:
    """`list[?cond].x | [0]`: the first match, without building the whole filtered list."""
    def first(value: Any) -> Any:
        items = base(value)
        if not isinstance(items, list):
            return None
        for item in items:
            if not is_false(condition(item)):
                current = each(item)
                if current is not None:
                    return current
        return None

    return first


def _is_first_index(node: dict[str, Any]) -> bool:
    """`[0]` on the piped value: an index_expression of identity then index 0."""
    children = node.get("children", [])
    return (node["type"] == "index_expression" and len(children) == 2
            and children[0]["type"] == "identity"
            and children[1]["type"] == "index" and children[1]["value"] == 0)


def _flatten(base: Fn) -> Fn:
    def flatten(value: Any) -> Any:
        items = base(value)
        if not isinstance(items, list):
            return None
        merged: list[Any] = []
        for item in items:
            if isinstance(item, list):
                merged.extend(item)
            else:
                merged.append(item)
        return merged

    return flatten


def _or(left: Fn, right: Fn) -> Fn:
    def either(value: Any) -> Any:
        matched = left(value)
        return right(value) if is_false(matched) else matched

    return either


def _and(left: Fn, right: Fn) -> Fn:
    def both(value: Any) -> Any:
        matched = left(value)
        return matched if is_false(matched) else right(value)

    return both


def _not(child: Fn) -> Fn:
    def negate(value: Any) -> Any:
        result = child(value)
        if _is_number(result) and result == 0:
            return False
        return not result

    return negate


def _multi_list(children: list[Fn]) -> Fn:
    def multi(value: Any) -> Any:
        if value is None:
            return None
        return [child(value) for child in children]

    return multi


def _multi_dict(pairs: list[tuple[str, Fn]]) -> Fn:
    def multi(value: Any) -> Any:
        if value is None:
            return None
        return {key: child(value) for key, child in pairs}

    return multi


def _all_text(items: list[Any]) -> bool:
    return all(item.__class__ is str for item in items)


def _all_numbers(items: list[Any]) -> bool:
    return all(_is_number(item) for item in items)


def _fast_join(glue: Any, items: Any) -> Any:
    if glue.__class__ is str and items.__class__ is list and _all_text(items):
        return glue.join(items)
    return _SLOW


def _fast_extreme(pick: Callable[[list[Any]], Any]) -> Callable[[Any], Any]:
    def extreme(items: Any) -> Any:
        if items.__class__ is list and (_all_text(items) or _all_numbers(items)):
            return pick(items) if items else None
        return _SLOW

    return extreme


def _fast_length(subject: Any) -> Any:
    kind = subject.__class__
    return len(subject) if kind is str or kind is list or kind is dict else _SLOW


def _fast_not_null(*candidates: Any) -> Any:
    return next((c for c in candidates if c is not None), None) if candidates else _SLOW


_SLOW = object()  # "the fast path does not apply": the library evaluates (and type-checks) instead
# The functions specs use most, evaluated directly when their arguments have the types the
# function signature demands; anything else goes to the library, which raises its own error.
_FAST_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "join": _fast_join,
    "max": _fast_extreme(max),
    "min": _fast_extreme(min),
    "length": _fast_length,
    "not_null": _fast_not_null,
}
_ARITY = {"join": 2, "max": 1, "min": 1, "length": 1}


def _function(name: str, args: list[Fn]) -> Fn:
    call = _FUNCTIONS.call_function
    fast = _FAST_FUNCTIONS.get(name)
    if fast is not None and _ARITY.get(name, len(args)) == len(args):
        def apply_fast(value: Any) -> Any:
            resolved = [arg(value) for arg in args]
            result = fast(*resolved)
            return call(name, resolved) if result is _SLOW else result

        return apply_fast

    def apply(value: Any) -> Any:
        return call(name, [arg(value) for arg in args])

    return apply


def _expref(child: Fn) -> Fn:
    # The library's functions only call reference.visit(reference.expression, element).
    reference = _Expression(cast(str, None), _ClosureInterpreter(child))
    return lambda _value: reference


def compile_node(node: dict[str, Any]) -> Fn:
    """A closure evaluating one parsed JMESPath node exactly as the tree interpreter does."""
    kind = node["type"]
    children: list[Any] = node.get("children", [])
    if kind == "field":
        return _field(node["value"])
    if kind == "pipe" and len(children) == 2 and children[0]["type"] == "filter_projection" \
            and _is_first_index(children[1]):
        base, each, condition = (compile_node(c) for c in children[0]["children"])
        return _first_match(base, each, condition)
    if kind in ("subexpression", "index_expression", "pipe"):
        return _chain([compile_node(c) for c in children])
    if kind in ("current", "identity"):
        return lambda value: value
    if kind == "literal":
        constant = node["value"]
        return lambda _value: constant
    if kind == "index":
        return _index(node["value"])
    if kind == "slice":
        return _slice(children)
    if kind == "comparator":
        left, right = children
        if right["type"] == "literal" and isinstance(right["value"], str):
            return _comparator(node["value"], compile_node(left), compile_node(right), right["value"])
        if left["type"] == "literal" and isinstance(left["value"], str):
            return _comparator(node["value"], compile_node(right), compile_node(left), left["value"])
        return _comparator(node["value"], compile_node(left), compile_node(right))
    if kind == "projection":
        return _projection(compile_node(children[0]), compile_node(children[1]))
    if kind == "value_projection":
        return _value_projection(compile_node(children[0]), compile_node(children[1]))
    if kind == "filter_projection":
        return _filter_projection(compile_node(children[0]), compile_node(children[1]),
                                  compile_node(children[2]))
    if kind == "flatten":
        return _flatten(compile_node(children[0]))
    if kind == "or_expression":
        return _or(compile_node(children[0]), compile_node(children[1]))
    if kind == "and_expression":
        return _and(compile_node(children[0]), compile_node(children[1]))
    if kind == "not_expression":
        return _not(compile_node(children[0]))
    if kind == "multi_select_list":
        return _multi_list([compile_node(c) for c in children])
    if kind == "multi_select_dict":
        return _multi_dict([(pair["value"], compile_node(pair["children"][0])) for pair in children])
    if kind == "key_val_pair":
        return compile_node(children[0])
    if kind == "function_expression":
        return _function(node["value"], [compile_node(c) for c in children])
    if kind == "expref":
        return _expref(compile_node(children[0]))
    raise NotImplementedError(f"JMESPath node {kind!r}")
