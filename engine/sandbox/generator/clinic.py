"""generate_clinic: reference data first, then each patient followed by its children."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from functools import cached_property

from .appointments import appointment_record, case_record, note_record
from .attachments import attachment
from .billing import Payer, invoice_records
from .catalogue import catalogue_records
from .clock import DEFAULT_NOW, to_epoch
from .ids import Sequences
from .model import GeneratedRecord, Manifest
from .patients import PatientPlan, plan_patient
from .registration import patient_record
from .setup import Setup, build_setup
from .sites import site_records
from .staff import staff_records
from .tally import tally


class SyntheticClinic:
    """A deterministic clinic for (seed, patients, now). `records()` streams it (each call
    starts over); `manifest` counts it exactly without building records."""

    def __init__(self, seed: int, patients: int, now: datetime | None = None) -> None:
        if patients < 0:
            raise ValueError("patients must be 0 or more")
        self.seed, self.patients = seed, patients
        self.now = (now or DEFAULT_NOW).replace(microsecond=0)
        self._setup = build_setup(seed, patients, to_epoch(self.now))

    @cached_property
    def manifest(self) -> Manifest:
        return tally(self._setup)

    def records(self) -> Iterator[GeneratedRecord]:
        setup = self._setup
        yield from catalogue_records(setup.ids, setup.opened, setup.now)
        yield from site_records(setup.ids, setup.opened, setup.now)
        yield from staff_records(setup.ids, setup.staff, setup.now)
        yield from setup.contacts.records(setup.ids, setup.opened, setup.now)
        seq = Sequences(setup.ids)
        for index in range(setup.patients):
            yield from _patient_family(setup, plan_patient(setup, index), seq)


def _patient_family(setup: Setup, plan: PatientPlan, seq: Sequences) -> Iterator[GeneratedRecord]:
    """The patient, its cases, each appointment with its note and invoice, sales, files."""
    rng = plan.rng
    patient_id = setup.ids("patients", plan.index)
    record, concession = patient_record(setup, plan, patient_id)
    yield GeneratedRecord("patients", record)
    case_ids = [seq.take("patient_cases") for _ in plan.cases]
    for case, case_id in zip(plan.cases, case_ids, strict=True):
        yield GeneratedRecord("patient_cases", case_record(setup, case, case_id, patient_id))
    lines = [record["label"], record["address_1"], record["city"]]
    payer = Payer(patient_id, "\n".join(x for x in lines if x), concession)
    appointment_ids = []
    for visit in plan.visits:
        appointment_id = seq.take("individual_appointments")
        appointment_ids.append(appointment_id)
        joined = None if visit.case is None else plan.cases[visit.case]
        ids = {"id": appointment_id, "patient_id": patient_id,
               "patient_case_id": None if visit.case is None else case_ids[visit.case]}
        yield GeneratedRecord("individual_appointments", appointment_record(
            setup, rng, visit, ids, record["label"], joined.issued if joined else None))
        if visit.note is not None:
            note = {"id": seq.take("treatment_notes"), "patient_id": patient_id, "booking_id": appointment_id}
            yield GeneratedRecord("treatment_notes", note_record(setup, rng, visit, note))
        if visit.bill is not None:
            yield from invoice_records(setup, seq, visit.bill, visit, payer, appointment_id, rng)
    for k, bill in plan.sales:
        yield from invoice_records(setup, seq, bill, plan.visits[k], payer, None, rng)
    for file in plan.files:
        yield attachment(setup, rng, file, seq.take("patient_attachments"), patient_id)


def generate_clinic(seed: int, patients: int, now: datetime | None = None) -> SyntheticClinic:
    """A synthetic Cliniko clinic; `now` defaults to 2026-01-15T00:00:00Z."""
    return SyntheticClinic(seed, patients, now)
