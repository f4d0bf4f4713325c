"""The manifest, counted from the plans alone (no records built): a pass over the patients
that draws the same skeleton as the record pass and keeps only totals."""

from __future__ import annotations

from collections import Counter

from . import problems as p
from .catalogue import CONCESSIONS, ITEMS, KINDS, PRODUCTS, TAXES
from .ids import RESOURCES
from .model import Manifest
from .names import Script
from .patients import PatientPlan, plan_patient
from .setup import Setup
from .sites import SITES
from .staff import reference_count

MAPPED_STATUSES = {10, 20, 30, 40}


def tally(setup: Setup) -> Manifest:
    counts: Counter[str] = Counter(dict.fromkeys(RESOURCES, 0))
    found: Counter[str] = Counter(dict.fromkeys(p.PROBLEM_KEYS, 0))
    _reference(setup, counts, found)
    for index in range(setup.patients):
        _patient(plan_patient(setup, index), counts, found)
    found["patients_without_business"] = found["patients_without_appointment"]  # see problems.py
    return Manifest(counts=dict(counts), problems={key: found[key] for key in p.PROBLEM_KEYS})


def _reference(setup: Setup, counts: Counter[str], found: Counter[str]) -> None:
    counts.update(taxes=len(TAXES), concession_types=len(CONCESSIONS), billable_items=len(ITEMS),
                  products=len(PRODUCTS), appointment_types=len(KINDS), businesses=len(SITES),
                  users=len(setup.staff) + 2, practitioners=len(setup.staff),
                  practitioner_reference_numbers=reference_count(setup.staff), contacts=setup.contacts.size)
    found["archived_businesses"] = sum(c is not None for c in setup.site_closes)
    found["archived_appointment_types"] = sum(r is not None for r in setup.kind_retired)
    found["archived_products"] = sum(r is not None for r in setup.product_retired)
    found["archived_practitioners"] = sum(s.active_until is not None for s in setup.staff)
    found["archived_contacts"] = sum(p.ARCHIVED_CONTACT(c) for c in range(setup.contacts.size))
    found["unmapped_contact_type"] = sum(p.UNMAPPED_CONTACT(c) for c in range(setup.contacts.size))


def _patient(plan: PatientPlan, counts: Counter[str], found: Counter[str]) -> None:
    visits = plan.visits
    bills = [v.bill for v in visits if v.bill is not None]
    counts["patients"] += 1
    counts["patient_cases"] += len(plan.cases)
    counts["individual_appointments"] += len(visits)
    counts["treatment_notes"] += sum(v.note is not None for v in visits)
    counts["invoices"] += len(bills) + len(plan.sales)
    counts["invoice_items"] += sum(1 + len(b.products) for b in bills)
    counts["invoice_items"] += sum(len(b.products) for _, b in plan.sales)
    counts["patient_attachments"] += len(plan.files)
    found["patients_without_email"] += not plan.email
    found["duplicate_patients_name_dob"] += p.SAME_NAME_DOB(plan.index)
    found["duplicate_patients_email"] += plan.email_copied
    found["patients_without_appointment"] += not visits
    found["unmapped_sex_values"] += plan.sex in p.UNMAPPED_SEXES
    found["unmapped_invoice_status"] += sum(b.status not in MAPPED_STATUSES for _, b in plan.sales)
    found["oversized_attachments"] += sum(f.size > p.ATTACHMENT_LIMIT for f in plan.files)
    found["long_treatment_notes"] += sum(v.note == "long" for v in visits)
    found["non_latin_names"] += plan.script is Script.NON_LATIN
    found["emoji_names"] += plan.script is Script.EMOJI
    found["dst_appointments"] += sum(v.dst for v in visits)
    found["archived_patients"] += plan.archived is not None
    found["overlong_fields"] += (len(plan.identity.last_name) > p.LAST_NAME_LIMIT) + plan.long_address
