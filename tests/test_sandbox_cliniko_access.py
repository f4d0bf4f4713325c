"""The Cliniko emulator's gate over real HTTPS: API keys and shards, User-Agent and Accept,
the per-user rate limit, and the server's injected faults with Cliniko's headers.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx
import pytest
from sandbox_cliniko_fixture import (  # fixtures are imported by name
    KEY,
    KEY_TWO,
    KEY_UK,
    NOW,
    USER_AGENT,
    client,
    start,
)

from engine.sandbox.cliniko import ClinikoStore
from engine.sandbox.cliniko.clock import parse_timestamp
from engine.sandbox.server import EmulatorServer, FaultPlan
from engine.sandbox.tls import SandboxTLS

# -- auth and headers ----------------------------------------------------------------------------------

def test_missing_or_wrong_key_answers_401(sandbox: tuple[EmulatorServer, Any], tls: SandboxTLS) -> None:
    for key in (None, "wrong-key", "sandbox-key-one-au2"):
        with client(sandbox[0], tls, key=key) as http:
            response = http.get("/patients")
        assert response.status_code == 401
        assert response.text == "HTTP Basic: Access denied.\n"
        assert response.headers["content-type"].startswith("text/plain")
        assert response.headers["www-authenticate"] == 'Basic realm="Application"'


@pytest.mark.parametrize("authorization", ["Bearer " + KEY, "Basic not-base64!!",
                                           "Basic " + base64.b64encode(b"\xff\xfe:").decode()])
def test_malformed_authorization_answers_401(sandbox: tuple[EmulatorServer, Any], tls: SandboxTLS,
                                             authorization: str) -> None:
    with client(sandbox[0], tls, key=None, headers={"Authorization": authorization}) as http:
        assert http.get("/patients").status_code == 401


def test_keys_work_with_or_without_their_shard_suffix(sandbox: tuple[EmulatorServer, Any],
                                                      tls: SandboxTLS) -> None:
    for key in (KEY, KEY.removesuffix("-au1"), KEY_TWO):
        with client(sandbox[0], tls, key=key) as http:
            assert http.get("/patients").status_code == 200, key


def test_a_key_from_another_shard_answers_401(sandbox: tuple[EmulatorServer, Any], tls: SandboxTLS) -> None:
    with client(sandbox[0], tls, key=KEY_UK) as http:
        assert http.get("/patients").status_code == 401  # uk1 key on the au1 URL
    with client(sandbox[0], tls, key=KEY_UK, shard="uk1") as http:
        assert http.get("/patients").status_code == 401  # this account lives on au1
    with client(sandbox[0], tls, key=KEY, shard="uk1") as http:
        assert http.get("/patients").status_code == 401


def test_a_password_is_ignored(sandbox: tuple[EmulatorServer, Any], tls: SandboxTLS) -> None:
    token = base64.b64encode(f"{KEY}:anything".encode()).decode()
    with client(sandbox[0], tls, key=None, headers={"Authorization": f"Basic {token}"}) as http:
        assert http.get("/patients").status_code == 200


@pytest.mark.parametrize("user_agent", [None, "", "python-httpx/0.28.1", "Vendor (not an email)",
                                        "(devs@vendor.example)", "Vendor devs@vendor.example"])
def test_user_agent_needs_a_name_and_contact_email(sandbox: tuple[EmulatorServer, Any], tls: SandboxTLS,
                                                   user_agent: str | None) -> None:
    with client(sandbox[0], tls) as http:
        if user_agent is None:
            del http.headers["User-Agent"]
        else:
            http.headers["User-Agent"] = user_agent
        response = http.get("/patients")
    assert response.status_code == 400 and response.json() == {"message": "Requires a user agent"}


@pytest.mark.parametrize("user_agent", [USER_AGENT, "Really helpful app (devs@helpfulapp.com)",
                                        "Acme (ops@acme.example) python-httpx/0.28"])
def test_good_user_agents_pass(sandbox: tuple[EmulatorServer, Any], tls: SandboxTLS, user_agent: str) -> None:
    with client(sandbox[0], tls, headers={"User-Agent": user_agent}) as http:
        assert http.get("/patients").status_code == 200


@pytest.mark.parametrize(("accept", "status"), [("text/html", 406), ("application/xml", 406),
                                                ("application/json; q=0", 406), ("*/*", 200),
                                                ("application/*", 200), ("text/html, application/json;q=0.9", 200),
                                                (None, 200)])
def test_json_routes_need_an_accept_that_allows_json(sandbox: tuple[EmulatorServer, Any], tls: SandboxTLS,
                                                     accept: str | None, status: int) -> None:
    with client(sandbox[0], tls) as http:
        if accept is None:
            del http.headers["Accept"]
        else:
            http.headers["Accept"] = accept
        assert http.get("/patients").status_code == status
        assert http.get("/patient_attachments/800/content").status_code == 200  # files take any Accept


# -- rate limit ----------------------------------------------------------------------------------------

def test_rate_limit_answers_429_until_a_slot_frees(tmp_path: Path, tls: SandboxTLS) -> None:
    server, store, clock = start(tmp_path / "cliniko", tls, requests_per_minute=3)
    start_time = parse_timestamp(NOW)
    try:
        with client(server, tls) as http, client(server, tls, key=KEY_TWO) as other, \
                client(server, tls, key=None) as anonymous:
            assert anonymous.get("/user").status_code == 401  # refused requests use no slot
            assert [http.get("/user").status_code for _ in range(3)] == [200, 200, 200]
            limited = http.get("/user")
            assert limited.status_code == 429
            assert limited.json() == {"message": "Too many requests"}
            assert limited.headers["x-ratelimit-reset"] == str(int(start_time) + 60)
            assert limited.headers["retry-after"] == "60"
            assert other.get("/user").status_code == 200  # another user, another window
            clock.advance(30)
            limited = http.get("/patients")
            assert limited.status_code == 429 and limited.headers["retry-after"] == "30"
            clock.advance(30)
            assert http.get("/user").status_code == 200
    finally:
        server.stop()
        store.close()


def test_the_suffix_less_key_shares_its_users_window(tmp_path: Path, tls: SandboxTLS) -> None:
    server, store, _ = start(tmp_path / "cliniko", tls, requests_per_minute=2)
    try:
        with client(server, tls) as full, client(server, tls, key=KEY.removesuffix("-au1")) as bare:
            assert full.get("/user").status_code == 200 and bare.get("/user").status_code == 200
            assert full.get("/user").status_code == 429 and bare.get("/user").status_code == 429
    finally:
        server.stop()
        store.close()


# -- injected faults -----------------------------------------------------------------------------------

def _faulty(tmp_path: Path, tls: SandboxTLS, plan: FaultPlan) -> tuple[EmulatorServer, ClinikoStore]:
    server, store, _ = start(tmp_path / "cliniko", tls, faults=plan)
    return server, store


def test_injected_reset_is_a_transport_error(tmp_path: Path, tls: SandboxTLS) -> None:
    server, store = _faulty(tmp_path, tls, FaultPlan(rate_reset=1.0))
    try:
        with client(server, tls) as http, pytest.raises(httpx.TransportError):
            http.get("/patients")
        assert server.stats.faults["reset"] == 1
    finally:
        server.stop()
        store.close()


def test_injected_503_and_429_carry_clinikos_headers(tmp_path: Path, tls: SandboxTLS) -> None:
    server, store = _faulty(tmp_path, tls, FaultPlan(rate_503=1.0, retry_after_seconds=7,
                                                     paths=("/shards/au1/v1/patients",)))
    try:
        with client(server, tls) as http:
            assert http.get("/user").status_code == 200  # outside the plan's paths
            response = http.get("/patients")
            assert response.status_code == 503 and response.headers["retry-after"] == "7"
            assert response.json() == {"message": "Service Unavailable"}
    finally:
        server.stop()
        store.close()
    server, store = _faulty(tmp_path, tls, FaultPlan(rate_429=1.0, retry_after_seconds=5))
    try:
        with client(server, tls) as http:
            response = http.get("/patients")
        assert response.status_code == 429 and response.json() == {"message": "Too many requests"}
        assert response.headers["x-ratelimit-reset"] == str(int(parse_timestamp(NOW)) + 5)
        assert response.headers["retry-after"] == "5"
    finally:
        server.stop()
        store.close()
