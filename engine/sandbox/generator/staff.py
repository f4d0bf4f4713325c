"""Practitioners (about one per 150 patients, at least three, plus some who left), their
Cliniko users, two front-office users, and a reference number per practitioner per site."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from .clock import DAY, HOUR, iso_instant
from .ids import STAFF_STREAM, IdMaker, rng_for
from .model import GeneratedRecord
from .names import STAFF_FIRST, STAFF_LAST
from .shape import build
from .sites import SITES


@dataclass(frozen=True, slots=True)
class Practitioner:
    title: str | None
    first: str
    last: str
    designation: str
    sites: tuple[int, ...]
    created: int
    active_until: int | None  # set for practitioners who left (Cliniko: inactive)

    @property
    def display(self) -> str:
        return " ".join(p for p in (self.title, self.first, self.last) if p)

    def works(self, ts: int) -> bool:
        return self.created <= ts and (self.active_until is None or ts < self.active_until)


DESIGNATIONS = {
    "AU": ("Physiotherapist (B.Phty, APAM)", "Remedial Massage Therapist (Dip. RM)",
           "Exercise Physiologist (B.ExSc, AEP)"),
    "NZ": ("Physiotherapist (BHSc Physio)", "Osteopath (M.Ost)"),
    "US": ("Physical Therapist (DPT)", "Licensed Massage Therapist (LMT)"),
}
REFERENCE_NAMES = {"AU": "Provider #", "NZ": "HPI CPN", "US": "NPI"}
FRONT_OFFICE = (("Practice", "Manager", "administrator"), ("Front", "Desk", "receptionist"))


def staff_size(patients: int) -> tuple[int, int]:
    """(active, inactive) practitioner counts."""
    active = max(3, round(patients / 150))
    return active, max(1, active // 6)


def build_staff(seed: int, patients: int, opened: int, start: int, now: int) -> tuple[Practitioner, ...]:
    """Site b always has practitioner b % active, there before the first patient, so every visit
    finds one. Others join over the first four years; those who left did so in the last seven."""
    rng = rng_for(seed, STAFF_STREAM)
    active, inactive = staff_size(patients)
    tenure = (now - start) // DAY - 430  # days in which a departure may fall
    staff: list[Practitioner] = []
    for k in range(active + inactive):
        sites = {k % len(SITES)}
        if k < active:
            sites |= {b for b in range(len(SITES)) if b % active == k}
        first = SITES[min(sites)]
        created = opened + 10 * DAY + k * HOUR if k < len(SITES) else start + rng.randrange(1500) * DAY
        until = now - (30 + (k - active) * 173 % tenure) * DAY if k >= active else None
        if until is not None:
            created = max(opened, min(created, until - 300 * DAY))
        staff.append(Practitioner(
            title="Dr" if rng.random() < 0.2 else None,
            first=STAFF_FIRST[rng.randrange(len(STAFF_FIRST))],
            last=STAFF_LAST[rng.randrange(len(STAFF_LAST))],
            designation=_pick(rng, DESIGNATIONS[first.country_code]),
            sites=tuple(sorted(sites)), created=created, active_until=until))
    return tuple(staff)


def _pick(rng: random.Random, options: tuple[str, ...]) -> str:
    return options[rng.randrange(len(options))]


def on_site(staff: tuple[Practitioner, ...]) -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(k for k, p in enumerate(staff) if b in p.sites) for b in range(len(SITES)))


def staff_records(ids: IdMaker, staff: tuple[Practitioner, ...], now: int) -> Iterator[GeneratedRecord]:
    """Users, then practitioners, then their reference numbers (parents first)."""
    for k, person in enumerate(staff):
        yield GeneratedRecord("users", build("users", {
            "id": ids("users", k), "title": person.title, "first_name": person.first,
            "last_name": person.last, "email": _email(person.first, person.last, k),
            "role": "practitioner", "time_zone": SITES[person.sites[0]].zone_label,
            "user_active": person.active_until is None, **_stamps(person, now)}))
    start = min(p.created for p in staff)
    for j, (first, last, role) in enumerate(FRONT_OFFICE):
        yield GeneratedRecord("users", build("users", {
            "id": ids("users", len(staff) + j), "first_name": first, "last_name": last,
            "email": f"{first.lower()}.{last.lower()}@example.org", "role": role,
            "time_zone": SITES[0].zone_label, "user_active": True,
            "created_at": iso_instant(start), "updated_at": iso_instant(start + 30 * DAY)}))
    for k, person in enumerate(staff):
        yield GeneratedRecord("practitioners", build("practitioners", {
            "id": ids("practitioners", k), "active": person.active_until is None,
            "title": person.title, "first_name": person.first, "last_name": person.last,
            "display_name": person.display, "label": person.display, "designation": person.designation,
            "description": f"{person.first} treats sports and spinal injuries.",
            "show_in_online_bookings": person.active_until is None,
            "user_id": ids("users", k), "default_appointment_type_id": ids("appointment_types", 1),
            **_stamps(person, now)}))
    yield from _reference_numbers(ids, staff, now)


def _reference_numbers(ids: IdMaker, staff: tuple[Practitioner, ...], now: int) -> Iterator[GeneratedRecord]:
    sequence = 0
    for k, person in enumerate(staff):
        for b in person.sites:
            country = SITES[b].country_code
            number = f"{2_000_000 + k * 97 + b:07d}{'ABCDEFGHJK'[(k + b) % 10]}" if country == "AU" \
                else f"{k:02d}{'XYZ'[b % 3]}{b:03d}" if country == "NZ" else f"{1_000_000_000 + k * 11 + b}"
            yield GeneratedRecord("practitioner_reference_numbers", build("practitioner_reference_numbers", {
                "id": ids("practitioner_reference_numbers", sequence), "name": REFERENCE_NAMES[country],
                "reference_number": number, "practitioner_id": ids("practitioners", k),
                "business_id": ids("businesses", b), **_stamps(person, now)}))
            sequence += 1


def reference_count(staff: tuple[Practitioner, ...]) -> int:
    return sum(len(p.sites) for p in staff)


def _email(first: str, last: str, k: int) -> str:
    user = "".join(c for c in f"{first}.{last}".lower() if c.isalpha() or c == ".")
    return f"{user}{k}@example.org"


def _stamps(person: Practitioner, now: int) -> dict[str, str]:
    updated = person.active_until or min(now, person.created + 60 * DAY)
    return {"created_at": iso_instant(person.created), "updated_at": iso_instant(updated)}
