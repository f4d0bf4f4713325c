"""The LOAD stage into Salesforce: the real pair spec compiled, hand-made Cliniko records transformed
with it, and the results loaded into the Salesforce emulator through unmodified simple-salesforce
over HTTPS, in plan order (Accounts, Contacts by relationship, the deferred ParentId second pass).

The org is customised from the spec's own `provision:` section (its view of Account and Contact),
not from a hand-written list.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sandbox_salesforce_fixture import (
    provision_from_spec,
    salesforce,
    salesforce_tls,  # noqa: F401 - serves as this module's `tls` fixture
    serving,
)
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceGeneralError

from engine.compile.compiler import CompiledSpec, compile_spec
from engine.extract.normalise import complete_record
from engine.load.owners import resolve_owners
from engine.load.salesforce import SalesforceLoader, json_value, relationship_name
from engine.load.target import LoadResult, LoadStopped, TargetLoader
from engine.records import Quarantined, Ref, TargetRecord
from engine.sandbox.salesforce import Org, start_salesforce_sandbox
from engine.sandbox.server import EmulatorServer, FaultPlan
from engine.sandbox.tls import SandboxTLS
from engine.spec.loader import load_spec

ROOT = Path(__file__).resolve().parent.parent
PAIR = ROOT / "specs" / "cliniko-to-salesforce.yaml"
COMPOSITE = "/services/data/v62.0/composite"


# -- the org, provisioned from the spec ----------------------------------------------------------
@pytest.fixture(scope="module")
def compiled() -> CompiledSpec:
    return compile_spec(load_spec(PAIR))


def _start(folder: Path, tls: SandboxTLS, compiled: CompiledSpec,
           faults: FaultPlan | None = None) -> tuple[EmulatorServer, Org]:
    server, org = start_salesforce_sandbox(folder, tls=tls, faults=faults)
    provision_from_spec(org, compiled)
    return server, org


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory, tls: SandboxTLS,
            compiled: CompiledSpec) -> Iterator[tuple[EmulatorServer, Org]]:
    with serving(_start(tmp_path_factory.mktemp("salesforce"), tls, compiled)) as running:
        yield running


@pytest.fixture(scope="module")
def sf(sandbox: tuple[EmulatorServer, Org]) -> Salesforce:
    return salesforce(sandbox[0])


class Spy:
    """simple-salesforce with its REST calls counted (and optionally failed first)."""

    def __init__(self, sf: Salesforce, failures: list[Exception] | None = None,
                 answers: list[Any] | None = None) -> None:
        self.sf = sf
        self.sent: list[tuple[str, str, int]] = []
        self.failures = failures or []
        self.answers = answers or []

    def restful(self, path: str, params: Any = None, method: str = "GET", **kwargs: Any) -> Any:
        body = json.loads(kwargs["data"]) if kwargs.get("data") else {}
        self.sent.append((method, path, len(body.get("records", []))))
        if self.failures:
            raise self.failures.pop(0)
        if self.answers:
            return self.answers.pop(0)
        return self.sf.restful(path, params=params, method=method, **kwargs)


def loader_for(sf: Any, compiled: CompiledSpec, **options: Any) -> SalesforceLoader:
    options.setdefault("sleep", lambda _seconds: None)
    return SalesforceLoader.for_spec(sf, compiled, **options)


# -- Cliniko records, transformed by the compiled spec ---------------------------------------------
BUSINESSES = [
    {"id": "1001", "business_name": "Harbourside Physio", "city": "Port Wattle", "deleted_at": None,
     "created_at": "2020-01-02T03:04:05Z"},
    {"id": "1002", "business_name": "Harbourside Physio North", "city": "Wattle Heights", "deleted_at": None},
]
CONTACTS = [{"id": "501", "type": "Doctor", "title": "Dr", "first_name": "Ana", "last_name": "Rossi",
             "doctor_type": "general_practitioner", "deleted_at": None}]
PATIENTS = [
    {"id": "2001", "first_name": "Marguerite", "last_name": "Okonkwo-Baird", "sex": "F",
     "date_of_birth": "1980-05-06", "referring_doctor_id": "501", "deleted_at": None, "merged_at": None},
    {"id": "2002", "first_name": "Tom", "last_name": "Nguyen", "deleted_at": None, "merged_at": None},
]
APPOINTMENTS = [
    {"id": "9001", "patient_id": "2001", "business_id": "1001", "starts_at": "2024-01-01T00:00:00Z"},
    {"id": "9002", "patient_id": "2001", "business_id": "1002", "starts_at": "2024-02-01T00:00:00Z"},
]


def _complete(compiled: CompiledSpec, resource: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    source = compiled.loaded.source
    assert source is not None
    return [complete_record(dict(r), list(source.objects[resource].fields)) for r in records]


def transform(compiled: CompiledSpec, name: str, records: list[dict[str, Any]],
              related: dict[str, list[dict[str, Any]]] | None = None) -> list[TargetRecord]:
    cobj = compiled.objects[name]
    indexes = compiled.join_indexes(name)
    for index in indexes.values():
        index.add_all(_complete(compiled, index.join.resource, (related or {}).get(index.join.resource, [])))
    outcomes = cobj.transform_all(_complete(compiled, cobj.spec.source, records), indexes)
    assert not [o for o in outcomes if isinstance(o, Quarantined)], outcomes
    return [o for o in outcomes if isinstance(o, TargetRecord)]


def load_step(loader: TargetLoader, compiled: CompiledSpec, name: str,
              records: list[TargetRecord]) -> list[LoadResult]:
    step = next(s for s in compiled.plan.steps if s.object == name)
    key = compiled.loaded.spec.objects[name].key
    assert key is not None
    return loader.upsert(name, step.target, key.target, records, omit={d.field for d in step.deferred})


def ok(results: list[LoadResult]) -> list[LoadResult]:
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    return results


# -- tests ---------------------------------------------------------------------------------------
def test_rendering_rules() -> None:
    assert json_value(Decimal("12345678901234567.89")) == "12345678901234567.89"
    assert json_value(Decimal("1E+2")) == "100"
    assert relationship_name("AccountId", None) == "Account"
    assert relationship_name("Referring_Doctor__c", None) == "Referring_Doctor__r"


def test_load_in_plan_order(compiled: CompiledSpec, sf: Salesforce) -> None:
    loader = loader_for(sf, compiled)
    assert [s.object for s in compiled.plan.steps][:3] == ["business", "referral_contact", "patient"]
    businesses = transform(compiled, "business", BUSINESSES)
    assert [b.key for b in businesses] == ["1001", "1002", "unassigned"]
    # A multi-location group: 1002's parent is 1001 (as a business_parent overlay entry would say).
    businesses[1].values["ParentId"] = Ref("business", "1001", "1001")
    first = ok(load_step(loader, compiled, "business", businesses))
    assert [r.created for r in first] == [True, True, True]
    contacts = ok(load_step(loader, compiled, "referral_contact", transform(compiled, "referral_contact", CONTACTS)))
    patients = transform(compiled, "patient", PATIENTS, {"individual_appointments": APPOINTMENTS})
    assert patients[0].values["AccountId"] == Ref("business", "1002", "1002")
    assert patients[1].values["AccountId"] == Ref("business", "unassigned", "unassigned")
    loaded = ok(load_step(loader, compiled, "patient", patients))

    # The first pass left the deferred ParentId out; the second pass sets it.
    north = sf.query("SELECT Id, ParentId FROM Account WHERE Cliniko_Id__c = '1002'")["records"][0]
    assert north["ParentId"] is None
    step = compiled.plan.steps[0]
    second = ok(loader.update_lookups("business", "Account", "Cliniko_Id__c", businesses,
                                      [d.field for d in step.deferred]))
    assert [r.created for r in second] == [False, False, False]

    accounts = {r["Cliniko_Id__c"]: r for r in sf.query_all(
        "SELECT Id, Cliniko_Id__c, Name, ParentId, Type, Doctor_Type__c FROM Account")["records"]}
    assert accounts["1002"]["ParentId"] == first[0].target_id
    assert accounts["1001"]["ParentId"] is None
    assert accounts["unassigned"]["Name"] == "Unassigned"
    assert accounts["contact-501"]["Type"] == "Referring Doctor"
    assert accounts["contact-501"]["Id"] == contacts[0].target_id
    rows = {r["Cliniko_Id__c"]: r for r in sf.query_all(
        "SELECT Id, Cliniko_Id__c, AccountId, Referring_Doctor__c, Gender__c, Birthdate FROM Contact")["records"]}
    assert rows["2001"]["AccountId"] == first[1].target_id
    assert rows["2001"]["Referring_Doctor__c"] == contacts[0].target_id
    assert rows["2001"]["Gender__c"] == "Female" and rows["2001"]["Birthdate"] == "1980-05-06"
    assert rows["2002"]["AccountId"] == first[2].target_id
    assert rows["2002"]["Referring_Doctor__c"] is None
    assert [r.target_id for r in loaded] == [rows["2001"]["Id"], rows["2002"]["Id"]]

    # Loading the same records again creates nothing and keeps the ids.
    again = ok(load_step(loader, compiled, "business", businesses))
    assert [r.created for r in again] == [False, False, False]
    assert [r.target_id for r in again] == [r.target_id for r in first]
    again_patients = ok(load_step(loader, compiled, "patient", patients))
    assert [r.created for r in again_patients] == [False, False]
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 2

    got = loader.read("Contact", [rows["2001"]["Id"], rows["2002"]["Id"]], ["LastName"])
    assert got[rows["2002"]["Id"]]["LastName"] == "Nguyen"


def test_rejected_records_are_reported_by_field_while_the_batch_loads(compiled: CompiledSpec,
                                                                      sf: Salesforce) -> None:
    loader = loader_for(sf, compiled)
    ok(load_step(loader, compiled, "business", transform(compiled, "business", BUSINESSES)))
    patients = transform(compiled, "patient", [
        {"id": "3001", "last_name": "Fine", "deleted_at": None, "merged_at": None},
        {"id": "3002", "last_name": "Long", "deleted_at": None, "merged_at": None},
        {"id": "3003", "last_name": "Picky", "deleted_at": None, "merged_at": None},
        {"id": "3004", "last_name": "Orphan", "deleted_at": None, "merged_at": None},
        {"id": "3005", "last_name": "Also fine", "deleted_at": None, "merged_at": None},
    ])
    # What an org that drifted from the spec would see: values the platform itself refuses.
    patients[1].values["LastName"] = "x" * 81
    patients[2].values["Gender__c"] = "Unlisted"
    patients[3].values["AccountId"] = Ref("business", "404", "404")
    results = load_step(loader, compiled, "patient", patients)
    assert [r.source_id for r in results] == ["3001", "3002", "3003", "3004", "3005"]
    assert results[0].ok and results[0].created and results[4].ok
    assert (results[1].code, results[1].fields) == ("STRING_TOO_LONG", ("LastName",))
    assert (results[2].code, results[2].fields) == ("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", ("Gender__c",))
    assert results[3].code == "INVALID_FIELD" and results[3].fields == ("AccountId",)
    assert results[3].message == ("Foreign key external ID: 404 not found for field Cliniko_Id__c "
                                  "in entity Account")
    assert results[3].error is not None and "[AccountId]" in results[3].error
    assert results[1].target_id is None and not results[1].created
    stored = {r["Cliniko_Id__c"] for r in sf.query_all(
        "SELECT Cliniko_Id__c FROM Contact WHERE Cliniko_Id__c LIKE '300%'")["records"]}
    assert stored == {"3001", "3005"}


def test_201_records_go_in_two_calls_and_can_be_deleted(compiled: CompiledSpec, sf: Salesforce) -> None:
    spy = Spy(sf)
    loader = loader_for(spy, compiled)
    assert loader.batch_size == 200
    records = [TargetRecord("business", f"b{n}", f"bulk-{n}", {"Name": f"Clinic {n}"}) for n in range(201)]
    results = ok(loader.upsert("business", "Account", "Cliniko_Id__c", records))
    assert spy.sent == [("PATCH", "composite/sobjects/Account/Cliniko_Id__c", 200),
                        ("PATCH", "composite/sobjects/Account/Cliniko_Id__c", 1)]
    assert len(results) == 201 and all(r.created for r in results)
    assert [r.source_id for r in results] == [r.source_id for r in records]
    ids = [r.target_id for r in results if r.target_id]
    deleted = ok(loader.delete("Account", ids))
    assert len(deleted) == 201
    assert sf.query("SELECT COUNT() FROM Account WHERE Cliniko_Id__c LIKE 'bulk-%'")["totalSize"] == 0


def test_transient_failures_are_retried_without_duplicates(compiled: CompiledSpec, sf: Salesforce) -> None:
    waits: list[float] = []
    spy = Spy(sf, failures=[SalesforceGeneralError("url", 503, "composite", [
        {"errorCode": "SERVER_UNAVAILABLE", "message": "try later"}])])
    loader = loader_for(spy, compiled, sleep=waits.append)
    record = TargetRecord("business", "r1", "retry-1", {"Name": "Retried"})
    results = ok(loader.upsert("business", "Account", "Cliniko_Id__c", [record]))
    assert results[0].created and len(spy.sent) == 2 and waits == [0.5]
    assert sf.query("SELECT COUNT() FROM Account WHERE Cliniko_Id__c = 'retry-1'")["totalSize"] == 1


def test_injected_503s_and_resets_are_retried_without_duplicates(tmp_path: Path, tls: SandboxTLS,
                                                                 compiled: CompiledSpec) -> None:
    faults = FaultPlan(rate_503=0.3, rate_reset=0.2, seed=7, paths=(COMPOSITE,))
    server, org = _start(tmp_path, tls, compiled, faults=faults)
    try:
        sf = salesforce(server)
        loader = loader_for(sf, compiled, batch_size=5, retries=10)
        records = [TargetRecord("business", f"f{n}", f"fault-{n}", {"Name": f"Clinic {n}"}) for n in range(30)]
        for _ in range(2):
            results = ok(loader.upsert("business", "Account", "Cliniko_Id__c", records))
            assert len(results) == 30 and len({r.target_id for r in results}) == 30
        assert loader.calls > 12  # some calls failed and were retried
        count = sf.query("SELECT COUNT() FROM Account WHERE Cliniko_Id__c LIKE 'fault-%'")
        assert count["totalSize"] == 30
    finally:
        server.stop()
        org.close()


def test_locked_rows_are_sent_again_alone(compiled: CompiledSpec, sf: Salesforce) -> None:
    locked = {"id": None, "success": False, "created": False,
              "errors": [{"statusCode": "UNABLE_TO_LOCK_ROW", "message": "unable to obtain exclusive access "
                          "to this record", "fields": []}]}
    spy = Spy(sf, answers=[[{"id": "001000000000001AAA", "success": True, "created": True, "errors": []}, locked]])
    loader = loader_for(spy, compiled)
    records = [TargetRecord("business", "l1", "lock-1", {"Name": "A"}),
               TargetRecord("business", "l2", "lock-2", {"Name": "B"})]
    results = ok(loader.upsert("business", "Account", "Cliniko_Id__c", records))
    assert [n for _m, _p, n in spy.sent] == [2, 1]
    assert results[0].target_id == "001000000000001AAA" and results[1].created


def test_daily_limit_stops_the_load(tmp_path: Path, tls: SandboxTLS, compiled: CompiledSpec) -> None:
    server, org = _start(tmp_path, tls, compiled, faults=FaultPlan(rate_429=1.0, paths=(COMPOSITE,)))
    try:
        loader = loader_for(salesforce(server), compiled)
        with pytest.raises(LoadStopped) as stopped:
            loader.upsert("business", "Account", "Cliniko_Id__c",
                          [TargetRecord("business", "x", "x", {"Name": "X"})])
        assert stopped.value.code == "REQUEST_LIMIT_EXCEEDED"
        assert loader.calls == 1
    finally:
        server.stop()
        org.close()


def test_owners_resolve_by_email(sf: Salesforce) -> None:
    resolution = resolve_owners(sf, {
        "301": "Manager@clinic.example",
        "302": "former@clinic.example",
        "303": "shared@clinic.example",
        "304": "nobody@clinic.example",
        "305": None,
    }, fallback_owner="005FALLBACK")
    manager = sf.query("SELECT Id FROM User WHERE Email = 'manager@clinic.example'")["records"][0]["Id"]
    assert resolution.owners["301"] == manager
    assert {u.source_id: u.reason for u in resolution.unresolved} == {
        "302": "the Salesforce user with this e-mail is inactive or not a standard user",
        "303": "2 active Salesforce users share this e-mail",
        "304": "no Salesforce user has this e-mail",
        "305": "the practitioner has no e-mail",
    }
    assert all(resolution.owners[s] == "005FALLBACK" for s in ("302", "303", "304", "305"))
