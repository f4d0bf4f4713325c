"""$batch (change sets, Content-ID references, errors) and the *Multiple messages on the Dataverse sandbox."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sandbox_dataverse_fixture import (  # noqa: F401 - dataverse_tls serves as `dv_tls`
    API,
    client,
    dataverse_tls,
    provision,
    provisioned,
    sign_in,
    start,
)

from engine.sandbox.dataverse import DataverseApp
from engine.sandbox.server import EmulatorServer
from engine.sandbox.tls import SandboxTLS

Request = tuple[str, str, dict[str, Any] | None]  # method, URL, JSON body


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory, dv_tls: SandboxTLS,
            ) -> Iterator[tuple[EmulatorServer, httpx.Client]]:
    with provisioned(tmp_path_factory.mktemp("dvb"), dv_tls) as running:
        yield running


@pytest.fixture()
def api(sandbox: tuple[EmulatorServer, httpx.Client]) -> httpx.Client:
    return sandbox[1]


def _request(method: str, url: str, body: dict[str, Any] | None, content_id: int | None) -> str:
    head = "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
    if content_id is not None:
        head += f"Content-ID: {content_id}\r\n"
    text = f"{head}\r\n{method} {url} HTTP/1.1\r\n"
    if body is not None:
        return text + f"Content-Type: application/json;type=entry\r\n\r\n{json.dumps(body)}\r\n"
    return text + "Accept: application/json\r\n\r\n"


def batch_body(items: list[Request | list[Request]], boundary: str = "batch_x") -> str:
    """A $batch body: a plain request per tuple, a change set per list (Content-IDs 1, 2, … inside)."""
    out = ""
    for item in items:
        out += f"--{boundary}\r\n"
        if isinstance(item, list):
            inner = f"changeset_{uuid.uuid4().hex[:8]}"
            out += f"Content-Type: multipart/mixed; boundary={inner}\r\n\r\n"
            for n, (method, url, body) in enumerate(item, start=1):
                out += f"--{inner}\r\n" + _request(method, url, body, n)
            out += f"--{inner}--\r\n"
        else:
            out += _request(*item, None)
    return out + f"--{boundary}--\r\n"


def send(api: httpx.Client, items: list[Request | list[Request]], *, prefer: str | None = None,
         body: str | None = None) -> httpx.Response:
    headers = {"Content-Type": "multipart/mixed; boundary=batch_x"}
    if prefer:
        headers["Prefer"] = prefer
    return api.post("$batch", content=(body or batch_body(items)).encode(), headers=headers)


def statuses(response: httpx.Response) -> list[int]:
    return [int(s) for s in re.findall(r"HTTP/1\.1 (\d{3})", response.text)]


def count(api: httpx.Client, entity_set: str, filter_text: str) -> int:
    return len(api.get(entity_set, params={"$filter": filter_text}).json()["value"])


def test_a_change_set_applies_with_content_id_references(api: httpx.Client) -> None:
    response = send(api, [[
        ("POST", f"{API}/accounts", {"name": "Batch Clinic"}),
        ("POST", f"{API}/contacts", {"lastname": "Batch", "parentcustomerid_account@odata.bind": "$1"}),
        ("PATCH", "$1", {"telephone1": "555"}),
    ]])
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("multipart/mixed; boundary=batchresponse_")
    assert "changesetresponse_" in response.text
    assert statuses(response) == [204, 204, 204]
    assert re.findall(r"Content-ID: (\d)", response.text) == ["1", "2", "3"]
    account = api.get("accounts", params={"$filter": "name eq 'Batch Clinic'"}).json()["value"][0]
    assert account["telephone1"] == "555"
    contact = api.get("contacts", params={"$filter": "lastname eq 'Batch'"}).json()["value"][0]
    assert contact["_parentcustomerid_value"] == account["accountid"]


def test_a_failing_change_set_rolls_back_every_request_in_it(api: httpx.Client) -> None:
    response = send(api, [[
        ("POST", f"{API}/accounts", {"name": "Rolled Back"}),
        ("POST", f"{API}/contacts", {"lastname": "x" * 51}),
    ]])
    assert response.status_code == 400
    assert statuses(response) == [400]
    assert "0x80044331" in response.text
    assert count(api, "accounts", "name eq 'Rolled Back'") == 0


def test_a_forward_content_id_reference_is_refused(api: httpx.Client) -> None:
    response = send(api, [[
        ("POST", f"{API}/contacts", {"lastname": "Fwd", "parentcustomerid_account@odata.bind": "$2"}),
        ("POST", f"{API}/accounts", {"name": "Later"}),
    ]])
    assert response.status_code == 400
    assert "Content-ID Reference: '$2' does not exist in the batch context" in response.text
    assert count(api, "accounts", "name eq 'Later'") == 0


def test_processing_stops_at_the_first_failure_unless_continue_on_error(api: httpx.Client) -> None:
    items: list[Request | list[Request]] = [("POST", f"{API}/accounts", {"name": "Stop 1"}),
                                            ("POST", f"{API}/accounts", {"Bad": 1}),
                                            ("POST", f"{API}/accounts", {"name": "Stop 3"})]
    stopped = send(api, items)
    assert stopped.status_code == 400
    assert statuses(stopped) == [204, 400]
    assert count(api, "accounts", "name eq 'Stop 3'") == 0
    items[0] = ("POST", f"{API}/accounts", {"name": "Go 1"})
    items[2] = ("POST", f"{API}/accounts", {"name": "Go 3"})
    kept_going = send(api, items, prefer="odata.continue-on-error")
    assert kept_going.status_code == 200
    assert statuses(kept_going) == [204, 400, 204]
    assert count(api, "accounts", "name eq 'Go 3'") == 1


def test_gets_run_outside_change_sets_and_are_refused_inside(api: httpx.Client) -> None:
    ok = send(api, [("GET", "WhoAmI", None), ("GET", f"{API}/accounts?$select=name&$top=1", None)])
    assert statuses(ok) == [200, 200]
    assert '"UserId"' in ok.text
    refused = send(api, [[("GET", f"{API}/accounts", None)]])
    assert refused.status_code == 400


def test_a_batch_needs_crlf_line_endings(api: httpx.Client) -> None:
    body = batch_body([("POST", f"{API}/accounts", {"name": "LF"})]).replace("\r\n", "\n")
    response = send(api, [], body=body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "0x80048d19"
    assert "Stream was not readable" in response.json()["error"]["message"]


def test_a_batch_takes_at_most_1000_requests(api: httpx.Client) -> None:
    items: list[Request | list[Request]] = [("GET", "WhoAmI", None)] * 1001
    response = send(api, items)
    assert response.status_code == 400
    assert "at most 1000" in response.json()["error"]["message"]
    assert send(api, items[:1000]).status_code == 200


def test_batch_calls_are_counted_outside_and_inside(sandbox: tuple[EmulatorServer, httpx.Client]) -> None:
    server, api = sandbox
    app = server.app
    assert isinstance(app, DataverseApp)
    before_outer, before_inner = app.calls["POST $batch"], app.calls["$batch POST accounts"]
    send(api, [("POST", f"{API}/accounts", {"name": "Counted"}), ("POST", f"{API}/accounts", {"name": "C2"})])
    assert app.calls["POST $batch"] == before_outer + 1
    assert app.calls["$batch POST accounts"] == before_inner + 2


# -- bulk messages ----------------------------------------------------------------------------------

def contact(**values: Any) -> dict[str, Any]:
    return {"@odata.type": "Microsoft.Dynamics.CRM.contact", **values}


def test_create_multiple_returns_the_new_ids(api: httpx.Client) -> None:
    response = api.post("contacts/Microsoft.Dynamics.CRM.CreateMultiple",
                        json={"Targets": [contact(lastname="Multi A"), contact(lastname="Multi B")]})
    assert response.status_code == 200
    body = response.json()
    assert body["@odata.context"].endswith("#Microsoft.Dynamics.CRM.CreateMultipleResponse")
    names = {api.get(f"contacts({i})").json()["lastname"] for i in body["Ids"]}
    assert names == {"Multi A", "Multi B"}


def test_a_bulk_item_without_odata_type_fails_the_whole_call(api: httpx.Client) -> None:
    response = api.post("contacts/Microsoft.Dynamics.CRM.CreateMultiple",
                        json={"Targets": [contact(lastname="Typed"), {"lastname": "Untyped"}]})
    assert response.status_code == 400
    assert "@odata.type" in response.json()["error"]["message"]
    assert count(api, "contacts", "lastname eq 'Typed'") == 0


def test_a_bulk_error_rolls_back_every_item(api: httpx.Client) -> None:
    response = api.post("contacts/Microsoft.Dynamics.CRM.CreateMultiple",
                        json={"Targets": [contact(lastname="Atomic"), contact(lastname="y" * 60)]})
    assert response.status_code == 400
    assert count(api, "contacts", "lastname eq 'Atomic'") == 0


def test_upsert_multiple_creates_then_updates_by_alternate_key(api: httpx.Client) -> None:
    first = api.post("contacts/Microsoft.Dynamics.CRM.UpsertMultiple", json={"Targets": [
        contact(**{"@odata.id": "contacts(fs_clinikoid='um-1')"}, lastname="One", fs_clinikoid="um-1"),
        contact(**{"@odata.id": "contacts(fs_clinikoid='um-2')"}, lastname="Two", fs_clinikoid="um-2"),
    ]})
    assert first.status_code == 204
    ids = {r["fs_clinikoid"]: r["contactid"] for r in
           api.get("contacts", params={"$filter": "startswith(fs_clinikoid, 'um-')"}).json()["value"]}
    assert set(ids) == {"um-1", "um-2"}
    second = api.post("contacts/Microsoft.Dynamics.CRM.UpsertMultiple", json={"Targets": [
        contact(**{"@odata.id": "contacts(fs_clinikoid='um-2')"}, lastname="Two again"),
        contact(**{"@odata.id": "contacts(fs_clinikoid='um-3')"}, lastname="Three"),
    ]})
    assert second.status_code == 204
    rows = {r["fs_clinikoid"]: r for r in
            api.get("contacts", params={"$filter": "startswith(fs_clinikoid, 'um-')"}).json()["value"]}
    assert sorted(rows) == ["um-1", "um-2", "um-3"]
    assert rows["um-2"]["contactid"] == ids["um-2"] and rows["um-2"]["lastname"] == "Two again"
    assert rows["um-3"]["lastname"] == "Three"


def test_update_multiple_updates_by_primary_key(api: httpx.Client) -> None:
    ids = api.post("contacts/Microsoft.Dynamics.CRM.CreateMultiple",
                   json={"Targets": [contact(lastname="U1"), contact(lastname="U2")]}).json()["Ids"]
    response = api.post("contacts/Microsoft.Dynamics.CRM.UpdateMultiple", json={"Targets": [
        contact(contactid=i, jobtitle="Updated") for i in ids]})
    assert response.status_code == 204
    assert {api.get(f"contacts({i})").json()["jobtitle"] for i in ids} == {"Updated"}
