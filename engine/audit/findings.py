"""What the audit reports: one finding per record and problem, and counts per check."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

# Check ids are stable: reports, tests and other tools key on them.
CHECKS: dict[str, str] = {
    "missing_email": "Patients without an e-mail address",
    "duplicate_name_dob": "Patients with the same name and date of birth as an earlier patient",
    "duplicate_email": "Patients with the same e-mail address as an earlier patient",
    "lookup_defaulted": "Lookups with no parent that fall back to the spec's default "
                        "(e.g. patients with no business association → Unassigned)",
    "lookup_broken": "Lookups to a parent that is not in the source, or that will not load",
    "unmapped_value": "Source values no value map lists (quarantined, or given the fallback)",
    "overlong_value": "Text longer than the target field allows (truncated, or the record rejected)",
    "oversized_attachment": "Attachments larger than the target accepts",
    "would_quarantine": "Records the transform would quarantine, with every reason",
}


@dataclass(frozen=True)
class Finding:
    check: str
    object: str
    resource: str
    source_id: str
    field: str
    detail: str


@dataclass
class AuditReport:
    spec_name: str
    source: str
    target: str
    findings: list[Finding] = field(default_factory=list)
    records: Counter[str] = field(default_factory=Counter)  # source records read per object
    filtered: Counter[str] = field(default_factory=Counter)
    quarantined: Counter[str] = field(default_factory=Counter)

    def add(self, finding: Finding) -> None:
        self.findings.append(finding)

    def counts(self) -> Counter[str]:
        return Counter(f.check for f in self.findings)

    def counts_by_field(self) -> Counter[tuple[str, str, str]]:
        return Counter((f.check, f.object, f.field) for f in self.findings)
