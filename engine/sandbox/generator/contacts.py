"""Third parties: referring doctors, payers and other contacts (about one per 20 patients,
at least five), with planted contact types the pair specs do not map."""

from __future__ import annotations

import random
from collections.abc import Iterator

from .clock import DAY, iso_instant
from .ids import CONTACT_STREAM, IdMaker, rng_for
from .model import GeneratedRecord
from .names import LATIN_FIRST, LATIN_LAST
from .problems import ARCHIVED_CONTACT, UNMAPPED_CONTACT, UNMAPPED_CONTACT_TYPES
from .shape import build

DOCTOR, STANDARD, PAYER = ("Doctor", 1), ("Standard", 0), ("3rd Party Payer", 2)
PRACTICES = ("Wattle Street Medical Centre", "Bayside Family Practice", "Northgate Sports Medicine",
             "Harbour Orthopaedic Group", "Riverbend GP Clinic", "Kauri Medical Centre")
PAYERS = ("Bluegum Health Fund", "WorkSafe Example Insurance", "Transport Accident Example Commission",
          "Department of Veterans' Affairs (example)", "Kōwhai Mutual Insurance")
OTHERS = ("Example Legal Partners", "Coastline Employment Services", "Sunrise Aged Care",
          "Tidewater Rehabilitation Providers")


class ContactBook:
    """Each contact's type, decided up front (one small entry per contact) so patients can be
    given a referring doctor without generating the contacts first."""

    def __init__(self, seed: int, patients: int) -> None:
        self.seed = seed
        self.size = max(5, patients // 20)
        self.types = [self._type(c) for c in range(self.size)]
        self.doctors = tuple(c for c, kind in enumerate(self.types) if kind == DOCTOR)

    def _type(self, c: int) -> tuple[str, int]:
        if UNMAPPED_CONTACT(c):
            return UNMAPPED_CONTACT_TYPES[(c // UNMAPPED_CONTACT.step) % len(UNMAPPED_CONTACT_TYPES)]
        if c == 0:
            return DOCTOR  # patients always find a referring doctor
        roll = rng_for(self.seed, CONTACT_STREAM, c, 0).random()
        return DOCTOR if roll < 0.6 else STANDARD if roll < 0.8 else PAYER

    def records(self, ids: IdMaker, start: int, now: int) -> Iterator[GeneratedRecord]:
        for c, (kind, code) in enumerate(self.types):
            rng = rng_for(self.seed, CONTACT_STREAM, c)
            created = start + rng.randrange(30 * DAY)  # the address book came with the account
            archived = created + rng.randrange(max(DAY, now - created)) if ARCHIVED_CONTACT(c) else None
            values = _doctor(rng) if kind == DOCTOR[0] else _organisation(rng, kind)
            yield GeneratedRecord("contacts", build("contacts", {
                "id": ids("contacts", c), "type": kind, "type_code": code, **values,
                "phone_numbers": [{"phone_type": "Work", "number": f"(02) 5550 {rng.randrange(10000):04d}"}],
                "address_1": f"{rng.randrange(1, 300)} Example Road", "city": "Port Wattle", "state": "NSW",
                "post_code": "2999", "country": "Australia", "country_code": "AU",
                "email": f"contact{c}@example.org",
                "notes": "Prefers referrals by fax." if c % 7 == 0 else None,
                "created_at": iso_instant(created), "updated_at": iso_instant(archived or created),
                "archived_at": iso_instant(archived) if archived is not None else None}))


def _doctor(rng: random.Random) -> dict[str, object]:
    specialist = rng.random() < 0.3
    return {
        "title": "Dr", "first_name": LATIN_FIRST[rng.randrange(len(LATIN_FIRST))],
        "last_name": LATIN_LAST[rng.randrange(len(LATIN_LAST))],
        "company_name": PRACTICES[rng.randrange(len(PRACTICES))],
        "occupation": "Orthopaedic Surgeon" if specialist else "General Practitioner",
        "doctor_type": "specialist" if specialist else "general_practitioner",
        "provider_number": f"{rng.randrange(2_000_000, 5_000_000)}{'ABCDEFHJKL'[rng.randrange(10)]}",
    }


def _organisation(rng: random.Random, kind: str) -> dict[str, object]:
    pool = PAYERS if kind == PAYER[0] else OTHERS
    return {"company_name": pool[rng.randrange(len(pool))],
            "first_name": LATIN_FIRST[rng.randrange(len(LATIN_FIRST))] if rng.random() < 0.5 else None,
            "last_name": LATIN_LAST[rng.randrange(len(LATIN_LAST))], "occupation": "Claims officer"}
