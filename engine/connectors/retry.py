"""When to try a request again, how long to wait, and when to give up.

    429                       → wait until X-RateLimit-Reset (epoch seconds) or Retry-After
                                (seconds or an HTTP date) plus up to 1 s of jitter; 60 s when
                                neither header is usable. The wait is imposed on the shared
                                limiter, so every thread of the account pauses.
    5xx, 408, timeouts,       → exponential backoff with jitter: the n-th failure waits a
    connection errors           random time in [d/2, d], d = min(30, 0.5 · 2^(n-1)) s.
    401/403, other 4xx         → never retried (the caller raises at once).

A request gives up with SourceUnavailable after `max_attempts` transient failures, or
after `max_rate_limited` 429s (rate limiting is pacing, not failure, so it has its own
budget). A TLS certificate failure is a setup problem and is not retried.
"""

from __future__ import annotations

import logging
import random
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TypeVar

import httpx

from engine.connectors.errors import SourceConfigError, SourceUnavailable
from engine.connectors.ratelimit import RateLimiter

log = logging.getLogger(__name__)

T = TypeVar("T")


class RateLimited(Exception):
    """Raised by an attempt that got HTTP 429; carries the response headers."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        self.headers = headers
        super().__init__("HTTP 429 Too Many Requests")


class TransientFailure(Exception):
    """Raised by an attempt that failed in a way worth retrying (5xx, 408, a broken body)."""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_delay: float = 0.5
    max_delay: float = 30.0
    rate_limit_fallback: float = 60.0
    rate_limit_jitter: float = 1.0
    max_rate_limit_wait: float = 900.0
    max_rate_limited: int = 20

    def backoff(self, failures: int, rng: random.Random) -> float:
        """Seconds to wait after the `failures`-th consecutive transient failure."""
        delay = min(self.max_delay, self.base_delay * 2 ** max(failures - 1, 0))
        return rng.uniform(delay / 2, delay)

    def rate_limit_until(self, headers: Mapping[str, str], now: float, rng: random.Random) -> float:
        """Epoch time before which no request may be sent, from a 429's headers."""
        until = _reset_time(headers.get("X-RateLimit-Reset"))
        if until is None:
            until = _retry_after(headers.get("Retry-After"), now)
        if until is None:
            until = now + self.rate_limit_fallback
        until = min(max(until, now), now + self.max_rate_limit_wait)
        return until + rng.uniform(0, self.rate_limit_jitter)


def _reset_time(value: str | None) -> float | None:
    if not value:
        return None
    try:
        epoch = float(value.strip())
    except ValueError:
        return None
    return epoch / 1000 if epoch > 1e12 else epoch  # tolerate milliseconds


def _retry_after(value: str | None, now: float) -> float | None:
    if not value:
        return None
    text = value.strip()
    try:
        return now + float(text)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def is_retryable(exc: httpx.TransportError) -> bool:
    """Timeouts, resets and other network failures; not bad URLs or our own protocol misuse."""
    return not isinstance(exc, httpx.UnsupportedProtocol | httpx.LocalProtocolError)


def tls_verification_failed(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(current):
            return True
        current = current.__cause__ or current.__context__
    return False


class Retrier:
    """Runs request attempts through the shared limiter and the retry policy."""

    def __init__(self, policy: RetryPolicy, limiter: RateLimiter, *, source: str,
                 wall: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep,
                 rng: random.Random | None = None,
                 on_request: Callable[[], None] = lambda: None) -> None:
        self.policy = policy
        self.limiter = limiter
        self.source = source
        self._wall = wall
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._on_request = on_request

    def call(self, attempt: Callable[[], T], what: str) -> T:
        """`attempt()` (one HTTP request) until it succeeds, fails for good, or the budget runs out.

        `attempt` raises RateLimited / TransientFailure / httpx.TransportError to ask for a
        retry; anything else it raises is final and passes through.
        """
        failures = 0
        limited = 0
        while True:
            self.limiter.acquire()
            self._on_request()
            try:
                return attempt()
            except RateLimited as exc:
                limited += 1
                if limited > self.policy.max_rate_limited:
                    raise SourceUnavailable(
                        f"{what}: still rate limited (HTTP 429) after {limited} waits; another client may "
                        f"be using this user's request budget at {self.source}. Rerun later.") from None
                until = self.policy.rate_limit_until(exc.headers, self._wall(), self._rng)
                log.warning("%s: rate limited (HTTP 429); all requests pause for %.1f s",
                            what, until - self._wall())
                self.limiter.penalise(until)
                continue
            except TransientFailure as exc:
                reason = str(exc)
            except httpx.TransportError as exc:
                if tls_verification_failed(exc):
                    raise SourceConfigError(
                        f"{what}: TLS certificate verification failed for {self.source} ({exc}). "
                        "For the local sandbox pass its CA bundle (verify=<path to ca-bundle.pem>); "
                        "never turn verification off against the real service.") from None
                if not is_retryable(exc):
                    raise
                reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            failures += 1
            if failures >= self.policy.max_attempts:
                raise SourceUnavailable(
                    f"{what}: gave up after {failures} failed attempts (last: {reason}); "
                    f"{self.source} looks unavailable. Rerun later.")
            delay = self.policy.backoff(failures, self._rng)
            log.warning("%s failed (%s); retry %d of %d in %.1f s",
                        what, reason, failures, self.policy.max_attempts - 1, delay)
            self._sleep(delay)
