"""The Cliniko connector against a MockTransport fake (tests/fake_cliniko.py): no network, no sleeping.

Clocks are FakeClock instances: time moves only when the code under test sleeps, so
waits are asserted exactly and the suite stays fast.
"""

from __future__ import annotations

import base64
import itertools
import math
import random
import ssl
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fake_cliniko import (
    API_KEY,
    BASE,
    S3,
    USER_AGENT,
    FakeCliniko,
    FakeClock,
    RandomFaults,
    patient,
    patients,
    stamp,
)
from hypothesis import given
from hypothesis import strategies as st

import engine.connectors as connectors
from engine.connectors import (
    AttachmentTooLarge,
    ClinikoConnector,
    RateLimiter,
    RetryPolicy,
    SourceAuthError,
    SourceConfigError,
    SourceProtocolError,
    SourceRequestError,
    SourceUnavailable,
    api_base_url,
    check_user_agent,
    shard_from_key,
)
from engine.connectors.normalise import link_target_id, normalise_record
from engine.spec.catalog import load_catalog


def connect(fake: FakeCliniko, **options: Any) -> ClinikoConnector:
    options.setdefault("user_agent", USER_AGENT)
    return ClinikoConnector(options.pop("api_key", fake.api_key), transport=fake.transport(), wall=fake.clock.time,
                            sleep=fake.clock.sleep, rng=random.Random(7),
                            limiter=options.pop("limiter", None) or RateLimiter(
                                200, 61.0, clock=fake.clock.time, wall=fake.clock.time, sleep=fake.clock.sleep),
                            **options)


def ids(records: list[dict[str, Any]]) -> list[str]:
    return [r["id"] for r in records]


# -- account set-up -------------------------------------------------------------------------------

@pytest.mark.parametrize(("key", "shard"), [
    ("abcdef0123456789", "au1"),
    ("abcdef0123456789-au2", "au2"),
    ("abcdef0123456789-UK1", "uk1"),
    ("MS0xLUFCQ0RFRg-ca1", "ca1"),
    ("a-b-c-eu1", "eu1"),
    ("abcdef-us1", "us1"),
    ("abcdef-au12", "au12"),
    ("abcdef-au123", "au1"),
    ("abcdef-a1", "au1"),
    ("abcdef-xyz", "au1"),
    ("abcdef-", "au1"),
    ("abcdef-1au", "au1"),
])
def test_shard_from_key(key: str, shard: str) -> None:
    assert shard_from_key(key) == shard


@pytest.mark.parametrize(("template", "shard", "url"), [
    (None, "au1", "https://api.au1.cliniko.com/v1"),
    (None, "uk2", "https://api.uk2.cliniko.com/v1"),
    ("https://127.0.0.1:8443/shards/{shard}/v1", "eu1", "https://127.0.0.1:8443/shards/eu1/v1"),
    ("https://127.0.0.1:8443/shards/{shard}/v1/", "au2", "https://127.0.0.1:8443/shards/au2/v1"),
    ("http://localhost:8080/v1", "au1", "http://localhost:8080/v1"),
    ("https://proxy.example/cliniko/v1", "au1", "https://proxy.example/cliniko/v1"),
])
def test_base_url(template: str | None, shard: str, url: str) -> None:
    assert api_base_url(shard, template) == url


@pytest.mark.parametrize(("template", "message"), [
    ("http://api.example.com/v1", "plain http"),
    ("api.au1.cliniko.com/v1", "absolute https://"),
    ("ftp://api.example.com/v1", "absolute https://"),
    ("https://api.example.com/v1?x=1", "query"),
])
def test_bad_base_url(template: str, message: str) -> None:
    with pytest.raises(SourceConfigError, match=message):
        api_base_url("au1", template)


def test_connector_uses_shard_in_base_url_template() -> None:
    fake = FakeCliniko({"patients": []}, api_key="abc-uk1", base="https://127.0.0.1:9/shards/uk1/v1")
    conn = ClinikoConnector("abc-uk1", user_agent=USER_AGENT, base_url="https://127.0.0.1:9/shards/{shard}/v1",
                            transport=fake.transport())
    assert list(conn.read("patients")) == []
    assert conn.describe() == "Cliniko API at https://127.0.0.1:9/shards/uk1/v1, shard uk1"
    assert str(fake.requests[0].url).startswith("https://127.0.0.1:9/shards/uk1/v1/patients?")


@pytest.mark.parametrize("agent", [
    "Acme Migrations (devs@acme.example)",
    "flitstack/0.1 (ops@clinic.com.au)",
    "  Acme ( a.b+c@x.co )  ",
])
def test_user_agent_accepted(agent: str) -> None:
    assert check_user_agent(agent) == agent.strip()


@pytest.mark.parametrize("agent", [
    "", "Acme Migrations", "Acme (devs)", "(devs@acme.example)", "Acme devs@acme.example",
    "Acme (devs@acme)", "Acme (devs@acme.example) trailing", "python-httpx/0.28.1",
])
def test_user_agent_rejected(agent: str) -> None:
    with pytest.raises(SourceConfigError, match=r"Vendor name \(contact@email\)"):
        ClinikoConnector(API_KEY, user_agent=agent, transport=FakeCliniko({}).transport())


def test_missing_key_names_the_env_var() -> None:
    with pytest.raises(SourceConfigError, match="CLINIKO_API_KEY"):
        ClinikoConnector("", user_agent=USER_AGENT)


def test_missing_ca_bundle_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(SourceConfigError, match="CA bundle"):
        ClinikoConnector(API_KEY, user_agent=USER_AGENT, verify=str(tmp_path / "missing.pem"))


def test_requests_carry_auth_accept_and_user_agent() -> None:
    fake = FakeCliniko({"patients": patients(3)})
    list(connect(fake).read("patients"))
    headers = fake.requests[0].headers
    assert headers["Accept"] == "application/json"
    assert headers["User-Agent"] == USER_AGENT
    assert headers["Authorization"] == "Basic " + base64.b64encode(f"{API_KEY}:".encode()).decode()


def test_key_never_shown() -> None:
    fake = FakeCliniko({"patients": []})
    conn = connect(fake)
    secret = API_KEY.rsplit("-", 1)[0]
    for text in (repr(conn), str(conn), conn.describe(), repr(vars(conn))):
        assert secret not in text
    assert "api_key='***'" in repr(conn)


def test_unknown_resource() -> None:
    conn = connect(FakeCliniko({}))
    with pytest.raises(SourceConfigError, match=r"unknown Cliniko resource 'patient'.*patients"):
        list(conn.read("patient"))


# -- paging and normalisation ---------------------------------------------------------------------

def test_paging_follows_next_and_yields_each_record_once() -> None:
    fake = FakeCliniko({"patients": patients(250)})
    conn = connect(fake)
    records = list(conn.read("patients"))
    assert ids(records) == [p["id"] for p in patients(250)]
    assert conn.requests_made == 3 == math.ceil(250 / 100)
    pages = [s.url for s in fake.requests]
    assert [u.params.get("page") for u in pages] == [None, "2", "3"]
    assert all(u.params["per_page"] == "100" for u in pages)
    # the second request is exactly the first response's links.next
    assert pages[1] == pages[0].copy_set_param("page", "2")


def test_exact_multiple_of_page_size_needs_no_extra_request() -> None:
    fake = FakeCliniko({"patients": patients(200)})
    conn = connect(fake)
    assert len(list(conn.read("patients"))) == 200
    assert conn.requests_made == 2


def test_records_are_normalised() -> None:
    fake = FakeCliniko({"patients": [patient(1), patient(2)]})
    first, second = connect(fake).read("patients")
    catalog_fields = load_catalog("source", "cliniko").objects["patients"].fields
    assert set(catalog_fields) <= set(first)
    assert first["id"] == "1000000000000000001"
    assert first["concession_type_id"] == "77"
    assert first["concession_type"] == {"links": {"self": f"{BASE}/concession_types/77"}}
    assert second["concession_type"] is None and second["concession_type_id"] is None
    assert first["medicare"] is None and first["merged_with_patient_id"] is None
    assert "invoices_id" not in first and "links_id" not in first and "appointments_id" not in first


@pytest.mark.parametrize(("url", "target"), [
    (f"{BASE}/patients/42", "42"),
    (f"{BASE}/patients/836447129235883061", "836447129235883061"),
    (f"{BASE}/bookings/7/", "7"),
    (f"{BASE}/patients/1/invoices", None),
    (f"{BASE}/patients/1/invoices?page=1", None),
    (f"{BASE}/practitioners?q%5B%5D=appointment_type_id%3A%3D1", None),
    (f"{BASE}/individual_appointments/5/conflicts", None),
    (f"{BASE}/patient_attachments/5/content", None),
    (f"{BASE}/patients/42?include=x", None),
])
def test_link_target_id(url: str, target: str | None) -> None:
    assert link_target_id(url) == target


def test_normalise_ids_stay_strings() -> None:
    big = 836447129235883061
    record = normalise_record(
        {"id": big, "patient_ids": [big, "5"], "business_id": 12, "patient": {"links": {"self": ".../patients/9"}},
         "practitioner_id": "3", "practitioner": {"links": {"self": ".../practitioners/4"}}, "arrived": True},
        ["id", "patient_ids", "business_id", "patient_id", "practitioner_id", "notes"])
    assert record["id"] == str(big) and record["patient_ids"] == [str(big), "5"]
    assert record["business_id"] == "12" and record["patient_id"] == "9"
    assert record["practitioner_id"] == "3"  # a value the source gave is kept
    assert record["notes"] is None and record["arrived"] is True


def test_float_id_is_a_protocol_error() -> None:
    with pytest.raises(SourceProtocolError, match=r"patients.json:3: id is the number 8.36447129235883e\+17"):
        normalise_record({"id": 8.36447129235883e17}, ["id"], where="patients.json:3")


def test_attachment_content_link_becomes_content_url() -> None:
    content = f"{BASE}/patient_attachments/5/content"
    record = normalise_record({"id": "5", "content": {"links": {"self": content}}}, ["id", "content_url"])
    assert record["content_url"] == content and "content_id" not in record


def test_missing_array_key_is_a_protocol_error() -> None:
    def wrong(request: httpx.Request, number: int) -> httpx.Response:
        return httpx.Response(200, json={"data": [], "total_entries": 0})
    conn = connect(FakeCliniko({"patients": []}, faults=wrong))
    with pytest.raises(SourceProtocolError, match=r"no 'patients' array in the response \(keys: data, total_entries\)"):
        list(conn.read("patients"))


def test_non_json_is_a_protocol_error_and_not_retried() -> None:
    fake = FakeCliniko({"patients": []}, faults=lambda r, n: httpx.Response(200, text="<html>maintenance"))
    conn = connect(fake)
    with pytest.raises(SourceProtocolError, match="not JSON"):
        list(conn.read("patients"))
    assert conn.requests_made == 1


def test_next_link_to_another_host_is_refused() -> None:
    def evil(request: httpx.Request, number: int) -> httpx.Response | None:
        if number == 1:
            return httpx.Response(200, json={"patients": [patient(1)], "total_entries": 2,
                                             "links": {"next": "https://evil.example/v1/patients?page=2"}})
        return None
    fake = FakeCliniko({"patients": patients(2)}, faults=evil)
    with pytest.raises(SourceProtocolError, match="another site"):
        list(connect(fake).read("patients"))
    assert all(s.url.host == "api.au1.cliniko.com" for s in fake.requests)


def test_next_link_loop_is_refused() -> None:
    def loop(request: httpx.Request, number: int) -> httpx.Response:
        return httpx.Response(200, json={"patients": [patient(number)], "total_entries": 99,
                                         "links": {"next": f"{BASE}/patients?page=2"}})
    with pytest.raises(SourceProtocolError, match="leads back"):
        list(connect(FakeCliniko({"patients": []}, faults=loop)).read("patients"))


# -- filters ----------------------------------------------------------------------------------------

def filters(fake: FakeCliniko) -> list[str]:
    return fake.requests[0].url.params.get_list("q[]")


def test_since_and_archived_filters_are_sent() -> None:
    fake = FakeCliniko({"patients": []})
    since = datetime(2024, 1, 2, 13, 4, 5, 999, tzinfo=timezone(timedelta(hours=10)))
    list(connect(fake).read("patients", since=since))
    assert filters(fake) == ["updated_at:>=2024-01-02T03:04:05Z", "archived_at:*"]
    assert fake.requests[0].url.params["sort"] == "created_at,id"
    assert "q%5B%5D=updated_at%3A%3E%3D2024-01-02T03%3A04%3A05Z" in str(fake.requests[0].url)


def test_naive_since_is_utc_and_archived_can_be_left_out() -> None:
    fake = FakeCliniko({"patients": []})
    list(connect(fake).read("patients", since=datetime(2024, 5, 6, 7, 8, 9), include_archived=False))
    assert filters(fake) == ["updated_at:>=2024-05-06T07:08:09Z"]


@pytest.mark.parametrize(("resource", "include_archived", "expected"), [
    ("individual_appointments", True, ["archived_at:*", "cancelled_at:*"]),
    ("individual_appointments", False, ["cancelled_at:*"]),
    ("attendees", True, ["archived_at:*", "cancelled_at:*"]),
    ("medical_alerts", True, []),  # no archived_at column: filtering on it would be a 400
    ("invoice_items", True, []),
    ("taxes", True, []),
    ("contacts", True, ["archived_at:*"]),
])
def test_filters_follow_the_catalog(resource: str, include_archived: bool, expected: list[str]) -> None:
    fake = FakeCliniko({resource: []})
    list(connect(fake).read(resource, include_archived=include_archived))
    assert filters(fake) == expected


def test_archived_and_cancelled_rows_are_read() -> None:
    rows = [patient(1), patient(2, archived_at=stamp(50)), patient(3)]
    fake = FakeCliniko({"patients": rows})
    assert ids(list(connect(fake).read("patients"))) == ids(rows)
    assert ids(list(connect(fake).read("patients", include_archived=False))) == [rows[0]["id"], rows[2]["id"]]
    appts = [{"id": "1", "created_at": stamp(1), "cancelled_at": stamp(9)}, {"id": "2", "created_at": stamp(2)}]
    fake = FakeCliniko({"individual_appointments": appts})
    assert ids(list(connect(fake).read("individual_appointments"))) == ["1", "2"]


def test_since_filter_selects_changed_rows() -> None:
    rows = patients(10)
    fake = FakeCliniko({"patients": rows})
    since = datetime.fromisoformat(rows[6]["updated_at"])
    assert ids(list(connect(fake).read("patients", since=since))) == ids(rows[6:])


# -- data changing while reading ------------------------------------------------------------------

def test_shifted_pages_give_each_record_once_and_none_missed() -> None:
    rows = patients(200)
    fake = FakeCliniko({"patients": rows})
    early = patient(5000, created_at="2023-12-31T00:00:00Z")

    def insert_before_cursor(resource: str, page: int) -> None:
        if page == 2 and early not in rows:
            rows.insert(0, early)  # everything shifts one place: page 2 starts with page 1's last row

    fake.before_list = insert_before_cursor
    conn = connect(fake)
    got = ids(list(conn.read("patients")))
    assert Counter(got) == Counter(ids(rows))  # 201 records, each once
    assert got[-1] == early["id"]  # found by the second pass that total_entries asked for
    assert conn.requests_made == 3 + 3  # pass 1 saw 201 rows over 3 pages, pass 2 reads all again


def test_updates_during_read_do_not_duplicate() -> None:
    rows = patients(300)
    fake = FakeCliniko({"patients": rows})

    def touch(resource: str, page: int) -> None:
        rows[5]["updated_at"] = stamp(99_999 + page)

    fake.before_list = touch
    got = ids(list(connect(fake).read("patients")))
    assert got == ids(rows)


# -- errors and retries -----------------------------------------------------------------------------

def test_401_fails_fast_naming_the_env_var_not_the_key() -> None:
    fake = FakeCliniko({"patients": patients(3)}, api_key="the-key-the-account-really-has")
    conn = connect(fake, api_key=API_KEY)
    with pytest.raises(SourceAuthError) as caught:
        list(conn.read("patients"))
    message = str(caught.value)
    assert "CLINIKO_API_KEY" in message and "HTTP 401" in message
    assert API_KEY not in message and API_KEY.rsplit("-", 1)[0] not in message
    assert conn.requests_made == 1 and fake.clock.slept == []


def test_403_fails_fast_and_env_var_name_is_configurable() -> None:
    fake = FakeCliniko({"users": []}, faults=lambda r, n: httpx.Response(403, json={"message": "Forbidden"}))
    conn = connect(fake, key_env="ACME_CLINIKO_KEY")
    with pytest.raises(SourceAuthError, match=r"ACME_CLINIKO_KEY.*HTTP 403: Forbidden"):
        list(conn.read("users"))
    assert conn.requests_made == 1


@pytest.mark.parametrize("status", [400, 404, 422])
def test_client_errors_are_not_retried(status: int) -> None:
    fake = FakeCliniko({"patients": []},
                       faults=lambda r, n: httpx.Response(status, json={"message": "This column is not searchable."}))
    conn = connect(fake)
    with pytest.raises(SourceRequestError, match=f"HTTP {status}: This column is not searchable") as caught:
        list(conn.read("patients"))
    assert caught.value.status == status
    assert conn.requests_made == 1


def test_server_message_is_redacted_if_it_echoes_the_key() -> None:
    fake = FakeCliniko({"patients": []}, faults=lambda r, n: httpx.Response(400, text=f"bad key {API_KEY}"))
    with pytest.raises(SourceRequestError) as caught:
        list(connect(fake).read("patients"))
    assert API_KEY not in str(caught.value) and "***" in str(caught.value)


def test_429_waits_for_rate_limit_reset_then_retries() -> None:
    clock = FakeClock()
    reset = int(clock.now) + 30

    def once(request: httpx.Request, number: int) -> httpx.Response | None:
        return httpx.Response(429, headers={"X-RateLimit-Reset": str(reset)}) if number == 1 else None

    fake = FakeCliniko({"patients": patients(3)}, clock=clock, faults=once)
    conn = connect(fake)
    assert len(list(conn.read("patients"))) == 3
    assert conn.requests_made == 2
    assert reset <= fake.requests[1].time <= reset + 1  # reset + at most 1 s jitter


def test_429_with_retry_after_seconds() -> None:
    clock = FakeClock()

    def once(request: httpx.Request, number: int) -> httpx.Response | None:
        return httpx.Response(429, headers={"Retry-After": "12"}) if number == 1 else None

    fake = FakeCliniko({"patients": patients(1)}, clock=clock, faults=once)
    start = clock.now
    list(connect(fake).read("patients"))
    assert start + 12 <= fake.requests[1].time <= start + 13


class RecordingLimiter(RateLimiter):
    """Notes, in order of events, when each acquire starts and ends and when a penalty took effect."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(200, 61.0, clock=clock.time, wall=clock.time, sleep=clock.sleep)
        self.fake = clock
        self.events = itertools.count()
        self.acquires: list[tuple[int, float, str]] = []  # (start event, end time, thread)
        self.penalties: list[tuple[int, float]] = []  # (event after the penalty, until)
        self.log_lock = threading.Lock()
        self.penalised = threading.Event()

    def acquire(self) -> None:
        with self.log_lock:
            start = next(self.events)
        super().acquire()
        with self.log_lock:
            self.acquires.append((start, self.fake.time(), threading.current_thread().name))

    def penalise(self, until: float) -> None:
        super().penalise(until)
        with self.log_lock:
            self.penalties.append((next(self.events), until))
        self.penalised.set()


def test_429_pauses_every_thread() -> None:
    clock = FakeClock()
    data = {"patients": patients(400), "contacts": [{"id": str(i), "created_at": stamp(i)} for i in range(400)],
            "taxes": [{"id": str(i), "created_at": stamp(i)} for i in range(400)]}
    reset = int(clock.now) + 40
    limiter = RecordingLimiter(clock)
    all_started = threading.Barrier(3, timeout=10)

    def third(request: httpx.Request, number: int) -> httpx.Response | None:
        # The three first requests are in flight together; the last one to arrive gets the 429,
        # and the other two answer only once it has been handled, so every thread is still busy.
        if number <= 3:
            all_started.wait()
            if number == 3:
                return httpx.Response(429, headers={"X-RateLimit-Reset": str(reset)})
            assert limiter.penalised.wait(timeout=10)
        return None

    fake = FakeCliniko(data, clock=clock, faults=third)
    conn = connect(fake, limiter=limiter)
    got = list(conn.read_many(["patients", "contacts", "taxes"], workers=3))
    assert Counter(r for r, _ in got) == {"patients": 400, "contacts": 400, "taxes": 400}
    assert len({(r, rec["id"]) for r, rec in got}) == 1200
    [(penalised_at, until)] = limiter.penalties
    assert reset <= until <= reset + 1
    later = [(start, end, name) for start, end, name in limiter.acquires if start > penalised_at]
    assert {name for _, _, name in later} == {f"source-reader-{i}" for i in range(3)}  # all threads asked...
    assert all(end >= until for _, end, _ in later)  # ...and none went before the reset


def test_503_and_connection_resets_are_retried_with_backoff() -> None:
    clock = FakeClock()
    script: dict[int, httpx.Response | BaseException] = {
        1: httpx.Response(503, text="Service Unavailable"),
        2: httpx.ReadError("[Errno 104] Connection reset by peer"),
        3: httpx.RemoteProtocolError("Server disconnected without sending a response."),
        4: httpx.ConnectTimeout("timed out"),
        5: httpx.Response(502),
    }
    fake = FakeCliniko({"patients": patients(2)}, clock=clock, faults=lambda r, n: script.get(n))
    conn = connect(fake)
    assert len(list(conn.read("patients"))) == 2
    assert conn.requests_made == 6
    # the n-th failure waits within [d/2, d], d = 0.5 * 2^(n-1)
    for n, waited in enumerate(clock.slept, start=1):
        d = 0.5 * 2 ** (n - 1)
        assert d / 2 <= waited <= d
    assert len(clock.slept) == 5


def test_gives_up_with_source_unavailable_after_max_attempts() -> None:
    clock = FakeClock()
    fake = FakeCliniko({"patients": []}, clock=clock, faults=lambda r, n: httpx.Response(503))
    conn = connect(fake)
    with pytest.raises(SourceUnavailable, match=r"gave up after 8 failed attempts \(last: HTTP 503 Service Unavailable\)"):
        list(conn.read("patients"))
    assert conn.requests_made == 8
    assert len(clock.slept) == 7 and max(clock.slept) <= 30.0


def test_attempts_are_configurable() -> None:
    fake = FakeCliniko({"patients": []}, faults=lambda r, n: httpx.ReadError("reset"))
    conn = connect(fake, retry=RetryPolicy(max_attempts=3))
    with pytest.raises(SourceUnavailable, match="after 3 failed attempts"):
        list(conn.read("patients"))
    assert conn.requests_made == 3


def test_endless_429_gives_up_with_source_unavailable() -> None:
    clock = FakeClock()
    fake = FakeCliniko({"patients": []}, clock=clock,
                       faults=lambda r, n: httpx.Response(429, headers={"X-RateLimit-Reset": str(int(clock.time()) + 5)}))
    conn = connect(fake, retry=RetryPolicy(max_rate_limited=4))
    with pytest.raises(SourceUnavailable, match="still rate limited"):
        list(conn.read("patients"))
    assert conn.requests_made == 5


def test_tls_verification_failure_is_not_retried() -> None:
    def untrusted(request: httpx.Request, number: int) -> BaseException:
        error = httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
        error.__cause__ = ssl.SSLCertVerificationError("self-signed certificate")
        return error
    conn = connect(FakeCliniko({"patients": []}, faults=untrusted))
    with pytest.raises(SourceConfigError, match=r"TLS certificate verification failed.*CA bundle"):
        list(conn.read("patients"))
    assert conn.requests_made == 1


def test_random_faults_every_record_exactly_once() -> None:
    """10% of requests fail (429, 503, reset, dropped connection), seeded; over several seeds."""
    expected = Counter(ids(patients(2500)))
    kinds: set[str] = set()
    for seed in range(8):
        clock = FakeClock()
        faults = RandomFaults(0.10, seed=seed, clock=clock)
        conn = connect(FakeCliniko({"patients": patients(2500)}, clock=clock, faults=faults))
        got = ids(list(conn.read("patients")))
        assert Counter(got) == expected and len(got) == 2500, f"seed {seed}"
        assert conn.requests_made == 25 + len(faults.injected)
        kinds.update(faults.injected)
    assert kinds == {"429", "503", "reset", "protocol"}


@pytest.mark.parametrize("seed", range(5))
def test_random_faults_with_concurrent_readers(seed: int) -> None:
    clock = FakeClock()
    faults = RandomFaults(0.10, seed=seed, clock=clock)
    data = {"patients": patients(700), "contacts": [{"id": str(i), "created_at": stamp(i)} for i in range(500)]}
    conn = connect(FakeCliniko(data, clock=clock, faults=faults))
    got = list(conn.read_many(["patients", "contacts"], workers=2))
    assert Counter(r for r, _ in got) == {"patients": 700, "contacts": 500}
    assert len({(r, rec["id"]) for r, rec in got}) == 1200


def test_read_many_raises_the_first_error() -> None:
    def deny_contacts(request: httpx.Request, number: int) -> httpx.Response | None:
        return httpx.Response(403) if request.url.path.endswith("/contacts") else None
    conn = connect(FakeCliniko({"patients": patients(500), "contacts": []}, faults=deny_contacts))
    with pytest.raises(SourceAuthError, match="HTTP 403"):
        list(conn.read_many(["patients", "contacts"], workers=2))


def test_read_many_can_stop_early() -> None:
    conn = connect(FakeCliniko({"patients": patients(5000), "contacts": []}))
    stream = conn.read_many(["patients", "contacts"], workers=2)
    first = [next(stream) for _ in range(3)]
    stream.close()  # joins the workers
    assert len(first) == 3
    assert not [t for t in threading.enumerate() if t.name.startswith("source-reader")]


# -- retry policy -------------------------------------------------------------------------------------

NOW = 1_700_000_000.0


@pytest.mark.parametrize(("headers", "low", "high"), [
    ({"X-RateLimit-Reset": "1700000030"}, 30, 31),
    ({"X-RateLimit-Reset": "1700000030000"}, 30, 31),  # milliseconds tolerated
    ({"X-RateLimit-Reset": "1699999990"}, 0, 1),  # already past: go now (plus jitter)
    ({"Retry-After": "7"}, 7, 8),
    ({"Retry-After": format_datetime(datetime.fromtimestamp(NOW + 20, UTC), usegmt=True)}, 20, 21),
    ({}, 60, 61),
    ({"X-RateLimit-Reset": "soon"}, 60, 61),
    ({"X-RateLimit-Reset": "1800000000"}, 900, 901),  # capped at 15 minutes
])
def test_rate_limit_wait(headers: dict[str, str], low: float, high: float) -> None:
    wait = RetryPolicy().rate_limit_until(headers, NOW, random.Random(1)) - NOW
    assert low <= wait <= high


def test_backoff_grows_and_is_capped() -> None:
    policy, rng = RetryPolicy(), random.Random(3)
    assert 0.25 <= policy.backoff(1, rng) <= 0.5
    assert 4.0 <= policy.backoff(5, rng) <= 8.0
    assert all(15.0 <= policy.backoff(n, rng) <= 30.0 for n in range(7, 40))


# -- rate limiter ---------------------------------------------------------------------------------------

def grants(limit: int, period: float, gaps: list[float]) -> list[float]:
    """Acquire once per demand (demands `gaps` apart, single thread); return the grant times."""
    clock = FakeClock(0.0)
    limiter = RateLimiter(limit, period, clock=clock.time, wall=clock.time, sleep=clock.sleep)
    times, demand = [], 0.0
    for gap in gaps:
        demand += gap
        clock.now = max(clock.now, demand)
        limiter.acquire()
        times.append(clock.now)
    return times


@given(limit=st.integers(1, 30), gaps=st.lists(st.floats(0, 20, allow_nan=False), max_size=300))
def test_limiter_never_exceeds_the_window(limit: int, gaps: list[float]) -> None:
    times = grants(limit, 60.0, gaps)
    for i, start in enumerate(times):
        in_window = sum(1 for t in times[i:] if t < start + 60.0)
        assert in_window <= limit


@given(limit=st.integers(1, 50), windows=st.integers(1, 6))
def test_limiter_uses_the_whole_budget_under_demand(limit: int, windows: int) -> None:
    times = grants(limit, 60.0, [0.0] * (limit * windows))
    for w in range(windows):
        assert sum(1 for t in times if 60.0 * w <= t < 60.0 * (w + 1)) == limit
    assert times[-1] <= 60.0 * (windows - 1) + 1e-9


def test_limiter_penalty_holds_back_all_threads() -> None:
    clock = FakeClock(1000.0)
    limiter = RateLimiter(100, 60.0, clock=clock.time, wall=clock.time, sleep=clock.sleep)
    limiter.penalise(1045.0)
    limiter.penalise(1010.0)  # an earlier reset never shortens the pause
    granted: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(5):
            limiter.acquire()
            with lock:
                granted.append(clock.time())

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(granted) == 30 and min(granted) >= 1045.0


def test_limiter_penalty_converts_wall_time_to_its_own_clock() -> None:
    mono, wall = FakeClock(5.0), FakeClock(1_700_000_000.0)

    def sleep(seconds: float) -> None:
        mono.sleep(seconds)
        wall.sleep(seconds)

    limiter = RateLimiter(10, 60.0, clock=mono.time, wall=wall.time, sleep=sleep)
    limiter.penalise(1_700_000_020.0)
    limiter.acquire()
    assert mono.time() == pytest.approx(25.0)


def test_default_limiter_is_shared_and_paced_to_the_account() -> None:
    conn = connect(FakeCliniko({}), limiter=None, requests_per_minute=200)
    assert conn.limiter.requests == 200


# -- attachments ----------------------------------------------------------------------------------------

class Body:
    """A body of `chunks` × `size` bytes that counts how much of it was pulled."""

    def __init__(self, chunks: int, size: int = 65536) -> None:
        self.chunks, self.size, self.pulled = chunks, size, 0

    def __call__(self):  # type: ignore[no-untyped-def]
        for i in range(self.chunks):
            self.pulled += 1
            yield bytes([i % 256]) * self.size


def attachment(record_id: str = "5", **extra: Any) -> dict[str, Any]:
    record = {"id": record_id, "filename": "../scan of knee?.pdf",
              "content": {"links": {"self": f"{BASE}/patient_attachments/{record_id}/content"}}}
    record.update(extra)
    return normalise_record(record, ["id", "filename", "content", "content_url", "size"])


def test_download_streams_to_disk_without_sending_the_key_to_s3(tmp_path: Path) -> None:
    body = Body(10)
    fake = FakeCliniko({}, bodies={"5": body})
    path = connect(fake).download(attachment(), tmp_path / "files")
    assert path == tmp_path / "files" / "5-scan_of_knee_.pdf"
    assert path.stat().st_size == 10 * 65536 and body.pulled == 10
    assert path.read_bytes()[65536 * 3] == 3
    api, s3 = fake.requests
    assert api.url.path == "/v1/patient_attachments/5/content" and "Authorization" in api.headers
    assert s3.url.host == httpx.URL(S3).host and "Authorization" not in s3.headers
    assert not list((tmp_path / "files").glob("*.part"))


def test_download_stops_at_the_cap_and_deletes_the_partial_file(tmp_path: Path) -> None:
    body = Body(100)
    fake = FakeCliniko({}, bodies={"5": body})
    with pytest.raises(AttachmentTooLarge, match="attachment 5 is at least 262144 bytes, over the 200000-byte cap") as caught:
        connect(fake).download(attachment(), tmp_path, max_bytes=200_000)
    assert caught.value.at_least and caught.value.limit == 200_000
    assert body.pulled == 4  # stopped early: the body is never read whole
    assert list(tmp_path.iterdir()) == []


def test_download_cap_uses_content_length_before_reading(tmp_path: Path) -> None:
    body = Body(100)
    fake = FakeCliniko({}, bodies={"5": body}, body_headers={"5": {"Content-Length": str(100 * 65536)}})
    with pytest.raises(AttachmentTooLarge) as caught:
        connect(fake).download(attachment(), tmp_path, max_bytes=1000)
    assert caught.value.size == 100 * 65536 and not caught.value.at_least
    assert body.pulled == 0 and list(tmp_path.iterdir()) == []


def test_download_cap_uses_declared_size_without_a_request(tmp_path: Path) -> None:
    fake = FakeCliniko({}, bodies={"5": Body(1)})
    conn = connect(fake)
    with pytest.raises(AttachmentTooLarge, match="is 5000000 bytes"):
        conn.download(attachment(size=5_000_000), tmp_path, max_bytes=1_000_000)
    assert conn.requests_made == 0


def test_download_restarts_after_a_reset_mid_body(tmp_path: Path) -> None:
    attempts = {"n": 0}

    def flaky():  # type: ignore[no-untyped-def]
        attempts["n"] += 1
        yield b"a" * 1000
        if attempts["n"] == 1:
            raise httpx.ReadError("[Errno 104] Connection reset by peer")
        yield b"b" * 1000

    clock = FakeClock()
    fake = FakeCliniko({}, clock=clock, bodies={"5": flaky})
    conn = connect(fake)
    path = conn.download(attachment(), tmp_path)
    assert path.read_bytes() == b"a" * 1000 + b"b" * 1000
    assert conn.requests_made == 2 and len(clock.slept) == 1


def test_download_without_content_link(tmp_path: Path) -> None:
    with pytest.raises(SourceProtocolError, match="attachment 9 has no content link"):
        connect(FakeCliniko({})).download({"id": "9"}, tmp_path)


def test_download_from_foreign_content_url_sends_no_key(tmp_path: Path) -> None:
    fake = FakeCliniko({}, bodies={"5": Body(1)})
    connect(fake).download({"id": "5", "filename": "x.pdf", "content_url": f"{S3}/bucket/5"}, tmp_path)
    assert "Authorization" not in fake.requests[0].headers


# -- public API ------------------------------------------------------------------------------------------

def test_public_api() -> None:
    assert sorted(connectors.__all__) == connectors.__all__
    for name in connectors.__all__:
        assert getattr(connectors, name) is not None
    assert issubclass(connectors.SourceError, connectors.errors.FlitstackError)
