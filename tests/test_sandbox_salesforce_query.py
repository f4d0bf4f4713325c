"""SOQL in the Salesforce emulator: the subset a loader and reconciliation checks use, its semantics
(case-insensitive text, nulls, parent fields, date literals), paging through nextRecordsUrl with
simple-salesforce's query_all, and the platform's error answers with row, column and caret.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sandbox_salesforce_fixture import VERSION, ca_bundle, data, raw, salesforce, start
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from engine.sandbox.cliniko.clock import ManualClock
from engine.sandbox.salesforce import Org
from engine.sandbox.server import EmulatorServer
from engine.sandbox.tls import ensure_tls

PRODUCTS = 2050


@dataclass
class World:
    server: EmulatorServer
    org: Org
    sf: Salesforce
    ids: dict[str, str]


def _must(result: Any) -> str:
    assert result.success, result.errors
    return str(result.id)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tls = ensure_tls(tmp_path_factory.mktemp("tls"))
    clock = ManualClock("2024-06-01T09:00:00Z")
    with ca_bundle(tls):
        server, org = start(tmp_path_factory.mktemp("salesforce"), tls, clock=clock)
        ids: dict[str, str] = {}
        ids["acme"] = _must(org.insert("Account", {"Name": "Acme Clinic", "Cliniko_Id__c": "B-1"}))
        ids["beta"] = _must(org.insert("Account", {"Name": "Beta Physio"}))
        ids["dr"] = _must(org.insert("Practitioner__c", {"Name": "Dr Who", "Ext__c": "55"}))
        people: list[dict[str, Any]] = [
            {"FirstName": "Alice", "LastName": "Johnson", "Birthdate": "1980-05-14", "Email": "alice@mail.example",
             "AccountId": ids["acme"], "Gender__c": "Female", "Visits__c": 3, "Practitioner__c": ids["dr"]},
            {"FirstName": "Bob", "LastName": "Jackson", "Birthdate": "1975-11-02", "AccountId": ids["acme"],
             "Gender__c": "Male", "Archived__c": True, "Visits__c": 10, "Email": "bob@mail.example"},
            {"FirstName": "Carol", "LastName": "Jameson"},
            {"FirstName": "Dan", "LastName": "O'Brien", "Birthdate": "2001-12-25", "AccountId": ids["beta"],
             "Description": "Prefers mornings."},
            {"FirstName": "Émile", "LastName": "Zola", "Birthdate": "1965-05-01", "Gender__c": "Other"},
            {"FirstName": "Ivy", "LastName": "Smith_Jones", "Email": "ivy@mail.example"},
            {"LastName": "Fifty%Off"},
            {"LastName": "Deleted", "Email": "gone@mail.example"},
        ]
        for person in people:
            clock.advance(24 * 3600)
            ids[person["LastName"]] = _must(org.insert("Contact", person))
        assert org.delete("Contact", ids["Deleted"]).success
        with org.transaction():
            for n in range(PRODUCTS):
                org.insert("Product2", {"Name": f"Item {n:04d}", "ProductCode": f"C{n % 7}"})
        yield World(server, org, salesforce(server), ids)
        server.stop()
        org.close()


def names(world: World, where: str, order: str = "LastName") -> list[str]:
    soql = f"SELECT LastName FROM Contact WHERE {where} ORDER BY {order}"
    return [r["LastName"] for r in world.sf.query(soql)["records"]]


ALL = ["Fifty%Off", "Jackson", "Jameson", "Johnson", "O'Brien", "Smith_Jones", "Zola"]

WHERE_CASES: list[tuple[str, list[str]]] = [
    ("LastName = 'johnson'", ["Johnson"]),
    ("LastName != 'Johnson'", [n for n in ALL if n != "Johnson"]),
    ("LastName <> 'Johnson'", [n for n in ALL if n != "Johnson"]),
    ("Email != null", ["Jackson", "Johnson", "Smith_Jones"]),
    ("Email = null", ["Fifty%Off", "Jameson", "O'Brien", "Zola"]),
    ("Email != 'alice@mail.example'", [n for n in ALL if n != "Johnson"]),  # nulls included
    ("LastName IN ('Zola', 'jackson')", ["Jackson", "Zola"]),
    ("LastName NOT IN ('Zola', 'Fifty%Off')", ["Jackson", "Jameson", "Johnson", "O'Brien", "Smith_Jones"]),
    ("Email NOT IN ('alice@mail.example', 'bob@mail.example')",
     ["Fifty%Off", "Jameson", "O'Brien", "Smith_Jones", "Zola"]),
    ("Email IN ('ivy@mail.example', null)", ["Fifty%Off", "Jameson", "O'Brien", "Smith_Jones", "Zola"]),
    ("Birthdate < 1976-01-01", ["Jackson", "Zola"]),
    ("Birthdate >= 1980-05-14", ["Johnson", "O'Brien"]),
    ("Birthdate > 1980-05-14", ["O'Brien"]),
    ("Birthdate <= 1975-11-02", ["Jackson", "Zola"]),
    ("LastName LIKE 'ja%'", ["Jackson", "Jameson"]),
    ("LastName LIKE '%SON'", ["Jackson", "Jameson", "Johnson"]),
    ("LastName LIKE 'J_ckson'", ["Jackson"]),
    ("LastName LIKE 'Smith\\_%'", ["Smith_Jones"]),
    ("LastName LIKE '%\\%%'", ["Fifty%Off"]),
    ("FirstName = 'ÉMILE'", ["Zola"]),
    ("LastName = 'O\\'Brien'", ["O'Brien"]),
    ("(LastName = 'Zola' OR LastName = 'Jackson') AND Archived__c = true", ["Jackson"]),
    ("NOT LastName = 'Zola' AND Visits__c > 2", ["Jackson", "Johnson"]),
    ("Archived__c = false AND Visits__c <= 3.0", ["Johnson"]),
    ("NOT (Gender__c = null OR Gender__c = 'Other')", ["Jackson", "Johnson"]),
    ("Gender__c IN ('Female', 'Male')", ["Jackson", "Johnson"]),
    ("Visits__c > -1", ["Jackson", "Johnson"]),
    ("Account.Name = 'acme clinic'", ["Jackson", "Johnson"]),
    ("Account.Name LIKE 'beta%'", ["O'Brien"]),
    ("Account.Cliniko_Id__c = 'B-1' AND Gender__c = 'Male'", ["Jackson"]),
    ("AccountId = null", ["Fifty%Off", "Jameson", "Smith_Jones", "Zola"]),
    ("Owner.Email = 'admin@flitstack.example'", ALL),
    ("Practitioner__r.Ext__c = '55'", ["Johnson"]),
    ("CreatedDate > 2024-06-05T00:00:00Z", ["Fifty%Off", "O'Brien", "Smith_Jones", "Zola"]),
    ("CreatedDate < 2024-06-03T10:00:00+01:00", ["Johnson"]),
    ("CreatedDate = YESTERDAY", ["Fifty%Off"]),
    ("CreatedDate = LAST_N_DAYS:2", ["Fifty%Off", "Smith_Jones"]),
    ("CreatedDate < LAST_N_DAYS:5", ["Jackson", "Johnson"]),
    ("Birthdate = TODAY", []),
]


@pytest.mark.parametrize(("where", "expected"), WHERE_CASES)
def test_where(world: World, where: str, expected: list[str]) -> None:
    assert names(world, where) == expected


def test_ids_compare_in_either_length(world: World) -> None:
    acme = world.ids["acme"]
    assert names(world, f"AccountId = '{acme[:15]}'") == ["Jackson", "Johnson"]
    assert names(world, f"Id IN ('{world.ids['Zola']}', '{world.ids['Jackson'][:15]}')") == ["Jackson", "Zola"]


@pytest.mark.parametrize(("order", "expected"), [
    ("Birthdate", ["Jameson", "Smith_Jones", "Zola", "Jackson", "Johnson", "O'Brien"]),
    ("Birthdate DESC", ["O'Brien", "Johnson", "Jackson", "Zola", "Jameson", "Smith_Jones"]),
    ("Birthdate ASC NULLS LAST", ["Zola", "Jackson", "Johnson", "O'Brien", "Jameson", "Smith_Jones"]),
    ("Account.Name DESC NULLS LAST, LastName DESC", ["O'Brien", "Johnson", "Jackson", "Zola", "Smith_Jones",
                                                     "Jameson"]),
    ("FirstName", ["Johnson", "Jackson", "Jameson", "O'Brien", "Smith_Jones", "Zola"]),
])
def test_order_by(world: World, order: str, expected: list[str]) -> None:
    assert names(world, "LastName != 'Fifty%Off'", order) == expected


def test_limit_and_offset(world: World) -> None:
    assert names(world, "LastName != null", "LastName LIMIT 2 OFFSET 1") == ["Jackson", "Jameson"]
    sf = world.sf
    assert [r["LastName"] for r in sf.query("SELECT LastName FROM Contact LIMIT 1")["records"]] == ["Johnson"]


def test_records_carry_attributes_and_nested_parents(world: World) -> None:
    answer = world.sf.query("SELECT Id, Name, Account.Name, Account.Owner.Email, Owner.Username, "
                            "Practitioner__r.Name FROM Contact WHERE LastName IN ('Johnson', 'Zola') "
                            "ORDER BY LastName")
    assert (answer["totalSize"], answer["done"]) == (2, True)
    johnson, zola = answer["records"]
    url = f"/services/data/v{VERSION}/sobjects"
    assert johnson == {
        "attributes": {"type": "Contact", "url": f"{url}/Contact/{world.ids['Johnson']}"},
        "Id": world.ids["Johnson"], "Name": "Alice Johnson",
        "Account": {"attributes": {"type": "Account", "url": f"{url}/Account/{world.ids['acme']}"},
                    "Name": "Acme Clinic",
                    "Owner": {"attributes": {"type": "User", "url": f"{url}/User/{world.org.api_user_id}"},
                              "Email": "admin@flitstack.example"}},
        "Owner": {"attributes": {"type": "User", "url": f"{url}/User/{world.org.api_user_id}"},
                  "Username": "admin@flitstack.sandbox"},
        "Practitioner__r": {"attributes": {"type": "Practitioner__c",
                                           "url": f"{url}/Practitioner__c/{world.ids['dr']}"}, "Name": "Dr Who"},
    }
    assert (zola["Account"], zola["Practitioner__r"], zola["Name"]) == (None, None, "Émile Zola")


def test_names_are_case_insensitive_and_come_back_canonical(world: World) -> None:
    record = world.sf.query("select id, lastname, account.name from contact where lastname = 'johnson'")["records"][0]
    assert list(record) == ["attributes", "Id", "LastName", "Account"]
    assert list(record["Account"]) == ["attributes", "Name"]


def test_counts_and_query_all(world: World) -> None:
    sf = world.sf
    assert sf.query("SELECT COUNT() FROM Contact") == {"totalSize": 7, "done": True, "records": []}
    assert sf.query("SELECT COUNT() FROM Contact WHERE Email != null")["totalSize"] == 3
    assert sf.query_all("SELECT COUNT() FROM Contact", include_deleted=True)["totalSize"] == 0  # records only
    assert sf.query("SELECT COUNT() FROM Contact", include_deleted=True)["totalSize"] == 8
    aggregate = sf.query("SELECT COUNT(Id) FROM Contact")["records"]
    assert aggregate == [{"attributes": {"type": "AggregateResult"}, "expr0": 7}]
    assert sf.query("SELECT COUNT(Email) n FROM Contact")["records"][0]["n"] == 3
    deleted = sf.query("SELECT LastName, IsDeleted FROM Contact WHERE Email = 'gone@mail.example'",
                       include_deleted=True)["records"]
    assert [(r["LastName"], r["IsDeleted"]) for r in deleted] == [("Deleted", True)]
    assert sf.query("SELECT Id FROM Contact WHERE Email = 'gone@mail.example'")["totalSize"] == 0
    assert raw(world.server, "GET", data("/queryAll"), params={"q": "SELECT COUNT() FROM Contact"}).json()[
        "totalSize"] == 8


# -- paging ----------------------------------------------------------------------------------------------

def test_default_pages_hold_2000_records_and_link_by_path(world: World) -> None:
    sf = world.sf
    first = sf.query("SELECT Name FROM Product2 ORDER BY Name")
    assert (first["totalSize"], first["done"], len(first["records"])) == (PRODUCTS, False, 2000)
    assert re.fullmatch(rf"/services/data/v{VERSION}/query/01g\w{{12}}-2000", first["nextRecordsUrl"])
    second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert (second["done"], len(second["records"]), "nextRecordsUrl" in second) == (True, 50, False)
    assert second["records"][-1]["Name"] == f"Item {PRODUCTS - 1:04d}"


def test_query_all_follows_pages_of_the_requested_batch_size(world: World) -> None:
    sf = world.sf
    header = {"Sforce-Query-Options": "batchSize=300"}
    first = sf.query("SELECT Name FROM Product2 WHERE ProductCode = 'C3'", headers=header)
    assert (first["totalSize"], len(first["records"])) == (293, 293)
    everything = sf.query_all("SELECT Name, ProductCode FROM Product2 ORDER BY Name DESC", headers=header)
    assert everything["totalSize"] == PRODUCTS
    assert [r["Name"] for r in everything["records"]] == [f"Item {n:04d}" for n in reversed(range(PRODUCTS))]
    small = sf.query("SELECT Name FROM Product2", headers={"Sforce-Query-Options": "batchSize=10"})
    assert len(small["records"]) == 200  # the platform's minimum
    later = sf.query_more(small["nextRecordsUrl"], identifier_is_url=True)
    assert (len(later["records"]), later["nextRecordsUrl"].endswith("-400")) == (200, True)


def test_unknown_locators_are_refused(world: World) -> None:
    response = raw(world.server, "GET", data("/query/01g000000000000-2000"))
    assert (response.status_code, response.json()) == (400, [{"message": "invalid query locator",
                                                               "errorCode": "INVALID_QUERY_LOCATOR"}])


# -- errors ----------------------------------------------------------------------------------------------

_HINT = "Please reference your WSDL or the describe call for the appropriate names."
ERROR_CASES: list[tuple[str, str, str]] = [
    ("SELECT Id FROM Contact WHERE", "MALFORMED_QUERY",
     "\nSELECT Id FROM Contact WHERE\n                            ^\nERROR at Row:1:Column:29\nunexpected token: <EOF>"),
    ("SELECT Id FROM Contact WHERE LastName = 'a' AND FirstName = 'b' OR Email = null", "MALFORMED_QUERY",
     "\nSELECT Id FROM Contact WHERE LastName = 'a' AND FirstName = 'b' OR Email = null\n" + " " * 64 +
     "^\nERROR at Row:1:Column:65\nunexpected token: 'OR'"),
    ("SELECT Id, Nope__c FROM Contact", "INVALID_FIELD",
     "\nSELECT Id, Nope__c FROM Contact\n           ^\nERROR at Row:1:Column:12\nNo such column 'Nope__c' on entity "
     "'Contact'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field "
     "name. " + _HINT),
    ("SELECT Id\nFROM Contact\nWHERE Hidden__c = 'x'", "INVALID_FIELD",
     "\nWHERE Hidden__c = 'x'\n      ^\nERROR at Row:3:Column:7\nNo such column 'Hidden__c' on entity 'Contact'. "
     "If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. " + _HINT),
    ("SELECT Nope__r.Name FROM Contact", "INVALID_FIELD",
     "\nSELECT Nope__r.Name FROM Contact\n       ^\nERROR at Row:1:Column:8\nDidn't understand relationship 'Nope__r' "
     "in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom "
     "relationship name. " + _HINT),
    ("SELECT Id FROM Nope__c", "INVALID_TYPE",
     "\nSELECT Id FROM Nope__c\n               ^\nERROR at Row:1:Column:16\nsObject type 'Nope__c' is not supported. "
     "If you are attempting to use a custom object, be sure to append the '__c' after the entity name. " + _HINT),
    ("SELECT Id FROM Contact WHERE Birthdate = '2020-01-01'", "INVALID_QUERY_FILTER_OPERATOR",
     "\nSELECT Id FROM Contact WHERE Birthdate = '2020-01-01'\n" + " " * 41 + "^\nERROR at Row:1:Column:42\n"
     "value of filter criterion for field 'Birthdate' must be of type date and should not be enclosed in quotes"),
    ("SELECT Id FROM Contact WHERE CreatedDate > 2020-01-01", "INVALID_QUERY_FILTER_OPERATOR",
     "\nSELECT Id FROM Contact WHERE CreatedDate > 2020-01-01\n" + " " * 43 + "^\nERROR at Row:1:Column:44\n"
     "value of filter criterion for field 'CreatedDate' must be of type dateTime and should not be enclosed in "
     "quotes"),
    ("SELECT Id FROM Contact WHERE LastName = 5", "INVALID_QUERY_FILTER_OPERATOR",
     "\nSELECT Id FROM Contact WHERE LastName = 5\n" + " " * 40 + "^\nERROR at Row:1:Column:41\n"
     "value of filter criterion for field 'LastName' must be of type string and should be enclosed in quotes"),
    ("SELECT Id FROM Contact WHERE AccountId = 'abc'", "INVALID_QUERY_FILTER_OPERATOR",
     "\nSELECT Id FROM Contact WHERE AccountId = 'abc'\n" + " " * 41 + "^\nERROR at Row:1:Column:42\n"
     "invalid ID field: abc"),
    ("SELECT Id FROM Contact WHERE Description = 'x'", "INVALID_FIELD",
     "\nSELECT Id FROM Contact WHERE Description = 'x'\n" + " " * 29 + "^\nERROR at Row:1:Column:30\n"
     "field 'Description' can not be filtered in a query call"),
    ("SELECT Id FROM Contact GROUP BY LastName", "MALFORMED_QUERY",
     "\nSELECT Id FROM Contact GROUP BY LastName\n" + " " * 23 + "^\nERROR at Row:1:Column:24\n"
     "unexpected token: 'GROUP' (the sandbox's SOQL subset has no GROUP BY)"),
    ("SELECT Id FROM Contact WHERE LastName = 'a\\q'", "MALFORMED_QUERY",
     "\nSELECT Id FROM Contact WHERE LastName = 'a\\q'\n" + " " * 40 + "^\nERROR at Row:1:Column:41\n"
     "Invalid string literal 'a\\q'. Illegal character sequence '\\q' in string literal."),
    ("SELECT Id FROM Contact OFFSET 2001", "NUMBER_OUTSIDE_VALID_RANGE", "Maximum SOQL offset allowed is 2000"),
]


@pytest.mark.parametrize(("soql", "code", "message"), ERROR_CASES)
def test_errors_point_at_the_problem(world: World, soql: str, code: str, message: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as refused:
        world.sf.query(soql)
    assert refused.value.content == [{"message": message, "errorCode": code}]


def test_a_query_needs_its_text(world: World) -> None:
    response = raw(world.server, "GET", data("/query"))
    assert (response.status_code, response.json()[0]["errorCode"]) == (400, "MALFORMED_QUERY")
