"""The data-quality audit, end to end: a generated clinic in the sandbox, `flitstack audit`, and
exactly the problems the generator planted — no more, no fewer."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli.main import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Counter[tuple[str, str, str]], dict[str, int]]:
    workspace = tmp_path_factory.mktemp("ws")
    runner = CliRunner(env={"CLINIKO_API_KEY": None, "FLITSTACK_WORKSPACE": None})
    seeded = runner.invoke(main, ["sandbox", "seed", "--patients", "120", "--seed", "7",
                                  "--workspace", str(workspace)])
    assert seeded.exit_code == 0, seeded.output
    out = workspace / "reports"
    result = runner.invoke(main, ["audit", str(ROOT / "specs" / "cliniko-to-salesforce.yaml"),
                                  "--workspace", str(workspace), "--out", str(out)])
    assert result.exit_code == 0, result.output
    with (out / "audit.csv").open(encoding="utf-8") as handle:
        found = Counter((r["check"], r["object"], r["field"]) for r in csv.DictReader(handle))
    manifest = json.loads((workspace / "sandbox" / "cliniko" / "manifest.json").read_text())
    return result.output, found, manifest["problems"]


def test_first_line_says_the_sandbox_is_used(audited: tuple[str, Counter[tuple[str, str, str]], dict[str, int]]) -> None:
    output = audited[0]
    first = output.splitlines()[0]
    assert first.startswith("Source: Cliniko sandbox at https://127.0.0.1:")
    assert "no CLINIKO_API_KEY set" in first


@pytest.mark.parametrize(("planted", "findings"), [
    ("patients_without_email", [("missing_email", "patient", "email")]),
    ("duplicate_patients_name_dob", [("duplicate_name_dob", "patient", "first_name, last_name, date_of_birth")]),
    ("duplicate_patients_email", [("duplicate_email", "patient", "email")]),
    ("patients_without_business", [("lookup_defaulted", "patient", "AccountId")]),
    ("unmapped_sex_values", [("unmapped_value", "patient", "Gender__c")]),
    ("unmapped_invoice_status", [("unmapped_value", "invoice", "Status__c")]),
    ("unmapped_contact_type", [("unmapped_value", "referral_contact", "Type")]),
    ("oversized_attachments", [("oversized_attachment", "patient_attachment", "size")]),
    ("overlong_fields", [("overlong_value", "patient", "LastName"), ("overlong_value", "patient", "MailingStreet")]),
])
def test_audit_finds_exactly_what_was_planted(
        audited: tuple[str, Counter[tuple[str, str, str]], dict[str, int]], planted: str,
        findings: list[tuple[str, str, str]]) -> None:
    _, found, problems = audited
    assert problems[planted] >= 1, "the generator plants every problem at this size"
    assert sum(found[key] for key in findings) == problems[planted]


def test_summary_counts_match_the_findings(tmp_path: Path,
                                           audited: tuple[str, Counter[tuple[str, str, str]], dict[str, int]]) -> None:
    output, found, _ = audited
    per_check = Counter()
    for (check, _obj, _field), n in found.items():
        per_check[check] += n
    for check, n in per_check.items():
        assert f"{n:>8,}  {check}" in output
