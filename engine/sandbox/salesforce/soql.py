"""SOQL text → a query tree: the subset a loader and reconciliation checks use.

    SELECT <field>, <Parent.Field>, ... | COUNT() | COUNT(<field>) [alias]
    FROM <object>
    [WHERE <condition>]            = != <> < <= > >=, [NOT] IN (...), LIKE, AND, OR, NOT, ( )
    [ORDER BY <field> [ASC|DESC] [NULLS FIRST|LAST], ...]
    [LIMIT n] [OFFSET n]

Literals: 'strings' with the SOQL escapes (\\' \\" \\\\ \\n \\r \\t \\b \\f \\uXXXX, and
\\% \\_ for LIKE), numbers, true/false, null, dates (2024-01-31), date-times
(2024-01-31T09:00:00Z, ±hh:mm offsets, fractions) and the date literals TODAY,
YESTERDAY, TOMORROW, LAST_N_DAYS:n, NEXT_N_DAYS:n. Keywords and names are
case-insensitive. As on the platform, AND and OR cannot be mixed at one level
without parentheses ("unexpected token: 'OR'").

Errors carry the platform's shape: the query line, a caret, "ERROR at
Row:r:Column:c" and the reason (MALFORMED_QUERY "unexpected token: 'X'"). Not
emulated, and refused with MALFORMED_QUERY naming the keyword: GROUP BY,
HAVING, subqueries, TYPEOF, WITH, FOR, USING SCOPE, FIELDS(), aliases of the
object.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from engine.sandbox.salesforce.errors import RequestError

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2}(?![\dT]))
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>!=|<>|<=|>=|=|<|>)
  | (?P<punct>[(),.:\-])
""", re.VERBOSE)

_ESCAPES = {"'": "'", '"': '"', "\\": "\\", "n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f",
            "%": "%", "_": "_"}
UNSUPPORTED = {"GROUP": "GROUP BY", "HAVING": "HAVING", "TYPEOF": "TYPEOF", "WITH": "WITH", "FOR": "FOR",
               "USING": "USING SCOPE", "FIELDS": "FIELDS()", "SELECT": "subqueries", "INCLUDES": "INCLUDES",
               "EXCLUDES": "EXCLUDES", "ROLLUP": "ROLLUP"}
DATE_LITERALS = ("TODAY", "YESTERDAY", "TOMORROW", "LAST_N_DAYS", "NEXT_N_DAYS")


@dataclass(frozen=True)
class Token:
    kind: str  # datetime, date, number, string, ident, op, punct, eof
    text: str
    pos: int

    @property
    def upper(self) -> str:
        return self.text.upper()


@dataclass(frozen=True)
class Path:
    parts: tuple[str, ...]
    pos: int

    @property
    def text(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class Literal:
    kind: str  # string, number, boolean, null, date, datetime, dateliteral
    value: Any  # str, float, bool, None, 'YYYY-MM-DD', the date-time text, (NAME, n)
    pos: int
    raw: str = ""  # a string's text between the quotes, escapes kept (for LIKE)


@dataclass(frozen=True)
class Compare:
    path: Path
    op: str  # = != < <= > >=
    value: Literal


@dataclass(frozen=True)
class InList:
    path: Path
    values: tuple[Literal, ...]
    negate: bool


@dataclass(frozen=True)
class Like:
    path: Path
    pattern: Literal


@dataclass(frozen=True)
class Junction:
    op: str  # AND | OR
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


Condition = Compare | InList | Like | Junction | Not


@dataclass(frozen=True)
class Aggregate:
    function: str  # COUNT
    path: Path
    alias: str


@dataclass(frozen=True)
class OrderItem:
    path: Path
    descending: bool
    nulls_last: bool


@dataclass(frozen=True)
class Query:
    text: str
    fields: tuple[Path, ...]
    count_only: bool  # SELECT COUNT()
    aggregates: tuple[Aggregate, ...]
    object: str
    object_pos: int
    where: Condition | None
    order: tuple[OrderItem, ...]
    limit: int | None
    offset: int | None


def located(text: str, pos: int, reason: str) -> str:
    """The platform's error text: the query line, a caret under `pos`, the row and column, the reason."""
    pos = max(0, min(pos, len(text)))
    line_start = text.rfind("\n", 0, pos) + 1
    line_end = text.find("\n", pos)
    line = text[line_start:line_end if line_end != -1 else len(text)]
    row = text.count("\n", 0, pos) + 1
    column = pos - line_start + 1
    return f"\n{line}\n{' ' * (column - 1)}^\nERROR at Row:{row}:Column:{column}\n{reason}"


def query_error(code: str, text: str, pos: int, reason: str) -> RequestError:
    return RequestError(code, located(text, pos, reason))


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise query_error("MALFORMED_QUERY", text, pos, f"unexpected token: '{text[pos]}'")
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, match.group(), pos))
        pos = match.end()
    tokens.append(Token("eof", "", len(text)))
    return tokens


def unescape(text: str, raw: str, pos: int) -> str:
    """A string literal's value (`raw` is the text between the quotes)."""
    out: list[str] = []
    index = 0
    while index < len(raw):
        char = raw[index]
        if char != "\\":
            out.append(char)
            index += 1
            continue
        code = raw[index + 1] if index + 1 < len(raw) else ""
        if code == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", raw[index + 2:index + 6]):
            out.append(chr(int(raw[index + 2:index + 6], 16)))
            index += 6
            continue
        if code not in _ESCAPES:
            raise query_error("MALFORMED_QUERY", text, pos, f"Invalid string literal '{raw}'. Illegal "
                              f"character sequence '\\{code}' in string literal.")
        out.append(_ESCAPES[code])
        index += 2
    return "".join(out)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0

    # -- token helpers -----------------------------------------------------------------------------

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    def at(self, *keywords: str) -> bool:
        return self.current.kind == "ident" and self.current.upper in keywords

    def at_punct(self, char: str) -> bool:
        return self.current.kind == "punct" and self.current.text == char

    def unexpected(self, token: Token | None = None) -> RequestError:
        token = token or self.current
        shown = "<EOF>" if token.kind == "eof" else f"'{token.text}'"
        reason = f"unexpected token: {shown}"
        if token.kind == "ident" and token.upper in UNSUPPORTED:
            reason += f" (the sandbox's SOQL subset has no {UNSUPPORTED[token.upper]})"
        return query_error("MALFORMED_QUERY", self.text, token.pos, reason)

    def expect_keyword(self, keyword: str) -> Token:
        if not self.at(keyword):
            raise self.unexpected()
        return self.advance()

    def expect_punct(self, char: str) -> Token:
        if not self.at_punct(char):
            raise self.unexpected()
        return self.advance()

    # -- grammar -----------------------------------------------------------------------------------

    def query(self) -> Query:
        self.expect_keyword("SELECT")
        fields, aggregates, count_only = self.select_list()
        self.expect_keyword("FROM")
        if self.current.kind != "ident":
            raise self.unexpected()
        object_token = self.advance()
        where = order = limit = offset = None
        if self.at("WHERE"):
            self.advance()
            where = self.condition()
        if self.at("ORDER"):
            self.advance()
            self.expect_keyword("BY")
            order = self.order_list()
        if self.at("LIMIT"):
            self.advance()
            limit = self.integer()
        if self.at("OFFSET"):
            self.advance()
            offset = self.integer()
        if self.current.kind != "eof":
            raise self.unexpected()
        return Query(self.text, tuple(fields), count_only, tuple(aggregates), object_token.text,
                     object_token.pos, where, tuple(order or ()), limit, offset)

    def select_list(self) -> tuple[list[Path], list[Aggregate], bool]:
        fields: list[Path] = []
        aggregates: list[Aggregate] = []
        while True:
            if self.at("COUNT") and self.tokens[self.index + 1].text == "(":
                start = self.advance()
                self.expect_punct("(")
                if self.at_punct(")"):
                    self.advance()
                    if fields or aggregates or self.at_punct(","):
                        raise self.unexpected(start)
                    return fields, aggregates, True
                path = self.path()
                self.expect_punct(")")
                alias = f"expr{len(aggregates)}"
                if self.current.kind == "ident" and self.current.upper not in ("FROM",):
                    alias = self.advance().text
                aggregates.append(Aggregate("COUNT", path, alias))
            else:
                fields.append(self.path())
            if not self.at_punct(","):
                break
            self.advance()
        if fields and aggregates:
            raise query_error("MALFORMED_QUERY", self.text, fields[0].pos,
                              f"Field must be grouped or aggregated: {fields[0].text}")
        return fields, aggregates, False

    def path(self) -> Path:
        if self.current.kind != "ident" or self.current.upper in ("FROM", "WHERE"):
            raise self.unexpected()
        first = self.advance()
        if first.upper in UNSUPPORTED and self.at_punct("("):
            raise self.unexpected(first)
        parts = [first.text]
        while self.at_punct("."):
            self.advance()
            if self.current.kind != "ident":
                raise self.unexpected()
            parts.append(self.advance().text)
        return Path(tuple(parts), first.pos)

    def condition(self) -> Condition:
        items = [self.term()]
        joiner: str | None = None
        while self.at("AND", "OR"):
            if joiner is not None and self.current.upper != joiner:
                raise self.unexpected()
            joiner = self.advance().upper
            items.append(self.term())
        return items[0] if joiner is None else Junction(joiner, tuple(items))

    def term(self) -> Condition:
        if self.at("NOT"):
            self.advance()
            return Not(self.term())
        if self.at_punct("("):
            self.advance()
            inner = self.condition()
            self.expect_punct(")")
            return inner
        path = self.path()
        if self.current.kind == "op":
            op = {"<>": "!="}.get(self.current.text, self.current.text)
            self.advance()
            return Compare(path, op, self.literal())
        if self.at("LIKE"):
            self.advance()
            pattern = self.literal()
            if pattern.kind != "string":
                raise query_error("MALFORMED_QUERY", self.text, pattern.pos,
                                  "LIKE needs a quoted string pattern")
            return Like(path, pattern)
        negate = False
        if self.at("NOT"):
            self.advance()
            negate = True
            if not self.at("IN"):
                raise self.unexpected()
        if self.at("IN"):
            self.advance()
            self.expect_punct("(")
            values = [self.literal()]
            while self.at_punct(","):
                self.advance()
                values.append(self.literal())
            self.expect_punct(")")
            return InList(path, tuple(values), negate)
        raise self.unexpected()

    def literal(self) -> Literal:
        token = self.current
        if token.kind == "string":
            self.advance()
            raw = token.text[1:-1]
            return Literal("string", unescape(self.text, raw, token.pos), token.pos, raw)
        if token.kind == "punct" and token.text == "-" and self.tokens[self.index + 1].kind == "number":
            self.advance()
            number = self.advance()
            return Literal("number", -float(number.text), token.pos)
        if token.kind == "number":
            self.advance()
            return Literal("number", float(token.text), token.pos)
        if token.kind in ("date", "datetime"):
            self.advance()
            return Literal(token.kind, token.text, token.pos)
        if token.kind == "ident":
            word = token.upper
            if word in ("TRUE", "FALSE"):
                self.advance()
                return Literal("boolean", word == "TRUE", token.pos)
            if word == "NULL":
                self.advance()
                return Literal("null", None, token.pos)
            if word in DATE_LITERALS:
                self.advance()
                amount = 0
                if word.endswith("_N_DAYS"):
                    self.expect_punct(":")
                    amount = self.integer()
                return Literal("dateliteral", (word, amount), token.pos)
        raise self.unexpected()

    def integer(self) -> int:
        token = self.current
        if token.kind != "number" or "." in token.text:
            raise self.unexpected()
        self.advance()
        return int(token.text)

    def order_list(self) -> list[OrderItem]:
        items = []
        while True:
            path = self.path()
            descending = False
            if self.at("ASC", "DESC"):
                descending = self.advance().upper == "DESC"
            nulls_last = descending
            if self.at("NULLS"):
                self.advance()
                if not self.at("FIRST", "LAST"):
                    raise self.unexpected()
                nulls_last = self.advance().upper == "LAST"
            items.append(OrderItem(path, descending, nulls_last))
            if not self.at_punct(","):
                return items
            self.advance()


def parse(text: str) -> Query:
    """The query tree of `text`, or RequestError MALFORMED_QUERY pointing at the problem."""
    if not text or not text.strip():
        raise RequestError("MALFORMED_QUERY", "The query string is empty: pass the SOQL text as ?q=")
    return _Parser(text).query()
