"""A run killed with SIGKILL at several points and started again ends with the same org as a run
that was never interrupted: nothing missing, nothing twice."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from sandbox_migration_fixture import ROOT, MigrationWorkspace, prepared_workspace

KILL_AFTER_AUDIT_ROWS = (40, 260, 520)  # inside patients, appointments, notes of the 30-patient clinic


def _audit_rows(workspace: MigrationWorkspace) -> int:
    path = workspace.root / "state.db"
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(path, timeout=5) as db:
            return int(db.execute("SELECT COUNT(*) FROM audit").fetchone()[0])
    except sqlite3.OperationalError:  # the schema is being created
        return 0


def _run_and_kill(workspace: MigrationWorkspace, after_rows: int) -> int | None:
    """Start `flitstack run` as a process; SIGKILL it once the audit log has `after_rows` rows.
    Returns its exit status (-9 when killed)."""
    env = {**os.environ, **workspace.env}
    process = subprocess.Popen([sys.executable, "-m", "engine.cli", "run", str(workspace.spec),
                                "--batch-size", "20"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        if _audit_rows(workspace) >= after_rows:
            process.send_signal(signal.SIGKILL)
            break
        time.sleep(0.01)
    return process.wait(timeout=60)


def _duplicates(workspace: MigrationWorkspace) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, records in workspace.snapshot().items():
        keys = Counter(str(r.get("Cliniko_Id__c")) for r in records.values() if r.get("Cliniko_Id__c"))
        twice = [k for k, n in keys.items() if n > 1]
        if twice:
            found[name] = twice
    return found


def test_kill_9_at_any_point_then_resume_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    clean = prepared_workspace(tmp_path / "clean")
    clean.invoke("run", str(clean.spec))
    killed = prepared_workspace(tmp_path / "killed")
    statuses = [_run_and_kill(killed, rows) for rows in KILL_AFTER_AUDIT_ROWS]
    assert statuses.count(-signal.SIGKILL) >= 2, f"the run finished before it could be killed: {statuses}"
    with killed.store() as store:
        [run] = store.runs("run")
        assert run.status != "completed"
    result = killed.invoke("run", str(killed.spec))
    assert f"Resuming run {run.id}" in result.output and f"Run {run.id} completed." in result.output
    assert _duplicates(killed) == {}
    assert killed.keyed_snapshot() == clean.keyed_snapshot()
    assert len(killed.snapshot("ContentVersion")["ContentVersion"]) == \
        len(clean.snapshot("ContentVersion")["ContentVersion"])  # no keyless note or file left behind
    with killed.store() as store:
        pending = [r for r in store.audit_rows([run.id], statuses=("pending",))]
        assert pending == []  # every request written ahead was settled by the resumed run
