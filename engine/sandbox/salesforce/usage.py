"""The org's daily API-request allowance (the DailyApiRequests of /limits).

Every counted call spends one request; when today's allowance is spent, calls
are refused (403 REQUEST_LIMIT_EXCEEDED) until the count restarts at midnight
UTC. The platform's window is a rolling 24 hours; a calendar day is close
enough for a sandbox and easy to reason about in tests. The count lives in the
org's database, so it survives restarts.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class ApiUsage:
    used: int
    limit: int

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)


class DailyAllowance:
    def __init__(self, db: sqlite3.Connection, lock: threading.RLock, clock: Callable[[], float],
                 limit: int) -> None:
        self._db = db
        self._lock = lock
        self._clock = clock
        self.limit = limit

    def _today(self) -> str:
        return datetime.fromtimestamp(self._clock(), UTC).date().isoformat()

    def usage(self) -> ApiUsage:
        """Calls made today (UTC) and the allowance."""
        with self._lock:
            row = self._db.execute("SELECT value FROM settings WHERE key = 'api_usage'").fetchone()
        stored = json.loads(row[0]) if row else {}
        used = int(stored.get("used", 0)) if stored.get("day") == self._today() else 0
        return ApiUsage(used, self.limit)

    def spend(self) -> ApiUsage | None:
        """Spend one call; None when the allowance is used up (the call must be refused)."""
        with self._lock:
            usage = self.usage()
            if usage.used >= usage.limit:
                return None
            self._db.execute("INSERT OR REPLACE INTO settings (key, value) VALUES ('api_usage', ?)",
                             (json.dumps({"day": self._today(), "used": usage.used + 1}),))
            return ApiUsage(usage.used + 1, usage.limit)
