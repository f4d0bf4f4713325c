"""Progress of a run: a bar per object on a terminal, plain log lines anywhere else.

The runner reports three events per object and pass: started (with the number
of records expected when the source can say), advanced after each batch, and
finished with the object's counts.
"""

from __future__ import annotations

import sys
import time
from typing import IO, Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichProgress

_SHOWN = ("created", "updated", "unchanged", "quarantined", "filtered")


class Progress(Protocol):
    def started(self, object_name: str, pass_: int, expected: int | None) -> None: ...

    def advanced(self, read: int, counts: dict[str, int]) -> None: ...

    def finished(self, object_name: str, pass_: int, counts: dict[str, int]) -> None: ...


def _summary(counts: dict[str, int]) -> str:
    return ", ".join(f"{counts[name]:,} {name}" for name in _SHOWN if counts.get(name))


def _label(object_name: str, pass_: int) -> str:
    return object_name if pass_ == 1 else f"{object_name} (lookups)"


class Silent:
    def started(self, object_name: str, pass_: int, expected: int | None) -> None:
        pass

    def advanced(self, read: int, counts: dict[str, int]) -> None:
        pass

    def finished(self, object_name: str, pass_: int, counts: dict[str, int]) -> None:
        pass


class LogLines:
    """One line per batch and per finished object, with records/s: for logs and CI."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr
        self.label = ""
        self.read = 0
        self.expected: int | None = None
        self.since = time.monotonic()

    def _line(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def started(self, object_name: str, pass_: int, expected: int | None) -> None:
        self.label, self.read, self.expected, self.since = _label(object_name, pass_), 0, expected, \
            time.monotonic()
        of = f" of ~{expected:,}" if expected is not None else ""
        self._line(f"{self.label}: started{of}")

    def advanced(self, read: int, counts: dict[str, int]) -> None:
        self.read += read
        rate = self.read / max(time.monotonic() - self.since, 1e-6)
        of = f"/{self.expected:,}" if self.expected is not None else ""
        self._line(f"{self.label}: {self.read:,}{of} records read, {rate:,.0f} records/s"
                   f" — {_summary(counts)}")

    def finished(self, object_name: str, pass_: int, counts: dict[str, int]) -> None:
        seconds = time.monotonic() - self.since
        summary = f" — {_summary(counts)}" if _summary(counts) else ""
        self._line(f"{_label(object_name, pass_)}: done, {counts.get('read', 0):,} records "
                   f"in {seconds:,.1f} s{summary}")


class Bars:
    """A rich progress bar per object: records, records/s and time left."""

    def __init__(self, console: Console | None = None) -> None:
        self.bars = RichProgress(
            TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:>8} rec/s"), TimeElapsedColumn(), TextColumn("ETA"),
            TimeRemainingColumn(), TextColumn("{task.fields[summary]}"),
            console=console or Console(stderr=True))
        self.task: TaskID | None = None
        self.since = time.monotonic()
        self.read = 0

    def __enter__(self) -> Bars:
        self.bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bars.stop()

    def started(self, object_name: str, pass_: int, expected: int | None) -> None:
        self.task = self.bars.add_task(_label(object_name, pass_), total=expected, rate="0", summary="")
        self.since, self.read = time.monotonic(), 0

    def advanced(self, read: int, counts: dict[str, int]) -> None:
        assert self.task is not None
        self.read += read
        rate = self.read / max(time.monotonic() - self.since, 1e-6)
        self.bars.update(self.task, advance=read, rate=f"{rate:,.0f}", summary=_summary(counts))

    def finished(self, object_name: str, pass_: int, counts: dict[str, int]) -> None:
        assert self.task is not None
        self.bars.update(self.task, total=self.read, completed=self.read, summary=_summary(counts))
