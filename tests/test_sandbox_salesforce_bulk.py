"""Bulk API 2.0 ingest jobs of the Salesforce emulator, through the unmodified simple-salesforce bulk2 client.

Rows are written through the same rules as REST (identical error codes and
messages), `#N/A` sets null while an empty cell leaves a field alone,
relationship columns resolve only against records that existed before the job,
and an unknown column fails the whole job.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from sandbox_salesforce_fixture import (
    data,
    raw,
    salesforce,
    salesforce_tls,  # noqa: F401 - serves as this module's `tls` fixture
    start,
)
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceOperationError

from engine.sandbox.salesforce import Org
from engine.sandbox.server import EmulatorServer
from engine.sandbox.tls import SandboxTLS


@pytest.fixture()
def sandbox(tmp_path: Path, tls: SandboxTLS) -> Iterator[tuple[EmulatorServer, Org]]:
    server, org = start(tmp_path / "org", tls)
    yield server, org
    server.stop()
    org.close()


@pytest.fixture()
def sf(sandbox: tuple[EmulatorServer, Org]) -> Salesforce:
    return salesforce(sandbox[0])


def write_csv(folder: Path, rows: list[list[str]], name: str = "data.csv") -> str:
    path = folder / name
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    return str(path)


def parse(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_upsert_contacts_with_parents_nulls_and_unchanged_cells(sandbox: tuple[EmulatorServer, Org],
                                                                sf: Salesforce, tmp_path: Path) -> None:
    sf.Account.create({"Name": "North Clinic", "Cliniko_Id__c": "b-1"})
    existing = sf.Contact.create({"LastName": "Old", "Medicare_Number__c": "999", "Cliniko_Id__c": "p-2",
                                  "Gender__c": "Male"})["id"]
    path = write_csv(tmp_path, [
        ["Cliniko_Id__c", "LastName", "Account.Cliniko_Id__c", "Medicare_Number__c", "Gender__c"],
        ["p-1", "Ng", "b-1", "123", "Female"],
        ["p-2", "Old", "", "#N/A", ""],  # Medicare set to null, Gender left as it was
    ])
    summary = sf.bulk2.Contact.upsert(csv_file=path, external_id_field="Cliniko_Id__c", wait=0)
    assert summary[0]["numberRecordsProcessed"] == 2 and summary[0]["numberRecordsFailed"] == 0
    job_id = str(summary[0]["job_id"])
    assert job_id.startswith("750")
    successes = parse(sf.bulk2.Contact.get_successful_records(job_id))
    assert [(r["sf__Created"], r["Cliniko_Id__c"], r["Medicare_Number__c"]) for r in successes] == \
        [("true", "p-1", "123"), ("false", "p-2", "#N/A")]
    assert successes[1]["sf__Id"] == existing
    rows = sf.query("SELECT Cliniko_Id__c, Account.Name, Medicare_Number__c, Gender__c FROM Contact "
                    "ORDER BY Cliniko_Id__c")["records"]
    assert [(r["Cliniko_Id__c"], (r["Account"] or {}).get("Name"), r["Medicare_Number__c"], r["Gender__c"])
            for r in rows] == [("p-1", "North Clinic", "123", "Female"), ("p-2", None, None, "Male")]
    assert parse(sf.bulk2.Contact.get_failed_records(job_id)) == []
    info = raw(sandbox[0], "GET", data(f"/jobs/ingest/{job_id}")).json()
    assert info["state"] == "JobComplete" and info["jobType"] == "V2Ingest" and info["operation"] == "upsert"
    assert info["externalIdFieldName"] == "Cliniko_Id__c" and info["object"] == "Contact"


def test_row_errors_match_rest(sf: Salesforce, tmp_path: Path) -> None:
    path = write_csv(tmp_path, [
        ["LastName", "Gender__c", "EPC_Expiry__c", "Cliniko_Id__c"],
        ["", "Female", "", "x-1"],
        ["Ng", "Robot", "", "x-2"],
        ["Li", "", "not a date", "x-3"],
        ["Ok", "", "2025-01-31", "x-4"],
    ])
    summary = sf.bulk2.Contact.insert(csv_file=path, wait=0)
    assert summary[0]["numberRecordsProcessed"] == 4 and summary[0]["numberRecordsFailed"] == 3
    failed = parse(sf.bulk2.Contact.get_failed_records(str(summary[0]["job_id"])))
    by_key = {r["Cliniko_Id__c"]: r for r in failed}
    for key, body in (("x-1", {"Gender__c": "Female"}), ("x-2", {"LastName": "Ng", "Gender__c": "Robot"})):
        with pytest.raises(SalesforceMalformedRequest) as rest:
            sf.Contact.create(body)
        error = rest.value.content[0]
        expected = f"{error['errorCode']}:{error['message']}:{','.join(error['fields'])} --"
        assert by_key[key]["sf__Error"] == expected
        assert by_key[key]["sf__Id"] == ""
    assert by_key["x-1"]["sf__Error"].startswith("REQUIRED_FIELD_MISSING:")
    assert by_key["x-3"]["sf__Error"] == \
        "INVALID_TYPE_ON_FIELD_IN_RECORD:EPC Referral Expiry: value not of required type: not a date:EPC_Expiry__c --"
    successes = parse(sf.bulk2.Contact.get_successful_records(str(summary[0]["job_id"])))
    assert [r["LastName"] for r in successes] == ["Ok"]


def test_parents_in_the_same_job_are_not_resolved(sf: Salesforce, tmp_path: Path) -> None:
    sf.Account.create({"Name": "Group", "Cliniko_Id__c": "g-1"})
    path = write_csv(tmp_path, [
        ["Name", "Cliniko_Id__c", "Parent.Cliniko_Id__c"],
        ["New Parent", "a-1", ""],
        ["Child of new", "a-2", "a-1"],
        ["Child of old", "a-3", "g-1"],
    ])
    summary = sf.bulk2.Account.insert(csv_file=path, wait=0)
    job_id = str(summary[0]["job_id"])
    failed = parse(sf.bulk2.Account.get_failed_records(job_id))
    assert [(r["Cliniko_Id__c"], r["sf__Error"]) for r in failed] == [
        ("a-2", "INVALID_FIELD:Foreign key external ID: a-1 not found for field Cliniko_Id__c in entity Account: --")]
    rows = sf.query("SELECT Cliniko_Id__c, Parent.Cliniko_Id__c FROM Account WHERE Cliniko_Id__c = 'a-3'")
    assert rows["records"][0]["Parent"]["Cliniko_Id__c"] == "g-1"


def test_an_unknown_column_fails_the_whole_job(sandbox: tuple[EmulatorServer, Org], sf: Salesforce,
                                               tmp_path: Path) -> None:
    server, _ = sandbox
    path = write_csv(tmp_path, [["LastName", "Nope__c"], ["Ng", "1"], ["Li", "2"]])
    with pytest.raises(SalesforceOperationError) as failed:
        sf.bulk2.Contact.insert(csv_file=path, wait=0)
    assert "InvalidBatch : Field name not found : Nope__c" in str(failed.value)
    jobs = raw(server, "GET", data("/jobs/ingest")).json()["records"]
    job = jobs[-1]
    assert job["state"] == "Failed" and job["errorMessage"] == "InvalidBatch : Field name not found : Nope__c"
    for path_name in ("unprocessedrecords", "unprocessedRecords"):
        unprocessed = raw(server, "GET", data(f"/jobs/ingest/{job['id']}/{path_name}"))
        assert unprocessed.status_code == 200
        assert unprocessed.text == "LastName,Nope__c\nNg,1\nLi,2\n"
    assert sf.query("SELECT Id FROM Contact WHERE LastName = 'Ng'")["totalSize"] == 0


def test_lifecycle_abort_delete_and_states(sandbox: tuple[EmulatorServer, Org], sf: Salesforce) -> None:
    server, _ = sandbox
    created = raw(server, "POST", data("/jobs/ingest"), json={"object": "Contact", "operation": "insert",
                                                               "contentType": "CSV", "lineEnding": "LF"})
    assert created.status_code == 200
    job = created.json()
    assert job["state"] == "Open" and job["contentUrl"].endswith(f"/jobs/ingest/{job['id']}/batches")
    put = raw(server, "PUT", data(f"/jobs/ingest/{job['id']}/batches"), data=b"LastName\nNg\n",
              headers={"Content-Type": "text/csv"})
    assert put.status_code == 201 and put.content == b""
    again = raw(server, "PUT", data(f"/jobs/ingest/{job['id']}/batches"), data=b"LastName\nLi\n",
                headers={"Content-Type": "text/csv"})
    assert again.status_code == 409 and again.json()[0]["errorCode"] == "INVALIDJOBSTATE"
    aborted = raw(server, "PATCH", data(f"/jobs/ingest/{job['id']}"), json={"state": "Aborted"})
    assert aborted.json()["state"] == "Aborted"
    unprocessed = raw(server, "GET", data(f"/jobs/ingest/{job['id']}/unprocessedrecords"))
    assert unprocessed.text == "LastName\nNg\n"
    assert raw(server, "PATCH", data(f"/jobs/ingest/{job['id']}"),
               json={"state": "UploadComplete"}).status_code == 409
    assert raw(server, "DELETE", data(f"/jobs/ingest/{job['id']}")).status_code == 204
    assert raw(server, "GET", data(f"/jobs/ingest/{job['id']}")).status_code == 404
    bad = raw(server, "POST", data("/jobs/ingest"), json={"object": "Nope", "operation": "insert"})
    assert bad.status_code == 400 and bad.json()[0]["errorCode"] == "INVALIDJOB"
    crlf = raw(server, "POST", data("/jobs/ingest"), json={"object": "Contact", "operation": "insert"}).json()
    raw(server, "PUT", data(f"/jobs/ingest/{crlf['id']}/batches"), data=b"LastName\r\nNg\r\n",
        headers={"Content-Type": "text/csv"})
    raw(server, "PATCH", data(f"/jobs/ingest/{crlf['id']}"), json={"state": "UploadComplete"})
    info = raw(server, "GET", data(f"/jobs/ingest/{crlf['id']}")).json()
    assert info["state"] == "Failed" and "LineEnding is invalid on user data" in info["errorMessage"]


def test_update_and_delete_jobs(sf: Salesforce, tmp_path: Path) -> None:
    first = sf.Contact.create({"LastName": "A", "Medicare_Number__c": "1"})["id"]
    second = sf.Contact.create({"LastName": "B"})["id"]
    path = write_csv(tmp_path, [["Id", "LastName", "Medicare_Number__c"], [first, "A2", ""],
                                [second, "", "22"], ["003000000000000AAA", "Z", ""]])
    summary = sf.bulk2.Contact.update(csv_file=path, wait=0)
    assert summary[0]["numberRecordsFailed"] == 1
    failed = parse(sf.bulk2.Contact.get_failed_records(str(summary[0]["job_id"])))
    assert failed[0]["sf__Id"] == "003000000000000AAA"
    assert failed[0]["sf__Error"].startswith("INVALID_CROSS_REFERENCE_KEY:") or \
        failed[0]["sf__Error"].startswith("MALFORMED_ID:")
    assert sf.Contact.get(first)["LastName"] == "A2" and sf.Contact.get(first)["Medicare_Number__c"] == "1"
    assert sf.Contact.get(second)["LastName"] == "B" and sf.Contact.get(second)["Medicare_Number__c"] == "22"
    path = write_csv(tmp_path, [["Id"], [first], [second]], name="ids.csv")
    summary = sf.bulk2.Contact.delete(csv_file=path, wait=0)
    assert summary[0]["numberRecordsProcessed"] == 2 and summary[0]["numberRecordsFailed"] == 0
    assert sf.query("SELECT Id FROM Contact")["totalSize"] == 0
