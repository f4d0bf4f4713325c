"""The patient record itself: demographics as a front desk types them. Drawn after the plan
from the same stream; nothing here can add a planted problem (values are short, e-mail and
sex come from the plan)."""

from __future__ import annotations

import random
from typing import Any

from .catalogue import CONCESSIONS
from .clock import DAY, iso_instant
from .patients import PatientPlan
from .setup import Setup
from .shape import build
from .sites import SITES

TITLES = (None, None, None, None, "Mr", "Mrs", "Ms", "Miss", "Mx", "Dr", "Mr.", "Ms.", "Prof", "Rev")
STREETS = ("Banksia Crescent", "Wattle Avenue", "Example Street", "Sample Parade", "Ocean View Road",
           "Kōwhai Lane", "Placeholder Place", "Test Terrace", "Demo Drive")
SUBURBS = {"AU": ("Port Wattle", "Example Heights", "Sampleton", "Gumtree Flat", "Mock Bay"),
           "NZ": ("Te Example", "Kauri Point", "Sample Bay"),
           "US": ("Echo Hills", "Demo Park", "Sample Valley")}
OCCUPATIONS = (None, None, None, "Nurse", "Teacher", "Retired", "Software engineer", "Electrician",
               "Student", "Chef", "Marine biologist", "Barista", "Accountant")
NOTES = (None, None, None, None, "Prefers morning appointments.", "Hard of hearing; speak clearly.",
         "Interpreter needed (Mandarin).", "Pays cash.\nNo SMS after 8pm.", "Parking permit on file.")
REFERRALS = (None, None, None, "Google", "Walked past the clinic", "Friend", "Instagram 📸", "GP referral")
REMINDERS = ("SMS & Email", "SMS & Email", "SMS", "Email", "None", None)
FUNDS = ("Bluegum Health", "Wattle Mutual", "Coastal Care Fund", "Example Health Partners")
IDENTITIES = (None,) * 14 + ("Woman", "Man", "Non-binary", "Genderqueer")


def _pick(rng: random.Random, options: tuple[Any, ...]) -> Any:
    return options[rng.randrange(len(options))]


def patient_record(setup: Setup, plan: PatientPlan, patient_id: str) -> tuple[dict[str, Any], int | None]:
    """The record and the patient's concession (index into CONCESSIONS) for their invoices."""
    rng, person = plan.rng, plan.identity
    site = SITES[plan.home]
    country = site.country_code
    concession = rng.randrange(len(CONCESSIONS)) if rng.random() < 0.2 else None
    doctors = setup.contacts.doctors
    doctor = doctors[rng.randrange(len(doctors))] if rng.random() < 0.25 else None
    updated = plan.created + rng.randrange(setup.now - plan.created + 1)
    values: dict[str, Any] = {
        "id": patient_id, "title": _pick(rng, TITLES), "first_name": person.first_name,
        "last_name": person.last_name,
        "preferred_first_name": person.first_name.split(" ")[0] if rng.random() < 0.1 else None,
        "label": f"{person.first_name} {person.last_name}", "date_of_birth": person.date_of_birth,
        "sex": plan.sex, "gender_identity": _pick(rng, IDENTITIES), "email": plan.email,
        "patient_phone_numbers": _phones(rng, country), **_address(rng, plan, country),
        "time_zone": site.zone if rng.random() < 0.3 else None,
        "occupation": _pick(rng, OCCUPATIONS), "notes": _pick(rng, NOTES),
        "emergency_contact": "Sam (partner) (02) 5550 0110" if rng.random() < 0.2 else None,
        "referral_source": _pick(rng, REFERRALS), "reminder_type": _pick(rng, REMINDERS),
        "old_reference_id": f"PX-{plan.index:06d}" if plan.created < setup.start + 400 * DAY else None,
        "receives_confirmation_emails": bool(plan.email),
        "accepted_privacy_policy": _pick(rng, (True, True, None)),
        "accepted_email_marketing": _pick(rng, (True, False, None)),
        "accepted_sms_marketing": _pick(rng, (True, False, None)),
        "invoice_default_to": None, "custom_fields": _custom_fields(rng),
        "concession_type_id": setup.ref("concession_types", concession),
        "referring_doctor_id": setup.ref("contacts", doctor),
        "created_at": iso_instant(plan.created), "updated_at": iso_instant(max(updated, plan.archived or 0)),
        "archived_at": iso_instant(plan.archived) if plan.archived is not None else None,
    }
    if country == "AU":
        values.update(_medicare(rng))
    return build("patients", values), concession


def _phones(rng: random.Random, country: str) -> list[dict[str, str]]:
    """Up to three numbers in each country's fictional ranges (0491 57x, 5550, 555-01xx)."""
    kinds = ("Mobile", "Home", "Work")[: (0, 1, 1, 1, 2, 3)[rng.randrange(6)]]
    return [{"phone_type": kind, "number": _number(rng.randrange(10_000), country, kind == "Mobile")}
            for kind in kinds]


def _number(tail: int, country: str, mobile: bool) -> str:
    if country == "AU":
        return f"0491 57{tail % 10} {tail // 10:03d}" if mobile else f"(0{'2378'[tail % 4]}) 5550 {tail:04d}"
    if country == "NZ":
        return f"021 555 {tail:04d}" if mobile else f"(09) 555 {tail:04d}"
    return f"({'213' if mobile else '310'}) 555-01{tail % 100:02d}"


def _address(rng: random.Random, plan: PatientPlan, country: str) -> dict[str, Any]:
    site = SITES[plan.home]
    street = f"{rng.randrange(1, 400)} {_pick(rng, STREETS)}"
    if plan.long_address:  # planted: over the Salesforce mailing street's 255 characters
        street += (", rear entrance via the laneway behind the bakery, ring the second buzzer marked"
                   " 'Physio deliveries', then follow the blue line past the bicycle storage room and"
                   " the community garden to the lift lobby of Building C, level two, unit 214 (north"
                   " wing) - deliveries weekdays only")
    return {"address_1": street, "address_2": f"Unit {rng.randrange(1, 40)}" if rng.random() < 0.2 else None,
            "address_3": None, "city": _pick(rng, SUBURBS[country]), "state": site.state,
            "post_code": site.post_code, "country": None, "country_code": country}


def _medicare(rng: random.Random) -> dict[str, Any]:
    if rng.random() >= 0.6:
        return {}
    card = {"medicare": f"{rng.randrange(2, 7)}{rng.randrange(10**8, 10**9)}0",
            "medicare_reference_number": str(rng.randrange(1, 6))}
    if rng.random() < 0.08:
        card["dva_card_number"] = f"NX{rng.randrange(10**5, 10**6)}"
    return card


def _custom_fields(rng: random.Random) -> dict[str, Any] | None:
    if rng.random() < 0.5:
        return None
    fund = {"name": "Health fund", "token": "a1f0c2de-0000-4000-8000-000000000001",
            "type": "single_line_text", "value": _pick(rng, FUNDS)}
    return {"sections": [{"name": "Insurance", "token": "a1f0c2de-0000-4000-8000-000000000000",
                          "fields": [fund]}]}
