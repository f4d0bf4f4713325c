"""Queries against the Dataverse sandbox: $select, $filter, $orderby, $top, and paging with nextLink."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sandbox_dataverse_fixture import (  # noqa: F401 - dataverse_tls serves as `dv_tls`
    client,
    dataverse_tls,
    sign_in,
    start,
)

from engine.sandbox.dataverse import Environment
from engine.sandbox.server import EmulatorServer
from engine.sandbox.tls import SandboxTLS

PEOPLE = [("Ada", "Ng", 1, "1980-01-02"), ("Bo", "Smith", 2, "1975-06-30"), ("Cy", "smithers", 2, None),
          ("Di", "Jones", 1, "1990-12-31"), ("Ed", "O'Neil", None, "2001-07-04")]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, dv_tls: SandboxTLS) -> Iterator[httpx.Client]:
    server: EmulatorServer
    env: Environment
    server, env = start(tmp_path_factory.mktemp("dvq"), dv_tls)
    with client(server, dv_tls, sign_in(server, dv_tls)["access_token"]) as http:
        for first, last, gender, birth in PEOPLE:
            body = {"firstname": first, "lastname": last, "gendercode": gender, "birthdate": birth}
            assert http.post("contacts", json=body).status_code == 204
        for n in range(23):
            assert http.post("accounts", json={"name": f"Clinic {n:02d}", "accountnumber": str(n)}).status_code == 204
        yield http
    server.stop()
    env.close()


def names(api: httpx.Client, **params: str) -> list[str]:
    response = api.get("contacts", params={"$select": "firstname", **params})
    assert response.status_code == 200, response.text
    return [r["firstname"] for r in response.json()["value"]]


@pytest.mark.parametrize(("filter_text", "expected"), [
    ("lastname eq 'smith'", ["Bo"]),  # strings compare without case
    ("lastname ne 'Ng' and gendercode eq 1", ["Di"]),
    ("gendercode eq 2 or firstname eq 'Ada'", ["Ada", "Bo", "Cy"]),
    ("not (gendercode eq 2)", ["Ada", "Di", "Ed"]),
    ("gendercode eq null", ["Ed"]),
    ("birthdate gt 1980-01-02", ["Di", "Ed"]),
    ("birthdate ge 1980-01-02 and birthdate le 1990-12-31", ["Ada", "Di"]),
    ("birthdate lt 1980-01-01", ["Bo"]),
    ("contains(lastname, 'SMITH')", ["Bo", "Cy"]),
    ("startswith(lastname, 'o''n')", ["Ed"]),
    ("Microsoft.Dynamics.CRM.In(PropertyName='lastname',PropertyValues=['Ng','Jones'])", ["Ada", "Di"]),
])
def test_filters(api: httpx.Client, filter_text: str, expected: list[str]) -> None:
    assert names(api, **{"$filter": filter_text, "$orderby": "firstname"}) == expected


def test_orderby_descending_and_top(api: httpx.Client) -> None:
    assert names(api, **{"$orderby": "lastname desc", "$top": "2"}) == ["Cy", "Bo"]


def test_select_returns_the_key_and_etag_but_not_other_columns(api: httpx.Client) -> None:
    row = api.get("contacts", params={"$select": "lastname", "$top": "1"}).json()["value"][0]
    assert set(row) == {"@odata.etag", "lastname", "contactid"}


@pytest.mark.parametrize("params", [{"$select": "LastName"}, {"$filter": "nosuch eq 1"},
                                    {"$orderby": "parentcustomerid"}, {"$filter": "parentcustomerid eq null"}])
def test_an_unknown_property_is_400(api: httpx.Client, params: dict[str, str]) -> None:
    response = api.get("contacts", params=params)
    assert response.status_code == 400
    assert "Could not find a property named" in response.json()["error"]["message"]


def test_skip_is_not_supported(api: httpx.Client) -> None:
    response = api.get("contacts", params={"$skip": "2"})
    assert response.status_code == 400
    assert "odata.maxpagesize" in response.json()["error"]["message"]


def test_maxpagesize_pages_with_next_links_until_every_row_is_read(api: httpx.Client) -> None:
    first = api.get("accounts", params={"$select": "name"}, headers={"Prefer": "odata.maxpagesize=10"})
    assert first.headers["Preference-Applied"] == "odata.maxpagesize=10"
    pages = [first.json()]
    while "@odata.nextLink" in pages[-1]:
        assert "$skiptoken=" in pages[-1]["@odata.nextLink"]
        pages.append(api.get(pages[-1]["@odata.nextLink"], headers={"Prefer": "odata.maxpagesize=10"}).json())
    assert [len(p["value"]) for p in pages] == [10, 10, 3]
    seen = [r["name"] for p in pages for r in p["value"]]
    assert sorted(seen) == [f"Clinic {n:02d}" for n in range(23)]


@settings(max_examples=15)
@given(size=st.integers(min_value=1, max_value=30), descending=st.booleans())
def test_paging_returns_every_row_exactly_once(api: httpx.Client, size: int, descending: bool) -> None:
    headers = {"Prefer": f"odata.maxpagesize={size}"}
    order = "name desc" if descending else "name"
    page = api.get("accounts", params={"$select": "name", "$orderby": order}, headers=headers).json()
    seen = [r["name"] for r in page["value"]]
    while "@odata.nextLink" in page:
        page = api.get(page["@odata.nextLink"], headers=headers).json()
        assert 0 < len(page["value"]) <= size
        seen += [r["name"] for r in page["value"]]
    assert seen == sorted((f"Clinic {n:02d}" for n in range(23)), reverse=descending)
