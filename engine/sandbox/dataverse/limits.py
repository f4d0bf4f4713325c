"""Service protection: requests per user over a sliding window (ref §4).

    window = SlidingWindow(6000, 300, clock)
    retry_after = window.admit(user_id)      # None: go ahead; else seconds until a request is allowed

A refused request does not count. The window lives in memory: a restarted
sandbox starts with an empty one, as a request sent to a fresh web server would.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable


class SlidingWindow:
    def __init__(self, limit: int, seconds: int, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.seconds = seconds
        self._clock = clock
        self._calls: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def admit(self, user: str) -> int | None:
        now = self._clock()
        with self._lock:
            calls = self._calls.setdefault(user, deque())
            while calls and calls[0] <= now - self.seconds:
                calls.popleft()
            if len(calls) >= self.limit:
                return max(1, math.ceil(calls[0] + self.seconds - now))
            calls.append(now)
            return None

    def remaining(self, user: str) -> int:
        with self._lock:
            return max(0, self.limit - len(self._calls.get(user, ())))
