"""A small hand-made Cliniko account in storage form, for the emulator tests.

Storage form is what the generator yields: catalog fields, ids as decimal
strings, relations only as `<relation>_id`, timestamps '...Z', money as
decimal strings. Each record is chosen to exercise one rule (ties in
created_at, archived/deleted/cancelled rows, nulls beside empty strings,
non-ASCII names, LIKE metacharacters, a 19-digit id).
"""

from __future__ import annotations

import hashlib
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest

from engine.sandbox.cliniko import ClinikoStore, ManualClock, start_cliniko_sandbox
from engine.sandbox.server import EmulatorServer, FaultPlan
from engine.sandbox.tls import SandboxTLS, ensure_tls

KEY = "sandbox-key-one-au1"  # user 1
KEY_TWO = "sandboxkeytwo"  # no suffix: au1; user 2
KEY_UK = "sandbox-key-three-uk1"  # another shard's key
API_KEYS: dict[str, str | None] = {KEY: "1", KEY_TWO: "2", KEY_UK: "1"}
USER_AGENT = "Flitstack tests (tests@flitstack.example)"
NOW = "2024-06-01T12:00:00Z"
BIG_ID = "836447129235883061"

BIG_CHUNK = 64 * 1024
BIG_CHUNKS = 80  # 5 MiB


@dataclass
class Rec:
    resource: str
    record: dict[str, Any]
    content: Callable[[], Iterator[bytes]] | None = None


def big_file_chunks() -> Iterator[bytes]:
    """5 MiB made on the fly, never held whole: 80 chunks of 64 KiB."""
    for index in range(BIG_CHUNKS):
        yield hashlib.sha256(str(index).encode()).digest() * (BIG_CHUNK // 32)


def big_file_digest() -> str:
    digest = hashlib.sha256()
    for chunk in big_file_chunks():
        digest.update(chunk)
    return digest.hexdigest()


SMALL_FILE = b"Notes from the first visit.\nAll fine.\n"


def _stamp(created: str, updated: str | None = None) -> dict[str, Any]:
    return {"created_at": created, "updated_at": updated or created}


def patient(id_: str, first: str, last: str, dob: str | None, created: str, updated: str,
            **extra: Any) -> Rec:
    record: dict[str, Any] = {
        "id": id_, "first_name": first, "last_name": last, "label": f"{first} {last}",
        "date_of_birth": dob, "email": f"{first.lower()}@mail.example", "archived_at": None,
        "deleted_at": None, **_stamp(created, updated),
        "patient_phone_numbers": [{"phone_type": "Mobile", "number": "61400000" + id_[-3:]}],
    }
    record.update(extra)
    return Rec("patients", record)


PATIENTS = [
    patient("1", "Alice", "Johnson", "1980-05-14", "2021-01-01T09:00:00Z", "2023-01-01T00:00:00Z",
            accepted_privacy_policy=True, concession_type_id="5", referring_doctor_id="7",
            custom_fields={"sections": []}, old_reference_id="OLD-1"),
    patient("2", "Bob", "Jackson", "1975-11-02", "2021-01-01T09:00:00Z", "2023-02-01T00:00:00Z",
            accepted_privacy_policy=False),
    patient("3", "Carol", "Jameson", "1990-05-30", "2021-02-01T10:30:00Z", "2023-03-01T00:00:00Z",
            accepted_privacy_policy=None, email=None),
    patient("4", "Dan", "O'Brien", "2001-12-25", "2021-03-01T00:00:00Z", "2023-04-01T00:00:00Z",
            notes="Prefers mornings.\nLeft knee."),
    patient("5", "Émile", "Zola", "1965-05-01", "2021-04-01T00:00:00Z", "2023-05-01T00:00:00Z",
            accepted_privacy_policy=True),
    patient("6", "Frank", "Johnson", "1980-07-14", "2021-05-01T00:00:00Z", "2023-06-01T00:00:00Z",
            archived_at="2023-06-01T00:00:00Z"),
    patient("7", "Gina", "Jones", "1999-01-09", "2021-06-01T00:00:00Z", "2023-07-01T00:00:00Z",
            archived_at="2023-07-01T00:00:00Z", accepted_privacy_policy=True),
    patient("8", "Hank", "Hill", None, "2021-07-01T00:00:00Z", "2023-08-01T00:00:00Z",
            deleted_at="2023-08-01T00:00:00Z"),
    patient("9", "Ivy", "Smith_Jones", "1985-05-14", "2021-07-15T00:00:00Z", "2023-08-15T00:00:00Z"),
    patient(BIG_ID, "Jack", "Black", "1970-03-03", "2021-08-01T00:00:00Z", "2023-09-01T00:00:00Z",
            concession_type_id="5"),
    patient("11", "Kim", "Lee", "1980-05-20", "2021-01-01T09:00:00Z", "2023-01-01T00:00:00Z"),
    patient("12", "Lou", "Reed", "1942-03-02", "2021-09-01T00:00:00Z", "2023-10-01T00:00:00Z", email=""),
]


def records() -> list[Rec]:
    out: list[Rec] = [
        Rec("users", {"id": "1", "first_name": "Ann", "last_name": "Admin", "email": "ann@clinic.example",
                      "role": "administrator", "user_active": True, **_stamp("2020-01-01T00:00:00Z")}),
        Rec("users", {"id": "2", "first_name": "Ben", "last_name": "Desk", "email": "ben@clinic.example",
                      "role": "receptionist", "user_active": True, **_stamp("2020-01-02T00:00:00Z")}),
        Rec("concession_types", {"id": "5", "name": "Student", **_stamp("2020-01-01T00:00:00Z")}),
        Rec("contacts", {"id": "7", "first_name": "Doc", "last_name": "Holliday", "type_code": 1,
                         **_stamp("2020-01-01T00:00:00Z")}),
        Rec("businesses", {"id": "40", "business_name": "Clinic", **_stamp("2020-01-01T00:00:00Z")}),
        Rec("practitioners", {"id": "30", "user_id": "1", "first_name": "Ann", "active": True,
                              **_stamp("2020-01-01T00:00:00Z")}),
        *PATIENTS,
    ]

    def appointment(id_: str, patient_id: str, starts: str, created: str, **extra: Any) -> Rec:
        record = {"id": id_, "patient_id": patient_id, "practitioner_id": "30", "business_id": "40",
                  "starts_at": starts, "ends_at": starts[:11] + "23:00:00Z", "repeat_rule": {},
                  "cancelled_at": None, "archived_at": None, "deleted_at": None, **_stamp(created)}
        record.update(extra)
        return Rec("individual_appointments", record)

    out += [
        appointment("100", "1", "2024-01-10T09:00:00Z", "2023-12-01T00:00:00Z",
                    repeat_rule={"repeat_type": "weekly", "number_of_repeats": 3, "repeating_interval": 1}),
        appointment("101", "1", "2024-01-11T09:00:00Z", "2023-12-02T00:00:00Z",
                    cancelled_at="2024-01-05T00:00:00Z", cancellation_reason=50),
        appointment("102", "2", "2024-01-12T09:00:00Z", "2023-12-03T00:00:00Z",
                    archived_at="2024-01-06T00:00:00Z"),
        appointment("103", "2", "2024-01-13T09:00:00Z", "2023-12-04T00:00:00Z",
                    deleted_at="2024-01-07T00:00:00Z"),
        appointment("104", "3", "2024-01-14T09:00:00Z", "2023-12-05T00:00:00Z",
                    cancelled_at="2024-01-08T00:00:00Z", archived_at="2024-01-08T00:00:00Z"),
    ]
    invoice_rows = [("200", "1", 1001, "2024-01-10", "50.0", 20), ("201", "1", 1002, "2024-02-11", "120.50", 10),
                    ("202", "2", 1003, "2023-05-11", "7.25", 20), ("203", "3", 1004, "2023-05-12", None, 30)]
    out += [Rec("invoices", {"id": i, "patient_id": p, "practitioner_id": "30", "business_id": "40",
                             "appointment_id": "100" if i == "200" else None, "number": n, "issue_date": d,
                             "total_amount": t, "status": s, **_stamp("2024-01-10T00:00:00Z")})
            for i, p, n, d, t, s in invoice_rows]
    out.append(Rec("invoice_items", {"id": "300", "invoice_id": "200", "quantity": 1, "unit_price": "50.0",
                                     **_stamp("2024-01-10T00:00:00Z")}))
    out += [
        Rec("group_appointments", {"id": "400", "patient_ids": ["1", "2"], "practitioner_id": "30",
                                   **_stamp("2023-11-01T00:00:00Z")}),
        Rec("group_appointments", {"id": "401", "patient_ids": ["3"], "practitioner_id": "30",
                                   **_stamp("2023-11-02T00:00:00Z")}),
        Rec("attendees", {"id": "500", "booking_id": "100", "patient_id": "1", **_stamp("2023-12-01T00:00:00Z")}),
        Rec("attendees", {"id": "501", "booking_id": "400", "patient_id": "2",
                          "cancelled_at": "2023-12-02T00:00:00Z", **_stamp("2023-12-02T00:00:00Z")}),
    ]
    # 60 alerts for Bob (paging past the default 50), two for Alice (one deleted).
    out += [Rec("medical_alerts", {"id": str(1000 + n), "patient_id": "2", "name": f"Alert {n}",
                                   **_stamp(f"2022-01-01T00:{n // 60:02d}:{n % 60:02d}Z")}) for n in range(60)]
    out += [
        Rec("medical_alerts", {"id": "1100", "patient_id": "1", "name": "Penicillin",
                               **_stamp("2022-02-01T00:00:00Z")}),
        Rec("medical_alerts", {"id": "1101", "patient_id": "1", "name": "Old", "deleted_at": "2022-03-01T00:00:00Z",
                               **_stamp("2022-02-02T00:00:00Z")}),
        Rec("treatment_notes", {"id": "700", "patient_id": "1", "practitioner_id": "30", "draft": True,
                                "booking_id": "100", "content": {"sections": [{"name": "S", "questions": []}]},
                                **_stamp("2024-01-10T10:00:00Z")}),
        Rec("treatment_notes", {"id": "701", "patient_id": "1", "practitioner_id": "30", "draft": False,
                                **_stamp("2024-01-11T10:00:00Z")}),
        Rec("treatment_notes", {"id": "702", "patient_id": "2", "practitioner_id": "30", "draft": None,
                                **_stamp("2024-01-12T10:00:00Z")}),
        Rec("patient_attachments", {"id": "800", "patient_id": "1", "user_id": "1", "filename": "résumé notes.txt",
                                    "content_type": "text/plain", "size": len(SMALL_FILE),
                                    **_stamp("2024-02-01T00:00:00Z")}, lambda: iter([SMALL_FILE])),
        Rec("patient_attachments", {"id": "801", "patient_id": "1", "user_id": "1", "filename": "scan.pdf",
                                    "content_type": "application/pdf", "size": BIG_CHUNK * BIG_CHUNKS,
                                    **_stamp("2024-02-02T00:00:00Z")}, big_file_chunks),
        Rec("patient_attachments", {"id": "802", "patient_id": "2", "user_id": "2", "filename": "lost.txt",
                                    "content_type": "text/plain", **_stamp("2024-02-03T00:00:00Z")}),
    ]
    return out


@cache
def _context(bundle: str) -> ssl.SSLContext:
    """One context per CA bundle: loading the system bundle costs tens of milliseconds."""
    return ssl.create_default_context(cafile=bundle)


def client(server: EmulatorServer, tls: SandboxTLS, *, key: str | None = KEY, shard: str = "au1",
           headers: dict[str, str] | None = None) -> httpx.Client:
    """An httpx client as a careful Cliniko integration would build it, verifying the sandbox CA."""
    context = _context(str(tls.bundle))
    base = {"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})}
    return httpx.Client(base_url=f"{server.base_url}/shards/{shard}/v1", verify=context,
                        auth=(key, "") if key is not None else None, headers=base, timeout=10)


def start(folder: Path, tls: SandboxTLS, *, requests_per_minute: int = 100_000,
          faults: FaultPlan | None = None) -> tuple[EmulatorServer, ClinikoStore, ManualClock]:
    """A started sandbox holding `records()`, on a clock that only moves when told."""
    clock = ManualClock(NOW)
    server, store = start_cliniko_sandbox(folder, tls=tls, api_keys=API_KEYS, clock=clock,
                                          requests_per_minute=requests_per_minute, faults=faults)
    store.load(records())
    return server, store, clock


# -- pytest fixtures shared by the emulator's test modules (imported there by name) -------------------

@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> SandboxTLS:
    return ensure_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory,
            tls: SandboxTLS) -> Iterator[tuple[EmulatorServer, ClinikoStore]]:
    """Shared by the read-only tests."""
    server, store, _ = start(tmp_path_factory.mktemp("cliniko"), tls)
    yield server, store
    server.stop()
    store.close()


@pytest.fixture(scope="module")
def api(sandbox: tuple[EmulatorServer, ClinikoStore], tls: SandboxTLS) -> Iterator[httpx.Client]:
    with client(sandbox[0], tls) as http:
        yield http


def row_ids(response: httpx.Response, key: str) -> list[str]:
    assert response.status_code == 200, response.text
    return [row["id"] for row in response.json()[key]]
