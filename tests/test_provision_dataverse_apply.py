"""`flitstack provision SPEC --out DIR --apply` for Dataverse: the manifest applied to the sandbox environment,
idempotently, and the new tables take records by their alternate keys."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from engine.cli.connections import dataverse_target
from engine.cli.main import main
from engine.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "specs" / "cliniko-to-dynamics365.yaml"
CLEAN = {"DATAVERSE_URL": "", "FLITSTACK_FORCE_SANDBOX": ""}


def _apply(tmp_path: Path) -> str:
    result = CliRunner().invoke(main, ["provision", str(SPEC), "--out", str(tmp_path / "out"), "--apply",
                                       "--workspace", str(tmp_path / "ws")], env=CLEAN, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_apply_creates_everything_once_and_the_tables_take_records(tmp_path: Path) -> None:
    first = _apply(tmp_path)
    assert "sandbox is used" in first
    assert "Applied: 3 tables, " in first and "keys Active" in first
    second = _apply(tmp_path)
    assert "Applied: nothing new; 97 already in place" in second
    with dataverse_target(Workspace(tmp_path / "ws")) as target:
        client = target.client
        table = client.table("fs_practitioner")
        created = client.send("PATCH", f"{table.entity_set}(fs_clinikoid='42')", body={"fs_name": "Dr Who"},
                              headers={"Prefer": "return=representation"})
        assert created.status_code == 201, created.text
        again = client.send("PATCH", f"{table.entity_set}(fs_clinikoid='42')", body={"fs_name": "Dr Who"},
                            headers={"Prefer": "return=representation"})
        assert again.status_code == 200  # the alternate key is Active: the same row, updated
        keys = client.json("GET", "EntityDefinitions(LogicalName='contact')/Keys")["value"]
        assert any(k["KeyAttributes"] == ["fs_clinikoid"] for k in keys)
