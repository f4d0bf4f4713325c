"""The Salesforce emulator through the unmodified simple-salesforce client over HTTPS: routing and
versions, auth, the daily API allowance, describe, single-record CRUD, upsert by external id, and
injected faults with Salesforce's bodies.

Write rules: test_sandbox_salesforce_rules.py; SOQL and paging: test_sandbox_salesforce_query.py;
sObject Collections: test_sandbox_salesforce_composite.py; ids and the Org API:
test_sandbox_salesforce_org.py; jsforce: test_sandbox_salesforce_jsforce.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from sandbox_salesforce_fixture import (
    VERSION,
    data,
    raw,
    salesforce,
    salesforce_tls,  # noqa: F401 - serves as this module's `tls` fixture
    serving,
    start,
)
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

import engine.sandbox.salesforce as salesforce_package
from engine.sandbox.cliniko.clock import ManualClock
from engine.sandbox.salesforce import DEFAULT_TOKEN, Org, Route, SalesforceApp, start_salesforce_sandbox
from engine.sandbox.server import EmulatorServer, FaultPlan, Response
from engine.sandbox.tls import SandboxTLS

DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory, tls: SandboxTLS) -> Iterator[tuple[EmulatorServer, Org]]:
    with serving(start(tmp_path_factory.mktemp("salesforce"), tls)) as running:
        yield running


@pytest.fixture(scope="module")
def sf(sandbox: tuple[EmulatorServer, Org]) -> Salesforce:
    return salesforce(sandbox[0])


def test_public_api() -> None:
    assert sorted(salesforce_package.__all__) == sorted([
        "DATABASE_NAME", "DEFAULT_TOKEN", "DEFAULT_USERS", "ApiUsage", "Call", "FieldMeta", "ObjectMeta", "Org",
        "PicklistValue", "QueryResult", "RequestError", "Route", "SaveError", "SaveResult", "SalesforceApp",
        "StoredRecord", "Transaction", "Trigger", "UserSeed", "custom_field", "fault_response",
        "start_salesforce_sandbox"])
    # The sf CLI accepts access tokens that look like an org id, '!', then word characters and dots.
    assert re.fullmatch(r"(00D\w{12,15})![.\w]*", DEFAULT_TOKEN)


# -- routing, versions, auth ---------------------------------------------------------------------------

def test_version_list_is_public_and_ends_at_the_catalog_version(sandbox: tuple[EmulatorServer, Org]) -> None:
    for path in ("/services/data", "/services/data/"):
        response = raw(sandbox[0], "GET", path, token=None)
        assert response.status_code == 200
        versions = response.json()
        assert versions[-1] == {"label": "Winter '25", "url": "/services/data/v62.0", "version": "62.0"}
        assert versions[0] == {"label": "Summer '14", "url": "/services/data/v31.0", "version": "31.0"}
        assert "Sforce-Limit-Info" not in response.headers


@pytest.mark.parametrize("path", ["/sobjects", "/sobjects/", "/sobjects/Contact/describe/",
                                  "/query/?q=SELECT+Id+FROM+Contact", "/query?q=SELECT+Id+FROM+Contact"])
def test_any_trailing_slash_and_version(sandbox: tuple[EmulatorServer, Org], path: str) -> None:
    for version in ("45.0", "59.0", VERSION):
        assert raw(sandbox[0], "GET", data(path, version)).status_code == 200


def test_versions_outside_the_org_and_unknown_resources_are_404(sandbox: tuple[EmulatorServer, Org]) -> None:
    not_found = [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]
    for path in (data("/sobjects", "99.0"), data("/sobjects", "19.0"), data("/nothing/here"),
                 data("/sobjects/Nope__c/describe"), "/services/elsewhere"):
        response = raw(sandbox[0], "GET", path)
        assert (response.status_code, response.json()) == (404, not_found), path
    response = raw(sandbox[0], "PUT", data("/sobjects/Contact"))
    assert response.status_code == 405
    assert response.json() == [{"message": "HTTP Method 'PUT' not allowed. Allowed are GET,POST",
                                "errorCode": "METHOD_NOT_ALLOWED"}]


@pytest.mark.parametrize("token", [None, "wrong", DEFAULT_TOKEN + "x"])
def test_missing_or_unknown_token_is_401(sandbox: tuple[EmulatorServer, Org], token: str | None) -> None:
    for path in (data("/sobjects"), data("/nothing"), "/services/oauth2/userinfo"):
        response = raw(sandbox[0], "GET", path, token=token)
        assert response.status_code == 401
        assert response.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    with pytest.raises(SalesforceExpiredSession):
        salesforce(sandbox[0], token=token or "none").query("SELECT Id FROM Contact")


def test_userinfo_and_identity_name_the_api_user(sandbox: tuple[EmulatorServer, Org]) -> None:
    server, org = sandbox
    info = raw(server, "GET", "/services/oauth2/userinfo").json()
    assert (info["user_id"], info["organization_id"]) == (org.api_user_id, org.org_id)
    assert info["preferred_username"] == "admin@flitstack.sandbox"
    identity_url = raw(server, "GET", data("/")).json()["identity"]
    identity = requests.get(identity_url, params={"oauth_token": DEFAULT_TOKEN}, timeout=10).json()
    assert (identity["user_id"], identity["username"]) == (org.api_user_id, "admin@flitstack.sandbox")
    user = raw(server, "GET", data(f"/sobjects/User/{org.api_user_id}")).json()
    assert (user["Username"], user["IsActive"], user["UserType"]) == ("admin@flitstack.sandbox", True, "Standard")


def test_users_are_seeded_for_matching_practitioners_by_email(sf: Salesforce) -> None:
    found = sf.query("SELECT Username, IsActive, UserType FROM User WHERE Email IN "
                     "('shared@clinic.example', 'former@clinic.example') ORDER BY Username")["records"]
    assert [(r["Username"], r["IsActive"]) for r in found] == [
        ("former.staff@flitstack.sandbox", False), ("shared.one@flitstack.sandbox", True),
        ("shared.two@flitstack.sandbox", True)]


# -- the daily API allowance ---------------------------------------------------------------------------

def test_every_call_counts_until_the_allowance_is_used_up(tmp_path: Path, tls: SandboxTLS) -> None:
    clock = ManualClock("2024-06-01T10:00:00Z")
    server, org = start_salesforce_sandbox(tmp_path, tls=tls, daily_api_limit=6, clock=clock)
    try:
        sf = salesforce(server)
        sf.describe()
        sf.query("SELECT Id FROM Contact")
        assert sf.api_usage["api-usage"] == (2, 6)
        with pytest.raises(SalesforceResourceNotFound):
            sf.Contact.get("003000000000000AAA")  # failed calls count too
        assert sf.limits()["DailyApiRequests"] == {"Max": 6, "Remaining": 2}  # /limits is call 4
        raw(server, "GET", "/services/oauth2/userinfo")  # not an API call
        raw(server, "GET", "/services/data", token=None)  # public
        response = raw(server, "GET", data("/sobjects"))
        assert response.headers["Sforce-Limit-Info"] == "api-usage=5/6"
        sf.query("SELECT Id FROM Contact")
        with pytest.raises(SalesforceRefusedRequest) as refused:
            sf.query("SELECT Id FROM Contact")
        assert refused.value.status == 403
        assert refused.value.content == [{"message": "TotalRequests Limit exceeded.",
                                          "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
        assert raw(server, "POST", data("/sobjects/Contact"), json={"LastName": "x"}).status_code == 403
        assert org.count("Contact") == 0
        clock.advance(24 * 3600)  # a new day (UTC): the count starts again
        assert sf.limits()["DailyApiRequests"] == {"Max": 6, "Remaining": 5}
    finally:
        server.stop()
        org.close()


# -- describe ------------------------------------------------------------------------------------------

def test_global_describe_lists_standard_and_custom_objects(sf: Salesforce) -> None:
    answer = sf.describe()
    assert (answer["encoding"], answer["maxBatchSize"]) == ("UTF-8", 200)
    objects = {o["name"]: o for o in answer["sobjects"]}
    assert {"Account", "Contact", "User", "Product2", "ContentVersion", "Practitioner__c"} <= set(objects)
    assert (objects["Contact"]["keyPrefix"], objects["Contact"]["custom"]) == ("003", False)
    assert (objects["Practitioner__c"]["keyPrefix"], objects["Practitioner__c"]["custom"]) == ("a00", True)
    assert objects["Contact"]["urls"]["describe"] == f"/services/data/v{VERSION}/sobjects/Contact/describe"
    assert sf.Contact.metadata()["objectDescribe"]["name"] == "Contact"


DESCRIBE_FIELD_KEYS = {"name", "label", "type", "length", "byteLength", "precision", "scale", "digits", "nillable",
                       "createable", "updateable", "defaultedOnCreate", "unique", "externalId", "idLookup",
                       "caseSensitive", "custom", "calculated", "autoNumber", "referenceTo", "relationshipName",
                       "polymorphicForeignKey", "restrictedPicklist", "picklistValues", "soapType", "nameField",
                       "filterable", "sortable", "groupable", "defaultValue"}


def test_object_describe_reports_the_catalog_and_custom_fields(sf: Salesforce) -> None:
    answer = sf.Contact.describe()
    assert (answer["name"], answer["keyPrefix"], answer["createable"]) == ("Contact", "003", True)
    assert answer["recordTypeInfos"][0]["master"] is True
    fields = {f["name"]: f for f in answer["fields"]}
    assert all(set(f) >= DESCRIBE_FIELD_KEYS for f in fields.values())
    last = fields["LastName"]
    assert (last["type"], last["length"], last["nillable"], last["createable"], last["soapType"]) == \
        ("string", 80, False, True, "xsd:string")
    ext = fields["Cliniko_Id__c"]
    assert (ext["externalId"], ext["idLookup"], ext["unique"], ext["custom"], ext["length"]) == \
        (True, True, True, True, 40)
    assert (fields["Email"]["idLookup"], fields["Email"]["externalId"], fields["Email"]["type"]) == \
        (True, False, "email")
    gender = fields["Gender__c"]
    assert gender["restrictedPicklist"] is True
    assert [v["value"] for v in gender["picklistValues"]] == ["Female", "Male", "Other"]
    assert (fields["AccountId"]["referenceTo"], fields["AccountId"]["relationshipName"]) == (["Account"], "Account")
    assert fields["Practitioner__c"]["relationshipName"] == "Practitioner__r"
    assert (fields["OwnerId"]["defaultedOnCreate"], fields["OwnerId"]["nillable"]) == (True, False)
    assert (fields["Name"]["createable"], fields["Id"]["type"], fields["Id"]["soapType"]) == (False, "id", "tns:ID")
    assert (fields["CreatedDate"]["createable"], fields["CreatedDate"]["updateable"]) == (False, False)
    assert (fields["Archived__c"]["type"], fields["Archived__c"]["nillable"]) == ("boolean", False)
    assert "Hidden__c" not in fields  # field-level security hides it
    product = {f["name"]: f for f in sf.Product2.describe()["fields"]}
    assert (product["Stock_Level__c"]["precision"], product["Stock_Level__c"]["scale"]) == (10, 0)
    assert (product["Cost_Price__c"]["type"], product["Cost_Price__c"]["scale"]) == ("currency", 2)


def test_set_audit_fields_makes_audit_fields_createable_on_insert_only(tmp_path: Path, tls: SandboxTLS) -> None:
    server, org = start_salesforce_sandbox(tmp_path, tls=tls, set_audit_fields=True)
    try:
        sf = salesforce(server)
        fields = {f["name"]: f for f in sf.Contact.describe()["fields"]}
        for name in ("CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById"):
            assert (fields[name]["createable"], fields[name]["updateable"]) == (True, False), name
        assert fields["SystemModstamp"]["createable"] is False
        created = sf.Contact.create({"LastName": "Old", "CreatedDate": "2019-03-04T05:06:07Z",
                                     "CreatedById": org.user_ids["practice.manager@flitstack.sandbox"]})
        record = sf.Contact.get(created["id"])
        assert record["CreatedDate"] == "2019-03-04T05:06:07.000+0000"
        assert record["CreatedById"] == org.user_ids["practice.manager@flitstack.sandbox"]
        with pytest.raises(SalesforceMalformedRequest) as refused:
            sf.Contact.update(created["id"], {"CreatedDate": "2020-01-01T00:00:00Z"})
        assert refused.value.content[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    finally:
        server.stop()
        org.close()


# -- single records ------------------------------------------------------------------------------------

def test_create_read_update_delete(sf: Salesforce, sandbox: tuple[EmulatorServer, Org]) -> None:
    server, org = sandbox
    created = sf.Contact.create({"FirstName": "Ana", "LastName": "Lima", "Birthdate": "1980-05-14"})
    assert list(created) == ["id", "success", "errors"]
    assert created["success"] is True and created["id"].startswith("003") and len(created["id"]) == 18
    record = sf.Contact.get(created["id"])
    assert record["attributes"] == {"type": "Contact",
                                    "url": f"/services/data/v{VERSION}/sobjects/Contact/{created['id']}"}
    assert (record["Name"], record["Birthdate"], record["OwnerId"], record["IsDeleted"]) == \
        ("Ana Lima", "1980-05-14", org.api_user_id, False)
    assert record["HasOptedOutOfEmail"] is False and record["Email"] is None
    assert DATETIME.match(record["CreatedDate"]) and record["CreatedById"] == org.api_user_id
    narrow = raw(server, "GET", data(f"/sobjects/Contact/{created['id']}"), params={"fields": "lastname,Birthdate"})
    assert {k: v for k, v in narrow.json().items() if k != "attributes"} == \
        {"Id": created["id"], "LastName": "Lima", "Birthdate": "1980-05-14"}
    bad_field = raw(server, "GET", data(f"/sobjects/Contact/{created['id']}"), params={"fields": "Nope"})
    assert (bad_field.status_code, bad_field.json()[0]["errorCode"]) == (400, "INVALID_FIELD")
    assert sf.Contact.update(created["id"][:15], {"FirstName": "Anna"}) == 204  # 15-character ids work
    assert sf.Contact.get(created["id"][:15])["Name"] == "Anna Lima"
    assert sf.Contact.delete(created["id"]) == 204
    with pytest.raises(SalesforceResourceNotFound):
        sf.Contact.get(created["id"])
    with pytest.raises(SalesforceResourceNotFound) as deleted:
        sf.Contact.update(created["id"], {"FirstName": "Ann"})
    assert deleted.value.content == [{"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED", "fields": []}]
    with pytest.raises(SalesforceResourceNotFound) as not_an_id:
        sf.Contact.get("banana")
    assert not_an_id.value.content == [{"message": "Provided external ID field does not exist or is not "
                                                   "accessible: banana", "errorCode": "NOT_FOUND"}]
    account = sf.Account.create({"Name": "Elsewhere"})["id"]
    with pytest.raises(SalesforceResourceNotFound):
        sf.Contact.get(account)  # an Account's id under /sobjects/Contact


def test_upsert_creates_then_updates(sf: Salesforce, sandbox: tuple[EmulatorServer, Org]) -> None:
    created = sf.Contact.upsert("Cliniko_Id__c/U-1", {"LastName": "First"}, raw_response=True)
    assert created.status_code == 201
    body = created.json()
    assert (body["success"], body["errors"], body["created"]) == (True, [], True)
    updated = sf.Contact.upsert("Cliniko_Id__c/u-1", {"LastName": "Second"}, raw_response=True)
    assert updated.status_code == 200  # v46.0 and later: 200 with created false (external ids ignore case)
    assert updated.json() == {"id": body["id"], "success": True, "errors": [], "created": False}
    assert sf.Contact.get_by_custom_id("Cliniko_Id__c", "U-1")["LastName"] == "Second"
    old = salesforce(sandbox[0], version="45.0")
    assert old.Contact.upsert("Cliniko_Id__c/U-1", {"LastName": "Third"}) == 204  # before v46.0: no body
    assert "created" not in old.Contact.upsert("Cliniko_Id__c/U-2", {"LastName": "New"}, raw_response=True).json()


def test_upsert_values_are_percent_decoded(sf: Salesforce) -> None:
    value = "A/B 1+2"
    assert sf.Contact.upsert("Cliniko_Id__c/" + quote(value, safe=""), {"LastName": "Odd"}) == 201
    assert sf.query("SELECT Cliniko_Id__c FROM Contact WHERE LastName = 'Odd'")["records"][0]["Cliniko_Id__c"] == value


def test_upsert_update_only_and_unknown_or_plain_fields(sf: Salesforce) -> None:
    with pytest.raises(SalesforceResourceNotFound):
        sf.Contact.upsert("Cliniko_Id__c/U-404?updateOnly=true", {"LastName": "Never"})
    assert sf.query("SELECT COUNT() FROM Contact WHERE Cliniko_Id__c = 'U-404'")["totalSize"] == 0
    sf.Contact.upsert("Cliniko_Id__c/U-5", {"LastName": "Five"})
    assert sf.Contact.upsert("Cliniko_Id__c/U-5?updateOnly=true", {"LastName": "Six"}) == 200
    with pytest.raises(SalesforceResourceNotFound) as unknown:
        sf.Contact.upsert("Nope__c/1", {"LastName": "x"})
    assert unknown.value.content == [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]
    with pytest.raises(SalesforceMalformedRequest) as plain:
        sf.Contact.upsert("LastName/Six", {"FirstName": "x"})
    assert plain.value.content == [{"message": "Field name provided, LastName is not an External ID or indexed "
                                               "field for Contact", "errorCode": "INVALID_FIELD"}]


def test_several_matches_answer_300_with_their_urls(sf: Salesforce) -> None:
    ids = [sf.Contact.create({"LastName": f"Twin {n}", "Legacy_Key__c": "TWIN"})["id"] for n in (1, 2)]
    urls = [f"/services/data/v{VERSION}/sobjects/Contact/{i}" for i in ids]
    with pytest.raises(SalesforceMoreThanOneRecord) as upsert:
        sf.Contact.upsert("Legacy_Key__c/twin", {"FirstName": "x"})
    assert (upsert.value.status, upsert.value.content) == (300, urls)
    with pytest.raises(SalesforceMoreThanOneRecord):
        sf.Contact.get_by_custom_id("Legacy_Key__c", "TWIN")
    assert sf.Contact.get(ids[0])["FirstName"] is None


def test_delete_by_external_id(sf: Salesforce, sandbox: tuple[EmulatorServer, Org]) -> None:
    sf.Contact.upsert("Cliniko_Id__c/D-1", {"LastName": "Doomed"})
    assert raw(sandbox[0], "DELETE", data("/sobjects/Contact/Cliniko_Id__c/D-1")).status_code == 204
    assert raw(sandbox[0], "DELETE", data("/sobjects/Contact/Cliniko_Id__c/D-1")).status_code == 404


# -- bodies and faults ---------------------------------------------------------------------------------

def test_bodies_must_be_json(sandbox: tuple[EmulatorServer, Org]) -> None:
    server, _ = sandbox
    xml = raw(server, "POST", data("/sobjects/Contact"), data=b'{"LastName": "x"}',
              headers={"Content-Type": "text/xml"})
    assert xml.status_code == 415 and xml.json()[0]["errorCode"] == "UNSUPPORTED_MEDIA_TYPE"
    broken = raw(server, "POST", data("/sobjects/Contact"), data=b'{"LastName": ',
                 headers={"Content-Type": "application/json"})
    assert broken.status_code == 400
    assert broken.json()[0]["errorCode"] == "JSON_PARSER_ERROR"
    assert broken.json()[0]["message"].endswith("at [line:1, column:14]")


@pytest.mark.parametrize(("plan", "status", "body"), [
    (FaultPlan(rate_429=1.0), 403, [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]),
    (FaultPlan(rate_503=1.0), 503, [{"message": "Server temporarily unavailable. Retry the request later.",
                                     "errorCode": "SERVER_UNAVAILABLE"}]),
])
def test_injected_faults_answer_like_salesforce(tmp_path: Path, tls: SandboxTLS, plan: FaultPlan, status: int,
                                                body: list[dict[str, Any]]) -> None:
    server, org = start_salesforce_sandbox(tmp_path, tls=tls, faults=plan)
    try:
        response = raw(server, "GET", data("/sobjects"))
        assert (response.status_code, response.json()) == (status, body)
        assert org.api_usage().used == 0  # refused before the org saw it
    finally:
        server.stop()
        org.close()


def test_injected_resets_drop_the_connection(tmp_path: Path, tls: SandboxTLS) -> None:
    server, org = start_salesforce_sandbox(tmp_path, tls=tls, faults=FaultPlan(rate_reset=1.0))
    try:
        with pytest.raises(requests.ConnectionError):
            salesforce(server).query("SELECT Id FROM Contact")
    finally:
        server.stop()
        org.close()


def test_other_modules_add_routes_before_or_after_the_built_in_ones(sandbox: tuple[EmulatorServer, Org]) -> None:
    server, org = sandbox
    app = server.app
    assert isinstance(app, SalesforceApp)
    app.add_routes([Route("GET", r"/sobjects/(?P<object>\w+)/hello", lambda call: Response.json(
        200, {"hello": call.params["object"], "user": call.user_id, "version": call.version}))], first=True)
    app.add_routes([Route("GET", r"/services/Soap/m/(?P<version>[\d.]+)", lambda call: Response(200, b"soap"),
                          versioned=False, auth=False, counted=False)])
    hello = raw(server, "GET", data("/sobjects/Contact/hello"))
    assert hello.json() == {"hello": "Contact", "user": org.api_user_id, "version": VERSION}
    assert "Sforce-Limit-Info" in hello.headers
    assert raw(server, "GET", "/services/Soap/m/62.0", token=None).content == b"soap"


def test_the_org_survives_a_restart(tmp_path: Path, tls: SandboxTLS) -> None:
    server, org = start(tmp_path, tls)
    first = salesforce(server).Practitioner__c.create({"Ext__c": "P1"})["id"]
    server.stop()
    org.close()
    server, org = start_salesforce_sandbox(tmp_path, tls=tls)  # no provisioning this time
    try:
        sf = salesforce(server)
        assert sf.Practitioner__c.get_by_custom_id("Ext__c", "P1")["Id"] == first
        second = sf.Practitioner__c.create({"Ext__c": "P2", "Name": "Dr Two"})["id"]
        assert (first[:3], second > first) == ("a00", True)
        assert sf.Practitioner__c.get(first)["Name"] == first  # an empty Name is the record id
    finally:
        server.stop()
        org.close()
