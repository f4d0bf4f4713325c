"""The lifecycle into the Dataverse sandbox, through the CLI: run, a second run writing nothing, delta,
reconcile, faults, kill -9 resume, rollback to the exact previous state."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from sandbox_migration_fixture import DYNAMICS_SPEC, MigrationWorkspace, change_source, prepared_workspace
from test_run_kill import KILL_AFTER_AUDIT_ROWS, _run_and_kill

from engine.sandbox.graph import ROOT_ID, Drive

FAULTS = "cliniko=429:0.04,503:0.03,reset:0.03;dataverse=503:0.04,reset:0.04,429:0.03;seed=5"


@pytest.fixture()
def dynamics(tmp_path: Path) -> MigrationWorkspace:
    return prepared_workspace(tmp_path / "dynamics", spec=DYNAMICS_SPEC)


def test_run_delta_reconcile_and_rollback_to_the_exact_previous_state(dynamics: MigrationWorkspace) -> None:
    before = dynamics.snapshot()
    dynamics.invoke("run", str(dynamics.spec))
    loaded = dynamics.snapshot("contact", "task", "annotation", "opportunity", "opportunityproduct")
    assert len(loaded["contact"]) > len(before["contact"]) and loaded["task"] and loaded["opportunityproduct"]
    second = dynamics.invoke("run", str(dynamics.spec))
    with dynamics.store() as store:
        assert store.audit_counts(2) == {}, second.output
    changes = change_source(dynamics)
    dynamics.invoke("delta", str(dynamics.spec))
    contacts = {row.get("fs_clinikoid"): row for row in dynamics.snapshot("contact")["contact"].values()}
    assert contacts[changes.created["patients"][0]]["lastname"] == "Newcomer 1"
    out = dynamics.root / "rec"
    dynamics.invoke("reconcile", str(dynamics.spec), "--out", str(out))
    assert json.loads((out / "reconciliation.json").read_text(encoding="utf-8"))["balanced"] is True
    dynamics.invoke("rollback", str(dynamics.spec))
    assert dynamics.snapshot() == before


def test_every_practitioner_owned_record_has_an_owner(dynamics: MigrationWorkspace) -> None:
    dynamics.invoke("run", str(dynamics.spec))
    rows = dynamics.snapshot("task", "opportunity")
    assert rows["task"] and all(r.get("_ownerid_value") for table in rows.values() for r in table.values())


def test_faults_change_nothing_in_the_result(tmp_path: Path) -> None:
    clean = prepared_workspace(tmp_path / "clean", spec=DYNAMICS_SPEC)
    clean.invoke("run", str(clean.spec))
    faulty = prepared_workspace(tmp_path / "faulty", spec=DYNAMICS_SPEC)
    faulty.invoke("run", str(faulty.spec), env={"FLITSTACK_SANDBOX_FAULTS": FAULTS})
    assert faulty.keyed_snapshot() == clean.keyed_snapshot()


def test_kill_9_then_resume_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    clean = prepared_workspace(tmp_path / "clean", spec=DYNAMICS_SPEC)
    clean.invoke("run", str(clean.spec))
    killed = prepared_workspace(tmp_path / "killed", spec=DYNAMICS_SPEC)
    statuses = [_run_and_kill(killed, rows) for rows in KILL_AFTER_AUDIT_ROWS]
    assert statuses.count(-signal.SIGKILL) >= 2, statuses
    killed.invoke("run", str(killed.spec))
    assert killed.keyed_snapshot() == clean.keyed_snapshot()


def _drive_files(workspace: MigrationWorkspace) -> list[str]:
    drive = Drive(workspace.root / "sandbox" / "graph")
    try:
        def walk(item_id: str) -> list[str]:
            found = []
            for child in drive.children(item_id):
                found += walk(str(child["id"])) if child.get("folder") else [drive.path_of(child)]
            return found
        return walk(ROOT_ID)
    finally:
        drive.close()


def test_attachments_go_to_sharepoint_when_a_site_is_configured(dynamics: MigrationWorkspace) -> None:
    sharepoint = {"DATAVERSE_SHAREPOINT_SITE": "the sandbox's site"}
    dynamics.invoke("run", str(dynamics.spec), env=sharepoint)
    files = _drive_files(dynamics)
    with dynamics.store() as store:
        loaded = store.status_counts("patient_file").get("loaded", 0)
    assert loaded and len(files) == loaded
    assert all(path.count("/") >= 2 and path.split("/")[0] == "contact" for path in files), files
    notes = dynamics.snapshot("annotation")["annotation"]
    assert not any(n.get("documentbody") for n in notes.values())  # no file stored as a note
    dynamics.invoke("rollback", str(dynamics.spec), env=sharepoint)
    assert _drive_files(dynamics) == []
