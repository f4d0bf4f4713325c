"""A patient's visits as plain decisions (site, practitioner, type, times, outcome, note,
invoice): the skeleton that both the manifest pass and the record pass draw identically.

Visits sit in the business's local working hours. Unless planted, a visit never starts
within two days of a DST change of its zone (it moves four days), so the DST count is exact.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .catalogue import KINDS
from .clock import DAY, HOUR, MINUTE, local_day, local_to_epoch, seconds_to_nearest, shift_day
from .setup import Setup
from .sites import SITES, SYDNEY

GROUP = (0, 1, 2)  # the Harbourside locations patients move between
VISIT_COUNTS = (1, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 16)  # mean 6.25
CANCELLATION_REASONS = (10, 20, 30, 31, 40, 50, 60)
TREATED = ("arrived", "unmarked")


@dataclass(frozen=True, slots=True)
class Bill:
    status: int
    products: tuple[int, ...]  # product lines (after the service line, on a visit's invoice)
    issued: int


@dataclass(slots=True)
class Visit:
    site: int
    practitioner: int
    kind: int
    start: int
    end: int
    booked: int
    outcome: str  # booked | arrived | unmarked | dna | cancelled
    cancelled: int | None = None
    reason: int | None = None
    note: str | None = None  # final | draft | long
    bill: Bill | None = None
    case: int | None = None
    dst: bool = False


@dataclass(frozen=True, slots=True)
class Window:
    """Where a patient's visits may fall: after `lo` (registration), before `hi`."""

    lo: int
    hi: int
    home: int


def plan_visits(setup: Setup, rng: random.Random, window: Window, count: int, *,
                dst: bool, first_treated: bool, long_note: bool) -> list[Visit]:
    """`count` visits in an episode of care starting soon after registration. Planting: `dst`
    puts one at a DST change; `first_treated` makes the first one attended (it carries the
    planted sale or note); `long_note` gives that first visit the long treatment note."""
    first = window.lo + DAY + rng.randrange(20 * DAY)
    span = max(DAY, min(window.hi - first, count * rng.randrange(14, 40) * DAY))
    moments = [first] + [first + rng.randrange(span) for _ in range(count - 1)]
    planted = rng.randrange(count) if dst else -1
    slots: list[tuple[int, int, bool]] = []
    for k, moment in enumerate(moments):
        if k == planted:
            slots.append((*_at_dst_change(setup, rng, window), True))
        else:
            site = _site_for(rng, window.home)
            slots.append((*_place(setup, rng, site, moment, window.lo), False))
    slots.sort()
    pref = rng.randrange(1 << 16)  # patients keep seeing the same practitioner where they can
    visits = [_visit(setup, rng, k, start, site, pref, window.lo) for k, (start, site, _) in enumerate(slots)]
    for visit, (_, _, is_dst) in zip(visits, slots, strict=True):
        visit.dst = is_dst
    if first_treated:
        visits[0].outcome, visits[0].cancelled, visits[0].reason = "arrived", None, None
    for visit in visits:
        _settle(setup, rng, visit)
    if long_note:
        visits[0].note = "long"
    return visits


def _site_for(rng: random.Random, home: int) -> int:
    if home in GROUP and rng.random() < 0.15:
        return GROUP[rng.randrange(len(GROUP))]
    return home


def _place(setup: Setup, rng: random.Random, site: int, moment: int, lo: int) -> tuple[int, int]:
    """(start, site): a working-hours slot on moment's local day, clear of DST changes."""
    minute = 8 * 60 + 15 * rng.randrange(40)
    for _ in range(2):
        zone = SITES[site].zone
        day = local_day(moment, zone)
        start = local_to_epoch(day, minute, zone)
        gap = seconds_to_nearest(setup.transitions[site], start)
        if gap is not None and gap < 2 * DAY:
            start = local_to_epoch(shift_day(day, -4), minute, zone)
            if start < lo:
                start = local_to_epoch(shift_day(day, 4), minute, zone)
        closes = setup.site_closes[site]
        if closes is None or start < closes - DAY:
            return start, site
        site, moment = SYDNEY, start  # the site had closed: the group's main clinic took the patient
    raise AssertionError("Sydney never closes")


def _at_dst_change(setup: Setup, rng: random.Random, window: Window) -> tuple[int, int]:
    """(start, site): a visit on the day before or the day of a DST change, 6-18 h from it, at
    the patient's own clinic when its zone has DST (else at one that has)."""
    sites = [b for b in range(len(SITES)) if setup.transitions[b] and setup.site_closes[b] is None]
    site = window.home if window.home in sites else sites[rng.randrange(len(sites))]
    last = min(window.hi, setup.now) - 2 * DAY
    changes = [t for t in setup.transitions[site] if window.lo + 2 * DAY <= t <= last]
    change = changes[rng.randrange(len(changes))]
    zone = SITES[site].zone
    day = shift_day(local_day(change, zone), -rng.randrange(2))
    start = local_to_epoch(day, 9 * 60 + 15 * rng.randrange(28), zone)
    assert abs(start - change) < 20 * HOUR, (zone, change, start)
    return start, site


def _visit(setup: Setup, rng: random.Random, k: int, start: int, site: int, pref: int, lo: int) -> Visit:
    kind = 0 if k == 0 else _kind(setup, rng, start)
    booked = min(setup.now, max(lo, start - rng.randrange(HOUR, 30 * DAY)))
    practitioner = _practitioner(setup, site, booked, start, pref)
    return Visit(site=site, practitioner=practitioner, kind=kind, start=start,
                 end=start + KINDS[kind].minutes * MINUTE, booked=booked, outcome=_outcome(setup, rng, start))


def _practitioner(setup: Setup, site: int, booked: int, start: int, pref: int) -> int:
    """The patient's preferred practitioner at the site, or the next one on staff from the
    booking to the visit."""
    team = setup.on_site[site]
    for step in range(len(team)):
        k = team[(pref + step) % len(team)]
        if setup.staff[k].created <= booked and setup.staff[k].works(start):
            return k
    raise AssertionError("every site has a practitioner working since day one")


def _kind(setup: Setup, rng: random.Random, start: int) -> int:
    """A follow-up's type, by weight among the types not yet retired."""
    current = setup.kinds_open.at(start)
    roll = rng.randrange(sum(KINDS[n].weight for n in current))
    for n in current:
        roll -= KINDS[n].weight
        if roll < 0:
            return n
    raise AssertionError("weights exhausted")


def _outcome(setup: Setup, rng: random.Random, start: int) -> str:
    roll = rng.random()
    if start + DAY > setup.now:  # still to come
        return "cancelled" if roll < 0.08 else "booked"
    return "arrived" if roll < 0.70 else "unmarked" if roll < 0.85 else "cancelled" if roll < 0.95 else "dna"


def _settle(setup: Setup, rng: random.Random, visit: Visit) -> None:
    """Cancellation details, the treatment note and the invoice of a visit."""
    if visit.outcome == "cancelled":
        latest = min(visit.start, setup.now)
        visit.cancelled = visit.booked + rng.randrange(max(1, latest - visit.booked))
        visit.reason = CANCELLATION_REASONS[rng.randrange(len(CANCELLATION_REASONS))]
    treated = visit.outcome in TREATED
    if treated and rng.random() < 0.85:
        visit.note = "draft" if rng.random() < 0.1 else "final"
    if (treated and rng.random() < 0.9) or (visit.outcome == "dna" and rng.random() < 0.3):
        extras = _products(setup, rng, visit.start, (0, 0, 1, 1)) if treated else ()
        issued = min(setup.now, visit.end + rng.randrange(5 * MINUTE, 3 * HOUR))
        visit.bill = Bill(mapped_status(rng, setup.now - visit.start), extras, issued)


def _products(setup: Setup, rng: random.Random, when: int, counts: tuple[int, ...]) -> tuple[int, ...]:
    on_sale = setup.products_open.at(when)
    return tuple(on_sale[rng.randrange(len(on_sale))] for _ in range(counts[rng.randrange(len(counts))]))


def mapped_status(rng: random.Random, age: int) -> int:
    """10 Open, 20 Paid, 30 Closed, 40 Open credit: recent invoices are more often open."""
    roll = rng.random()
    if age < 14 * DAY:
        return 10 if roll < 0.5 else 20
    return 20 if roll < 0.88 else 30 if roll < 0.93 else 40 if roll < 0.96 else 10


def plan_sale(setup: Setup, rng: random.Random, visits: list[Visit],
              status: int | None) -> tuple[int, Bill] | None:
    """A product-only invoice at one treated visit: (visit index, bill). `status` plants one."""
    treated = [k for k, v in enumerate(visits) if v.outcome in TREATED]
    if not treated or (status is None and rng.random() >= 0.4):
        return None
    k = treated[rng.randrange(len(treated))]
    visit = visits[k]
    issued = min(setup.now, visit.end + rng.randrange(5 * MINUTE, HOUR))
    chosen = status if status is not None else mapped_status(rng, setup.now - visit.start)
    return k, Bill(chosen, _products(setup, rng, visit.start, (1, 1, 2)), issued)
