"""Calls to Salesforce that survive a flaky network: one place for retries and for when to stop.

Retried with backoff: HTTP 5xx answers and dropped connections. Not retried:
REQUEST_LIMIT_EXCEEDED (the org's daily allowance; `LoadStopped` at once) and
401 (the session is gone; `LoadStopped`). Other 4xx answers are about the
request itself: `rest(..., record_errors=True)` raises them as SalesforceError
for the caller to report against its record; otherwise they stop the load.

Only idempotent calls should be retried blindly (queries, GET, keyed upserts,
PATCH, DELETE); a caller creating a record with POST checks for it before
sending again (see salesforce_files.py).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceError

from engine.load.salesforce_records import top_error
from engine.load.target import LoadStopped

STOP_CODES = frozenset({"REQUEST_LIMIT_EXCEEDED"})


class SalesforceCalls:
    def __init__(self, sf: Salesforce, *, retries: int = 4, backoff_seconds: float = 0.5,
                 sleep: Callable[[float], None] = time.sleep, timeout: float = 300.0) -> None:
        self.sf = sf
        self.retries = retries
        self.backoff_seconds = backoff_seconds
        self.sleep = sleep
        self.timeout = timeout
        self.count = 0

    def rest(self, method: str, path: str, *, body: Any = None, params: dict[str, str] | None = None,
             record_errors: bool = False, landed: Callable[[], Any] | None = None) -> Any:
        """`landed`, for a POST: asked before each retry whether the failed attempt created the
        record after all (its answer lost); what it returns (not None) is taken as the answer."""
        data = json.dumps(body) if body is not None else None
        return self._attempts(f"{method} {path}", lambda: self.sf.restful(
            path, params=params, method=method, data=data, timeout=self.timeout), record_errors, landed)

    def query_all(self, soql: str) -> list[dict[str, Any]]:
        answer = self._attempts("query", lambda: self.sf.query_all(soql), False, None)
        records: list[dict[str, Any]] = answer["records"]
        return records

    def _attempts(self, what: str, call: Callable[[], Any], record_errors: bool,
                  landed: Callable[[], Any] | None) -> Any:
        reason = ""
        for attempt in range(self.retries + 1):
            if attempt and landed is not None:
                found = landed()
                if found is not None:
                    return found
            try:
                self.count += 1
                return call()
            except SalesforceError as exc:
                code, message = top_error(exc.content)
                if code in STOP_CODES:
                    raise LoadStopped(f"Salesforce refused the call: {code}: {message} (the org's daily API "
                                      "allowance is spent; resume when it recovers)", code=code) from exc
                if exc.status == 401:
                    raise LoadStopped(f"Salesforce refused the session: HTTP 401 {code}: {message}",
                                      code=code) from exc
                if exc.status < 500:
                    if record_errors:
                        raise
                    raise LoadStopped(f"Salesforce refused {what}: HTTP {exc.status} {code}: {message}",
                                      code=code) from exc
                reason = f"HTTP {exc.status} {code}: {message}"
            except requests.exceptions.ConnectionError as exc:
                reason = f"connection error: {exc}"
            if attempt < self.retries:
                self.sleep(self.backoff_seconds * 2 ** attempt)
        raise LoadStopped(f"{what} still failing after {self.retries + 1} attempts: {reason}")
