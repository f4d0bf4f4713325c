"""A few changes to the sandbox clinic after a run, as a working clinic makes them: for `delta`.

Made in the Cliniko sandbox's store (its clock stamps `updated_at`), between
commands: some patients edited, some appointments archived, one patient added.
Deterministic: the same clinic always gets the same changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from engine.sandbox.cliniko import ClinikoStore
from engine.sandbox.cliniko.factory import DATABASE_NAME
from engine.sandbox.cliniko.store import Clause

LIVE = Clause("json_extract(body, '$.archived_at') IS NULL AND json_extract(body, '$.deleted_at') IS NULL")


@dataclass
class SourceChanges:
    updated: dict[str, list[str]] = field(default_factory=dict)   # resource → ids
    archived: dict[str, list[str]] = field(default_factory=dict)
    created: dict[str, list[str]] = field(default_factory=dict)

    def describe(self) -> list[str]:
        lines = []
        kinds = (("updated", self.updated), ("archived", self.archived), ("created", self.created))
        for verb, changes in kinds:
            lines += [f"{verb} {len(ids)} {resource}: {', '.join(ids)}" for resource, ids in changes.items()]
        return lines


def change_clinic(sandbox_folder: Path, *, edits: int = 3, archives: int = 2,
                  new_patients: int = 1) -> SourceChanges:
    """Edit `edits` patients, archive `archives` appointments, add `new_patients` patients."""
    changes = SourceChanges()
    with ClinikoStore(sandbox_folder / "cliniko" / DATABASE_NAME) as store:
        patients = store.select("patients", [LIVE], limit=edits + new_patients)
        for patient in patients[:edits]:
            store.update("patients", patient["id"], {"occupation": "Updated after the first run",
                                                     "notes": "Changed in the source after the run."})
            changes.updated.setdefault("patients", []).append(str(patient["id"]))
        for appointment in store.select("individual_appointments", [LIVE], limit=archives):
            store.archive("individual_appointments", appointment["id"])
            changes.archived.setdefault("individual_appointments", []).append(str(appointment["id"]))
        for number, template in enumerate(patients[edits:edits + new_patients], start=1):
            body = {k: v for k, v in template.items() if k not in ("id", "created_at", "updated_at")}
            body.update({"first_name": "Nova", "last_name": f"Newcomer {number}",
                         "email": f"nova.newcomer{number}@example.org"})
            created = store.insert("patients", body)
            changes.created.setdefault("patients", []).append(str(created["id"]))
    return changes
