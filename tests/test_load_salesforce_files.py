"""Files, notes and owners loaded into the Salesforce emulator through unmodified simple-salesforce:
patient attachments as ContentVersion (multipart, streamed from a file) published to the patient's
Contact, the size cap refusing a file before anything is sent, treatment notes as ContentNote linked
to the Contact with their Cliniko id on the note's ContentVersion, re-runs creating nothing, and
practitioners' owners applied to records with the unresolved-owners report.

The org carries the spec's own `provision:` fields for Account, Contact and ContentVersion.
"""

from __future__ import annotations

import base64
import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
from sandbox_salesforce_fixture import (
    provision_from_spec,
    salesforce,
    salesforce_tls,  # noqa: F401 - serves as this module's `tls` fixture
    serving,
)
from simple_salesforce.api import Salesforce

from engine.compile.compiler import CompiledSpec, compile_spec
from engine.connectors.errors import AttachmentTooLarge
from engine.load.owners import resolve_owners
from engine.load.salesforce_files import (
    FILE_TOO_LARGE,
    FileLoader,
    _MultipartBody,
)
from engine.load.target import LoadStopped, OwnerMatch
from engine.records import Ref, TargetRecord
from engine.report.owners import write_unresolved_owners
from engine.run.owners import OwnerAssigner
from engine.sandbox.salesforce import Org, start_salesforce_sandbox
from engine.sandbox.salesforce.files import read_blob
from engine.sandbox.server import EmulatorServer, FaultPlan
from engine.sandbox.tls import SandboxTLS
from engine.spec.loader import load_spec
from engine.spec.model import OwnersSpec

ROOT = Path(__file__).resolve().parent.parent
PAIR = ROOT / "specs" / "cliniko-to-salesforce.yaml"
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40


UPLOADS = "/services/data/v62.0/sobjects/ContentVersion"


@pytest.fixture(scope="module")
def compiled() -> CompiledSpec:
    return compile_spec(load_spec(PAIR))


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory, tls: SandboxTLS,
            compiled: CompiledSpec) -> Iterator[tuple[EmulatorServer, Org]]:
    with serving(start_salesforce_sandbox(tmp_path_factory.mktemp("salesforce"), tls=tls)) as (server, org):
        provision_from_spec(org, compiled, ("Account", "Contact", "ContentVersion"))
        yield server, org


@pytest.fixture(scope="module")
def sf(sandbox: tuple[EmulatorServer, Org]) -> Salesforce:
    return salesforce(sandbox[0])


def attachment(source_id: str, filename: str, patient: str = "2001") -> TargetRecord:
    return TargetRecord("patient_attachment", source_id, source_id, {
        "Title": filename, "PathOnClient": filename,
        "VersionData": f"https://api.au1.cliniko.com/v1/patient_attachments/{source_id}/contents",
        "Description": "Referral letter", "FirstPublishLocationId": Ref("patient", patient, patient),
        "Content_Type__c": "application/pdf", "Archived__c": False,
        "Source_Created__c": "2024-03-01T09:30:00Z",
    })


def test_multipart_body_reads_in_pieces(tmp_path: Path) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(b"x" * 5000)
    with _MultipartBody({"Title": "a"}, path, "a.bin") as body:
        pieces = []
        while piece := body.read(700):
            assert len(piece) <= 700
            pieces.append(piece)
        whole = b"".join(pieces)
        assert len(whole) == len(body)
    assert whole.count(b"x" * 5000) == 1 and whole.endswith(f"--{body.boundary}--\r\n".encode())


def test_attachments_published_to_the_contact(compiled: CompiledSpec, sf: Salesforce, tmp_path: Path) -> None:
    contact = sf.Contact.create({"LastName": "Okonkwo-Baird", "Cliniko_Id__c": "2001"})["id"]
    small, big = tmp_path / "referral.pdf", tmp_path / "scan.pdf"
    small.write_bytes(PDF)
    big.write_bytes(b"y" * 20_000)
    files = {"7001": small, "7002": big}
    fetched: list[str] = []

    def fetch(record: TargetRecord) -> Path:
        fetched.append(record.source_id)
        return files[record.source_id]

    loader = FileLoader.for_spec(sf, compiled, max_bytes=15_000)
    records = [attachment("7001", "referral.pdf"), attachment("7002", "scan.pdf"),
               attachment("7003", "orphan.pdf", patient="404")]
    results = loader.load_attachments(records, fetch)
    assert [r.source_id for r in results] == ["7001", "7002", "7003"]
    assert results[0].ok and results[0].created and results[0].target_id
    assert results[1].code == FILE_TOO_LARGE and not results[1].created and results[1].target_id is None
    assert results[1].message is not None and "20000 bytes" in results[1].message and "15000" in \
        results[1].message
    assert (results[2].code, results[2].fields) == ("INVALID_CROSS_REFERENCE_KEY", ("FirstPublishLocationId",))
    assert fetched == ["7001", "7002"]  # the orphan was refused before its download

    version_id = results[0].target_id
    rows = sf.query_all("SELECT Id, Cliniko_Id__c, Title, ContentDocumentId, Description, Content_Type__c, "
                        "Source_Created__c FROM ContentVersion")["records"]
    assert [r["Cliniko_Id__c"] for r in rows] == ["7001"]  # nothing of the refused file
    row = rows[0]
    assert (row["Id"], row["Title"], row["Description"], row["Content_Type__c"]) == \
        (version_id, "referral.pdf", "Referral letter", "application/pdf")
    assert row["Source_Created__c"].startswith("2024-03-01T09:30:00")
    links = sf.query(f"SELECT LinkedEntityId FROM ContentDocumentLink "
                     f"WHERE ContentDocumentId = '{row['ContentDocumentId']}'")["records"]
    assert [r["LinkedEntityId"] for r in links] == [contact]
    assert sf.ContentVersion.get_base64(version_id, "VersionData") == PDF

    # Again: found by Cliniko_Id__c, nothing sent, nothing downloaded.
    fetched.clear()
    again = loader.load_attachments(records[:1], fetch)
    assert [(r.target_id, r.created, r.ok) for r in again] == [(version_id, False, True)]
    assert fetched == []
    assert sf.query("SELECT COUNT() FROM ContentVersion WHERE Cliniko_Id__c = '7001'")["totalSize"] == 1


def test_a_download_refused_by_the_connector_is_file_too_large(compiled: CompiledSpec, sf: Salesforce) -> None:
    sf.Contact.create({"LastName": "Nguyen", "Cliniko_Id__c": "2002"})

    def fetch(record: TargetRecord) -> Path:
        raise AttachmentTooLarge(record.source_id, 30_000_000, 26_214_400, at_least=True)

    loader = FileLoader.for_spec(sf, compiled)
    assert loader.max_bytes == 26_214_400  # limits.yaml file_max_bytes
    [result] = loader.load_attachments([attachment("7101", "huge.mov", patient="2002")], fetch)
    assert result.code == FILE_TOO_LARGE
    assert result.message is not None and "at least 30000000 bytes" in result.message


def test_failed_uploads_are_retried_without_duplicates(tmp_path: Path, tls: SandboxTLS,
                                                       compiled: CompiledSpec) -> None:
    faults = FaultPlan(rate_503=0.4, rate_reset=0.2, seed=3, paths=(UPLOADS,))
    server, org = start_salesforce_sandbox(tmp_path / "org", tls=tls, faults=faults)
    provision_from_spec(org, compiled, ("Account", "Contact", "ContentVersion"))
    try:
        sf = salesforce(server)
        sf.Contact.create({"LastName": "Retry", "Cliniko_Id__c": "2001"})
        path = tmp_path / "a.pdf"
        path.write_bytes(PDF)
        waits: list[float] = []
        loader = FileLoader.for_spec(sf, compiled, retries=10, sleep=waits.append)
        records = [attachment(f"75{n:02}", f"a{n}.pdf") for n in range(8)]
        results = loader.load_attachments(records, lambda _record: path)
        assert all(r.ok and r.created for r in results), [r.error for r in results if not r.ok]
        assert waits  # some uploads failed and were sent again
        assert sf.query("SELECT COUNT() FROM ContentVersion WHERE Cliniko_Id__c LIKE '75%'")["totalSize"] == 8
        assert all(read_blob(org, str(r.target_id)) == PDF for r in results)
    finally:
        server.stop()
        org.close()


def test_daily_limit_stops_the_upload(tmp_path: Path, tls: SandboxTLS, compiled: CompiledSpec) -> None:
    server, org = start_salesforce_sandbox(tmp_path / "org", tls=tls,
                                           faults=FaultPlan(rate_429=1.0, paths=(UPLOADS,)))
    provision_from_spec(org, compiled, ("Account", "Contact", "ContentVersion"))
    try:
        sf = salesforce(server)
        sf.Contact.create({"LastName": "Limit", "Cliniko_Id__c": "2001"})
        path = tmp_path / "a.pdf"
        path.write_bytes(PDF)
        loader = FileLoader.for_spec(sf, compiled, sleep=lambda _s: None)
        with pytest.raises(LoadStopped) as stopped:
            loader.load_attachments([attachment("7601", "a.pdf")], lambda _record: path)
        assert stopped.value.code == "REQUEST_LIMIT_EXCEEDED"
    finally:
        server.stop()
        org.close()


def test_treatment_note_linked_with_its_id_on_the_version(compiled: CompiledSpec, sf: Salesforce) -> None:
    contact = sf.Contact.create({"LastName": "Li", "Cliniko_Id__c": "2003"})["id"]
    body = "<p>Practitioner: Dr Ana Rossi</p><h3>Subjective</h3><p><b>Pain:</b> 3/10 &amp; easing</p>"
    note = TargetRecord("treatment_note", "8001", "8001", {
        "Title": "Initial consult - 2024-03-01", "Content": body,
        "LinkedEntityId": Ref("patient", "2003", "2003"),
        "Source_Created__c": "2024-03-01T10:00:00Z", "Source_Updated__c": "2024-03-02T10:00:00Z",
    })
    loader = FileLoader.for_spec(sf, compiled)
    [result] = loader.load_notes([note])
    assert result.ok and result.created and result.target_id and result.target_id.startswith("069")
    note_id = result.target_id
    fetched = sf.ContentNote.get(note_id)
    assert fetched["Title"] == "Initial consult - 2024-03-01" and fetched["FileType"] == "SNOTE"
    links = sf.query(f"SELECT ContentDocumentId, ShareType FROM ContentDocumentLink "
                     f"WHERE LinkedEntityId = '{contact}'")["records"]
    assert [(r["ContentDocumentId"], r["ShareType"]) for r in links] == [(note_id, "V")]
    versions = sf.query(f"SELECT Cliniko_Id__c, Source_Updated__c, VersionData FROM ContentVersion "
                        f"WHERE ContentDocumentId = '{note_id}'")["records"]
    assert [v["Cliniko_Id__c"] for v in versions] == ["8001"]
    assert versions[0]["Source_Updated__c"].startswith("2024-03-02T10:00:00")
    content = sf.session.get(f"{sf.base_url}sobjects/ContentNote/{note_id}/Content", headers=sf.headers,
                             timeout=10).content
    assert content == body.encode()

    # Again: nothing new, one link still.
    [again] = loader.load_notes([note])
    assert (again.target_id, again.created, again.ok) == (note_id, False, True)
    assert sf.query("SELECT COUNT() FROM ContentVersion WHERE Cliniko_Id__c = '8001'")["totalSize"] == 1
    assert sf.query(f"SELECT COUNT() FROM ContentDocumentLink WHERE LinkedEntityId = '{contact}'")[
        "totalSize"] == 1

    # A note whose patient is missing is refused before anything is created.
    orphan = TargetRecord("treatment_note", "8002", "8002", {
        "Title": "Orphan", "Content": "<p>x</p>", "LinkedEntityId": Ref("patient", "404", "404")})
    [refused] = loader.load_notes([orphan])
    assert (refused.code, refused.fields) == ("INVALID_CROSS_REFERENCE_KEY", ("LinkedEntityId",))
    untitled = TargetRecord("treatment_note", "8003", "8003", {
        "Title": "", "Content": base64.b64encode(b"x").decode(), "LinkedEntityId": Ref("patient", "2003", "2003")})
    [bad] = loader.load_notes([untitled])
    assert bad.code == "REQUIRED_FIELD_MISSING" and bad.fields == ("Title",) and bad.target_id is None


def test_owners_applied_and_the_unresolved_report(sf: Salesforce, tmp_path: Path) -> None:
    people = {"301": "Manager@clinic.example", "304": "nobody@clinic.example", "305": None}
    resolution = resolve_owners(sf, people)
    matches = [OwnerMatch(s, people[s], resolution.owners.get(s),
                          next((u.reason for u in resolution.unresolved if u.source_id == s), None)) for s in people]
    owners = OwnersSpec("practitioner", "Email__c", "User__c", "fallback@clinic.example",
                        {"appointment": "Practitioner__c"}, ("owners",))
    assign = OwnerAssigner.from_matches(owners, "OwnerId", matches, "005FALLBACK").assign
    manager = sf.query("SELECT Id FROM User WHERE Email = 'manager@clinic.example'")["records"][0]["Id"]
    practitioners = [TargetRecord("practitioner", s, s, {"Name": f"P{s}"}) for s in ("301", "304", "305")]
    appointments = [
        TargetRecord("appointment", "9001", "9001", {"Practitioner__c": Ref("practitioner", "301", "301")}),
        TargetRecord("appointment", "9002", "9002", {"Practitioner__c": Ref("practitioner", "304", "304")}),
        TargetRecord("appointment", "9003", "9003", {"Practitioner__c": None}),
    ]
    other = TargetRecord("patient", "77", "77", {"LastName": "X"})
    for record in [*practitioners, *appointments, other]:
        assign(record)
    assert [p.values.get("User__c") for p in practitioners] == [manager, None, None]
    assert [p.values["OwnerId"] for p in practitioners] == [manager, "005FALLBACK", "005FALLBACK"]
    assert [a.values["OwnerId"] for a in appointments] == [manager, "005FALLBACK", "005FALLBACK"]
    assert "OwnerId" not in other.values  # objects that do not follow a practitioner keep their owner

    # Without a fallback, unresolved records keep the loading user as owner (no OwnerId sent).
    plain = TargetRecord("appointment", "9004", "9004", {"Practitioner__c": Ref("practitioner", "304", "304")})
    OwnerAssigner.from_matches(owners, "OwnerId", matches, None).assign(plain)
    assert "OwnerId" not in plain.values

    unresolved = [(m.source_id, m.email, m.reason) for m in matches if m.reason]
    report = write_unresolved_owners(tmp_path / "reports" / "unresolved_owners.csv", unresolved)
    with report.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows == [["practitioner_source_id", "email", "reason"],
                    ["304", "nobody@clinic.example", "no Salesforce user has this e-mail"],
                    ["305", "", "the practitioner has no e-mail"]]
