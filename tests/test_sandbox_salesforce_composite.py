"""sObject Collections in the Salesforce emulator, through simple-salesforce's `restful`: create (mixed
types, external-id references to parents created earlier in the request), update, delete, retrieve,
upsert by external id, allOrNone rollback, and the request-level refusals.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sandbox_salesforce_fixture import ca_bundle, data, raw, salesforce, start
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from engine.sandbox.salesforce import Org
from engine.sandbox.server import EmulatorServer
from engine.sandbox.tls import ensure_tls

ROLLED_BACK = {"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK", "message": "Record rolled back because not all "
               "records were valid and the request was using AllOrNone header", "fields": []}
REQUIRED = {"statusCode": "REQUIRED_FIELD_MISSING", "message": "Required fields are missing: [LastName]",
            "fields": ["LastName"]}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EmulatorServer, Org, Salesforce]]:
    tls = ensure_tls(tmp_path_factory.mktemp("tls"))
    with ca_bundle(tls):
        server, org = start(tmp_path_factory.mktemp("salesforce"), tls)
        yield server, org, salesforce(server)
        server.stop()
        org.close()


def contact(**fields: Any) -> dict[str, Any]:
    return {"attributes": {"type": "Contact"}, **fields}


def post(sf: Salesforce, records: list[dict[str, Any]], all_or_none: bool = False) -> Any:
    return sf.restful("composite/sobjects", method="POST", json={"allOrNone": all_or_none, "records": records})


def test_create_mixed_types_in_order_resolving_earlier_parents(sandbox: tuple[EmulatorServer, Org, Salesforce]) -> None:
    _, org, sf = sandbox
    results = post(sf, [
        {"attributes": {"type": "Account"}, "Name": "Parent", "Cliniko_Id__c": "C-P"},
        contact(LastName="Child", Account={"Cliniko_Id__c": "C-P"}),
        {"attributes": {"type": "Practitioner__c"}, "Ext__c": "C-55", "Account__r": {"Cliniko_Id__c": "C-P"}},
        contact(LastName="Treated", Practitioner__r={"Ext__c": "C-55"}),
        contact(FirstName="Nameless"),
    ])
    assert [r["success"] for r in results] == [True, True, True, True, False]
    assert [r["id"][:3] for r in results[:4]] == ["001", "003", "a00", "003"]
    assert all(r["errors"] == [] and "created" not in r for r in results[:4])
    assert results[4] == {"success": False, "errors": [REQUIRED]}
    child = sf.Contact.get(results[1]["id"])
    assert child["AccountId"] == results[0]["id"]
    assert sf.Contact.get(results[3]["id"])["Practitioner__c"] == results[2]["id"]
    assert org.count("Account") == 1


def test_all_or_none_create_saves_nothing(sandbox: tuple[EmulatorServer, Org, Salesforce]) -> None:
    _, org, sf = sandbox
    before = org.count("Contact")
    results = post(sf, [contact(LastName="A"), contact(FirstName="B"), contact(LastName="C")], all_or_none=True)
    assert results == [{"success": False, "errors": [ROLLED_BACK]}, {"success": False, "errors": [REQUIRED]},
                       {"success": False, "errors": [ROLLED_BACK]}]
    assert org.count("Contact") == before
    ok = post(sf, [contact(LastName="A"), contact(LastName="C")], all_or_none=True)
    assert [r["success"] for r in ok] == [True, True] and org.count("Contact") == before + 2


def test_update_and_its_rollback(sandbox: tuple[EmulatorServer, Org, Salesforce]) -> None:
    _, _, sf = sandbox
    first, second = (r["id"] for r in post(sf, [contact(LastName="U1"), contact(LastName="U2")]))
    account = sf.Account.create({"Name": "Not a contact"})["id"]
    results = sf.restful("composite/sobjects", method="PATCH", json={"records": [
        contact(Id=first, FirstName="Una"), contact(FirstName="No id"), contact(Id=account, FirstName="x"),
        contact(Id=second, LastName=None)]})
    assert results[0] == {"id": first, "success": True, "errors": []}
    assert results[1] == {"success": False, "errors": [{"statusCode": "MISSING_ARGUMENT",
                                                        "message": "Id not specified in an update call",
                                                        "fields": []}]}
    assert results[2] == {"success": False, "errors": [{"statusCode": "MALFORMED_ID", "message": "Contact ID: id "
                                                        f"value of incorrect type: {account}", "fields": ["Id"]}]}
    assert results[3] == {"id": second, "success": False, "errors": [REQUIRED]}
    rolled = sf.restful("composite/sobjects", method="PATCH", json={"allOrNone": True, "records": [
        contact(Id=first, FirstName="Changed"), contact(Id=second, LastName="")]})
    assert rolled == [{"id": first, "success": False, "errors": [ROLLED_BACK]},
                      {"id": second, "success": False, "errors": [REQUIRED]}]
    assert sf.Contact.get(first)["FirstName"] == "Una"


def test_delete_and_its_rollback(sandbox: tuple[EmulatorServer, Org, Salesforce]) -> None:
    _, _, sf = sandbox
    one, two, three = (r["id"] for r in post(sf, [contact(LastName=n) for n in ("D1", "D2", "D3")]))
    assert sf.Contact.delete(three) == 204
    bad = one[:15] + "ZZZ"
    rolled = sf.restful("composite/sobjects", method="DELETE", params={"ids": f"{one},{bad}", "allOrNone": "true"})
    assert rolled == [{"id": one, "success": False, "errors": [ROLLED_BACK]},
                      {"success": False, "errors": [{"statusCode": "MALFORMED_ID", "message": f"malformed id {bad}",
                                                     "fields": []}]}]
    assert sf.Contact.get(one)["IsDeleted"] is False
    results = sf.restful("composite/sobjects", method="DELETE", params={"ids": f"{one},{two[:15]},{three}"})
    assert results == [{"id": one, "success": True, "errors": []}, {"id": two, "success": True, "errors": []},
                       {"success": False, "errors": [{"statusCode": "ENTITY_IS_DELETED",
                                                      "message": "entity is deleted", "fields": []}]}]


def test_retrieve_by_get_and_post(sandbox: tuple[EmulatorServer, Org, Salesforce]) -> None:
    _, _, sf = sandbox
    kept = post(sf, [contact(LastName="R1", Email="r1@mail.example")])[0]["id"]
    gone = post(sf, [contact(LastName="R2")])[0]["id"]
    sf.Contact.delete(gone)
    got = sf.restful("composite/sobjects/Contact", params={"ids": f"{kept},{gone}", "fields": "LastName,Email"})
    assert got == [{"attributes": {"type": "Contact", "url": f"/services/data/v62.0/sobjects/Contact/{kept}"},
                    "Id": kept, "LastName": "R1", "Email": "r1@mail.example"}, None]
    posted = sf.restful("composite/sobjects/Contact", method="POST", json={"ids": [kept], "fields": ["Name"]})
    assert posted[0]["Name"] == "R1"
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.restful("composite/sobjects/Contact", params={"ids": kept, "fields": "Nope"})
    assert refused.value.content[0]["errorCode"] == "INVALID_FIELD"


def upsert(sf: Salesforce, records: list[dict[str, Any]], all_or_none: bool = False,
           field: str = "Cliniko_Id__c") -> Any:
    return sf.restful(f"composite/sobjects/Contact/{field}", method="PATCH",
                      json={"allOrNone": all_or_none, "records": records})


def test_upsert_creates_then_updates(sandbox: tuple[EmulatorServer, Org, Salesforce]) -> None:
    _, _, sf = sandbox
    first = upsert(sf, [contact(Cliniko_Id__c="UP-1", LastName="One"), contact(Cliniko_Id__c="UP-2", LastName="Two")])
    assert [(r["success"], r["created"]) for r in first] == [(True, True), (True, True)]
    second = upsert(sf, [contact(Cliniko_Id__c="up-1", FirstName="Uno"), contact(Cliniko_Id__c="UP-3", LastName="3")])
    assert second[0] == {"id": first[0]["id"], "success": True, "errors": [], "created": False}
    assert second[1]["created"] is True
    assert sf.Contact.get(first[0]["id"])["Name"] == "Uno One"


def test_upsert_per_record_problems(sandbox: tuple[EmulatorServer, Org, Salesforce]) -> None:
    _, org, sf = sandbox
    twins = [sf.Contact.create({"LastName": f"Twin {n}", "Legacy_Key__c": "L-TWIN"})["id"] for n in (1, 2)]
    existing = sf.Contact.create({"LastName": "Has id"})["id"]
    results = upsert(sf, [
        contact(Cliniko_Id__c="DUP", LastName="A"), contact(Cliniko_Id__c="dup", LastName="B"),
        contact(LastName="No key"), contact(Id=existing, Cliniko_Id__c="WITH-ID", LastName="C"),
        contact(Cliniko_Id__c="FINE", LastName="D"),
    ])
    duplicate = {"statusCode": "DUPLICATE_VALUE", "message": "Duplicate external id specified: DUP", "fields": []}
    assert results[0] == {"success": False, "errors": [duplicate]}
    assert results[1]["errors"][0]["message"] == "Duplicate external id specified: dup"
    assert results[2] == {"success": False, "errors": [{"statusCode": "MISSING_ARGUMENT",
                                                        "message": "Cliniko_Id__c not specified", "fields": []}]}
    assert results[3]["errors"][0] == {"statusCode": "INVALID_FIELD", "fields": ["Id"],
                                       "message": "Record ID: cannot specify Id in an upsert call"}
    assert (results[4]["success"], results[4]["created"]) == (True, True)
    several = upsert(sf, [contact(Legacy_Key__c="l-twin", FirstName="x")], field="Legacy_Key__c")
    assert several == [{"success": False, "errors": [{
        "statusCode": "DUPLICATE_EXTERNAL_ID", "fields": [],
        "message": f"Legacy Key: more than one record found for external id field: [{twins[0]}, {twins[1]}]"}]}]
    before = org.count("Contact")
    rolled = upsert(sf, [contact(Cliniko_Id__c="NEW-1", LastName="N"), contact(Cliniko_Id__c="FINE", LastName=None)],
                    all_or_none=True)
    assert rolled[0] == {"success": False, "errors": [ROLLED_BACK]}
    assert rolled[1]["errors"] == [REQUIRED]
    assert org.count("Contact") == before


@pytest.mark.parametrize(("path", "method", "body", "status", "code"), [
    ("composite/sobjects/Contact/Cliniko_Id__c", "PATCH",
     {"records": [{"attributes": {"type": "Account"}, "Cliniko_Id__c": "1"}]}, 400, "INVALID_TYPE"),
    ("composite/sobjects", "POST", {"records": [{"LastName": "untyped"}]}, 400, "INVALID_TYPE"),
    ("composite/sobjects", "POST", {"records": [{"attributes": {"type": "Nope__c"}}]}, 400, "INVALID_TYPE"),
    ("composite/sobjects", "POST", {"records": "not a list"}, 400, "JSON_PARSER_ERROR"),
    ("composite/sobjects/Contact/LastName", "PATCH", {"records": []}, 400, "INVALID_FIELD"),
    ("composite/sobjects/Contact/Nope__c", "PATCH", {"records": []}, 400, "INVALID_FIELD"),
    ("composite/sobjects/Nope__c/Ext__c", "PATCH", {"records": []}, 404, "NOT_FOUND"),
])
def test_malformed_requests_are_refused_whole(sandbox: tuple[EmulatorServer, Org, Salesforce], path: str,
                                              method: str, body: Any, status: int, code: str) -> None:
    server, org, _ = sandbox
    before = org.count("Contact")
    response = raw(server, method, data("/" + path), json=body)
    assert (response.status_code, response.json()[0]["errorCode"]) == (status, code)
    assert org.count("Contact") == before


def test_more_than_200_records_is_refused(sandbox: tuple[EmulatorServer, Org, Salesforce]) -> None:
    sf = sandbox[2]
    limit = [{"message": "record limit reached. cannot submit more than 200 records into this call",
              "errorCode": "EXCEEDED_ID_LIMIT"}]
    with pytest.raises(SalesforceMalformedRequest) as create:
        post(sf, [contact(LastName=str(n)) for n in range(201)])
    assert create.value.content == limit
    with pytest.raises(SalesforceMalformedRequest) as delete:
        sf.restful("composite/sobjects", method="DELETE", params={"ids": ",".join(["003000000000000AAA"] * 201)})
    assert delete.value.content == limit
    assert len(post(sf, [contact(LastName=str(n)) for n in range(200)])) == 200


def test_collections_need_their_api_version(sandbox: tuple[EmulatorServer, Org, Salesforce]) -> None:
    server, _, _ = sandbox
    old = salesforce(server, version="41.0")
    with pytest.raises(SalesforceResourceNotFound):
        old.restful("composite/sobjects", method="POST", json={"records": [contact(LastName="x")]})
    older = salesforce(server, version="45.0")
    with pytest.raises(SalesforceResourceNotFound):
        upsert(older, [contact(Cliniko_Id__c="V45", LastName="x")])
