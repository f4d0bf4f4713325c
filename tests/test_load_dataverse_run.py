"""End to end: the Dynamics pair spec compiled and run by the Runner, from a seeded Cliniko sandbox into
the Dataverse emulator provisioned from `flitstack provision` — then run again, which writes nothing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sandbox_dataverse_fixture import dataverse_tls  # noqa: F401 - serves as `dv_tls`
from test_load_dataverse import Sandbox, compiled, manifest  # noqa: F401 - fixtures

from engine.compile.compiler import CompiledSpec
from engine.connectors.cliniko import ClinikoConnector
from engine.load.dataverse import DataverseTarget
from engine.records import TargetRecord
from engine.run.runner import Runner
from engine.sandbox.runtime import SANDBOX_USER_AGENT, SandboxOptions, seed_cliniko
from engine.sandbox.runtime import Sandbox as Emulators
from engine.sandbox.tls import SandboxTLS
from engine.state.store import StateStore

PATIENTS = 12
FILE_MAX_BYTES = 3_932_160  # limits.yaml file_max_bytes, as the CLI binds it


@pytest.fixture
def cliniko(tmp_path: Path) -> Iterator[ClinikoConnector]:
    seed_cliniko(tmp_path / "sandbox", patients=PATIENTS, seed=7)
    options = SandboxOptions(cliniko_requests_per_minute=60000, cliniko_faults=None)
    with Emulators(tmp_path / "sandbox", options, with_salesforce=False) as emulators:
        assert emulators.tls is not None
        with ClinikoConnector(emulators.cliniko_api_key, user_agent=SANDBOX_USER_AGENT,
                              base_url=emulators.cliniko_base_template, verify=str(emulators.tls.bundle),
                              requests_per_minute=60000) as connector:
            yield connector


def run_once(spec: CompiledSpec, source: ClinikoConnector, target: DataverseTarget,
             store: StateStore) -> dict[str, Counter[str]]:
    run = store.start_run("run", spec.loaded.spec.name, spec.loaded.content_hash, target.label)
    Runner(spec, source, target, store, run, batch_size=40).execute()
    assert store.run(run.id).status == "completed"
    counts: dict[str, Counter[str]] = {}
    for row in store.object_counts(run.id):
        counts.setdefault(row.object, Counter()).update(
            {"read": row.read, "created": row.created, "updated": row.updated, "unchanged": row.unchanged,
             "quarantined": row.quarantined, "filtered": row.filtered})
    return counts


def test_the_dynamics_spec_runs_from_cliniko_into_dataverse_and_a_second_run_writes_nothing(
        tmp_path: Path, dv_tls: SandboxTLS, manifest: Path, compiled: CompiledSpec,  # noqa: F811
        cliniko: ClinikoConnector) -> None:
    box = Sandbox(tmp_path / "dv", dv_tls, manifest)

    def download(record: TargetRecord, folder: Path) -> Path:
        return cliniko.download({"id": record.source_id, "content_url": record.values.get("documentbody"),
                                 "filename": record.values.get("filename")}, folder,
                                max_bytes=FILE_MAX_BYTES)

    try:
        target = box.target(compiled, download=download)
        with StateStore.in_folder(tmp_path / "state") as store:
            first = run_once(compiled, cliniko, target, store)
            # Dataverse refused nothing: what the load stage set aside is an oversized file or the child
            # of a record the spec's own rules quarantined (the generator's unmapped invoice status 50).
            refused = [(q.object, q.reason) for q in store.quarantined() if q.stage == "load"
                       and not q.reason.startswith(("FILE_TOO_LARGE", "PARENT_NOT_LOADED"))]
            assert refused == []
            assert sum(c["created"] for c in first.values()) > 0
            assert first["patient"]["created"] == PATIENTS - first["patient"]["filtered"] - \
                first["patient"]["quarantined"]
            tasks = box.env.rows("task")
            assert len(tasks) == first["appointment"]["created"] > 0
            assert all(t.get("_ownerid_value") for t in tasks)  # no task without an owner the run chose
            # each task carries the state the spec's value maps give its outcome, closed after create
            state_of = {365000000: (0, 2), 365000001: (1, 5), 365000002: (2, 6), 365000003: (2, 6)}
            assert all((t["statecode"], t["statuscode"]) == state_of[t["fs_appointmentoutcome"]] for t in tasks)
            assert {t["statecode"] for t in tasks} >= {1, 2}
            rows_before = {table: box.env.count(table) for table in
                           ("account", "contact", "task", "annotation", "opportunity", "opportunityproduct")}

            second = run_once(compiled, cliniko, target, store)
            assert sum(c["created"] + c["updated"] for c in second.values()) == 0
            assert {table: box.env.count(table) for table in rows_before} == rows_before
    finally:
        box.stop()
