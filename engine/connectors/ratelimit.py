"""One request budget per source account, shared by every thread that reads it.

Cliniko allows 200 requests per minute per user (the owner of the API key). The
limiter keeps a rolling log of the moments it granted a request: a request is
granted only while fewer than `requests` were granted in the last `period`
seconds, so in ANY window of `period` seconds (half-open, [t, t + period)) at most
`requests` go out, and under steady demand exactly that many do.

When the server still answers 429 (another integration shares the user's budget,
or clocks disagree), `penalise(until)` pauses every thread until that moment.
`until` is an epoch time (what X-RateLimit-Reset carries); the window itself runs
on a monotonic clock so wall-clock jumps cannot stall or burst it.

The limiter is per process: two processes reading one account need their own
smaller budgets.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    """Thread-safe rolling-window limiter: `requests` per `period` seconds."""

    def __init__(self, requests: int, period: float = 60.0, *,
                 clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if requests < 1:
            raise ValueError(f"requests must be at least 1, got {requests}")
        if period <= 0:
            raise ValueError(f"period must be positive, got {period}")
        self.requests = requests
        self.period = period
        self._clock = clock
        self._wall = wall
        self._sleep = sleep
        self._granted: deque[float] = deque()
        self._paused_until = float("-inf")
        self._lock = threading.Lock()

    def acquire(self) -> None:
        """Block until one more request fits in the window (and no pause is in force)."""
        while True:
            with self._lock:
                now = self._clock()
                # One expression (grant + period) both expires a grant and measures the wait, so a
                # grant that has not expired always gives a strictly positive wait (no float spin).
                while self._granted and self._granted[0] + self.period <= now:
                    self._granted.popleft()
                if now < self._paused_until:
                    wait = self._paused_until - now
                elif len(self._granted) < self.requests:
                    self._granted.append(now)
                    return
                else:
                    wait = self._granted[0] + self.period - now
            self._sleep(wait)

    def penalise(self, until: float) -> None:
        """Grant nothing, to any thread, before the epoch time `until` (a 429's reset time)."""
        with self._lock:
            local = self._clock() + (until - self._wall())
            self._paused_until = max(self._paused_until, local)

    def in_window(self) -> int:
        """How many requests were granted in the last `period` seconds."""
        with self._lock:
            now = self._clock()
            return sum(1 for t in self._granted if t + self.period > now)

    def __repr__(self) -> str:
        return f"RateLimiter({self.requests} per {self.period:g} s)"
