"""The Dataverse sandbox through the real clients: msal for the token, httpx for the Web API.

Sign-in, WhoAmI, CRUD, upsert by alternate key, @odata.bind, the platform's
error codes, queries and paging, created-on overrides, task states.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sandbox_dataverse_fixture import (  # noqa: F401 - dataverse_tls serves as `dv_tls`
    client,
    dataverse_tls,
    provision,
    sign_in,
    start,
    trust,
)

from engine.sandbox.dataverse import (
    APPLICATION_USER_ID,
    BUSINESS_UNIT_ID,
    DEFAULT_USERS,
    ORGANIZATION_ID,
    Environment,
)
from engine.sandbox.server import EmulatorServer
from engine.sandbox.tls import SandboxTLS

GUID = "00000000-0000-0000-0000-0000000000aa"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory, dv_tls: SandboxTLS,
            ) -> Iterator[tuple[EmulatorServer, Environment]]:
    server, env = start(tmp_path_factory.mktemp("dv"), dv_tls)
    yield server, env
    server.stop()
    env.close()


@pytest.fixture(scope="module")
def api(sandbox: tuple[EmulatorServer, Environment], dv_tls: SandboxTLS) -> Iterator[httpx.Client]:
    result = sign_in(sandbox[0], dv_tls)
    with client(sandbox[0], dv_tls, result["access_token"]) as http:
        provision(http)
        yield http


def entity_id(response: httpx.Response) -> str:
    return response.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")


# -- sign-in ----------------------------------------------------------------------------------------

def test_msal_gets_a_token_and_whoami_names_the_application_user(api: httpx.Client) -> None:
    response = api.get("WhoAmI")
    assert response.status_code == 200
    assert response.json()["UserId"] == APPLICATION_USER_ID
    assert response.json()["BusinessUnitId"] == BUSINESS_UNIT_ID
    assert response.json()["OrganizationId"] == ORGANIZATION_ID


def test_a_wrong_secret_comes_back_from_msal_as_an_error_dict(sandbox: tuple[EmulatorServer, Environment],
                                                              dv_tls: SandboxTLS) -> None:
    result = sign_in(sandbox[0], dv_tls, secret="not-the-secret")
    assert result["error"] == "invalid_client"
    assert "AADSTS7000215" in result["error_description"]
    assert "access_token" not in result


def test_the_web_api_refuses_requests_without_a_valid_token(sandbox: tuple[EmulatorServer, Environment],
                                                            dv_tls: SandboxTLS) -> None:
    server = sandbox[0]
    for headers in ({}, {"Authorization": "Bearer forged"}):
        response = httpx.get(f"{server.base_url}/api/data/v9.2/contacts", headers=headers,
                             verify=trust(dv_tls))
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer authorization_uri=")


def test_organizations_tell_the_upload_limit(api: httpx.Client) -> None:
    rows = api.get("organizations", params={"$select": "maxuploadfilesize"}).json()["value"]
    assert rows[0]["maxuploadfilesize"] == 5_242_880


# -- create, read, update, delete -------------------------------------------------------------------

def test_create_returns_204_with_the_entity_id_and_the_row_reads_back(api: httpx.Client) -> None:
    created = api.post("contacts", json={"firstname": "Ada", "lastname": "Ng", "birthdate": "1980-05-12"})
    assert created.status_code == 204
    row_id = entity_id(created)
    row = api.get(f"contacts({row_id})", params={"$select": "fullname,birthdate,_ownerid_value"}).json()
    assert row["fullname"] == "Ada Ng"
    assert row["birthdate"] == "1980-05-12"
    assert row["_ownerid_value"] == APPLICATION_USER_ID
    assert row["contactid"] == row_id and row["@odata.etag"].startswith('W/"')
    assert "lastname" not in row


def test_return_representation_answers_201_with_the_row(api: httpx.Client) -> None:
    response = api.post("accounts", params={"$select": "name"}, json={"name": "Clinic"},
                        headers={"Prefer": "return=representation"})
    assert response.status_code == 201
    assert response.json()["name"] == "Clinic"
    assert response.headers["Preference-Applied"] == "return=representation"


def test_patch_updates_and_delete_removes(api: httpx.Client) -> None:
    row_id = entity_id(api.post("contacts", json={"lastname": "Old"}))
    before = api.get(f"contacts({row_id})").json()["@odata.etag"]
    assert api.patch(f"contacts({row_id})", json={"lastname": "New"}, headers={"If-Match": "*"}).status_code == 204
    after = api.get(f"contacts({row_id})").json()
    assert after["lastname"] == "New" and after["@odata.etag"] != before
    assert api.delete(f"contacts({row_id})").status_code == 204
    missing = api.get(f"contacts({row_id})")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "0x80040217"
    assert api.delete(f"contacts({row_id})").status_code == 404


def test_if_match_star_never_creates_and_if_none_match_star_never_updates(api: httpx.Client) -> None:
    response = api.patch(f"contacts({GUID})", json={"lastname": "X"}, headers={"If-Match": "*"})
    assert response.status_code == 404
    assert "Does Not Exist" in response.json()["error"]["message"]
    created = api.patch(f"contacts({GUID})", json={"lastname": "X"}, headers={"If-None-Match": "*"})
    assert created.status_code == 204
    again = api.patch(f"contacts({GUID})", json={"lastname": "Y"}, headers={"If-None-Match": "*"})
    assert again.status_code == 412
    assert again.json()["error"]["message"] == "A record with matching key values already exists."
    assert api.get(f"contacts({GUID})").json()["lastname"] == "X"


def test_a_stale_etag_is_refused_with_412(api: httpx.Client) -> None:
    row_id = entity_id(api.post("contacts", json={"lastname": "Etag"}))
    etag = api.get(f"contacts({row_id})").json()["@odata.etag"]
    api.patch(f"contacts({row_id})", json={"lastname": "Changed"})
    stale = api.patch(f"contacts({row_id})", json={"lastname": "Lost"}, headers={"If-Match": etag})
    assert stale.status_code == 412


# -- upsert by alternate key ------------------------------------------------------------------------

def test_upsert_by_alternate_key_creates_then_updates_the_same_row(api: httpx.Client) -> None:
    prefer = {"Prefer": "return=representation"}
    first = api.patch("contacts(fs_clinikoid='42')", params={"$select": "contactid"},
                      json={"firstname": "Al", "lastname": "One"}, headers=prefer)
    assert first.status_code == 201
    second = api.patch("contacts(fs_clinikoid='42')", params={"$select": "contactid"},
                       json={"lastname": "Two"}, headers=prefer)
    assert second.status_code == 200
    assert second.json()["contactid"] == first.json()["contactid"]
    plain = api.patch("contacts(fs_clinikoid='42')", json={"lastname": "Three"})
    assert plain.status_code == 204
    assert plain.headers["OData-EntityId"].endswith("contacts(fs_clinikoid='42')")
    rows = api.get("contacts", params={"$filter": "fs_clinikoid eq '42'"}).json()["value"]
    assert [(r["firstname"], r["lastname"]) for r in rows] == [("Al", "Three")]


def test_a_post_with_a_taken_alternate_key_is_a_duplicate(api: httpx.Client) -> None:
    api.patch("accounts(fs_clinikoid='dup-1')", json={"name": "First"})
    duplicate = api.post("accounts", json={"name": "Second", "fs_clinikoid": "dup-1"})
    assert duplicate.status_code == 412
    assert duplicate.json()["error"]["code"] == "0x80040237"


def test_a_key_that_is_not_a_defined_alternate_key_is_refused(api: httpx.Client) -> None:
    response = api.patch("contacts(lastname='Ng')", json={"firstname": "A"})
    assert response.status_code == 400
    assert "key in the request URI is not valid" in response.json()["error"]["message"]


# -- lookups ----------------------------------------------------------------------------------------

def test_bind_by_id_and_by_alternate_key_sets_the_lookup(api: httpx.Client) -> None:
    account = entity_id(api.post("accounts", json={"name": "Parent", "fs_clinikoid": "acc-7"}))
    by_id = entity_id(api.post("contacts", json={"lastname": "A",
                                                 "parentcustomerid_account@odata.bind": f"/accounts({account})"}))
    by_key = entity_id(api.post("contacts", json={
        "lastname": "B", "parentcustomerid_account@odata.bind": "/accounts(fs_clinikoid='acc-7')"}))
    for row_id in (by_id, by_key):
        row = api.get(f"contacts({row_id})", params={"$select": "_parentcustomerid_value"},
                      headers={"Prefer": 'odata.include-annotations="*"'}).json()
        assert row["_parentcustomerid_value"] == account
        assert row["_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "account"
    children = api.get("contacts", params={"$filter": f"_parentcustomerid_value eq {account}"}).json()["value"]
    assert {c["contactid"] for c in children} == {by_id, by_key}


def test_a_bind_through_the_logical_name_is_an_undeclared_property(api: httpx.Client) -> None:
    account = entity_id(api.post("accounts", json={"name": "P"}))
    response = api.post("contacts", json={"lastname": "A", "parentcustomerid@odata.bind": f"/accounts({account})"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "0x80048d19"
    assert "undeclared property 'parentcustomerid'" in response.json()["error"]["message"]


def test_a_bind_to_a_missing_row_is_404(api: httpx.Client) -> None:
    for reference in (f"/accounts({GUID})", "/accounts(fs_clinikoid='nobody')"):
        response = api.post("contacts", json={"lastname": "A", "parentcustomerid_account@odata.bind": reference})
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "0x80040217"


def test_polymorphic_regarding_and_owner_binds(api: httpx.Client) -> None:
    contact = entity_id(api.post("contacts", json={"lastname": "Patient"}))
    owner = DEFAULT_USERS[0].id
    task = entity_id(api.post("tasks", json={"subject": "Consult",
                                             "regardingobjectid_contact_task@odata.bind": f"/contacts({contact})",
                                             "ownerid@odata.bind": f"/systemusers({owner})"}))
    row = api.get(f"tasks({task})", params={"$select": "_regardingobjectid_value,_ownerid_value"}).json()
    assert (row["_regardingobjectid_value"], row["_ownerid_value"]) == (contact, owner)
    wrong = api.post("tasks", json={"regardingobjectid_contact@odata.bind": f"/contacts({contact})"})
    assert wrong.json()["error"]["code"] == "0x80048d19"


def test_a_disabled_user_cannot_own_rows(api: httpx.Client) -> None:
    disabled = next(u for u in DEFAULT_USERS if u.disabled)
    response = api.post("contacts", json={"lastname": "A", "ownerid@odata.bind": f"/systemusers({disabled.id})"})
    assert response.status_code == 400
    assert "disabled" in response.json()["error"]["message"]


# -- validation -------------------------------------------------------------------------------------

def test_over_length_strings_unknown_options_and_properties_are_refused(api: httpx.Client) -> None:
    too_long = api.post("tasks", json={"subject": "x" * 201})
    assert too_long.status_code == 400
    assert too_long.json()["error"]["code"] == "0x80044331"
    assert "'subject' attribute of the 'task' entity" in too_long.json()["error"]["message"]
    assert "'200'" in too_long.json()["error"]["message"]
    option = api.post("contacts", json={"lastname": "A", "gendercode": 3})
    assert option.status_code == 400 and option.json()["error"]["code"] == "0x80044331"
    unknown = api.post("accounts", json={"Name": "Wrong case"})
    assert unknown.status_code == 400
    assert unknown.json()["error"]["message"] == ("Invalid property 'Name' was found in entity "
                                                  "'Microsoft.Dynamics.CRM.account'.")


def test_only_system_required_columns_are_enforced(api: httpx.Client) -> None:
    assert api.post("tasks", json={"description": "no subject"}).status_code == 204  # ApplicationRequired
    missing = api.post("products", json={"name": "Widget"})  # productnumber is SystemRequired
    assert missing.status_code == 400
    assert "productnumber" in missing.json()["error"]["message"]
    assert api.post("products", json={"name": "Widget", "productnumber": "W-1"}).status_code == 204


def test_an_unknown_entity_set_is_404(api: httpx.Client) -> None:
    response = api.get("Contacts")
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Resource not found for the segment 'Contacts'."


# -- created dates and task states ------------------------------------------------------------------

def test_overriddencreatedon_sets_createdon_on_create_only(api: httpx.Client) -> None:
    row_id = entity_id(api.post("contacts", json={"lastname": "Old", "overriddencreatedon": "2015-03-01T09:30:00Z"}))
    row = api.get(f"contacts({row_id})", params={"$select": "createdon,overriddencreatedon"}).json()
    assert row["createdon"] == "2015-03-01T09:30:00Z"
    assert row["overriddencreatedon"] > "2020"  # the real insert time
    api.patch(f"contacts({row_id})", json={"overriddencreatedon": "2001-01-01T00:00:00Z"})
    assert api.get(f"contacts({row_id})").json()["createdon"] == "2015-03-01T09:30:00Z"
    api.patch("contacts(fs_clinikoid='occ')", json={"lastname": "U"})
    api.patch("contacts(fs_clinikoid='occ')", json={"overriddencreatedon": "2001-01-01T00:00:00Z"})
    upserted = api.get("contacts", params={"$filter": "fs_clinikoid eq 'occ'"}).json()["value"][0]
    assert upserted["createdon"] > "2020"


def test_tasks_are_created_open_closed_by_a_patch_then_read_only(api: httpx.Client) -> None:
    closed = api.post("tasks", json={"subject": "Done", "statecode": 1, "statuscode": 5})
    assert closed.status_code == 400
    task = entity_id(api.post("tasks", json={"subject": "Visit"}))
    assert api.get(f"tasks({task})").json()["statuscode"] == 2
    mismatched = api.patch(f"tasks({task})", json={"statecode": 2, "statuscode": 5})
    assert mismatched.status_code == 400
    assert api.patch(f"tasks({task})", json={"statecode": 2, "statuscode": 6}).status_code == 204
    row = api.get(f"tasks({task})").json()
    assert (row["statecode"], row["statuscode"]) == (2, 6)
    edit = api.patch(f"tasks({task})", json={"subject": "Changed"})
    assert edit.status_code == 400
    assert "closed" in edit.json()["error"]["message"]


def test_rows_definitions_and_tokens_survive_a_restart(tmp_path: Path, dv_tls: SandboxTLS) -> None:
    server, env = start(tmp_path, dv_tls)
    token = sign_in(server, dv_tls)["access_token"]
    with client(server, dv_tls, token) as http:
        provision(http)
        http.patch("contacts(fs_clinikoid='p1')", json={"lastname": "Kept"})
    server.stop()
    env.close()
    server, env = start(tmp_path, dv_tls)
    try:
        with client(server, dv_tls, token) as http:
            rows = http.get("contacts", params={"$filter": "fs_clinikoid eq 'p1'", "$select": "lastname"})
            assert rows.status_code == 200
            assert [r["lastname"] for r in rows.json()["value"]] == ["Kept"]
            assert http.get("systemusers", params={"$select": "fullname"}).json()["value"]
            assert len(http.get("systemusers").json()["value"]) == 1 + len(DEFAULT_USERS)  # seeded once
    finally:
        server.stop()
        env.close()


def test_the_package_exports_the_factory_and_constants_a_loader_needs() -> None:
    import inspect

    import engine.sandbox.dataverse as dataverse

    assert {"start_dataverse_sandbox", "TENANT_ID", "CLIENT_ID", "CLIENT_SECRET", "web_api_url",
            "Environment", "DataverseApp"} <= set(dataverse.__all__)
    assert all(hasattr(dataverse, name) for name in dataverse.__all__)
    parameters = inspect.signature(dataverse.start_dataverse_sandbox).parameters
    assert {"tls", "port", "faults", "requests_per_window", "window_seconds"} <= set(parameters)
    assert dataverse.web_api_url("https://127.0.0.1:1") == "https://127.0.0.1:1/api/data/v9.2/"
