"""The Cliniko emulator's writes over real HTTPS (PATCH, POST, archive), and the store underneath."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sandbox_cliniko_fixture import (  # fixtures are imported by name
    API_KEYS,
    BIG_CHUNK,
    BIG_CHUNKS,
    BIG_ID,
    NOW,
    SMALL_FILE,
    Rec,
    client,
    records,
    row_ids,
    start,
)

import engine.sandbox.cliniko as cliniko
from engine.sandbox.cliniko import ClinikoStore, ManualClock
from engine.sandbox.server import EmulatorServer
from engine.sandbox.tls import SandboxTLS


@pytest.fixture
def fresh(tmp_path: Path, tls: SandboxTLS) -> Iterator[tuple[EmulatorServer, ClinikoStore, ManualClock]]:
    """A sandbox of its own, for tests that write or count requests."""
    server, store, clock = start(tmp_path / "cliniko", tls)
    yield server, store, clock
    server.stop()
    store.close()


# -- writes --------------------------------------------------------------------------------------------

def test_patch_updates_the_patient_and_its_updated_at(fresh: tuple[EmulatorServer, ClinikoStore, ManualClock],
                                                      tls: SandboxTLS) -> None:
    server, _, clock = fresh
    with client(server, tls) as http:
        since = {"q[]": f"updated_at:>={NOW}"}
        assert row_ids(http.get("/patients", params=since), "patients") == []
        response = http.patch("/patients/2", json={"first_name": "Robert", "id": "99", "created_at": "x"})
        assert response.status_code == 200
        body = response.json()
        assert body["first_name"] == "Robert" and body["label"] == "Robert Jackson"
        assert body["updated_at"] == NOW and body["id"] == "2" and body["created_at"] == "2021-01-01T09:00:00Z"
        assert row_ids(http.get("/patients", params=since), "patients") == ["2"]
        clock.advance(3600)
        assert http.put("/patients/3", json={"notes": "Moved away"}).json()["updated_at"] == "2024-06-01T13:00:00Z"
        assert row_ids(http.get("/patients", params=since), "patients") == ["2", "3"]


@pytest.mark.parametrize(("body", "errors"), [
    ({"first_name": "", "last_name": "  "}, {"first_name": "can’t be blank", "last_name": "can’t be blank"}),
    ({"first_name": None}, {"first_name": "can’t be blank"}),
    ({"concession_type_id": "999"}, {"concession_type": "must exist"}),
    ({"date_of_birth": "1980-02-30"}, {"date_of_birth": "is not a valid date"}),
    ({"email": "x" * 256}, {"email": "is too long (maximum is 255 characters)"}),
    ({"accepted_privacy_policy": "yes"}, {"accepted_privacy_policy": "is invalid"}),
])
def test_patch_validation_failures_answer_422(sandbox: tuple[EmulatorServer, ClinikoStore], api: httpx.Client,
                                              body: dict[str, Any], errors: dict[str, str]) -> None:
    store = sandbox[1]
    before = store.get("patients", "2")
    response = api.patch("/patients/2", json=body)
    assert response.status_code == 422
    assert response.json() == {"message": "Validation Failed", "errors": errors}
    assert store.get("patients", "2") == before


def test_patch_refusals(api: httpx.Client) -> None:
    """Refusals change nothing, so the shared sandbox serves."""
    assert api.patch("/patients/999", json={"first_name": "X"}).status_code == 404
    assert api.patch("/patients/8", json={"first_name": "X"}).status_code == 404  # deleted
    bad = api.patch("/patients/2", content=b"{not json", headers={"Content-Type": "application/json"})
    assert bad.status_code == 400 and "not valid JSON" in bad.json()["message"]
    assert api.patch("/patients/2", json=["a"]).status_code == 400
    assert api.patch("/invoices/200", json={"notes": "x"}).status_code == 404  # read-only resource


def test_post_creates_a_patient_with_location(fresh: tuple[EmulatorServer, ClinikoStore, ManualClock],
                                              tls: SandboxTLS) -> None:
    server, _, _ = fresh
    with client(server, tls) as http:
        response = http.post("/patients", json={"first_name": "New", "last_name": "Person",
                                                "date_of_birth": "2000-01-01", "referring_doctor_id": "7"})
        assert response.status_code == 201
        body = response.json()
        assert body["id"] == str(int(BIG_ID) + 1)
        assert response.headers["location"] == body["links"]["self"]
        assert body["created_at"] == body["updated_at"] == NOW
        assert body["referring_doctor"]["links"]["self"].endswith("/contacts/7")
        assert http.get(response.headers["location"]).json()["first_name"] == "New"
        missing = http.post("/patients", json={"first_name": "Solo"})
        assert missing.status_code == 422
        assert missing.json() == {"message": "Validation Failed", "errors": {"last_name": "can’t be blank"}}


def test_archive_hides_and_unarchive_restores(fresh: tuple[EmulatorServer, ClinikoStore, ManualClock],
                                              tls: SandboxTLS) -> None:
    server, _, clock = fresh
    with client(server, tls) as http:
        archived = http.post("/patients/3/archive")
        assert archived.status_code == 204 and archived.content == b""
        assert "3" not in row_ids(http.get("/patients"), "patients")
        assert row_ids(http.get("/patients", params={"q[]": "archived_at:?"}), "patients") == ["3", "6", "7"]
        assert http.get("/patients/3").json()["archived_at"] == NOW
        clock.advance(10)
        assert http.post("/patients/3/unarchive").status_code == 204
        restored = http.get("/patients/3").json()
        assert restored["archived_at"] is None and restored["updated_at"] == "2024-06-01T12:00:10Z"
        assert "3" in row_ids(http.get("/patients"), "patients")
        assert http.delete("/patients/4").status_code == 204  # DELETE archives, per the current docs
        assert http.get("/patients/4").json()["archived_at"] is not None
        assert http.post("/patients/999/archive").status_code == 404


def test_concurrent_reads_and_writes(fresh: tuple[EmulatorServer, ClinikoStore, ManualClock],
                                     tls: SandboxTLS) -> None:
    server, _, _ = fresh
    statuses: list[int] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        with client(server, tls) as http:
            for i in range(8):
                if n % 2:
                    response = http.patch("/patients/1", json={"notes": f"{n}-{i}"})
                else:
                    response = http.get("/patients", params={"q[]": "last_name:~o", "sort": "updated_at"})
                with lock:
                    statuses.append(response.status_code)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 48


# -- the store -----------------------------------------------------------------------------------------

def test_store_keeps_storage_form_and_stamps_writes_from_its_clock(tmp_path: Path) -> None:
    clock = ManualClock("2024-02-02T02:02:02Z")
    with ClinikoStore(tmp_path / "db" / "cliniko.sqlite3", clock=clock) as store:
        assert store.load(records()) == len(records())
        assert store.get("patients", "1")["concession_type_id"] == "5"  # type: ignore[index]
        assert store.get("patients", "404") is None
        assert store.count("patients") == 12
        assert store.update("patients", "1", {"notes": "x"})["updated_at"] == "2024-02-02T02:02:02Z"
        clock.advance(1)
        assert store.delete("patients", "2")["deleted_at"] == "2024-02-02T02:02:03Z"
        assert store.archive("patients", "3")["archived_at"] == "2024-02-02T02:02:03Z"
        assert store.unarchive("patients", "3")["archived_at"] is None
        with pytest.raises(KeyError):
            store.update("patients", "404", {"notes": "x"})
        assert store.content_path("patient_attachments", "800").read_bytes() == SMALL_FILE
        assert store.content_path("patient_attachments", "801").stat().st_size == BIG_CHUNK * BIG_CHUNKS
        assert store.content_path("patient_attachments", "800").parent.parent == tmp_path / "db" / "cliniko-content"
    with ClinikoStore(tmp_path / "db" / "cliniko.sqlite3") as reopened:
        assert reopened.count("patients") == 12 and reopened.get("patients", "2")["deleted_at"]  # type: ignore[index]
    with sqlite3.connect(tmp_path / "db" / "cliniko.sqlite3") as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_store_loads_in_batches(tmp_path: Path) -> None:
    many = (Rec("patients", {"id": str(n), "first_name": f"P{n}", "last_name": "Bulk", "updated_at": "2024-01-01T00:00:00Z",
                             "created_at": "2024-01-01T00:00:00Z"}) for n in range(1, 12_001))
    with ClinikoStore(tmp_path / "bulk.sqlite3") as store:
        assert store.load(many, batch_size=5000) == 12_000
        assert store.count("patients") == 12_000
        assert store.resources() == {"patients": 12_000}
        assert json.dumps(store.get("patients", "12000")).count("P12000") == 1


def test_default_keys_and_url(tmp_path: Path, tls: SandboxTLS) -> None:
    server, store = cliniko.start_cliniko_sandbox(tmp_path / "c", tls=tls)
    try:
        store.load(records())
        assert cliniko.api_base_url(server) == server.base_url + "/shards/au1/v1"
        with client(server, tls, key=cliniko.DEFAULT_API_KEY) as http:
            assert http.get("/user").json()["id"] == "1"  # the account's first user
        assert list(API_KEYS) != list(cliniko.default_api_keys())
    finally:
        server.stop()
        store.close()
