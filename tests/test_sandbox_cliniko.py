"""The Cliniko emulator over real HTTPS: envelope and paging, rendering, nested lists, attachments.

Filters, visibility and sorting: test_sandbox_cliniko_filters.py; auth, headers, rate limit and
injected faults: test_sandbox_cliniko_access.py; writes and the store: test_sandbox_cliniko_writes.py.
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sandbox_cliniko_fixture import (  # fixtures are imported by name
    BIG_CHUNK,
    BIG_CHUNKS,
    BIG_ID,
    KEY_TWO,
    SMALL_FILE,
    big_file_digest,
    client,
    row_ids,
)

import engine.sandbox.cliniko as cliniko
from engine.sandbox.cliniko.schema import cliniko_schema
from engine.sandbox.server import EmulatorServer
from engine.sandbox.tls import SandboxTLS


def test_public_api() -> None:
    assert sorted(cliniko.__all__) == sorted([
        "DEFAULT_API_KEY", "URL_TEMPLATE", "ClinikoApp", "ClinikoStore", "LoadableRecord", "ManualClock",
        "api_base_url", "default_api_keys", "start_cliniko_sandbox"])
    assert cliniko.URL_TEMPLATE.format(port=8443, shard="au1") == "https://127.0.0.1:8443/shards/au1/v1"


# -- envelope and paging -------------------------------------------------------------------------------

def test_envelope_has_the_resource_key_total_and_absolute_links(api: httpx.Client,
                                                                 sandbox: tuple[EmulatorServer, Any]) -> None:
    body = api.get("/patients").json()
    assert list(body) == ["patients", "total_entries", "links"]
    assert body["total_entries"] == 9 and isinstance(body["total_entries"], int)
    assert body["links"] == {"self": f"{sandbox[0].base_url}/shards/au1/v1/patients?page=1"}


def test_next_links_keep_every_parameter_until_the_last_page(api: httpx.Client) -> None:
    params = httpx.QueryParams([("per_page", "2"), ("sort", "updated_at,id"), ("q[]", "archived_at:*"),
                                ("q[]", "updated_at:>=2023-01-01T00:00:00Z")])
    response = api.get("/patients", params=params)
    collected: list[str] = []
    pages = 0
    while True:
        body = response.json()
        pages += 1
        assert body["total_entries"] == 11
        collected += [row["id"] for row in body["patients"]]
        query = parse_qs(urlsplit(body["links"]["self"]).query)
        assert query["page"] == [str(pages)]
        assert ("previous" in body["links"]) == (pages > 1)
        if "next" not in body["links"]:
            break
        next_query = parse_qs(urlsplit(body["links"]["next"]).query)
        assert next_query == {"page": [str(pages + 1)], "per_page": ["2"], "sort": ["updated_at,id"],
                              "q[]": ["archived_at:*", "updated_at:>=2023-01-01T00:00:00Z"]}
        response = api.get(body["links"]["next"])
    assert pages == 6 and len(body["patients"]) == 1
    assert collected == ["1", "11", "2", "3", "4", "5", "6", "7", "9", BIG_ID, "12"]


def test_per_page_defaults_to_50(api: httpx.Client) -> None:
    first = api.get("/patients/2/medical_alerts").json()
    assert len(first["medical_alerts"]) == 50 and first["total_entries"] == 60
    assert parse_qs(urlsplit(first["links"]["next"]).query) == {"page": ["2"]}
    second = api.get(first["links"]["next"]).json()
    assert len(second["medical_alerts"]) == 10 and "next" not in second["links"]
    assert len(api.get("/medical_alerts", params={"per_page": "100"}).json()["medical_alerts"]) == 61


@pytest.mark.parametrize("params", [{"per_page": "101"}, {"per_page": "0"}, {"per_page": "-1"},
                                    {"per_page": "ten"}, {"page": "0"}, {"page": "x"}, {"page": "1.5"}])
def test_invalid_paging_answers_400(api: httpx.Client, params: dict[str, str]) -> None:
    response = api.get("/patients", params=params)
    assert response.status_code == 400
    assert "must be an integer" in response.json()["message"]


def test_a_page_past_the_end_is_empty_with_the_true_total(api: httpx.Client) -> None:
    body = api.get("/medical_alerts", params={"page": "5"}).json()
    assert body["medical_alerts"] == [] and body["total_entries"] == 61
    assert "next" not in body["links"] and "page=4" in body["links"]["previous"]


@pytest.mark.parametrize("resource", sorted(cliniko_schema()))
def test_every_catalog_resource_lists(api: httpx.Client, resource: str) -> None:
    response = api.get(f"/{resource}")
    assert response.status_code == 200
    body = response.json()
    assert isinstance(body[resource], list) and isinstance(body["total_entries"], int)


# -- rendering -----------------------------------------------------------------------------------------

def test_patient_renders_link_objects_and_no_relation_ids(api: httpx.Client,
                                                          sandbox: tuple[EmulatorServer, Any]) -> None:
    base = f"{sandbox[0].base_url}/shards/au1/v1"
    patient = api.get("/patients/1").json()
    assert patient["id"] == "1"
    assert patient["concession_type"] == {"links": {"self": f"{base}/concession_types/5"}}
    assert patient["referring_doctor"] == {"links": {"self": f"{base}/contacts/7"}}
    assert patient["merged_with_patient"] is None
    assert patient["invoices"] == {"links": {"self": f"{base}/patients/1/invoices"}}
    assert patient["medical_alerts"] == {"links": {"self": f"{base}/patients/1/medical_alerts"}}
    assert patient["links"] == {"self": f"{base}/patients/1"}
    assert patient["patient_phone_numbers"] == [{"phone_type": "Mobile", "number": "614000001"}]
    assert not {"concession_type_id", "referring_doctor_id", "merged_with_patient_id"} & set(patient)
    assert patient["old_reference_id"] == "OLD-1"  # an ordinary string field that happens to end in _id
    assert list(patient)[-1] == "links"


@pytest.mark.parametrize("resource", sorted(cliniko_schema()))
def test_no_resource_sends_relation_ids_or_connector_fields(api: httpx.Client, resource: str) -> None:
    schema = cliniko_schema()[resource]
    hidden = {r.id_field for r in schema.relations.values()} | {"content_url"}
    rows = api.get(f"/{resource}", params=[("q[]", c + ":*") for c in schema.hiding if c != "deleted_at"]
                   ).json()[resource]
    for row in rows:
        assert not hidden & set(row)
        assert isinstance(row["id"], str) and row["links"]["self"].endswith(f"/{resource}/{row['id']}")


def test_big_ids_stay_exact_strings(api: httpx.Client) -> None:
    assert api.get(f"/patients/{BIG_ID}").json()["id"] == BIG_ID
    assert api.get(f"/patients/{BIG_ID}").json()["concession_type"]["links"]["self"].endswith("/5")


def test_values_by_type_and_action_links(api: httpx.Client, sandbox: tuple[EmulatorServer, Any]) -> None:
    base = f"{sandbox[0].base_url}/shards/au1/v1"
    invoice = api.get("/invoices/201").json()
    assert invoice["total_amount"] == "120.50" and invoice["number"] == 1002 and invoice["status"] == 10
    assert invoice["issue_date"] == "2024-02-11" and invoice["created_at"] == "2024-01-10T00:00:00Z"
    assert invoice["appointment"] is None
    appointment = api.get("/individual_appointments/100").json()
    assert appointment["repeats"] == {"links": {"self": f"{base}/individual_appointments/100/repeats"}}
    assert appointment["conflicts"] == {"links": {"self": f"{base}/individual_appointments/100/conflicts"}}
    assert appointment["patient"] == {"links": {"self": f"{base}/patients/1"}}
    assert api.get("/individual_appointments/101").json()["repeats"] is None  # no repeat rule
    note = api.get("/treatment_notes/700").json()
    assert note["content"] == {"sections": [{"name": "S", "questions": []}]} and note["draft"] is True


def test_links_to_bookings_and_appointments_resolve(api: httpx.Client) -> None:
    booking = api.get("/attendees/500").json()["booking"]["links"]["self"]
    assert booking.endswith("/bookings/100") and api.get(booking).json()["id"] == "100"
    group = api.get("/attendees", params={"q[]": "cancelled_at:*", "sort": "id:desc"}).json()["attendees"][0]
    assert api.get(group["booking"]["links"]["self"]).json()["patient_ids"] == ["1", "2"]
    appointment = api.get("/invoices/200").json()["appointment"]["links"]["self"]
    assert appointment.endswith("/appointments/100") and api.get(appointment).status_code == 200


def test_archived_and_cancelled_records_show_by_id_but_deleted_ones_do_not(api: httpx.Client) -> None:
    assert api.get("/patients/6").json()["archived_at"] == "2023-06-01T00:00:00Z"
    assert api.get("/individual_appointments/101").status_code == 200
    assert api.get("/patients/8").status_code == 404
    assert api.get("/patients/999").status_code == 404


NESTED = [("/patients/1/invoices", "invoices", ["200", "201"]),
          ("/patients/1/treatment_notes", "treatment_notes", ["700", "701"]),
          ("/patients/1/patient_attachments", "patient_attachments", ["800", "801"]),
          ("/patients/1/medical_alerts", "medical_alerts", ["1100"]),
          ("/patients/1/invoices?q[]=total_amount:>100", "invoices", ["201"]),
          ("/invoices/200/invoice_items", "invoice_items", ["300"]),
          ("/individual_appointments/100/attendees", "attendees", ["500"])]


@pytest.mark.parametrize(("path", "key", "expected"), NESTED, ids=[n[0] for n in NESTED])
def test_nested_lists_hold_the_parents_children(api: httpx.Client, path: str, key: str,
                                                expected: list[str]) -> None:
    response = api.get(path)
    assert row_ids(response, key) == expected
    assert urlsplit(response.json()["links"]["self"]).path.endswith(urlsplit(path).path)


@pytest.mark.parametrize("path", ["/patients/999/invoices", "/patients/8/invoices", "/patients/1/businesses",
                                  "/nothing", "/patients/abc", "/patients/1/2/3",
                                  "/patients/9999999999999999999"])
def test_unknown_routes_answer_404(api: httpx.Client, path: str) -> None:
    response = api.get(path)
    assert response.status_code == 404 and response.json() == {"message": "Not found"}


def test_paths_outside_the_api_prefix_answer_404(api: httpx.Client,
                                                 sandbox: tuple[EmulatorServer, Any]) -> None:
    for path in ("/v1/patients", "/shards/zz/v1/patients", "/shards/au1/v2/patients", "/"):
        assert api.get(sandbox[0].base_url + path).status_code == 404


def test_user_is_the_keys_owner(api: httpx.Client, sandbox: tuple[EmulatorServer, Any],
                                tls: SandboxTLS) -> None:
    assert api.get("/user").json()["first_name"] == "Ann"
    with client(sandbox[0], tls, key=KEY_TWO) as other:
        assert other.get("/user").json()["first_name"] == "Ben"


# -- attachments ---------------------------------------------------------------------------------------

def test_attachment_content_is_the_exact_file(api: httpx.Client) -> None:
    record = api.get("/patient_attachments/800").json()
    response = api.get(record["content"]["links"]["self"], headers={"Accept": "*/*"})
    assert response.status_code == 200 and response.content == SMALL_FILE
    assert response.headers["content-type"] == "text/plain"
    assert response.headers["content-length"] == str(len(SMALL_FILE))
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="r_sum_ notes.txt"')
    assert "filename*=UTF-8''r%C3%A9sum%C3%A9%20notes.txt" in disposition


def test_a_multi_megabyte_attachment_streams_intact(api: httpx.Client) -> None:
    digest = hashlib.sha256()
    received = 0
    with api.stream("GET", "/patient_attachments/801/content", headers={"Accept": "application/pdf"}) as response:
        assert response.status_code == 200
        assert response.headers["content-length"] == str(BIG_CHUNK * BIG_CHUNKS)
        assert response.headers["content-type"] == "application/pdf"
        for chunk in response.iter_bytes():
            digest.update(chunk)
            received += len(chunk)
    assert received == BIG_CHUNK * BIG_CHUNKS and digest.hexdigest() == big_file_digest()


def test_head_on_an_attachment_sends_its_headers_only(api: httpx.Client) -> None:
    response = api.head("/patient_attachments/801/content")
    assert response.status_code == 200 and response.content == b""
    assert response.headers["content-length"] == str(BIG_CHUNK * BIG_CHUNKS)
    assert api.get("/patients/1").status_code == 200  # the connection is still in step


def test_attachment_without_a_file_answers_404(api: httpx.Client) -> None:
    assert api.get("/patient_attachments/802/content").status_code == 404
    assert api.get("/patient_attachments/999/content").status_code == 404
