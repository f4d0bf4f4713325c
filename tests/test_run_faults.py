"""A run through injected faults on both sides ends where a clean run ends: nothing lost, nothing twice."""

from __future__ import annotations

from pathlib import Path

from sandbox_migration_fixture import MigrationWorkspace, prepared_workspace

FAULTS = "cliniko=429:0.05,503:0.04,reset:0.03;salesforce=503:0.04,reset:0.04;seed=11"


def test_faults_on_both_sides_change_nothing_in_the_result(tmp_path: Path) -> None:
    clean = prepared_workspace(tmp_path / "clean")
    clean.invoke("run", str(clean.spec))
    faulty = prepared_workspace(tmp_path / "faulty")
    faulty.invoke("run", str(faulty.spec), env={"FLITSTACK_SANDBOX_FAULTS": FAULTS})
    assert faulty.keyed_snapshot() == clean.keyed_snapshot()
    with clean.store() as a, faulty.store() as b:
        assert [(q.object, q.source_id, q.field) for q in a.quarantined()] == \
            [(q.object, q.source_id, q.field) for q in b.quarantined()]


def test_the_daily_api_limit_stops_the_run_and_it_resumes(prepared: MigrationWorkspace, tmp_path: Path) -> None:
    clean = prepared_workspace(tmp_path / "clean")
    clean.invoke("run", str(clean.spec))
    stopped = prepared.invoke("run", str(prepared.spec), expect=3,
                              env={"FLITSTACK_SANDBOX_SALESFORCE_DAILY_LIMIT": "25"})
    assert "REQUEST_LIMIT_EXCEEDED" in stopped.output and "run the same command again" in stopped.output
    with prepared.store() as store:
        [run] = store.runs("run")
        assert run.status == "stopped"
    resumed = prepared.invoke("run", str(prepared.spec))
    assert f"Resuming run {run.id}" in resumed.output
    assert prepared.keyed_snapshot() == clean.keyed_snapshot()


def test_bad_fault_setting_is_a_usage_error(prepared: MigrationWorkspace) -> None:
    result = prepared.invoke("run", str(prepared.spec), expect=2,
                             env={"FLITSTACK_SANDBOX_FAULTS": "cliniko=500:0.1"})
    assert "FLITSTACK_SANDBOX_FAULTS" in result.output and "KIND:RATE" in result.output


def test_bulk_api_batches_load_what_collections_load(tmp_path: Path) -> None:
    """Objects with more records in a batch than the catalog's bulk_threshold (2,000) go through Bulk
    API 2.0 jobs; the org they leave is the one sObject Collections leave."""
    bulk = prepared_workspace(tmp_path / "bulk", patients=400)
    result = bulk.invoke("run", str(bulk.spec), "--batch-size", "5000")
    collections = prepared_workspace(tmp_path / "collections", patients=400)
    collections.invoke("run", str(collections.spec), "--batch-size", "500")
    with bulk.store() as store:
        counts = {c.object: c for c in store.object_counts(1) if c.pass_ == 1}
    # One batch of each holds more records than the threshold: the loader sends them as bulk jobs
    # (the choice itself is tested in test_load_salesforce_bulk.py).
    assert counts["appointment"].read > 2000 and counts["invoice_item"].read > 2000, result.output
    assert bulk.keyed_snapshot() == collections.keyed_snapshot()
