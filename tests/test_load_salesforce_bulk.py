"""Large loads through Bulk API 2.0: `SalesforceLoader` with a low `bulk_threshold` (5) against the
Salesforce emulator, through the unmodified simple-salesforce bulk2 client.

Records render to CSV as they render to JSON for Collections (relationship columns, `#N/A` for null,
exact Decimals); results come back per record in input order, with the same error codes and fields as
the Collections path; parents created in the same job are not resolved ("load parents first").
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sandbox_salesforce_fixture import ca_bundle, salesforce
from simple_salesforce.api import Salesforce
from test_load_salesforce import loader_for, ok, provision_from_spec

from engine.compile.compiler import CompiledSpec, compile_spec
from engine.load.salesforce import SalesforceLoader
from engine.load.salesforce_bulk import NULL, chunk_rows, csv_cell, csv_row, parse_error
from engine.load.target import LoadStopped
from engine.records import Ref, TargetRecord
from engine.sandbox.salesforce import Org, start_salesforce_sandbox
from engine.sandbox.server import EmulatorServer
from engine.sandbox.tls import SandboxTLS, ensure_tls
from engine.spec.loader import load_spec

ROOT = Path(__file__).resolve().parent.parent
PAIR = ROOT / "specs" / "cliniko-to-salesforce.yaml"


@pytest.fixture(scope="module")
def compiled() -> CompiledSpec:
    return compile_spec(load_spec(PAIR))


@pytest.fixture(scope="module")
def sf(tmp_path_factory: pytest.TempPathFactory, compiled: CompiledSpec) -> Iterator[Salesforce]:
    tls: SandboxTLS = ensure_tls(tmp_path_factory.mktemp("tls"))
    with ca_bundle(tls):
        server: EmulatorServer
        org: Org
        server, org = start_salesforce_sandbox(tmp_path_factory.mktemp("salesforce"), tls=tls)
        provision_from_spec(org, compiled)
        yield salesforce(server)
        server.stop()
        org.close()


def bulk_loader(sf: Salesforce, compiled: CompiledSpec, **options: Any) -> SalesforceLoader:
    options.setdefault("bulk_threshold", 5)
    options.setdefault("bulk_wait", 0)
    return loader_for(sf, compiled, **options)


def contact(key: str, **values: Any) -> TargetRecord:
    values.setdefault("LastName", f"Patient {key}")
    return TargetRecord("patient", f"src-{key}", key, values)


def load_contacts(loader: SalesforceLoader, records: list[TargetRecord]) -> list[Any]:
    return loader.upsert("patient", "Contact", "Cliniko_Id__c", records)


def ingest_jobs(sf: Salesforce) -> dict[str, dict[str, Any]]:
    return {job["id"]: job for job in sf.restful("jobs/ingest")["records"]}


def load_clinics(sf: Salesforce, compiled: CompiledSpec, *keys: str) -> None:
    loader = loader_for(sf, compiled)
    ok(loader.upsert("business", "Account", "Cliniko_Id__c",
                     [TargetRecord("business", k, k, {"Name": f"Clinic {k}"}) for k in keys]))


# -- rendering ------------------------------------------------------------------------------------
def test_csv_rendering_rules() -> None:
    assert csv_cell(None) == NULL == "#N/A" and csv_cell("") == NULL
    assert csv_cell(Decimal("12345678901234567.89")) == "12345678901234567.89"
    assert csv_cell(True) == "true" and csv_cell(date(2024, 2, 29)) == "2024-02-29"
    body = {"attributes": {"type": "Contact"}, "Cliniko_Id__c": "7", "Account": {"Cliniko_Id__c": "b-1"},
            "Gender__c": None, "Visits__c": "3.10"}
    assert csv_row(body) == {"Cliniko_Id__c": "7", "Account.Cliniko_Id__c": "b-1", "Gender__c": "#N/A",
                             "Visits__c": "3.10"}
    fk = parse_error("INVALID_FIELD:Foreign key external ID: a-1 not found for field Cliniko_Id__c in entity "
                     "Account: --")
    assert (fk.code, fk.fields) == ("INVALID_FIELD", ())
    assert fk.message == "Foreign key external ID: a-1 not found for field Cliniko_Id__c in entity Account"
    typed = parse_error("INVALID_TYPE_ON_FIELD_IN_RECORD:EPC Referral Expiry: value not of required type: "
                        "not a date:EPC_Expiry__c -- REQUIRED_FIELD_MISSING:Required fields are missing: "
                        "[LastName]:LastName --")
    assert (typed.code, typed.fields) == ("INVALID_TYPE_ON_FIELD_IN_RECORD", ("EPC_Expiry__c",))
    assert typed.message == "EPC Referral Expiry: value not of required type: not a date"
    assert parse_error("garbage").code == "UNKNOWN_ERROR"
    rows = [{"k": f"{n:02}", "v": "x" * 10} for n in range(25)]
    assert [len(c) for c in chunk_rows(rows, max_rows=10, max_bytes=10**6)] == [10, 10, 5]
    assert [len(c) for c in chunk_rows(rows, max_rows=100, max_bytes=32_000 + 14 * 4)] == [4] * 6 + [1]


# -- against the emulator -------------------------------------------------------------------------
def test_more_than_the_threshold_loads_through_bulk_in_input_order(compiled: CompiledSpec,
                                                                   sf: Salesforce) -> None:
    load_clinics(sf, compiled, "b-1", "b-2")
    loader = bulk_loader(sf, compiled)
    loader.bulk.max_rows = 5  # 12 records → three jobs
    records = [contact(f"c-{n:02}", AccountId=Ref("business", f"b-{n % 2 + 1}", f"b-{n % 2 + 1}"),
                       Birthdate=date(1980, 1, n + 1), Gender__c="Female" if n % 3 else None)
               for n in reversed(range(12))]
    before = set(ingest_jobs(sf))
    first = ok(load_contacts(loader, records))
    assert loader.calls == 0  # no sObject Collections call at all
    jobs = ingest_jobs(sf)
    assert set(jobs) - before == set(loader.bulk.jobs) and len(loader.bulk.jobs) == 3
    for job_id in loader.bulk.jobs:
        job = jobs[job_id]
        assert (job["object"], job["operation"], job["state"]) == ("Contact", "upsert", "JobComplete")
        assert job["externalIdFieldName"] == "Cliniko_Id__c"
    assert [r.source_id for r in first] == [r.source_id for r in records]
    assert all(r.created for r in first)
    stored = {r["Cliniko_Id__c"]: r for r in sf.query_all(
        "SELECT Id, Cliniko_Id__c, Account.Cliniko_Id__c, Birthdate, Gender__c FROM Contact "
        "WHERE Cliniko_Id__c LIKE 'c-%'")["records"]}
    assert [r.target_id for r in first] == [stored[r.key]["Id"] for r in records]
    assert stored["c-03"]["Account"]["Cliniko_Id__c"] == "b-2" and stored["c-04"]["Account"]["Cliniko_Id__c"] == "b-1"
    assert stored["c-03"]["Birthdate"] == "1980-01-04" and stored["c-03"]["Gender__c"] is None
    assert stored["c-04"]["Gender__c"] == "Female"

    again = ok(load_contacts(loader, records))
    assert [r.created for r in again] == [False] * 12
    assert [r.target_id for r in again] == [r.target_id for r in first]
    assert loader.calls == 0 and len(loader.bulk.jobs) == 6
    assert sf.query("SELECT COUNT() FROM Contact WHERE Cliniko_Id__c LIKE 'c-%'")["totalSize"] == 12

    # At the threshold itself the loader stays on Collections.
    few = ok(load_contacts(loader, records[:5]))
    assert loader.calls == 1 and len(loader.bulk.jobs) == 6 and [r.created for r in few] == [False] * 5


def test_row_errors_come_back_per_record_as_collections_reports_them(compiled: CompiledSpec,
                                                                     sf: Salesforce) -> None:
    load_clinics(sf, compiled, "b-1")

    def batch(prefix: str) -> list[TargetRecord]:
        records = [contact(f"{prefix}-{n}", AccountId=Ref("business", "b-1", "b-1")) for n in range(7)]
        records[1].values["LastName"] = "x" * 81
        records[3].values["Gender__c"] = "Unlisted"
        records[5].values["AccountId"] = Ref("business", "404", "404")
        return records

    bulk = load_contacts(bulk_loader(sf, compiled), batch("e"))
    rest_loader = loader_for(sf, compiled)
    rest = load_contacts(rest_loader, batch("r"))
    assert rest_loader.calls == 1
    assert [r.source_id for r in bulk] == [f"src-e-{n}" for n in range(7)]
    assert [(r.code, r.message, r.fields) for r in bulk] == [(r.code, r.message, r.fields) for r in rest]
    assert (bulk[1].code, bulk[1].fields) == ("STRING_TOO_LONG", ("LastName",))
    assert (bulk[3].code, bulk[3].fields) == ("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", ("Gender__c",))
    assert (bulk[5].code, bulk[5].fields) == ("INVALID_FIELD", ("AccountId",))
    assert bulk[5].message == "Foreign key external ID: 404 not found for field Cliniko_Id__c in entity Account"
    assert [r.ok for r in bulk] == [True, False, True, False, True, False, True]
    assert all(r.created and r.target_id for r in bulk if r.ok)
    assert all(r.target_id is None and not r.created for r in bulk if not r.ok)


def test_none_clears_a_field_and_an_absent_value_leaves_it(compiled: CompiledSpec, sf: Salesforce) -> None:
    loader = bulk_loader(sf, compiled)
    records = [contact(f"n-{n}", Gender__c="Male", Birthdate=date(1990, 5, 6)) for n in range(6)]
    ok(load_contacts(loader, records))
    for record in records[:3]:
        record.values["Gender__c"] = None
        record.values["Birthdate"] = None
    for record in records[3:]:
        del record.values["Gender__c"]  # not carried: the cell is empty, the field unchanged
    assert [r.created for r in ok(load_contacts(loader, records))] == [False] * 6
    stored = {r["Cliniko_Id__c"]: (r["Gender__c"], r["Birthdate"]) for r in sf.query_all(
        "SELECT Cliniko_Id__c, Gender__c, Birthdate FROM Contact WHERE Cliniko_Id__c LIKE 'n-%'")["records"]}
    assert stored == {**{f"n-{n}": (None, None) for n in range(3)},
                      **{f"n-{n}": ("Male", "1990-05-06") for n in range(3, 6)}}


def test_a_parent_created_in_the_same_job_is_not_found(compiled: CompiledSpec, sf: Salesforce) -> None:
    """Load parents first: Bulk resolves `Parent.Cliniko_Id__c` only against records existing before the job."""
    loader = bulk_loader(sf, compiled)
    records = [TargetRecord("business", f"g-{n}", f"g-{n}", {"Name": f"Group {n}"}) for n in range(6)]
    records[4].values["ParentId"] = Ref("business", "g-0", "g-0")
    results = loader.upsert("business", "Account", "Cliniko_Id__c", records)
    assert [r.ok for r in results] == [True, True, True, True, False, True]
    assert (results[4].code, results[4].fields) == ("INVALID_FIELD", ("ParentId",))
    assert results[4].message == "Foreign key external ID: g-0 not found for field Cliniko_Id__c in entity Account"
    # Once the parent exists (a later job, as the plan's order guarantees), the same row loads.
    again = ok(loader.upsert("business", "Account", "Cliniko_Id__c", records))
    assert [r.created for r in again] == [False, False, False, False, True, False]
    child = sf.query("SELECT Parent.Cliniko_Id__c FROM Account WHERE Cliniko_Id__c = 'g-4'")["records"][0]
    assert child["Parent"]["Cliniko_Id__c"] == "g-0"


def test_a_failed_job_stops_the_load(compiled: CompiledSpec, sf: Salesforce) -> None:
    loader = bulk_loader(sf, compiled)
    records = [contact(f"f-{n}", Nope__c="1") for n in range(6)]
    with pytest.raises(LoadStopped) as stopped:
        load_contacts(loader, records)
    assert "InvalidBatch : Field name not found : Nope__c" in str(stopped.value)
    assert sf.query("SELECT COUNT() FROM Contact WHERE Cliniko_Id__c LIKE 'f-%'")["totalSize"] == 0


def test_the_threshold_and_job_size_come_from_limits_yaml(compiled: CompiledSpec) -> None:
    loader = SalesforceLoader.for_spec(object(), compiled)  # type: ignore[arg-type]
    assert (loader.bulk_threshold, loader.bulk.max_bytes, loader.bulk.max_rows) == (2000, 104857600, 10_000)
    assert SalesforceLoader.for_spec(object(), compiled, bulk_threshold=5).bulk_threshold == 5  # type: ignore[arg-type]
