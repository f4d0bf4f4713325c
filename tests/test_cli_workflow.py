"""The validate → plan → test loop an analyst runs, through the CLI."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli.main import main

FIXTURES = Path(__file__).parent / "fixtures" / "specs"


@pytest.fixture
def mini(tmp_path: Path) -> Path:
    target = tmp_path / "mini.yaml"
    shutil.copy(FIXTURES / "mini.yaml", target)
    return target


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_plan_orders_parents_first_and_shows_second_pass(mini: Path) -> None:
    code, out = run("plan", str(mini))
    assert code == 0
    lines = out.splitlines()
    business = next(i for i, line in enumerate(lines) if ". business" in line)
    patient = next(i for i, line in enumerate(lines) if ". patient" in line)
    assert business < patient
    assert "after: business" in lines[patient]
    assert "second pass: Account.ParentId → business" in out


def test_spec_tests_pass_and_failures_show_expected_versus_actual(mini: Path) -> None:
    code, out = run("test", str(mini))
    assert (code, out.splitlines()[-1]) == (0, "1 passed, 0 failed")
    mini.write_text(mini.read_text().replace("{LastName: Nguyen,", "{LastName: Nguyen-Smith,"))
    code, out = run("test", str(mini))
    assert code == 1
    assert "FAIL  patient: basic" in out
    assert "field LastName: expected 'Nguyen-Smith', got 'Nguyen'" in out
    assert out.splitlines()[-1] == "0 passed, 1 failed"


def test_quarantine_expectation_reports_the_reason(mini: Path) -> None:
    mini.write_text(mini.read_text().replace("{key: \"2\", field: Birthdate}",
                                             "{key: \"2\", field: Email, reason_contains: nothing-like-this}"))
    code, out = run("test", str(mini))
    assert code == 1
    assert "source id 2: no reason contains 'nothing-like-this'" in out
    assert "expected an e-mail address, got 'bad'" in out


def test_missing_spec_file_is_a_usage_error_without_traceback(tmp_path: Path) -> None:
    code, out = run("validate", str(tmp_path / "nope.yaml"))
    assert code == 2
    assert "no such file" in out


OVERLAY = """\
# yaml-language-server: $schema=../../../schemas/spec.schema.json
extends: mini.yaml
name: acme
value_maps:
  gender:
    values: {nonbinary: Nonbinary}
    remove: [female]
objects:
  patient:
    fields:
      Description: ~
      FirstName: {path: first_name, max_length: 2, on_overflow: truncate}
      Gender__c: {path: sex, map: gender}
provision:
  Contact:
    fields:
      Gender__c: {type: picklist(gender), label: Gender}
tests:
  - name: basic
    object: patient
    given:
      - {id: "1", last_name: Nguyen}
    expect:
      - {LastName: Nguyen, AccountId: {ref: business, key: unassigned}}
  - name: overlay changes
    object: patient
    given:
      - {id: "5", last_name: Lee, first_name: Alexandra, sex: Female}
      - {id: "6", last_name: Kim, first_name: Jo, sex: NONBINARY}
    expect:
      - {FirstName: Al, Gender__c: Other, AccountId: {ref: business, key: unassigned}}
      - {FirstName: Jo, Gender__c: Nonbinary}
"""


def test_overlay_overrides_adds_and_removes(mini: Path) -> None:
    overlay = mini.parent / "acme.yaml"
    overlay.write_text(OVERLAY)
    code, out = run("test", str(overlay))
    assert code == 0, out
    assert "PASS  patient: basic" in out  # replaced by the overlay's test of the same name
    assert "PASS  patient: overlay changes" in out
    code, out = run("validate", str(overlay))
    assert code == 0
    assert "2 objects, 9 field rules" in out  # Description removed, Gender__c added


def test_overlay_error_points_at_the_overlay_file(mini: Path) -> None:
    overlay = mini.parent / "acme.yaml"
    overlay.write_text(OVERLAY.replace("map: gender}", "map: gendr}"))
    code, out = run("validate", str(overlay))
    assert code == 2
    first = out.splitlines()[0]
    assert first.endswith("acme.yaml:13:35: error: value map 'gendr' is not defined")


def test_overlay_can_remove_an_object(mini: Path) -> None:
    overlay = mini.parent / "slim.yaml"
    overlay.write_text("extends: mini.yaml\nname: slim\nobjects:\n  patient: ~\n")
    code, out = run("validate", str(overlay))
    assert code == 0, out
    assert "1 objects" in out and "0 tests" in out
