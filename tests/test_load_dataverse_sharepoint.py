"""Dynamics attachments into SharePoint through Microsoft Graph: `SharePointFiles` and `DataverseTarget` with a
site configured, against the Dataverse and Graph emulators over HTTPS (one sign-in, msal, for both scopes)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sandbox_dataverse_fixture import dataverse_tls  # noqa: F401 - dataverse_tls serves as `dv_tls`
from test_load_dataverse import FILE, Sandbox, compiled, manifest, seed_patient  # noqa: F401 - fixtures

from engine.compile.compiler import CompiledSpec
from engine.load.dataverse import FILE_TOO_LARGE, DataverseTarget
from engine.load.dataverse_sharepoint import SharePointFiles, folder_name
from engine.records import Ref, TargetRecord
from engine.sandbox.graph import ROOT_ID, SITE_ID, Drive, start_graph_sandbox
from engine.sandbox.server import EmulatorServer, FaultPlan
from engine.sandbox.tls import SandboxTLS

MB = 1024 * 1024
SIZES = {"8001": 300, "8002": 5 * MB + 12345, "8003": 7 * MB}  # simple, upload session, over the cap


class Setup:
    def __init__(self, folder: Path, tls: SandboxTLS, provision: Path, faults: FaultPlan | None = None) -> None:
        self.box = Sandbox(folder / "dv", tls, provision)
        self.graph, self.drive = start_graph_sandbox(folder / "graph", tls=tls, faults=faults,
                                                     directory=self.box.server.app.directory)  # type: ignore[attr-defined]
        self.fetched: list[str] = []

    def download(self, record: TargetRecord, folder: Path) -> Path:
        self.fetched.append(record.source_id)
        path = folder / str(record.values["filename"])
        path.write_bytes(content(record.source_id))
        return path

    def target(self, spec: CompiledSpec) -> tuple[DataverseTarget, SharePointFiles]:
        files = SharePointFiles(self.box.client(), site=SITE_ID, graph_url=self.graph.base_url, max_bytes=6 * MB)
        return self.box.target(spec, download=self.download, sharepoint=files), files

    def calls(self) -> dict[str, int]:
        server: EmulatorServer = self.graph
        return dict(server.app.calls)  # type: ignore[attr-defined]

    def stop(self) -> None:
        self.graph.stop()
        self.drive.close()
        self.box.stop()


@pytest.fixture
def setup(tmp_path: Path, dv_tls: SandboxTLS, manifest: Path) -> Iterator[Setup]:  # noqa: F811
    made = Setup(tmp_path, dv_tls, manifest)
    yield made
    made.stop()


def content(source_id: str) -> bytes:
    size = SIZES[source_id]
    return (source_id.encode() * (size // 4 + 1))[:size]


def attachment(source_id: str, filename: str) -> TargetRecord:
    return TargetRecord("patient_file", source_id, f"attachment-{source_id}", {
        "subject": "MRI report", "filename": filename, "mimetype": "application/pdf",
        "documentbody": f"https://cliniko.example/{source_id}/content", "objectid": Ref("patient", "5001", "5001")})


FILES = [attachment("8001", "MRI report.pdf"), attachment("8002", "scan.jpg"), attachment("8003", "video.mp4")]


def patient_folder(setup: Setup) -> tuple[str, dict[str, Any]]:
    [row] = setup.box.env.rows("contact")
    name = folder_name(str(row["fullname"]), str(row["contactid"]))
    return name, setup.drive.resolve(ROOT_ID, f"contact/{name}")


def test_attachments_go_to_the_patients_folder_by_size_and_a_rerun_uploads_nothing(
        setup: Setup, compiled: CompiledSpec) -> None:  # noqa: F811
    target, files = setup.target(compiled)
    seed_patient(target)
    small, large, huge = target.load(FILE, FILES)
    assert small.ok and small.created and large.ok and large.created
    assert (huge.code, huge.fields) == (FILE_TOO_LARGE, ("documentbody",))
    assert str(7 * MB) in str(huge.message) and str(6 * MB) in str(huge.message)
    assert setup.box.env.count("annotation") == 0  # SharePoint instead of notes

    name, folder = patient_folder(setup)
    assert "Okonkwo-Reyes" in name and name.endswith(name.rsplit("_", 1)[-1].upper())
    stored = {i["name"]: i for i in setup.drive.children(folder["id"])}
    assert sorted(stored) == ["MRI report (attachment-8001).pdf", "scan (attachment-8002).jpg"]
    assert stored["MRI report (attachment-8001).pdf"]["id"] == small.target_id
    for result, source_id in ((small, "8001"), (large, "8002")):
        assert setup.drive.content(str(result.target_id)).read_bytes() == content(source_id)
    calls = setup.calls()
    assert calls["upload"] == 1 and calls["createUploadSession"] == 1
    assert calls["fragment"] == 2  # 5 MB in 3.2 MiB fragments (a multiple of 320 KiB)

    again = target.load(FILE, FILES[:2])
    assert [(r.ok, r.created, r.target_id) for r in again] == [(True, False, small.target_id),
                                                               (True, False, large.target_id)]
    after = setup.calls()
    assert {k: after[k] for k in ("upload", "fragment", "createUploadSession", "createFolder")} == \
        {k: calls[k] for k in ("upload", "fragment", "createUploadSession", "createFolder")}
    assert files.uploads == 2


def test_a_changed_file_is_sent_again_over_the_same_item(setup: Setup, compiled: CompiledSpec) -> None:  # noqa: F811
    target, _ = setup.target(compiled)
    seed_patient(target)
    [first] = target.load(FILE, FILES[:1])
    SIZES["8001"] = 400
    try:
        [second] = target.load(FILE, FILES[:1])
    finally:
        SIZES["8001"] = 300
    assert second.ok and not second.created and second.target_id == first.target_id
    assert setup.drive.item(str(first.target_id))["size"] == 400


def test_delete_removes_the_drive_item_and_a_missing_one_counts_as_deleted(
        setup: Setup, compiled: CompiledSpec) -> None:  # noqa: F811
    target, _ = setup.target(compiled)
    seed_patient(target)
    small, large, _ = target.load(FILE, FILES)
    [gone] = target.delete("annotation", [str(small.target_id)])
    assert gone.ok
    _, folder = patient_folder(setup)
    assert [i["id"] for i in setup.drive.children(folder["id"])] == [large.target_id]
    assert all(r.ok for r in target.delete("annotation", [str(small.target_id), str(large.target_id)]))
    assert setup.drive.children(folder["id"]) == []


def test_an_attachment_whose_patient_is_not_loaded_is_refused_on_its_lookup(
        setup: Setup, compiled: CompiledSpec) -> None:  # noqa: F811
    target, _ = setup.target(compiled)
    [result] = target.load(FILE, FILES[:1])
    assert (result.code, result.fields) == ("PARENT_NOT_FOUND", ("objectid",))
    assert setup.fetched == []


def test_throttling_and_dropped_connections_on_graph_are_retried_to_the_same_files(
        tmp_path: Path, dv_tls: SandboxTLS, manifest: Path, compiled: CompiledSpec) -> None:  # noqa: F811
    made = Setup(tmp_path, dv_tls, manifest,
                 faults=FaultPlan(rate_429=0.2, rate_503=0.1, rate_reset=0.1, seed=7, retry_after_seconds=0))
    try:
        target, _ = made.target(compiled)
        seed_patient(target)
        small, large, _ = target.load(FILE, FILES)
        assert small.ok and large.ok, (small, large)
        assert sum(made.graph.stats.faults.values()) > 0
        _, folder = patient_folder(made)
        assert len(made.drive.children(folder["id"])) == 2
        assert made.drive.content(str(large.target_id)).read_bytes() == content("8002")
    finally:
        made.stop()


def test_the_site_comes_from_the_environment(setup: Setup) -> None:
    client = setup.box.client()
    assert SharePointFiles.from_environment(client, {}) is None
    files = SharePointFiles.from_environment(client, {"DATAVERSE_SHAREPOINT_SITE": SITE_ID,
                                                      "GRAPH_URL": setup.graph.base_url})
    assert files is not None and files.find("contact") is None
    assert files.scope == f"{setup.graph.base_url}/.default"
    default = SharePointFiles.from_environment(client, {"DATAVERSE_SHAREPOINT_SITE": SITE_ID})
    assert default is not None and default.scope == "https://graph.microsoft.com/.default"


def test_the_drive_is_kept_across_restarts(tmp_path: Path) -> None:
    drive = Drive(tmp_path)
    scratch = drive.scratch()
    scratch.write_bytes(b"kept")
    item, created = drive.put_file(ROOT_ID, "a.txt", scratch, "text/plain", "replace")
    drive.close()
    reopened = Drive(tmp_path)
    try:
        assert created and reopened.resolve(ROOT_ID, "A.TXT")["id"] == item["id"]
        assert reopened.content(item["id"]).read_bytes() == b"kept"
    finally:
        reopened.close()
