"""Cliniko's rate limit: N requests per rolling 60 seconds per user (200 by default).

Each user (the owner of the API key) has a log of the times of its accepted
requests; a request is refused while the log holds N entries younger than 60
seconds. Refused requests are not logged, so a client that waits for
`X-RateLimit-Reset` gets through. The reset time is when the oldest logged
request leaves the window (a slot frees), in UNIX seconds rounded up.
"""

from __future__ import annotations

import threading
from collections import deque

from engine.sandbox.cliniko.clock import Clock

WINDOW_SECONDS = 60.0


class RateLimiter:
    def __init__(self, requests_per_minute: int, clock: Clock) -> None:
        if requests_per_minute < 1:
            raise ValueError("requests_per_minute must be at least 1")
        self.limit = requests_per_minute
        self.clock = clock
        self._log: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def acquire(self, user: str) -> float | None:
        """Take a slot for `user`: None when allowed, else the UNIX time at which a slot frees."""
        now = self.clock()
        with self._lock:
            log = self._log.setdefault(user, deque())
            while log and log[0] <= now - WINDOW_SECONDS:
                log.popleft()
            if len(log) >= self.limit:
                return log[0] + WINDOW_SECONDS
            log.append(now)
            return None

    def reset(self) -> None:
        with self._lock:
            self._log.clear()
