"""Instants as integer UNIX seconds, rendered the way Cliniko stores them, and zone helpers.

Integers keep the hot loop cheap (no datetime objects per field); zoneinfo is consulted only
to place an appointment in a business's local working hours and to find DST changes.
"""

from __future__ import annotations

import bisect
import time
from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

MINUTE = 60
HOUR = 3_600
DAY = 86_400
DEFAULT_NOW = datetime(2026, 1, 15, tzinfo=UTC)


def to_epoch(moment: datetime) -> int:
    """Whole UTC seconds; a naive datetime is read as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


_DAYS: dict[int, str] = {}  # day number -> "YYYY-MM-DD"; bounded by the clinic's timeline
_CLOCK = tuple(f"T{h:02d}:{m:02d}:" for h in range(24) for m in range(60))  # minute of day
_SECONDS = tuple(f"{s:02d}Z" for s in range(60))


def iso_day(ts: int) -> str:
    """The UTC calendar date of an instant."""
    day = ts // DAY
    text = _DAYS.get(day)
    if text is None:
        t = time.gmtime(day * DAY)
        text = _DAYS[day] = f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}"
    return text


def iso_instant(ts: int) -> str:
    """'YYYY-MM-DDTHH:MM:SSZ' from table lookups (a hot path: several per record)."""
    day, rest = divmod(ts, DAY)
    minute, second = divmod(rest, MINUTE)
    return (_DAYS.get(day) or iso_day(ts)) + _CLOCK[minute] + _SECONDS[second]


def year_of(ts: int) -> int:
    return time.gmtime(ts).tm_year


@cache
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_day(ts: int, zone_name: str) -> date:
    return datetime.fromtimestamp(ts, zone(zone_name)).date()


def local_to_epoch(day: date, minute_of_day: int, zone_name: str) -> int:
    """The instant of a local wall-clock time (working hours never fall in a DST gap)."""
    hour, minute = divmod(minute_of_day, 60)
    return int(datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone(zone_name)).timestamp())


def shift_day(day: date, days: int) -> date:
    return day + timedelta(days=days)


def _offset(tz: ZoneInfo, ts: int) -> timedelta | None:
    return datetime.fromtimestamp(ts, tz).utcoffset()


@cache
def dst_transitions(zone_name: str, first_year: int, last_year: int) -> tuple[int, ...]:
    """Instants at which the zone's UTC offset changes, first_year..last_year inclusive.

    A daily scan finds the days with a change (offsets change at most twice a year), then a
    bisection finds the second. Cached: a clinic has a handful of zones.
    """
    tz = zone(zone_name)
    start = int(datetime(first_year, 1, 1, tzinfo=UTC).timestamp())
    end = int(datetime(last_year + 1, 1, 1, tzinfo=UTC).timestamp())
    found: list[int] = []
    before = _offset(tz, start)
    for ts in range(start + DAY, end + 1, DAY):
        current = _offset(tz, ts)
        if current != before:
            found.append(_first_second_with(tz, ts - DAY, ts))
            before = current
    return tuple(found)


def _first_second_with(tz: ZoneInfo, lo: int, hi: int) -> int:
    old = _offset(tz, lo)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _offset(tz, mid) == old:
            lo = mid
        else:
            hi = mid
    return hi


def seconds_to_nearest(transitions: tuple[int, ...], ts: int) -> int | None:
    """Distance from ts to the closest transition, or None for a zone without DST."""
    if not transitions:
        return None
    at = bisect.bisect_left(transitions, ts)
    near = [abs(transitions[k] - ts) for k in (at - 1, at) if 0 <= k < len(transitions)]
    return min(near)
