"""Notes with attachments, Sales rows, service protection, injected faults and call counters
on the Dataverse sandbox."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sandbox_dataverse_fixture import (  # noqa: F401 - dataverse_tls serves as `dv_tls`
    client,
    dataverse_tls,
    provision,
    provisioned,
    sign_in,
    start,
)

from engine.sandbox.dataverse import BASE_CURRENCY_ID, DEFAULT_PRICE_LEVEL_ID, DataverseApp
from engine.sandbox.server import EmulatorServer, FaultPlan
from engine.sandbox.tls import SandboxTLS


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory, dv_tls: SandboxTLS,
            ) -> Iterator[tuple[EmulatorServer, httpx.Client]]:
    with provisioned(tmp_path_factory.mktemp("dvl"), dv_tls) as running:
        yield running


@pytest.fixture()
def api(sandbox: tuple[EmulatorServer, httpx.Client]) -> httpx.Client:
    return sandbox[1]


def new_id(response: httpx.Response) -> str:
    assert response.status_code == 204, response.text
    return response.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")


# -- annotations ------------------------------------------------------------------------------------

def test_a_note_carries_a_document_on_its_contact(api: httpx.Client) -> None:
    contact = new_id(api.post("contacts", json={"lastname": "Files"}))
    content = base64.b64encode(b"%PDF-1.4 hello").decode()
    note = new_id(api.post("annotations", json={
        "subject": "Referral", "notetext": "see file", "filename": "referral.pdf", "mimetype": "application/pdf",
        "documentbody": content, "objectid_contact@odata.bind": f"/contacts({contact})"}))
    row = api.get(f"annotations({note})", params={
        "$select": "isdocument,filesize,objecttypecode,_objectid_value,filename"}).json()
    assert row["isdocument"] is True and row["filesize"] == len(b"%PDF-1.4 hello")
    assert (row["objecttypecode"], row["_objectid_value"]) == ("contact", contact)
    raw = api.get(f"annotations({note})/documentbody/$value")
    assert raw.status_code == 200 and base64.b64decode(raw.text) == b"%PDF-1.4 hello"
    wrong = api.post("annotations", json={"objectid@odata.bind": f"/contacts({contact})"})
    assert wrong.json()["error"]["code"] == "0x80048d19"


def test_a_document_over_maxuploadfilesize_in_base64_is_refused(api: httpx.Client) -> None:
    limit = api.get("organizations", params={"$select": "maxuploadfilesize"}).json()["value"][0]["maxuploadfilesize"]
    assert limit == 5_242_880
    fits = "A" * limit
    assert api.post("annotations", json={"filename": "fits.bin", "documentbody": fits}).status_code == 204
    over = api.post("annotations", json={"filename": "big.bin", "documentbody": fits + "AAAA"})
    assert over.status_code == 400
    assert over.json()["error"]["code"] == "0x80044a02"
    assert "Attachment file size is too big" in over.json()["error"]["message"]


# -- Sales rows -------------------------------------------------------------------------------------

def test_an_opportunity_with_catalog_and_write_in_lines(api: httpx.Client) -> None:
    contact = new_id(api.post("contacts", json={"lastname": "Buyer"}))
    opportunity = new_id(api.post("opportunities", json={
        "name": "Invoice 1", "customerid_contact@odata.bind": f"/contacts({contact})",
        "pricelevelid@odata.bind": f"/pricelevels({DEFAULT_PRICE_LEVEL_ID})", "isrevenuesystemcalculated": False,
        "estimatedvalue": 120.0, "estimatedclosedate": "2024-03-05"}))
    line = new_id(api.post("opportunityproducts", json={
        "opportunityid@odata.bind": f"/opportunities({opportunity})", "isproductoverridden": True,
        "productdescription": "Consult", "priceperunit": 60.0, "quantity": 2, "manualdiscountamount": 10.0,
        "tax": 5.0}))
    amounts = api.get(f"opportunityproducts({line})", params={"$select": "baseamount,extendedamount"}).json()
    assert (amounts["baseamount"], amounts["extendedamount"]) == (120.0, 115.0)
    orphan = api.post("opportunityproducts", json={"isproductoverridden": True, "productdescription": "X"})
    assert orphan.status_code == 400 and "opportunityid" in orphan.json()["error"]["message"]
    currency = api.get(f"opportunities({opportunity})", params={"$select": "_transactioncurrencyid_value"})
    assert currency.json()["_transactioncurrencyid_value"] == BASE_CURRENCY_ID  # the base currency by default
    product = new_id(api.post("products", json={"name": "Brace", "productnumber": "B-1"}))
    assert api.get(f"products({product})").json()["statecode"] == 2  # new products are Draft


# -- service protection, faults, counters -----------------------------------------------------------

def test_too_many_requests_in_the_window_get_429_with_retry_after(tmp_path: Path, dv_tls: SandboxTLS) -> None:
    clock = Clock()
    server, env = start(tmp_path, dv_tls, requests_per_window=5, window_seconds=300, clock=clock)
    try:
        with client(server, dv_tls, sign_in(server, dv_tls)["access_token"]) as http:
            assert all(http.get("WhoAmI").status_code == 200 for _ in range(5))
            clock.now += 100
            refused = http.get("WhoAmI")
            assert refused.status_code == 429
            assert refused.headers["Retry-After"] == "200"
            assert refused.json()["error"] == {
                "code": "0x80072322",
                "message": "Number of requests exceeded the limit of 5 over time window of 300 seconds."}
            clock.now += 200
            assert http.get("WhoAmI").status_code == 200
            clock.now += 3600
            assert http.get("WhoAmI").status_code == 401  # the token expired
    finally:
        server.stop()
        env.close()


@pytest.mark.parametrize(("plan", "status"), [(FaultPlan(rate_429=1.0, paths=("/api/",)), 429),
                                              (FaultPlan(rate_503=1.0, paths=("/api/",)), 503)])
def test_injected_faults_answer_as_dataverse(tmp_path: Path, dv_tls: SandboxTLS, plan: FaultPlan,
                                             status: int) -> None:
    server, env = start(tmp_path, dv_tls, faults=plan)
    try:
        with client(server, dv_tls, sign_in(server, dv_tls)["access_token"]) as http:
            response = http.post("contacts", json={"lastname": "Never"})
            assert response.status_code == status
            assert "Retry-After" in response.headers
            assert response.json()["error"]["code"]
        assert env.count("contact") == 0
        assert server.stats.faults[str(status)] == 1
    finally:
        server.stop()
        env.close()


def test_a_dropped_connection_is_a_transport_error(tmp_path: Path, dv_tls: SandboxTLS) -> None:
    server, env = start(tmp_path, dv_tls, faults=FaultPlan(rate_reset=1.0, paths=("/api/",)))
    try:
        with client(server, dv_tls, sign_in(server, dv_tls)["access_token"]) as http, \
                pytest.raises(httpx.TransportError):
            http.get("WhoAmI")
    finally:
        server.stop()
        env.close()


def test_every_call_is_counted(sandbox: tuple[EmulatorServer, httpx.Client]) -> None:
    server, api = sandbox
    app = server.app
    assert isinstance(app, DataverseApp)
    before, requests = app.calls["GET contacts"], server.stats.requests
    api.get("contacts", params={"$top": "1"})
    api.get("contacts", params={"$select": "nosuch"})
    assert app.calls["GET contacts"] == before + 2
    assert server.stats.requests == requests + 2


def test_parallel_upserts_by_key_make_one_row_per_key(api: httpx.Client) -> None:
    def work(worker: int) -> list[int]:
        return [api.patch(f"contacts(fs_clinikoid='par-{n}')", json={"lastname": f"W{worker}"}).status_code
                for n in range(20)]

    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = [c for result in pool.map(work, range(6)) for c in result]
    assert set(codes) == {204}
    rows = api.get("contacts", params={"$filter": "startswith(fs_clinikoid, 'par-')"}).json()["value"]
    assert len(rows) == 20
