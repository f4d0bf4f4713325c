"""Files and notes of the Salesforce emulator through simple-salesforce: ContentVersion by JSON and by
multipart (ref §4), its ContentDocument and ContentDocumentLink, the bytes back through get_base64,
ContentNote linked with a ContentDocumentLink insert, the ContentDocumentLink query restriction, and
the size knobs.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sandbox_salesforce_fixture import (
    data,
    raw,
    salesforce,
    salesforce_tls,  # noqa: F401 - serves as this module's `tls` fixture
    serving,
    start,
)
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from engine.sandbox.salesforce import DEFAULT_TOKEN, Org, SalesforceApp
from engine.sandbox.salesforce import files as files_module
from engine.sandbox.salesforce.errors import fault_response
from engine.sandbox.server import EmulatorServer
from engine.sandbox.tls import SandboxTLS

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 8


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory, tls: SandboxTLS) -> Iterator[tuple[EmulatorServer, Org]]:
    with serving(start(tmp_path_factory.mktemp("salesforce"), tls)) as running:
        yield running


@pytest.fixture(scope="module")
def sf(sandbox: tuple[EmulatorServer, Org]) -> Salesforce:
    return salesforce(sandbox[0])


def multipart(sf: Salesforce, entity: dict[str, Any], content: bytes, name: str = "scan.pdf") -> requests.Response:
    """As ref §4: simple-salesforce has no multipart helper, so post through its session."""
    return sf.session.post(sf.base_url + "sobjects/ContentVersion/", headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"},
                           files={"entity_content": (None, json.dumps(entity), "application/json"),
                                  "VersionData": (name, content, "application/octet-stream")}, timeout=10)


def test_json_upload_creates_document_and_link(sf: Salesforce) -> None:
    contact = sf.Contact.create({"LastName": "Ng"})["id"]
    created = sf.ContentVersion.create({"Title": "Referral", "PathOnClient": "referral.pdf",
                                        "VersionData": base64.b64encode(PDF).decode(),
                                        "FirstPublishLocationId": contact})
    assert created["success"] and created["id"].startswith("068")
    version = sf.query(f"SELECT ContentDocumentId, FileType, FileExtension, ContentSize, VersionNumber, Title "
                       f"FROM ContentVersion WHERE Id = '{created['id']}'")["records"][0]
    assert (version["FileType"], version["FileExtension"], version["ContentSize"], version["VersionNumber"]) == \
        ("PDF", "pdf", len(PDF), "1")
    document_id = version["ContentDocumentId"]
    assert document_id.startswith("069")
    document = sf.ContentDocument.get(document_id)
    assert document["Title"] == "Referral" and document["LatestPublishedVersionId"] == created["id"]
    links = sf.query(f"SELECT LinkedEntityId, ShareType, Visibility FROM ContentDocumentLink "
                     f"WHERE ContentDocumentId = '{document_id}'")["records"]
    assert [(r["LinkedEntityId"], r["ShareType"]) for r in links] == [(contact, "V")]
    assert sf.ContentVersion.get_base64(created["id"], "VersionData") == PDF
    stored = sf.ContentVersion.get(created["id"])
    assert stored["VersionData"].endswith(f"/sobjects/ContentVersion/{created['id']}/VersionData")


def test_multipart_upload_and_a_second_version(sf: Salesforce) -> None:
    account = sf.Account.create({"Name": "North"})["id"]
    response = multipart(sf, {"Title": "Scan", "PathOnClient": "scan.png", "FirstPublishLocationId": account},
                         PDF)
    assert response.status_code == 201, response.text
    first = response.json()["id"]
    assert sf.ContentVersion.get_base64(first, "VersionData") == PDF
    document_id = sf.ContentVersion.get(first)["ContentDocumentId"]
    response = multipart(sf, {"Title": "Scan v2", "PathOnClient": "scan.png", "ContentDocumentId": document_id},
                         b"second")
    second = response.json()["id"]
    assert sf.ContentVersion.get(second)["VersionNumber"] == "2"
    assert sf.ContentDocument.get(document_id)["LatestPublishedVersionId"] == second
    assert sf.ContentVersion.get_base64(second, "VersionData") == b"second"
    links = sf.query(f"SELECT Id FROM ContentDocumentLink WHERE LinkedEntityId = '{account}'")
    assert links["totalSize"] == 1


def test_required_fields_and_bad_bodies(sf: Salesforce, sandbox: tuple[EmulatorServer, Org]) -> None:
    with pytest.raises(SalesforceMalformedRequest) as missing:
        sf.ContentVersion.create({"Title": "No body", "PathOnClient": "a.txt"})
    assert missing.value.content[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    response = sf.session.post(sf.base_url + "sobjects/ContentVersion/",
                               headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"},
                               files={"VersionData": ("a.txt", b"x", "text/plain")}, timeout=10)
    assert response.status_code == 400 and response.json()[0]["errorCode"] == "MALFORMED_REQUEST"


def test_content_note_linked_to_a_record(sf: Salesforce, sandbox: tuple[EmulatorServer, Org]) -> None:
    server, _ = sandbox
    contact = sf.Contact.create({"LastName": "Li"})["id"]
    body = "<p>Seen today &amp; improving</p>"
    note = sf.ContentNote.create({"Title": "Consult", "Content": base64.b64encode(body.encode()).decode()})
    assert note["success"] and note["id"].startswith("069")
    link = sf.ContentDocumentLink.create({"ContentDocumentId": note["id"], "LinkedEntityId": contact,
                                          "ShareType": "V", "Visibility": "AllUsers"})
    assert link["success"]
    rows = sf.query(f"SELECT ContentDocumentId, ContentDocument.Title, ContentDocument.FileType "
                    f"FROM ContentDocumentLink WHERE LinkedEntityId = '{contact}'")["records"]
    assert [(r["ContentDocumentId"], r["ContentDocument"]["Title"], r["ContentDocument"]["FileType"])
            for r in rows] == [(note["id"], "Consult", "SNOTE")]
    fetched = sf.ContentNote.get(note["id"])
    assert fetched["FileType"] == "SNOTE" and fetched["TextPreview"] == "Seen today & improving"
    assert raw(server, "GET", data(f"/sobjects/ContentNote/{note['id']}/Content")).content == body.encode()
    with pytest.raises(SalesforceMalformedRequest) as untitled:
        sf.ContentNote.create({"Content": base64.b64encode(b"x").decode()})
    assert untitled.value.content[0]["errorCode"] == "REQUIRED_FIELD_MISSING"


def test_deleting_a_document_deletes_its_versions_and_links(sf: Salesforce) -> None:
    contact = sf.Contact.create({"LastName": "Oduya"})["id"]
    version = sf.ContentVersion.create({"Title": "Scan", "PathOnClient": "scan.pdf", "FirstPublishLocationId": contact,
                                        "VersionData": base64.b64encode(PDF).decode()})["id"]
    document = sf.query(f"SELECT ContentDocumentId FROM ContentVersion WHERE Id = '{version}'")["records"][0][
        "ContentDocumentId"]
    note = sf.ContentNote.create({"Title": "Consult", "Content": base64.b64encode(b"seen").decode()})["id"]
    sf.ContentDocumentLink.create({"ContentDocumentId": note, "LinkedEntityId": contact, "ShareType": "V"})
    answer = sf.restful("composite/sobjects", params={"ids": f"{document},{note}", "allOrNone": "false"},
                        method="DELETE")
    assert [item["success"] for item in answer] == [True, True]
    assert sf.query(f"SELECT Id FROM ContentVersion WHERE ContentDocumentId IN ('{document}', '{note}')")[
        "totalSize"] == 0
    assert sf.query(f"SELECT Id FROM ContentDocumentLink WHERE LinkedEntityId = '{contact}'")["totalSize"] == 0
    deleted = sf.query_all(f"SELECT Id, IsDeleted FROM ContentVersion WHERE Id = '{version}'", include_deleted=True)
    assert [r["IsDeleted"] for r in deleted["records"]] == [True]  # in the recycle bin, as on the platform


def test_content_document_link_queries_need_a_filter(sf: Salesforce) -> None:
    for soql in ("SELECT Id FROM ContentDocumentLink",
                 "SELECT Id FROM ContentDocumentLink WHERE ShareType = 'V'",
                 "SELECT Id FROM ContentDocumentLink WHERE ShareType = 'V' OR LinkedEntityId = '003000000000001AAA'"):
        with pytest.raises(SalesforceMalformedRequest) as refused:
            sf.query(soql)
        assert refused.value.content[0]["errorCode"] == "MALFORMED_QUERY"
        assert "ContentDocumentLink requires a filter by a single Id" in refused.value.content[0]["message"]
    assert sf.query("SELECT Id FROM ContentDocumentLink WHERE LinkedEntityId IN ('003000000000001AAA')")[
        "totalSize"] == 0


def test_size_limits_are_knobs(tmp_path: Path, tls: SandboxTLS) -> None:
    org = Org(tmp_path / "salesforce.sqlite3")
    app = SalesforceApp(org)
    files_module.register(app, json_max_bytes=100, multipart_max_bytes=2000)
    server = EmulatorServer(app, tls=tls, fault_response=fault_response).start()
    try:
        sf = salesforce(server)
        small = sf.ContentVersion.create({"Title": "a", "PathOnClient": "a.txt",
                                          "VersionData": base64.b64encode(b"x" * 90).decode()})
        assert small["success"]
        response = raw(server, "POST", data("/sobjects/ContentVersion"),
                       json={"Title": "b", "PathOnClient": "b.txt", "VersionData": base64.b64encode(b"x" * 200).decode()})
        assert response.status_code == 413 and response.json()[0]["errorCode"] == "EXCEEDED_MAX_SIZE_REQUEST"
        assert multipart(sf, {"Title": "c", "PathOnClient": "c.bin"}, b"y" * 1000).status_code == 201
        assert multipart(sf, {"Title": "d", "PathOnClient": "d.bin"}, b"y" * 3000).status_code == 413
    finally:
        server.stop()
        org.close()
