"""Property-based tests: compiled rules agree with a straightforward reference evaluation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import jmespath
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.compile.coerce import CoercionError, coercer_for
from engine.compile.expressions import expression_getter, path_getter
from engine.compile.record import compile_rule
from engine.compile.templates import TemplateProblem, parse_template
from engine.records import Ref
from engine.spec.catalog import CatalogField
from engine.spec.model import FieldRule, Spec, ValueMap
from engine.spec.yamldoc import LDict

NAMES = st.sampled_from(["a", "b", "c", "first_name", "id"])
SCALARS = st.one_of(st.none(), st.text(max_size=8), st.integers(-1000, 1000), st.booleans())


def nested(depth: int = 3) -> st.SearchStrategy[Any]:
    return st.recursive(SCALARS, lambda inner: st.dictionaries(NAMES, inner, max_size=4), max_leaves=12)


RECORDS = st.dictionaries(NAMES, nested(), max_size=5)
PATHS = st.lists(NAMES, min_size=1, max_size=4).map(".".join)


@given(RECORDS, PATHS)
def test_plain_path_reads_exactly_what_jmespath_reads(record: dict[str, Any], path: str) -> None:
    assert path_getter(path)(record) == jmespath.search(path, record)
    assert expression_getter(path)(record) == jmespath.search(path, record)


def _spec_with(vmap: ValueMap | None) -> Spec:
    return Spec(file=Path("p.yaml"), name="p", description="", source_system="cliniko",
                target_system="salesforce", value_maps={vmap.name: vmap} if vmap else {},
                objects={}, provision={}, tests=[], doc=LDict())


VALUE_MAPS = st.builds(
    lambda values, quarantine, fallback: ValueMap("m", values, False, quarantine, fallback, ()),
    st.dictionaries(st.text(min_size=1, max_size=3), st.one_of(st.none(), st.text(max_size=5)), max_size=5),
    st.booleans(),
    st.one_of(st.none(), st.text(max_size=5)),
)
RULE_SETTINGS = st.fixed_dictionaries({
    "type": st.sampled_from([None, "text", "integer", "decimal", "boolean"]),
    "max_length": st.one_of(st.none(), st.integers(1, 6)),
    "on_overflow": st.sampled_from(["truncate", "reject"]),
    "default": st.one_of(st.none(), st.text(min_size=1, max_size=3)),
    "use_map": st.booleans(),
    "required": st.booleans(),
})


class Rejected(Exception):
    pass


def reference(record: dict[str, Any], path: str, cfg: dict[str, Any], vmap: ValueMap) -> Any:
    """The field rule semantics of docs/spec-language.md, evaluated step by step."""
    value = jmespath.search(path, record)
    if value == "":
        value = None
    if value is not None and cfg["use_map"]:
        if isinstance(value, (dict, list)):
            raise Rejected
        key = ("true" if value else "false") if isinstance(value, bool) else str(value)
        if key in vmap.values:
            value = vmap.values[key]
        elif vmap.quarantine_unmapped:
            raise Rejected
        else:
            value = vmap.fallback
    if value is not None and cfg["type"]:
        try:
            value = coercer_for(cfg["type"])(value)
        except CoercionError:
            raise Rejected from None
    if value is not None and cfg["max_length"] and isinstance(value, str) and len(value) > cfg["max_length"]:
        if cfg["on_overflow"] == "reject":
            raise Rejected
        value = value[: cfg["max_length"]]
    if value is None:
        if cfg["default"] is not None:
            return cfg["default"]
        if cfg["required"]:
            raise Rejected
    return value


@settings(max_examples=300)
@given(RECORDS, PATHS, RULE_SETTINGS, VALUE_MAPS)
def test_compiled_rule_matches_reference(record: dict[str, Any], path: str, cfg: dict[str, Any],
                                         vmap: ValueMap) -> None:
    rule = FieldRule(
        target="F", kind="path", value=path, ypath=(), map="m" if cfg["use_map"] else None,
        type=cfg["type"], max_length=cfg["max_length"],
        on_overflow=cfg["on_overflow"] if cfg["max_length"] else "reject",
        default=cfg["default"], has_default=cfg["default"] is not None, required=cfg["required"],
    )
    produce = compile_rule(rule, _spec_with(vmap), None, {})
    try:
        expected = reference(record, path, cfg, vmap)
    except Rejected:
        with pytest.raises(CoercionError):
            produce(record)
        return
    assert produce(record) == expected


@given(st.dictionaries(NAMES, st.one_of(st.none(), st.text(max_size=10), st.integers()), max_size=5))
def test_template_renders_like_string_formatting(record: dict[str, Any]) -> None:
    record = {"a": None, "b": None, **record}
    render, names = parse_template("{{ a }}-{{ b }}")
    assert names == {"a", "b"}

    def text(v: Any) -> str:
        return "" if v is None else str(v)

    assert render(record) == f"{text(record['a'])}-{text(record['b'])}"


def test_template_missing_variable_is_a_record_problem_not_a_crash() -> None:
    render, _ = parse_template("{{ nothere }}")
    with pytest.raises(CoercionError, match="nothere"):
        render({})


@pytest.mark.parametrize("source", [
    "{{ ''.__class__.__mro__ }}",
    "{{ x.__globals__ }}",
    "{{ x['__class__'] }}",
    "{{ cycler.__init__.__globals__.os }}",
    "{{ x.mro() }}",
    "{% for c in ''.__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
])
def test_templates_reaching_for_python_internals_never_compile(source: str) -> None:
    with pytest.raises(TemplateProblem, match="off limits"):
        parse_template(source)


def test_sandbox_refuses_unsafe_access_at_run_time_too() -> None:
    # getattr through a filter-free dynamic name cannot be caught statically; the sandbox stops it.
    render, _ = parse_template("{{ x|attr(name) }}")
    with pytest.raises(CoercionError):
        render({"x": "text", "name": "__class__"})


ZONES = st.sampled_from(["UTC", "Australia/Melbourne", "America/New_York", "Europe/London"])


@given(st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1)),
       st.integers(-14 * 60, 14 * 60))
def test_datetimes_with_offsets_normalise_to_utc(moment: datetime, offset_minutes: int) -> None:
    aware = moment.replace(microsecond=0, tzinfo=timezone(timedelta(minutes=offset_minutes)))
    out = coercer_for("datetime")(aware.isoformat())
    assert out == aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2099, 1, 1)), ZONES)
def test_naive_datetimes_are_read_in_the_declared_zone(moment: datetime, zone_name: str) -> None:
    from zoneinfo import ZoneInfo

    moment = moment.replace(microsecond=0)
    out = coercer_for("datetime", zone_name)(moment.isoformat())
    expected = moment.replace(tzinfo=ZoneInfo(zone_name)).astimezone(UTC)
    assert out == expected.strftime("%Y-%m-%dT%H:%M:%SZ")


@given(st.decimals(allow_nan=False, allow_infinity=False, places=3))
def test_decimal_text_round_trips_exactly(value: Decimal) -> None:
    assert coercer_for("decimal")(str(value)) == value


@given(st.one_of(st.none(), st.text(max_size=5), st.integers(0, 99)), st.booleans())
def test_lookup_produces_reference_with_prefix(key: Any, use_default: bool) -> None:
    rule = FieldRule(target="AccountId", kind="lookup", value="business", key="k", ypath=(),
                     default="unassigned" if use_default else None, has_default=use_default)
    produce = compile_rule(rule, _spec_with(None), CatalogField("AccountId", "reference"),
                           {"business": "biz-"})
    result = produce({"k": key})
    effective = None if key in (None, "") else str(key)
    if effective is None and use_default:
        effective = "unassigned"
    if effective is None:
        assert result is None
    else:
        assert result == Ref("business", effective, "biz-" + effective)

