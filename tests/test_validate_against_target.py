"""`flitstack validate SPEC --against-target` against the Salesforce sandbox org."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from engine.cli.main import main
from engine.sandbox.salesforce import DATABASE_NAME, Org, custom_field

FIXTURE = Path(__file__).parent / "fixtures" / "specs" / "mini.yaml"


def run(spec: Path, workspace: Path) -> tuple[int, str]:
    runner = CliRunner(env={"SALESFORCE_INSTANCE_URL": None, "SALESFORCE_ACCESS_TOKEN": None})
    result = runner.invoke(main, ["validate", str(spec), "--against-target", "--workspace", str(workspace)])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_fields_missing_from_the_org_are_located_in_the_spec_until_provisioned(tmp_path: Path) -> None:
    spec = tmp_path / "mini.yaml"
    shutil.copy(FIXTURE, spec)
    code, out = run(spec, tmp_path / "ws")
    assert code == 2
    assert "Target: Salesforce sandbox org at https://127.0.0.1:" in out
    assert f"{spec}:18:23: error: Account.Cliniko_Id__c does not exist in the org" in out
    assert f"{spec}:27:23: error: Contact.Cliniko_Id__c does not exist in the org" in out

    # What deploying the provision section does to the org: the key fields now exist.
    org = Org(tmp_path / "ws" / "sandbox" / "salesforce" / DATABASE_NAME)
    for target in ("Account", "Contact"):
        org.add_custom_field(target, custom_field("Cliniko_Id__c", "string", length=40, unique=True,
                                                  external_id=True))
    org.close()
    code, out = run(spec, tmp_path / "ws")
    assert code == 0, out
    assert "The org has every object and field the spec writes" in out


def test_value_map_outputs_missing_from_an_org_picklist_point_at_the_map_entry(tmp_path: Path) -> None:
    spec = tmp_path / "mini.yaml"
    text = FIXTURE.read_text().replace("      FirstName: first_name\n",
                                       "      FirstName: first_name\n      LeadSource: {path: sex, map: gender}\n")
    spec.write_text(text)
    code, out = run(spec, tmp_path / "ws")
    assert code == 2
    assert "'Male' is not a value of Contact.LeadSource's picklist in the org" in out
    assert "at: value_maps.gender.values.male" in out


DYNAMICS = Path(__file__).resolve().parent.parent / "specs" / "cliniko-to-dynamics365.yaml"


def _dataverse(*args: str, workspace: Path) -> tuple[int, str]:
    runner = CliRunner(env={"DATAVERSE_URL": None, "FLITSTACK_FORCE_SANDBOX": None})
    result = runner.invoke(main, [*args, "--workspace", str(workspace)])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_dynamics_spec_against_the_dataverse_environment_before_and_after_provisioning(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    code, out = _dataverse("validate", str(DYNAMICS), "--against-target", workspace=workspace)
    assert code == 2
    assert "Target: Dataverse sandbox environment at https://127.0.0.1:" in out
    assert "fs_practitioner does not exist in the environment" in out  # a table provisioning creates
    assert "contact.fs_clinikoid does not exist in the environment" in out
    assert "hint: run `flitstack provision SPEC --out DIR --apply`" in out
    code, out = _dataverse("provision", str(DYNAMICS), "--out", str(tmp_path / "out"), "--apply",
                           workspace=workspace)
    assert code == 0, out
    code, out = _dataverse("validate", str(DYNAMICS), "--against-target", workspace=workspace)
    assert code == 0, out
    assert "The environment has every object and field the spec writes" in out


def test_option_values_missing_from_a_dataverse_column_point_at_the_map_entry(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    code, out = _dataverse("provision", str(DYNAMICS), "--out", str(tmp_path / "out"), "--apply",
                           workspace=workspace)
    assert code == 0, out
    spec = tmp_path / "overlay.yaml"
    # The customer's overlay writes a new outcome the environment's option set (applied from the pair
    # spec) does not have yet: the local check passes (provisioning would add it), the environment does not.
    spec.write_text(f"extends: {DYNAMICS}\nvalue_maps:\n  appointment_outcome:\n    values:\n"
                    "      cancelled: 365000009\n", encoding="utf-8")
    assert _dataverse("validate", str(spec), workspace=workspace)[0] == 0
    code, out = _dataverse("validate", str(spec), "--against-target", workspace=workspace)
    assert code == 2, out
    assert "365000009 is not a value of task.fs_appointmentoutcome's picklist in the environment" in out
    assert "at: value_maps.appointment_outcome.values.cancelled" in out
