"""The closure compiler of JMESPath agrees with the reference library on every construct."""

from __future__ import annotations

from typing import Any

import jmespath
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jmespath.exceptions import JMESPathError

from engine.compile.coerce import CoercionError
from engine.compile.expressions import expression_getter

FIELDS = st.sampled_from(["a", "b", "c", "name", "phone_type"])
LITERALS = st.sampled_from(["`null`", "`true`", "`false`", "`0`", "`1`", "`2.5`", "'Mobile'", "`[]`",
                            "`{}`", "`\"x\"`", "``"]).filter(lambda s: s != "``")


def expressions() -> st.SearchStrategy[str]:
    leaf = st.one_of(FIELDS, LITERALS, st.just("@"))

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(inner, FIELDS).map(lambda t: f"{t[0]}.{t[1]}"),
            st.tuples(inner, st.integers(-2, 2)).map(lambda t: f"{t[0]}[{t[1]}]"),
            st.tuples(inner, st.sampled_from(["[0:2]", "[::-1]", "[1:]"])).map(lambda t: t[0] + t[1]),
            st.tuples(inner, inner).map(lambda t: f"{t[0]}[*].{_safe(t[1])}"),
            st.tuples(inner, inner).map(lambda t: f"{t[0]}.*.{_safe(t[1])}"),
            st.tuples(inner, inner, st.sampled_from(["==", "!=", "<", ">", "<=", ">="]), inner).map(
                lambda t: f"{t[0]}[?{t[1]} {t[2]} {t[3]}]"),
            st.tuples(inner).map(lambda t: f"{t[0]}[]"),
            st.tuples(inner, inner).map(lambda t: f"({t[0]} || {t[1]})"),
            st.tuples(inner, inner).map(lambda t: f"({t[0]} && {t[1]})"),
            inner.map(lambda e: f"!({e})"),
            st.tuples(inner, inner).map(lambda t: f"[{t[0]}, {t[1]}]"),
            st.tuples(inner, inner).map(lambda t: f"{{x: {t[0]}, y: {t[1]}}}"),
            st.tuples(inner, inner).map(lambda t: f"{t[0]} | {t[1]}"),
            st.tuples(inner, inner, inner).map(lambda t: f"{t[0]}[?{t[1]}].{_safe(t[2])} | [0]"),
            st.tuples(st.sampled_from(["length", "to_string", "type", "not_null", "max", "sort", "keys",
                                       "reverse", "to_number", "min", "not_null({}, a)", "join(', ', {})", "sort_by({}, &name)",
                                       "max_by({}, &a)", "map(&a, {})"]), inner).map(
                lambda t: t[0].format(t[1]) if "{}" in t[0] else f"{t[0]}({t[1]})"),
        )

    return st.recursive(leaf, extend, max_leaves=6)


def _safe(expression: str) -> str:
    """The right side of a projection must start with an identifier."""
    return expression if expression[:1].isalpha() else "a"


VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2, 2), st.sampled_from(["", "Mobile", "x", "b"]),
              st.floats(allow_nan=False, allow_infinity=False, width=16)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(FIELDS, inner, max_size=4)),
    max_leaves=12,
)


def _evaluate(fn: Any, record: Any) -> tuple[str, Any]:
    """A value, or the fact of an error (the engine reports a record's evaluation error its own way)."""
    try:
        return "value", fn(record)
    except (JMESPathError, TypeError, ValueError, CoercionError):
        return "error", None


@settings(max_examples=600)
@given(expressions(), st.dictionaries(FIELDS, VALUES, max_size=5))
def test_closures_agree_with_jmespath(expression: str, record: dict[str, Any]) -> None:
    try:
        parsed = jmespath.compile(expression)
    except JMESPathError:
        return  # the generator can build text that is not an expression; the library rejects it too
    ours = _evaluate(expression_getter(expression), record)
    theirs = _evaluate(parsed.search, record)
    assert ours == theirs, expression


@pytest.mark.parametrize(("expression", "expected"), [
    ("patient_phone_numbers[?phone_type == 'Mobile'].number | [0]", "0400"),
    ("join(', ', patient_phone_numbers[].number)", "0400, 0399"),
    ("max(cases[?referral_type == 'medicare' && expiry_date].expiry_date)", "2025-03-01"),
    ("sex || gender", "female"),
    ("archived_at != `null`", False),
    ("sort_by(cases, &expiry_date)[-1].name", "EPC 2"),
])
def test_expressions_the_pair_specs_use(expression: str, expected: Any) -> None:
    record = {
        "patient_phone_numbers": [{"phone_type": "Mobile", "number": "0400"},
                                  {"phone_type": "Home", "number": "0399"}],
        "cases": [{"name": "EPC 1", "referral_type": "medicare", "expiry_date": "2024-01-01"},
                  {"name": "EPC 2", "referral_type": "medicare", "expiry_date": "2025-03-01"}],
        "sex": None, "gender": "female", "archived_at": None,
    }
    assert expression_getter(expression)(record) == expected


JMESPATH_FALSY_BUT_PYTHON_DIFFERENT = [0, 0.0, "", [], {}, False, None, "0", [0], {"a": None}]


@pytest.mark.parametrize("value", JMESPATH_FALSY_BUT_PYTHON_DIFFERENT)
@pytest.mark.parametrize("expression", ["a || 'other'", "a && 'then'", "!a", "items[?a].a", "items[?!a].a"])
def test_truthiness_follows_jmespath_not_python(expression: str, value: Any) -> None:
    record = {"a": value, "items": [{"a": value}]}
    assert expression_getter(expression)(record) == jmespath.search(expression, record)
