"""Table definitions on the Dataverse sandbox: reading EntityDefinitions, creating tables, columns,
relationships and alternate keys, then writing rows to what was created (as provisioning does)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sandbox_dataverse_fixture import (  # noqa: F401 - dataverse_tls serves as `dv_tls`
    client,
    dataverse_tls,
    provision,
    sign_in,
    start,
)

from engine.sandbox.dataverse import Environment
from engine.sandbox.server import EmulatorServer
from engine.sandbox.tls import SandboxTLS


def label(text: str) -> dict[str, Any]:
    return {"@odata.type": "Microsoft.Dynamics.CRM.Label",
            "LocalizedLabels": [{"@odata.type": "Microsoft.Dynamics.CRM.LocalizedLabel", "Label": text,
                                 "LanguageCode": 1033}]}


def column(kind: str, schema_name: str, **extra: Any) -> dict[str, Any]:
    return {"@odata.type": f"Microsoft.Dynamics.CRM.{kind}AttributeMetadata", "SchemaName": schema_name,
            "DisplayName": label(schema_name), "RequiredLevel": {"Value": "None"}, **extra}


PRACTITIONER = {
    "@odata.type": "Microsoft.Dynamics.CRM.EntityMetadata", "SchemaName": "fs_Practitioner",
    "DisplayName": label("Practitioner"), "DisplayCollectionName": label("Practitioners"),
    "OwnershipType": "UserOwned", "IsActivity": False, "HasActivities": False, "HasNotes": True,
    "Attributes": [column("String", "fs_Name", MaxLength=100, IsPrimaryName=True, FormatName={"Value": "Text"})],
}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory, dv_tls: SandboxTLS,
            ) -> Iterator[tuple[Path, httpx.Client]]:
    folder = tmp_path_factory.mktemp("dvm")
    server: EmulatorServer
    env: Environment
    server, env = start(folder, dv_tls, key_delay=3600)
    with client(server, dv_tls, sign_in(server, dv_tls)["access_token"]) as http:
        provision(http)
        yield folder, http
    server.stop()
    env.close()


@pytest.fixture()
def api(sandbox: tuple[Path, httpx.Client]) -> httpx.Client:
    return sandbox[1]


def test_entity_definitions_filtered_by_logical_name(api: httpx.Client) -> None:
    response = api.get("EntityDefinitions", params={
        "$select": "LogicalName,EntitySetName,PrimaryIdAttribute", "$filter": "LogicalName eq 'task'"})
    assert response.status_code == 200
    [task] = response.json()["value"]
    assert (task["EntitySetName"], task["PrimaryIdAttribute"]) == ("tasks", "activityid")
    assert "PrimaryNameAttribute" not in task


def test_expand_attributes_and_keys(api: httpx.Client) -> None:
    response = api.get("EntityDefinitions(LogicalName='contact')", params={
        "$select": "LogicalName", "$expand": "Attributes($select=LogicalName,MaxLength),Keys"})
    body = response.json()
    lengths = {a["LogicalName"]: a.get("MaxLength") for a in body["Attributes"]}
    assert lengths["lastname"] == 50 and lengths["fs_clinikoid"] == 40
    assert [k["KeyAttributes"] for k in body["Keys"]] == [["fs_clinikoid"]]
    assert body["Keys"][0]["EntityKeyIndexStatus"] == "Active"


def test_many_to_one_relationships_name_the_navigation_properties(api: httpx.Client) -> None:
    rows = api.get("EntityDefinitions(LogicalName='task')/ManyToOneRelationships", params={
        "$select": "ReferencingAttribute,ReferencingEntityNavigationPropertyName"}).json()["value"]
    navigation = {(r["ReferencingAttribute"], r["ReferencingEntityNavigationPropertyName"]) for r in rows}
    assert ("regardingobjectid", "regardingobjectid_contact_task") in navigation
    assert ("ownerid", "ownerid") in navigation


def test_attribute_definitions_carry_option_sets_and_required_levels(api: httpx.Client) -> None:
    attributes = api.get("EntityDefinitions(LogicalName='product')/Attributes").json()["value"]
    by_name = {a["LogicalName"]: a for a in attributes}
    assert by_name["productnumber"]["RequiredLevel"]["Value"] == "SystemRequired"
    assert [o["Value"] for o in by_name["productstructure"]["OptionSet"]["Options"]] == [1, 2, 3]
    assert api.get("EntityDefinitions(LogicalName='nosuch')").status_code == 404


def test_a_new_table_with_columns_a_lookup_and_a_key_takes_rows(api: httpx.Client) -> None:
    created = api.post("EntityDefinitions", json=PRACTITIONER, headers={"MSCRM.SolutionUniqueName": "flitstack"})
    assert created.status_code == 204
    assert "/EntityDefinitions(" in created.headers["OData-EntityId"]
    table = api.get("EntityDefinitions(LogicalName='fs_practitioner')", params={
        "$select": "EntitySetName,PrimaryIdAttribute,PrimaryNameAttribute"}).json()
    assert (table["EntitySetName"], table["PrimaryIdAttribute"], table["PrimaryNameAttribute"]) == (
        "fs_practitioners", "fs_practitionerid", "fs_name")
    columns = [
        column("String", "fs_ClinikoId", MaxLength=40), column("Memo", "fs_Notes", MaxLength=4000),
        column("Integer", "fs_Visits", MinValue=0, MaxValue=1000), column("Decimal", "fs_Rating", Precision=2),
        column("Money", "fs_Fee", PrecisionSource=2), column("DateTime", "fs_Registered", Format="DateOnly"),
        column("Boolean", "fs_Active", OptionSet={"TrueOption": {"Value": 1}, "FalseOption": {"Value": 0}}),
        column("Picklist", "fs_Profession", OptionSet={"Options": [{"Value": 100000000}, {"Value": 100000001}]}),
    ]
    for body in columns:
        response = api.post("EntityDefinitions(LogicalName='fs_practitioner')/Attributes", json=body)
        assert response.status_code == 204, response.text
    relationship = {
        "@odata.type": "Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata",
        "SchemaName": "fs_practitioner_contact", "ReferencedEntity": "fs_practitioner",
        "ReferencedAttribute": "fs_practitionerid", "ReferencingEntity": "contact",
        "Lookup": {"@odata.type": "Microsoft.Dynamics.CRM.LookupAttributeMetadata",
                   "SchemaName": "fs_PractitionerId", "DisplayName": label("Practitioner")}}
    assert api.post("RelationshipDefinitions", json=relationship).status_code == 204
    key = {"SchemaName": "fs_practitioner_key", "DisplayName": label("Cliniko ID"), "KeyAttributes": ["fs_clinikoid"]}
    assert api.post("EntityDefinitions(LogicalName='fs_practitioner')/Keys", json=key).status_code == 204

    early = api.patch("fs_practitioners(fs_clinikoid='p1')", json={"fs_name": "Early"})
    assert early.status_code == 400 and "not built yet" in early.json()["error"]["message"]
    statuses = [api.get("EntityDefinitions(LogicalName='fs_practitioner')/Keys").json()["value"][0]
                ["EntityKeyIndexStatus"] for _ in range(2)]
    assert statuses == ["Pending", "Active"]

    row = {"fs_name": "Dr Who", "fs_notes": "n", "fs_visits": 3, "fs_rating": 4.5, "fs_fee": 80.0,
           "fs_registered": "2020-02-03", "fs_active": True, "fs_profession": 100000001}
    assert api.patch("fs_practitioners(fs_clinikoid='p1')", json=row).status_code == 204
    stored = api.get("fs_practitioners", params={"$filter": "fs_clinikoid eq 'p1'"}).json()["value"][0]
    assert {k: stored[k] for k in row} == row
    assert api.patch("fs_practitioners(fs_clinikoid='p2')", json={"fs_profession": 7}).status_code == 400
    assert api.patch("fs_practitioners(fs_clinikoid='p2')", json={"fs_visits": 1001}).status_code == 400

    linked = api.post("contacts", json={"lastname": "Patient",
                                        "fs_PractitionerId@odata.bind": "/fs_practitioners(fs_clinikoid='p1')"})
    assert linked.status_code == 204, linked.text
    patient = api.get("contacts", params={"$filter": "lastname eq 'Patient'",
                                          "$select": "_fs_practitionerid_value"}).json()["value"][0]
    assert patient["_fs_practitionerid_value"] == stored["fs_practitionerid"]


def test_definitions_are_refused_when_malformed(api: httpx.Client) -> None:
    no_primary = {**PRACTITIONER, "SchemaName": "fs_Broken", "Attributes": []}
    assert api.post("EntityDefinitions", json=no_primary).status_code == 400
    bad_type = column("Image", "fs_Photo")
    assert api.post("EntityDefinitions(LogicalName='contact')/Attributes", json=bad_type).status_code == 400
    memo_key = {"SchemaName": "fs_desc_key", "KeyAttributes": ["description"]}
    response = api.post("EntityDefinitions(LogicalName='contact')/Keys", json=memo_key)
    assert response.status_code == 400 and "cannot be part of a key" in response.json()["error"]["message"]
    duplicate = column("String", "fs_ClinikoId", MaxLength=40)
    assert api.post("EntityDefinitions(LogicalName='contact')/Attributes", json=duplicate).status_code == 400


def test_created_definitions_survive_a_restart(tmp_path: Path, dv_tls: SandboxTLS) -> None:
    server, env = start(tmp_path, dv_tls)
    token = sign_in(server, dv_tls)["access_token"]
    with client(server, dv_tls, token) as http:
        assert http.post("EntityDefinitions", json=PRACTITIONER).status_code == 204
        http.post("EntityDefinitions(LogicalName='fs_practitioner')/Attributes",
                  json=column("String", "fs_ClinikoId", MaxLength=40))
        http.post("EntityDefinitions(LogicalName='fs_practitioner')/Keys",
                  json={"SchemaName": "fs_key", "KeyAttributes": ["fs_clinikoid"]})
    server.stop()
    env.close()
    server, env = start(tmp_path, dv_tls)
    try:
        with client(server, dv_tls, token) as http:
            assert http.patch("fs_practitioners(fs_clinikoid='7')", json={"fs_name": "After"}).status_code == 204
            assert http.post("fs_practitioners", json={"fs_name": "Dup", "fs_clinikoid": "7"}).status_code == 412
    finally:
        server.stop()
        env.close()


def test_a_key_added_to_a_table_with_rows_finds_them(api: httpx.Client) -> None:
    column_body = column("String", "fs_LegacyCode", MaxLength=20)
    assert api.post("EntityDefinitions(LogicalName='account')/Attributes", json=column_body).status_code == 204
    before = api.post("accounts", json={"name": "Before Key", "fs_legacycode": "LEG-1"})
    key = {"SchemaName": "fs_legacy_key", "KeyAttributes": ["fs_legacycode"]}
    assert api.post("EntityDefinitions(LogicalName='account')/Keys", json=key).status_code == 204
    for _ in range(2):
        api.get("EntityDefinitions(LogicalName='account')/Keys")
    updated = api.patch("accounts(fs_legacycode='leg-1')", json={"telephone1": "1"},
                        headers={"Prefer": "return=representation"})
    assert updated.status_code == 200  # found case-insensitively: no second account
    assert before.headers["OData-EntityId"].endswith(f"({updated.json()['accountid']})")
