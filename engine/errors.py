"""The engine's error hierarchy, in one place so callers catch at the right level.

    FlitstackError                 anything the engine raises on purpose
    ├── SpecError                  a spec (or catalog) is invalid; carries located diagnostics
    ├── RecordRejected             one record cannot be transformed; it goes to quarantine
    └── UsageError                 the command line asks for something impossible
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Loc:
    """A position in a YAML file: 1-based line and column."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem in a spec: where, what, and what to write instead."""

    loc: Loc | None
    path: str
    message: str
    hint: str = ""

    def format(self) -> str:
        where = f"{self.loc}: " if self.loc else ""
        text = f"{where}error: {self.message}"
        if self.path:
            text += f"\n  at: {self.path}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class FlitstackError(Exception):
    """Base of every error the engine raises on purpose."""


class SpecError(FlitstackError):
    """A spec or catalog failed to load or validate."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        super().__init__("\n".join(d.format() for d in diagnostics))


class UsageError(FlitstackError):
    """The command line asks for something that cannot be done."""


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """Why one target field of one record could not be produced."""

    field: str
    reason: str


class RecordRejected(FlitstackError):
    """A record cannot be transformed; it is quarantined with every reason found."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.reason}" for p in problems))
