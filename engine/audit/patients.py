"""Checks of patient records themselves: reachability by e-mail and duplicate people.

Duplicates are reported against the earliest patient seen with the same key,
so a group of three gives two findings; keys are compared case-insensitively
and without surrounding spaces, as a person reviewing the list would.
"""

from __future__ import annotations

from typing import Any

from engine.audit.findings import AuditReport, Finding


def _text(value: Any) -> str:
    return value.strip().casefold() if isinstance(value, str) else ""


class PatientChecks:
    def __init__(self, report: AuditReport, object_name: str) -> None:
        self.report = report
        self.object_name = object_name
        self._by_name_dob: dict[tuple[str, str, str], str] = {}
        self._by_email: dict[str, str] = {}

    def _finding(self, check: str, source_id: str, field: str, detail: str) -> None:
        self.report.add(Finding(check, self.object_name, "patients", source_id, field, detail))

    def check(self, record: dict[str, Any], source_id: str) -> None:
        email = _text(record.get("email"))
        if not email:
            self._finding("missing_email", source_id, "email", "no e-mail address")
        else:
            first = self._by_email.setdefault(email, source_id)
            if first != source_id:
                self._finding("duplicate_email", source_id, "email", f"same e-mail as patient {first}")
        first_name, last_name = _text(record.get("first_name")), _text(record.get("last_name"))
        birth = _text(record.get("date_of_birth"))
        if last_name and birth:
            first = self._by_name_dob.setdefault((first_name, last_name, birth), source_id)
            if first != source_id:
                self._finding("duplicate_name_dob", source_id, "first_name, last_name, date_of_birth",
                              f"same name and date of birth as patient {first}")
