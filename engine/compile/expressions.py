"""Compiling expressions that read a source record: plain paths and JMESPath.

A plain dotted path (`address.city`) is read with direct dictionary access —
the common case, and much cheaper than a JMESPath search — with the same
result JMESPath would give (null when any step is missing or not a mapping).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jmespath
from jmespath import exceptions as jexc

from engine.compile.coerce import CoercionError
from engine.compile.jmes_closures import compile_node
from engine.spec.model import PLAIN_PATH

Getter = Callable[[dict[str, Any]], Any]


class ExpressionProblem(ValueError):
    """A JMESPath expression does not parse; `offset` is the 0-based position in it."""

    def __init__(self, message: str, offset: int = 0) -> None:
        super().__init__(message)
        self.offset = offset


def path_getter(path: str) -> Getter:
    steps = path.split(".")
    if len(steps) == 1:
        (name,) = steps

        def get_one(record: dict[str, Any]) -> Any:
            return record.get(name)

        return get_one
    if len(steps) == 2:
        first, second = steps

        def get_two(record: dict[str, Any]) -> Any:
            inner = record.get(first)
            return inner.get(second) if isinstance(inner, dict) else None

        return get_two

    def get_many(record: dict[str, Any]) -> Any:
        value: Any = record
        for step in steps:
            if not isinstance(value, dict):
                return None
            value = value.get(step)
        return value

    return get_many


def _reason(exc: Exception) -> str:
    """The specific reason from the library's message ("Unknown token '='"), not its generic label."""
    first = str(exc).splitlines()[0] if str(exc) else ""
    _, _, detail = first.partition(": ")
    return detail.rstrip(":").strip() or "invalid expression"


def parse_jmespath(expression: str) -> jmespath.parser.ParsedResult:
    try:
        return jmespath.compile(expression)
    except (jexc.LexerError, jexc.IncompleteExpressionError) as exc:
        raise ExpressionProblem(f"JMESPath syntax error: {_reason(exc)}", exc.lex_position or 0) from None
    except jexc.ParseError as exc:
        token = f" near '{exc.token_value}'" if exc.token_value else ""
        raise ExpressionProblem(f"JMESPath syntax error{token}: {exc.msg}", exc.lex_position or 0) from None


def expression_getter(expression: str) -> Getter:
    """The fastest correct reader for an expression: direct access for plain paths."""
    if PLAIN_PATH.match(expression):
        return path_getter(expression)
    parsed = parse_jmespath(expression)
    try:
        return compile_node(dict(parsed.parsed))
    except NotImplementedError:  # a construct without a closure form: use the library's walker
        return parsed.search


# What evaluating a rule on one record may raise because of that record's data (join() given a
# number, a date that is not a date): the record is quarantined with the reason, the run goes on.
RECORD_ERRORS = (CoercionError, jexc.JMESPathError, TypeError, ValueError, ArithmeticError)


def record_error_text(exc: Exception) -> str:
    if isinstance(exc, CoercionError):
        return str(exc)
    return f"cannot be evaluated on this record: {exc}"


def root_names(expression: str) -> set[str]:
    """Top-level record fields an expression reads (for typo checks against the source catalog)."""
    if PLAIN_PATH.match(expression):
        return {expression.split(".")[0]}
    names: set[str] = set()
    _collect(dict(parse_jmespath(expression).parsed), names)
    return names


# Node types whose first child is evaluated against the current record and whose
# other children run against each element (projections) or the left's result.
_LEFT_ONLY = {"subexpression", "index_expression", "projection", "value_projection",
              "flatten", "pipe"}


def _collect(node: dict[str, Any], names: set[str]) -> None:
    kind = node.get("type")
    children = node.get("children", [])
    if kind == "field":
        names.add(node["value"])
    elif kind == "filter_projection" or kind in _LEFT_ONLY:
        if children:
            _collect(children[0], names)
    elif kind == "expref":
        return
    else:
        for child in children:
            if isinstance(child, dict):
                _collect(child, names)
