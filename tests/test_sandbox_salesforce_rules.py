"""Every write rule of the Salesforce emulator, with the platform's exact codes and messages.

Each record-level case runs twice, through a single-record create (400, `errorCode`) and through an
sObject Collections create (200, per-record `statusCode`), proving both paths share rules.py. Cases
that refuse the whole request (unknown fields, values that do not deserialize) answer 400 on both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sandbox_salesforce_fixture import ca_bundle, data, raw, salesforce, start
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from engine.sandbox.salesforce import FieldMeta, Org, custom_field
from engine.sandbox.salesforce.ids import make_id
from engine.sandbox.server import EmulatorServer
from engine.sandbox.tls import SandboxTLS, ensure_tls


@dataclass
class World:
    """Records the cases point at."""

    server: EmulatorServer
    org: Org
    sf: Salesforce
    account: str
    deleted_account: str
    contact: str
    inactive_user: str
    shared_users: list[str]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tls: SandboxTLS = ensure_tls(tmp_path_factory.mktemp("tls"))
    with ca_bundle(tls):
        server, org = start(tmp_path_factory.mktemp("salesforce"), tls)
        sf = salesforce(server)
        account = sf.Account.create({"Name": "Clinic", "Cliniko_Id__c": "B-1"})["id"]
        deleted = sf.Account.create({"Name": "Gone"})["id"]
        sf.Account.delete(deleted)
        contact = sf.Contact.create({"LastName": "Taken", "Cliniko_Id__c": "P-1"})["id"]
        sf.Practitioner__c.create({"Ext__c": "55", "Account__r": {"Cliniko_Id__c": "B-1"}})
        shared = [org.user_ids["shared.one@flitstack.sandbox"], org.user_ids["shared.two@flitstack.sandbox"]]
        yield World(server, org, sf, account, deleted, contact, org.user_ids["former.staff@flitstack.sandbox"],
                    shared)
        server.stop()
        org.close()


def create_both_ways(world: World, body: dict[str, Any], object_name: str = "Contact") -> tuple[Any, Any]:
    """(single create's 400 body, collections' item) for one invalid record; neither may save it."""
    before = world.org.count(object_name)
    single = raw(world.server, "POST", data(f"/sobjects/{object_name}"), json=body)
    assert single.status_code == 400, single.text
    collection = raw(world.server, "POST", data("/composite/sobjects"),
                     json={"records": [{"attributes": {"type": object_name}, **body}]})
    assert collection.status_code == 200, collection.text
    assert world.org.count(object_name) == before
    return single.json(), collection.json()[0]


Case = Callable[[World], tuple[dict[str, Any], str, str, list[str]]]

RECORD_CASES: dict[str, Case] = {
    "required": lambda w: ({"FirstName": "No"}, "REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]",
                           ["LastName"]),
    "too long": lambda w: ({"LastName": "x" * 81}, "STRING_TOO_LONG",
                           f"Last Name: data value too large: {'x' * 81} (max length=80)", ["LastName"]),
    "custom too long": lambda w: ({"LastName": "M", "Medicare_Number__c": "1" * 21}, "STRING_TOO_LONG",
                                  f"Medicare Number: data value too large: {'1' * 21} (max length=20)",
                                  ["Medicare_Number__c"]),
    "restricted picklist": lambda w: ({"LastName": "P", "Gender__c": "Unknown"},
                                      "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                                      "Sex / Gender: bad value for restricted picklist field: Unknown", ["Gender__c"]),
    "picklist is case-sensitive": lambda w: ({"LastName": "P", "Gender__c": "female"},
                                             "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                                             "Sex / Gender: bad value for restricted picklist field: female",
                                             ["Gender__c"]),
    "email": lambda w: ({"LastName": "E", "Email": "not-an-email"}, "INVALID_EMAIL_ADDRESS",
                        "Email: invalid email address: not-an-email", ["Email"]),
    "email without a domain dot": lambda w: ({"LastName": "E", "Email": "a@b"}, "INVALID_EMAIL_ADDRESS",
                                             "Email: invalid email address: a@b", ["Email"]),
    "malformed lookup": lambda w: ({"LastName": "L", "AccountId": "abc"}, "MALFORMED_ID",
                                   "Account ID: id value of incorrect type: abc", ["AccountId"]),
    "bad checksum lookup": lambda w: ({"LastName": "L", "AccountId": w.account[:15] + "ZZZ"}, "MALFORMED_ID",
                                      f"Account ID: id value of incorrect type: {w.account[:15]}ZZZ",
                                      ["AccountId"]),
    "lookup of the wrong object": lambda w: ({"LastName": "L", "AccountId": w.contact},
                                             "FIELD_INTEGRITY_EXCEPTION",
                                             f"Account ID: id value of incorrect type: {w.contact}", ["AccountId"]),
    "lookup to no record": lambda w: ({"LastName": "L", "AccountId": make_id("001", 999)},
                                      "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["AccountId"]),
    "lookup to a deleted record": lambda w: ({"LastName": "L", "AccountId": w.deleted_account},
                                             "ENTITY_IS_DELETED", "entity is deleted", ["AccountId"]),
    "inactive owner": lambda w: ({"LastName": "O", "OwnerId": w.inactive_user}, "INACTIVE_OWNER_OR_USER",
                                 f"operation performed with inactive user [{w.inactive_user}] as owner of contact",
                                 []),
    "audit field without the permission": lambda w: (
        {"LastName": "A", "CreatedDate": "2020-01-01T00:00:00Z"}, "INVALID_FIELD_FOR_INSERT_UPDATE",
        "Unable to create/update fields: CreatedDate. Please check the security settings of this field and verify "
        "that it is read/write for your profile or permission set.", ["CreatedDate"]),
    "computed field": lambda w: ({"LastName": "N", "Name": "Full Name"}, "INVALID_FIELD_FOR_INSERT_UPDATE",
                                 "Unable to create/update fields: Name. Please check the security settings of this "
                                 "field and verify that it is read/write for your profile or permission set.",
                                 ["Name"]),
    "id on insert": lambda w: ({"LastName": "I", "Id": w.contact}, "INVALID_FIELD",
                               "Record ID: cannot specify Id in an insert call", ["Id"]),
    "duplicate unique external id": lambda w: ({"LastName": "D", "Cliniko_Id__c": "p-1"}, "DUPLICATE_VALUE",
                                               "duplicate value found: Cliniko_Id__c duplicates value on record "
                                               f"with id: {w.contact}", []),
    "foreign key not found": lambda w: ({"LastName": "F", "Account": {"Cliniko_Id__c": "123"}}, "INVALID_FIELD",
                                        "Foreign key external ID: 123 not found for field Cliniko_Id__c in entity "
                                        "Account", []),
    "custom foreign key not found": lambda w: ({"LastName": "F", "Practitioner__r": {"Ext__c": 56}},
                                               "INVALID_FIELD", "Foreign key external ID: 56 not found for field "
                                               "Ext__c in entity Practitioner__c", []),
    "foreign key matching several records": lambda w: (
        {"LastName": "F", "Owner": {"Email": "shared@clinic.example"}}, "DUPLICATE_EXTERNAL_ID",
        f"Email: more than one record found for external id field: [{w.shared_users[0]}, {w.shared_users[1]}]", []),
    "number out of range": lambda w: ({"LastName": "V", "Visits__c": 1234.5}, "NUMBER_OUTSIDE_VALID_RANGE",
                                      "Visits: value outside of valid range on numeric field: 1234.5",
                                      ["Visits__c"]),
}


@pytest.mark.parametrize("case", list(RECORD_CASES))
def test_record_rules_answer_the_same_in_rest_and_collections(world: World, case: str) -> None:
    body, code, message, fields = RECORD_CASES[case](world)
    single, item = create_both_ways(world, body)
    assert single == [{"message": message, "errorCode": code, "fields": fields}]
    assert item == {"success": False, "errors": [{"statusCode": code, "message": message, "fields": fields}]}


def test_required_fields_are_listed_together(world: World) -> None:
    single, item = create_both_ways(world, {"Phone": "555"}, "Account")
    assert item["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert single == [{"message": "Required fields are missing: [Name]", "errorCode": "REQUIRED_FIELD_MISSING",
                       "fields": ["Name"]}]
    world.org.add_custom_field("Product2", _required_text("Sku__c"))
    single, _ = create_both_ways(world, {"Description": "x"}, "Product2")
    assert single[0]["message"] == "Required fields are missing: [Name, Sku__c]"
    assert single[0]["fields"] == ["Name", "Sku__c"]


def _required_text(name: str) -> FieldMeta:
    return custom_field(name, "string", length=10, required=True)


REQUEST_CASES: dict[str, tuple[dict[str, Any], str, str]] = {
    "unknown field": ({"LastName": "U", "Nope__c": 1}, "INVALID_FIELD",
                      "No such column 'Nope__c' on sobject of type Contact"),
    "field hidden by field-level security": ({"LastName": "U", "Hidden__c": "x"}, "INVALID_FIELD",
                                             "No such column 'Hidden__c' on sobject of type Contact"),
    "unknown relationship": ({"LastName": "U", "Nope__r": {"Ext__c": "1"}}, "INVALID_FIELD",
                             "No such column 'Nope__r' on sobject of type Contact"),
    "date in another format": ({"LastName": "D", "Birthdate": "31/12/2020"}, "JSON_PARSER_ERROR",
                               "Cannot deserialize instance of date from VALUE_STRING value 31/12/2020 or request "
                               "may be missing a required field at [line:1, column:44]"),
    "impossible date": ({"LastName": "D", "Birthdate": "2021-02-29"}, "JSON_PARSER_ERROR",
                        "Cannot deserialize instance of date from VALUE_STRING value 2021-02-29 or request may be "
                        "missing a required field at [line:1, column:44]"),
    "date-time in a date field": ({"LastName": "D", "EPC_Expiry__c": "2024-01-01T00:00:00Z"}, "JSON_PARSER_ERROR",
                                  "Cannot deserialize instance of date from VALUE_STRING value 2024-01-01T00:00:00Z "
                                  "or request may be missing a required field at [line:1, column:58]"),
    "not a date-time": ({"LastName": "D", "Source_Created__c": "yesterday"}, "JSON_PARSER_ERROR",
                        "Cannot deserialize instance of datetime from VALUE_STRING value yesterday or request may "
                        "be missing a required field at [line:1, column:51]"),
    "not a boolean": ({"LastName": "B", "Archived__c": "yes"}, "JSON_PARSER_ERROR",
                      "Cannot deserialize instance of boolean from VALUE_STRING value yes or request may be "
                      "missing a required field at [line:1, column:39]"),
    "not a number": ({"LastName": "N", "Visits__c": "many"}, "JSON_PARSER_ERROR",
                     "Cannot deserialize instance of double from VALUE_STRING value many or request may be "
                     "missing a required field at [line:1, column:38]"),
    "object for a text field": ({"LastName": {"a": 1}}, "JSON_PARSER_ERROR",
                                "Cannot deserialize instance of string from START_OBJECT value { or request may be "
                                "missing a required field at [line:1, column:22]"),
    "reference through a plain field": ({"LastName": "R", "Account": {"Name": "Clinic"}}, "INVALID_FIELD",
                                        "Field name provided, Name is not an External ID or indexed field for "
                                        "Account"),
    "id and reference together": ({"LastName": "R", "AccountId": None, "Account": {"Cliniko_Id__c": "B-1"}},
                                  "INVALID_FIELD", "Cannot specify both an external ID reference Account and a "
                                  "salesforce id, AccountId"),
}


@pytest.mark.parametrize("case", list(REQUEST_CASES))
def test_bodies_that_do_not_deserialize_refuse_the_whole_request(world: World, case: str) -> None:
    body, code, message = REQUEST_CASES[case]
    before = world.org.count("Contact")
    single = raw(world.server, "POST", data("/sobjects/Contact"), json=body)
    assert (single.status_code, single.json()) == (400, [{"message": message, "errorCode": code}])
    records = [{"attributes": {"type": "Contact"}, "LastName": "Fine"}, {"attributes": {"type": "Contact"}, **body}]
    many = raw(world.server, "POST", data("/composite/sobjects"), json={"records": records})
    assert many.status_code == 400
    assert many.json()[0]["errorCode"] == code
    assert world.org.count("Contact") == before  # the valid first record was not saved either


def test_values_the_platform_converts(world: World) -> None:
    sf = world.sf
    created = sf.Contact.create({
        "LastName": "Converted", "Birthdate": "2020-02-29", "Source_Created__c": "2024-01-31T09:00:00+10:00",
        "EPC_Expiry__c": "", "Archived__c": "TRUE", "Visits__c": "12.34", "Phone": 61400000000,
        "AccountId": world.account[:15], "Email": None, "HasOptedOutOfEmail": None,
    })
    record = sf.Contact.get(created["id"])
    assert (record["Birthdate"], record["Source_Created__c"], record["EPC_Expiry__c"]) == \
        ("2020-02-29", "2024-01-30T23:00:00.000+0000", None)
    assert (record["Archived__c"], record["Visits__c"], record["Phone"]) == (True, 12.3, "61400000000")
    assert (record["AccountId"], record["Email"], record["HasOptedOutOfEmail"]) == (world.account, None, False)
    referenced = sf.Contact.create({"LastName": "Linked", "Account": {"Cliniko_Id__c": "b-1"},
                                    "Practitioner__r": {"Ext__c": 55},
                                    "Owner": {"Username": "front.desk@flitstack.sandbox"}})
    linked = sf.Contact.get(referenced["id"])
    assert linked["AccountId"] == world.account
    assert linked["OwnerId"] == world.org.user_ids["front.desk@flitstack.sandbox"]
    assert linked["Practitioner__c"].startswith("a00")


def test_update_rules(world: World) -> None:
    sf = world.sf
    record = sf.Contact.create({"LastName": "Up", "Cliniko_Id__c": "UP-1"})["id"]
    assert sf.Contact.update(record, {"Cliniko_Id__c": "UP-1", "Gender__c": "Female"}) == 204  # its own value
    cases: list[tuple[dict[str, Any], str, str, list[str]]] = [
        ({"LastName": None}, "REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]", ["LastName"]),
        ({"LastName": ""}, "REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]", ["LastName"]),
        ({"OwnerId": None}, "REQUIRED_FIELD_MISSING", "Required fields are missing: [OwnerId]", ["OwnerId"]),
        ({"Cliniko_Id__c": "P-1"}, "DUPLICATE_VALUE",
         f"duplicate value found: Cliniko_Id__c duplicates value on record with id: {world.contact}", []),
        ({"OwnerId": world.inactive_user}, "INACTIVE_OWNER_OR_USER",
         f"operation performed with inactive user [{world.inactive_user}] as owner of contact", []),
    ]
    for body, code, message, fields in cases:
        with pytest.raises(SalesforceMalformedRequest) as refused:
            sf.Contact.update(record, body)
        assert refused.value.content == [{"message": message, "errorCode": code, "fields": fields}], body
    assert sf.Contact.get(record)["LastName"] == "Up"


def test_inactive_owners_can_be_allowed(world: World) -> None:
    world.org.allow_inactive_owners = True
    try:
        created = world.sf.Contact.create({"LastName": "Kept", "OwnerId": world.inactive_user})
        assert world.sf.Contact.get(created["id"])["OwnerId"] == world.inactive_user
    finally:
        world.org.allow_inactive_owners = False
