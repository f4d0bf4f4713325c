"""The Microsoft Graph emulator (a SharePoint site's drive) through httpx, signed in with msal at the Dataverse
sandbox's tenant for the Graph scope."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import msal
import pytest
from sandbox_dataverse_fixture import dataverse_tls, trust  # noqa: F401 - dataverse_tls serves as `dv_tls`

from engine.sandbox.dataverse import CLIENT_ID, CLIENT_SECRET, TENANT_ID, start_dataverse_sandbox
from engine.sandbox.graph import FRAGMENT_UNIT, ROOT_ID, SITE_ID, start_graph_sandbox
from engine.sandbox.server import EmulatorServer, FaultPlan
from engine.sandbox.tls import SandboxTLS


class Graph:
    def __init__(self, folder: Path, tls: SandboxTLS, faults: FaultPlan | None = None) -> None:
        self.tls = tls
        self.dv, self.env = start_dataverse_sandbox(folder / "dv", tls=tls)
        self.server, self.drive = start_graph_sandbox(folder / "graph", tls=tls,
                                                      directory=self.dv.app.directory,  # type: ignore[attr-defined]
                                                      faults=faults)
        app = msal.ConfidentialClientApplication(CLIENT_ID, client_credential=CLIENT_SECRET,
                                                 authority=f"{self.dv.base_url}/{TENANT_ID}",
                                                 instance_discovery=False, verify=str(tls.bundle))
        result = app.acquire_token_for_client(scopes=[f"{self.server.base_url}/.default"])
        assert "access_token" in result, result
        self.http = httpx.Client(base_url=f"{self.server.base_url}/v1.0/sites/{SITE_ID}/drive", verify=trust(tls),
                                 headers={"Authorization": f"Bearer {result['access_token']}"}, timeout=30)
        self.plain = httpx.Client(verify=trust(tls), timeout=30)  # no Authorization: what an uploadUrl takes

    def stop(self) -> None:
        self.http.close()
        self.plain.close()
        for server in (self.server, self.dv):
            server.stop()
        self.drive.close()
        self.env.close()


@pytest.fixture
def graph(tmp_path: Path, dv_tls: SandboxTLS) -> Iterator[Graph]:
    box = Graph(tmp_path, dv_tls)
    yield box
    box.stop()


def folder(graph: Graph, name: str, conflict: str = "fail") -> httpx.Response:
    return graph.http.post(f"items/{ROOT_ID}/children",
                           json={"name": name, "folder": {}, "@microsoft.graph.conflictBehavior": conflict})


def test_the_site_and_drive_answer_only_a_token_of_the_tenant(graph: Graph) -> None:
    site = graph.http.get(f"{graph.server.base_url}/v1.0/sites/{SITE_ID}")
    assert site.status_code == 200 and site.json()["id"] == SITE_ID
    drive = graph.http.get(f"{graph.server.base_url}/v1.0/sites/{SITE_ID}/drive")
    assert drive.json()["driveType"] == "documentLibrary"
    bare = graph.plain.get(f"{graph.server.base_url}/v1.0/sites/{SITE_ID}/drive")
    assert bare.status_code == 401 and bare.json()["error"]["code"] == "InvalidAuthenticationToken"
    forged = graph.plain.get(f"{graph.server.base_url}/v1.0/sites/{SITE_ID}/drive",
                             headers={"Authorization": "Bearer not-issued"})
    assert forged.status_code == 401
    app = msal.ConfidentialClientApplication(CLIENT_ID, client_credential=CLIENT_SECRET,
                                             authority=f"{graph.dv.base_url}/{TENANT_ID}",
                                             instance_discovery=False, verify=str(graph.tls.bundle))
    other = app.acquire_token_for_client(scopes=["https://graph.microsoft.com/.default"])
    assert other.get("error") == "invalid_scope"  # only the emulated Graph's scope is trusted
    unknown = graph.http.get(f"{graph.server.base_url}/v1.0/sites/contoso.sharepoint.com,1,2/drive")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "itemNotFound"


def test_a_simple_upload_creates_then_replaces_the_item_at_its_path(graph: Graph) -> None:
    made = folder(graph, "contact").json()
    created = graph.http.put(f"items/{made['id']}:/MRI report.pdf:/content", content=b"%PDF-1.7 first")
    assert created.status_code == 201
    item = created.json()
    assert (item["name"], item["size"], item["file"]["mimeType"]) == ("MRI report.pdf", 14, "application/pdf")
    assert item["parentReference"]["id"] == made["id"] and item["parentReference"]["path"] == "/drive/root:/contact"
    assert item["webUrl"].endswith("/Shared%20Documents/contact/MRI%20report.pdf")
    replaced = graph.http.put(f"items/{made['id']}:/mri REPORT.pdf:/content", content=b"%PDF-1.7 second!")
    assert replaced.status_code == 200 and replaced.json()["id"] == item["id"] and replaced.json()["size"] == 16
    assert graph.drive.content(item["id"]).read_bytes() == b"%PDF-1.7 second!"
    refused = graph.http.put(f"items/{made['id']}:/MRI report.pdf:/content", content=b"x",
                             params={"@microsoft.graph.conflictBehavior": "fail"})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "nameAlreadyExists"
    bad_name = graph.http.put(f"items/{made['id']}:/a%3Fb.pdf:/content", content=b"x")
    assert bad_name.status_code == 400


def test_an_upload_session_takes_fragments_in_order_and_refuses_a_wrong_range(graph: Graph) -> None:
    data = bytes(range(256)) * (3 * FRAGMENT_UNIT // 256) + b"tail"
    total = len(data)
    opened = graph.http.post(f"items/{ROOT_ID}:/scan.jpg:/createUploadSession",
                             json={"item": {"@microsoft.graph.conflictBehavior": "replace"}})
    assert opened.status_code == 200 and opened.json()["nextExpectedRanges"] == ["0-"]
    url = opened.json()["uploadUrl"]

    def put(start: int, end: int) -> httpx.Response:
        return graph.plain.put(url, content=data[start:end + 1], headers={"Content-Range": f"bytes {start}-{end}/{total}"})

    first = put(0, 2 * FRAGMENT_UNIT - 1)
    assert first.status_code == 202 and first.json()["nextExpectedRanges"] == [f"{2 * FRAGMENT_UNIT}-"]
    skipped = put(3 * FRAGMENT_UNIT, total - 1)
    assert skipped.status_code == 416 and skipped.json()["error"]["code"] == "invalidRange"
    odd = put(2 * FRAGMENT_UNIT, 2 * FRAGMENT_UNIT + 1000)
    assert odd.status_code == 400 and "320 KiB" in odd.json()["error"]["message"]
    assert graph.plain.get(url).json()["nextExpectedRanges"] == [f"{2 * FRAGMENT_UNIT}-"]
    second = put(2 * FRAGMENT_UNIT, 3 * FRAGMENT_UNIT - 1)
    assert second.status_code == 202 and second.json()["nextExpectedRanges"] == [f"{3 * FRAGMENT_UNIT}-"]
    last = put(3 * FRAGMENT_UNIT, total - 1)
    assert last.status_code == 201
    item = last.json()
    assert (item["name"], item["size"], item["file"]["mimeType"]) == ("scan.jpg", total, "image/jpeg")
    assert graph.drive.content(item["id"]).read_bytes() == data
    assert graph.plain.get(url).status_code == 404  # the session is over
    by_path = graph.http.get(f"{graph.server.base_url}/v1.0/sites/{SITE_ID}/drive/root:/scan.jpg")
    assert by_path.json()["id"] == item["id"]


def test_folders_are_found_by_path_renamed_or_refused_on_conflict_and_deleted_with_their_files(
        graph: Graph) -> None:
    made = folder(graph, "contact")
    assert made.status_code == 201 and made.json()["folder"] == {"childCount": 0}
    again = folder(graph, "Contact")
    assert again.status_code == 409 and again.json()["error"]["code"] == "nameAlreadyExists"
    assert folder(graph, "contact", "rename").json()["name"] == "contact 1"
    patient = graph.http.post(f"items/{made.json()['id']}/children", json={"name": "Tal Okonkwo_ABC", "folder": {}})
    assert patient.status_code == 201
    graph.http.put(f"items/{patient.json()['id']}:/note.txt:/content", content=b"hello")
    found = graph.http.get(f"items/{ROOT_ID}:/contact/Tal Okonkwo_ABC/note.txt")
    assert found.status_code == 200 and found.json()["size"] == 5
    assert graph.http.get(f"items/{made.json()['id']}:/Tal Okonkwo_ABC:").json()["id"] == patient.json()["id"]
    missing = graph.http.get(f"items/{ROOT_ID}:/contact/nobody")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "itemNotFound"

    assert graph.http.delete(f"items/{patient.json()['id']}").status_code == 204
    assert graph.http.get(f"items/{ROOT_ID}:/contact/Tal Okonkwo_ABC/note.txt").status_code == 404
    assert not graph.drive.content(found.json()["id"]).exists()
    assert graph.http.delete(f"items/{patient.json()['id']}").status_code == 404
    names = [i["name"] for i in graph.http.get(f"items/{ROOT_ID}/children").json()["value"]]
    assert names == ["contact", "contact 1"]


def test_injected_faults_answer_in_graphs_shape_before_any_write(tmp_path: Path, dv_tls: SandboxTLS) -> None:
    box = Graph(tmp_path, dv_tls, faults=FaultPlan(rate_429=1.0, paths=("/v1.0/sites",)))
    try:
        answer = folder(box, "contact")
        assert answer.status_code == 429 and answer.headers["Retry-After"] == "1"
        assert answer.json()["error"]["code"] == "tooManyRequests"
        assert box.drive.children(ROOT_ID) == []
        server: EmulatorServer = box.server
        assert server.stats.faults["429"] == 1
    finally:
        box.stop()
