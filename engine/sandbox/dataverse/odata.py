"""OData text the Web API reads: `$filter` expressions, `$orderby`, and key segments `(…)` of a URL.

    predicate = parse_filter("lastname eq 'Ng' and _parentcustomerid_value eq <guid>", check)
    predicate(row)                          # row: {property: stored value}
    parse_key("fs_clinikoid='42'")          # → {"fs_clinikoid": "42"};  parse_key("<guid>") → {"": guid}

Comparisons of strings ignore case (the platform's default collation); GUIDs
and date-times are compared in their stored form; null compares only with
`eq null` / `ne null`. `check(name)` is called for every property named, so
an unknown one is refused before anything runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from engine.sandbox.dataverse.errors import DataverseError, invalid_argument
from engine.sandbox.dataverse.values import GUID, format_datetime, parse_datetime

Row = dict[str, Any]
Predicate = Callable[[Row], bool]

_TOKEN = re.compile(r"""\s*(?:
    (?P<str>'(?:[^']|'')*')
  | (?P<dt>\d{4}-\d{2}-\d{2}(?:T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})?)?(?![\w-]))
  | (?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})
  | (?P<num>-?\d+(?:\.\d+)?)
  | (?P<name>[A-Za-z_][\w.]*)
  | (?P<punct>[(),\[\]=])
)""", re.VERBOSE)
_COMPARE = {"eq", "ne", "gt", "ge", "lt", "le"}
_FUNCTIONS = {"contains", "startswith", "endswith"}


def _bad(message: str) -> DataverseError:
    return DataverseError(400, "0x80060888", f"Syntax error in $filter: {message}")


def tokenize(text: str) -> list[tuple[str, Any]]:
    tokens: list[tuple[str, Any]] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None:
            raise _bad(f"unexpected character at position {position} in '{text}'")
        position = match.end()
        kind = match.lastgroup or ""
        raw = match.group(kind)
        if kind == "str":
            tokens.append(("lit", raw[1:-1].replace("''", "'")))
        elif kind == "dt":
            moment = parse_datetime(raw)
            tokens.append(("lit", raw if "T" not in raw or moment is None else format_datetime(moment)))
        elif kind == "guid":
            tokens.append(("lit", raw.lower()))
        elif kind == "num":
            tokens.append(("lit", float(raw) if "." in raw else int(raw)))
        elif kind == "name" and raw in ("true", "false", "null"):
            tokens.append(("lit", {"true": True, "false": False, "null": None}[raw]))
        else:
            tokens.append((kind, raw))
    return tokens


class _Parser:
    def __init__(self, text: str, check: Callable[[str], None]) -> None:
        self.tokens = tokenize(text)
        self.position = 0
        self.check = check

    def peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, kind: str | None = None, value: str | None = None) -> tuple[str, Any]:
        token = self.peek()
        if token is None or (kind and token[0] != kind) or (value and token[1] != value):
            raise _bad(f"expected {value or kind}, found {token[1] if token else 'the end'}")
        self.position += 1
        return token

    def at_word(self, word: str) -> bool:
        token = self.peek()
        return token is not None and token[0] == "name" and token[1] == word

    def parse(self) -> Predicate:
        predicate = self.or_expr()
        if self.peek() is not None:
            raise _bad(f"unexpected '{self.peek()[1]}'")  # type: ignore[index]
        return predicate

    def or_expr(self) -> Predicate:
        parts = [self.and_expr()]
        while self.at_word("or"):
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else (lambda row: any(p(row) for p in parts))

    def and_expr(self) -> Predicate:
        parts = [self.not_expr()]
        while self.at_word("and"):
            self.take()
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else (lambda row: all(p(row) for p in parts))

    def not_expr(self) -> Predicate:
        if self.at_word("not"):
            self.take()
            inner = self.not_expr()
            return lambda row: not inner(row)
        return self.primary()

    def primary(self) -> Predicate:
        token = self.peek()
        if token == ("punct", "("):
            self.take()
            inner = self.or_expr()
            self.take("punct", ")")
            return inner
        name = self.take("name")[1]
        if name in _FUNCTIONS:
            return self.function(name)
        if name == "Microsoft.Dynamics.CRM.In":
            return self.in_function()
        self.check(name)
        operator = self.take("name")[1]
        if operator not in _COMPARE:
            raise _bad(f"unknown operator '{operator}'")
        literal = self.take("lit")[1]
        return _comparison(name, operator, literal)

    def function(self, name: str) -> Predicate:
        self.take("punct", "(")
        prop = self.take("name")[1]
        self.check(prop)
        self.take("punct", ",")
        needle = self.take("lit")[1]
        self.take("punct", ")")
        if not isinstance(needle, str):
            raise _bad(f"{name} needs a string")
        lowered = needle.lower()
        test: Callable[[str], bool] = {
            "contains": lambda v: lowered in v, "startswith": lambda v: v.startswith(lowered),
            "endswith": lambda v: v.endswith(lowered)}[name]
        return lambda row: isinstance(row.get(prop), str) and test(row[prop].lower())

    def in_function(self) -> Predicate:
        self.take("punct", "(")
        arguments: dict[str, Any] = {}
        while True:
            key = self.take("name")[1]
            self.take("punct", "=")
            if self.peek() == ("punct", "["):
                self.take()
                values = []
                while self.peek() != ("punct", "]"):
                    values.append(self.take("lit")[1])
                    if self.peek() == ("punct", ","):
                        self.take()
                self.take("punct", "]")
                arguments[key] = values
            else:
                arguments[key] = self.take("lit")[1]
            if self.peek() == ("punct", ","):
                self.take()
                continue
            break
        self.take("punct", ")")
        prop, listed = arguments.get("PropertyName"), arguments.get("PropertyValues")
        if not isinstance(prop, str) or not isinstance(listed, list):
            raise _bad("Microsoft.Dynamics.CRM.In needs PropertyName and PropertyValues")
        self.check(prop)
        wanted = {_fold(v) for v in listed}
        return lambda row: row.get(prop) is not None and _fold(row[prop]) in wanted


def _fold(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _comparison(name: str, operator: str, literal: Any) -> Predicate:
    def test(row: Row) -> bool:
        value = row.get(name)
        if literal is None or value is None:
            same = value is None and literal is None
            return same if operator == "eq" else (not same if operator == "ne" else False)
        left, right = _fold(value), _fold(literal)
        if isinstance(left, (int, float)) and isinstance(right, str):
            try:
                right = float(right)
            except ValueError:
                return False
        if isinstance(left, str) and not isinstance(right, str):
            right = str(right).lower()
        try:
            if operator in ("eq", "ne"):
                return bool(left == right) == (operator == "eq")
            return _order(operator, left, right)
        except TypeError:
            return False
    return test


def _order(operator: str, left: Any, right: Any) -> bool:
    if operator == "gt":
        return bool(left > right)
    if operator == "ge":
        return bool(left >= right)
    if operator == "lt":
        return bool(left < right)
    return bool(left <= right)


def parse_filter(text: str, check: Callable[[str], None]) -> Predicate:
    return _Parser(text, check).parse()


def parse_orderby(text: str, check: Callable[[str], None]) -> list[tuple[str, bool]]:
    """[(property, descending)] from `a desc, b asc`."""
    out = []
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1] not in ("asc", "desc")):
            raise invalid_argument(f"Invalid $orderby: '{text}'")
        check(words[0])
        out.append((words[0], len(words) == 2 and words[1] == "desc"))
    return out


def parse_key(text: str) -> dict[str, Any]:
    """A key segment's content: `<guid>` → {"": guid}; `a='x',b=2` → {"a": "x", "b": 2}."""
    text = text.strip()
    if GUID.match(text):
        return {"": text.lower()}
    tokens = tokenize(text)
    out: dict[str, Any] = {}
    position = 0
    try:
        while position < len(tokens):
            name, equals, literal = tokens[position:position + 3]
            if name[0] != "name" or equals != ("punct", "=") or literal[0] != "lit":
                raise ValueError
            out[name[1]] = literal[1]
            position += 3
            if position < len(tokens):
                if tokens[position] != ("punct", ","):
                    raise ValueError
                position += 1
    except ValueError:
        raise invalid_argument(f"The key in the request URI is not valid: '({text})'.") from None
    if not out:
        raise invalid_argument(f"The key in the request URI is not valid: '({text})'.")
    return out
