"""Records of a patient's cases, appointments and treatment notes, from the plan."""

from __future__ import annotations

import random
from typing import Any

from .catalogue import KINDS
from .clock import DAY, HOUR, MINUTE, iso_day, iso_instant
from .notes import note_content
from .patients import Case
from .schedule import Visit
from .setup import Setup
from .shape import build

REASON_WORDS = {10: "Feeling better", 20: "Condition worse", 30: "Sick", 31: "COVID-19 related",
                40: "Away", 50: "Other", 60: "Work"}
CANCEL_NOTES = (None, None, "Called the front desk", "Cancelled online", "Rebooked for next week")
TELEHEALTH = "https://telehealth.example.com/r/"
VISIT_NOTES = (None, None, None, None, "Bring previous scans", "Running 10 min late", "Wheelchair access")


def case_record(setup: Setup, case: Case, case_id: str, patient_id: str) -> dict[str, Any]:
    closed = case.expires < setup.now
    return build("patient_cases", {
        "id": case_id, "name": case.name, "notes": None, "issue_date": iso_day(case.issued),
        "expiry_date": iso_day(case.expires), "closed": closed, "max_sessions": case.max_sessions,
        "max_invoiceable_amount": None, "include_cancelled_attendees": False,
        "include_dna_attendees": True, "referral": case.referral_type is not None,
        "referral_type": case.referral_type, "attendee_ids": [], "patient_id": patient_id,
        "created_at": iso_instant(case.issued),
        "updated_at": iso_instant(min(setup.now, case.expires) if closed else case.issued)})


def appointment_record(setup: Setup, rng: random.Random, visit: Visit, ids: dict[str, str | None],
                       patient_name: str, case_opened: int | None) -> dict[str, Any]:
    """`ids`: id, patient_id, patient_case_id. A visit booked before its case was opened was
    updated when it joined the case."""
    marked = visit.outcome in ("arrived", "dna")
    updated = visit.cancelled if visit.cancelled is not None else (
        min(setup.now, visit.end + rng.randrange(HOUR)) if marked else visit.booked)
    updated = max(updated, case_opened or 0)
    note_status = None if visit.note is None else 10 if visit.note == "draft" else 90
    return build("individual_appointments", {
        **ids, "starts_at": iso_instant(visit.start), "ends_at": iso_instant(visit.end),
        "patient_name": patient_name, "notes": VISIT_NOTES[rng.randrange(len(VISIT_NOTES))],
        "patient_arrived": visit.outcome == "arrived", "did_not_arrive": visit.outcome == "dna",
        "cancelled_at": iso_instant(visit.cancelled) if visit.cancelled is not None else None,
        "cancellation_reason": visit.reason,
        "cancellation_reason_description": REASON_WORDS.get(visit.reason or 0),
        "cancellation_note": CANCEL_NOTES[rng.randrange(len(CANCEL_NOTES))] if visit.reason else None,
        "invoice_status": visit.bill.status if visit.bill else None, "treatment_note_status": note_status,
        "has_patient_appointment_notes": False, "online_booking_policy_accepted": None,
        "email_reminder_sent": visit.start < setup.now, "sms_reminder_sent": visit.start < setup.now,
        "telehealth_url": f"{TELEHEALTH}{ids['id']}" if KINDS[visit.kind].telehealth else None,
        "repeat_rule": None, "practitioner_id": setup.refs["practitioners"][visit.practitioner],
        "business_id": setup.refs["businesses"][visit.site],
        "appointment_type_id": setup.refs["appointment_types"][visit.kind],
        "created_at": iso_instant(visit.booked), "updated_at": iso_instant(max(updated, visit.booked))})


def note_record(setup: Setup, rng: random.Random, visit: Visit, ids: dict[str, str]) -> dict[str, Any]:
    """`ids`: id, patient_id, booking_id."""
    created = min(setup.now, visit.end + rng.randrange(10 * MINUTE, 2 * DAY))
    draft = visit.note == "draft"
    finalized = None if draft else min(setup.now, created + rng.randrange(3 * DAY))
    practitioner = setup.staff[visit.practitioner]
    return build("treatment_notes", {
        **ids, "title": "Initial Assessment" if visit.kind == 0 else f"{KINDS[visit.kind].name} note",
        "draft": draft, "finalized_at": iso_instant(finalized) if finalized is not None else None,
        "author_name": practitioner.display,
        "content": note_content(rng, visit.start, draft=draft, long=visit.note == "long"),
        "practitioner_id": setup.refs["practitioners"][visit.practitioner],
        "created_at": iso_instant(created), "updated_at": iso_instant(finalized or created)})
