"""`flitstack demo`: the whole workflow into the Salesforce sandbox, every report written."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli.main import main


@pytest.mark.parametrize("target", ["salesforce", "dynamics365"])
def test_demo_runs_the_workflow_and_writes_every_report(tmp_path: Path, target: str) -> None:
    out = tmp_path / "demo"
    before = dict(os.environ)
    result = CliRunner().invoke(main, ["demo", "--target", target, "--out", str(out), "--patients", "25"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert dict(os.environ) == before  # the demo's sandbox-only settings do not leak
    steps = [line.split(":")[0] for line in result.output.splitlines() if line.startswith("== ")]
    assert steps == ["== validate the spec", "== generate a synthetic clinic", "== audit the source",
                     "== provision and apply", "== sample with a field-level diff", "== sign off", "== full run",
                     "== meanwhile, in the clinic", "== delta", "== reconcile", "== roll the migration back"]
    artifact = "salesforce/package.xml" if target == "salesforce" else "dataverse/manifest.json"
    for name in ("audit/audit.html", "provision/field-sheet.xlsx", f"provision/{artifact}", "sample/diff.csv",
                 "sample/diff.html", "quarantine.csv", "unresolved_owners.csv", "reconciliation.html",
                 "reconciliation.json"):
        assert (out / name).is_file(), name
    reconciliation = json.loads((out / "reconciliation.json").read_text(encoding="utf-8"))
    assert reconciliation["balanced"] is True
    patient = reconciliation["objects"]["patient"]
    assert patient["source"] == 26 == patient["loaded"] + patient["quarantined"] + patient["filtered"]
    # Two of the clinic's practitioners have users in the demo org (one more, inactive); the rest are reported.
    unresolved = (out / "unresolved_owners.csv").read_text(encoding="utf-8").splitlines()
    assert len(unresolved) == 1 + 2
    assert "0 mismatched fields" in result.output  # the sample read back exactly what the spec wrote
    assert "Rollback" in result.output and "completed" in result.output.split("== roll the migration back")[1]
