"""Time for the emulator: one injectable clock shared by the store and the rate limiter.

A clock is any callable returning UNIX seconds (UTC). The store stamps
`updated_at`/`archived_at` from it; the rate limiter counts its rolling window
with it and reports `X-RateLimit-Reset` in it. Tests pass a `ManualClock` and
move it by hand.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], float]

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def system_clock() -> float:
    return time.time()


class ManualClock:
    """A clock that only moves when told to."""

    def __init__(self, start: float | str = "2024-01-01T00:00:00Z") -> None:
        self._now = parse_timestamp(start) if isinstance(start, str) else float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def set(self, when: float | str) -> None:
        with self._lock:
            self._now = parse_timestamp(when) if isinstance(when, str) else float(when)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


def format_timestamp(seconds: float) -> str:
    """UNIX seconds as Cliniko writes them: UTC, second precision, literal Z."""
    return datetime.fromtimestamp(int(seconds), UTC).strftime(TIMESTAMP_FORMAT)


def parse_timestamp(text: str) -> float:
    """'2024-01-01T00:00:00Z' (or any ISO-8601 with an offset) as UNIX seconds."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
