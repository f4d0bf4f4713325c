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
