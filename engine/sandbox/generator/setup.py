"""Everything a clinic shares across patients, built once per generate_clinic call: the
timeline, id maker, name space, staff and contact types. Its size grows only with staff and
contacts (1/150 and 1/20 of the patients), never with the records themselves."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import UTC, date, datetime

from .catalogue import CONCESSIONS, ITEMS, KINDS, PRODUCTS, TAXES, archived_at
from .clock import DAY, dst_transitions, year_of
from .contacts import ContactBook
from .ids import IdMaker
from .names import IdentityMaker
from .sites import SITES, closed_at
from .staff import Practitioner, build_staff, on_site

HISTORY_DAYS = 8 * 365  # the first patients registered this long before `now`
SETUP_DAYS = 60  # the account (sites, price list, first staff, address book) predates them


class Eras:
    """Which of a list of things (products, appointment types) are still current at an instant,
    given when each was retired: one precomputed tuple per number of retirements passed."""

    def __init__(self, retired: tuple[int | None, ...]) -> None:
        self._cutoffs = sorted(r for r in retired if r is not None)
        self._open = tuple(
            tuple(n for n, r in enumerate(retired) if r is None or r > cutoff)
            for cutoff in [-1, *self._cutoffs])

    def at(self, ts: int) -> tuple[int, ...]:
        return self._open[bisect.bisect_right(self._cutoffs, ts)]


@dataclass(frozen=True)
class Setup:
    seed: int
    patients: int
    now: int
    opened: int  # account set up: every reference record exists before the first patient
    start: int
    ids: IdMaker
    people: IdentityMaker
    staff: tuple[Practitioner, ...]
    on_site: tuple[tuple[int, ...], ...]  # practitioner indices per site
    site_closes: tuple[int | None, ...]
    kind_retired: tuple[int | None, ...]
    product_retired: tuple[int | None, ...]
    kinds_open: Eras
    products_open: Eras
    transitions: tuple[tuple[int, ...], ...]  # DST changes per site, empty without DST
    contacts: ContactBook
    refs: dict[str, tuple[str, ...]]  # ids of the reference records, by resource and index

    def ref(self, resource: str, index: int | None) -> str | None:
        return None if index is None else self.refs[resource][index]


def build_setup(seed: int, patients: int, now: int) -> Setup:
    start = now - HISTORY_DAYS * DAY
    opened = start - SETUP_DAYS * DAY
    today = datetime.fromtimestamp(now, UTC).date()
    people = IdentityMaker(seed, date(1930, 1, 1), date(today.year - 2, 12, 31))
    if patients > people.capacity():
        raise ValueError(f"at most {people.capacity()} patients: names would have to repeat")
    staff = build_staff(seed, patients, opened, start, now)
    years = (year_of(start) - 1, year_of(now) + 1)
    kind_retired = tuple(archived_at(now, kind.archived_days_ago) for kind in KINDS)
    product_retired = tuple(archived_at(now, p.archived_days_ago) for p in PRODUCTS)
    ids, contacts = IdMaker(seed), ContactBook(seed, patients)
    sizes = {"taxes": len(TAXES), "concession_types": len(CONCESSIONS), "billable_items": len(ITEMS),
             "products": len(PRODUCTS), "appointment_types": len(KINDS), "businesses": len(SITES),
             "users": len(staff) + 2, "practitioners": len(staff), "contacts": contacts.size}
    return Setup(
        seed=seed, patients=patients, now=now, opened=opened, start=start, ids=ids, people=people,
        staff=staff, on_site=on_site(staff),
        site_closes=tuple(closed_at(site, now) for site in SITES),
        kind_retired=kind_retired, product_retired=product_retired,
        kinds_open=Eras(kind_retired), products_open=Eras(product_retired),
        transitions=tuple(dst_transitions(site.zone, *years) for site in SITES),
        contacts=contacts,
        refs={resource: tuple(ids(resource, n) for n in range(size)) for resource, size in sizes.items()})
