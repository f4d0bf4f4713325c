"""`flitstack sandbox serve` and `seed` as a user runs them: a real process, printed variables, a client."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import msal
import requests
from click.testing import CliRunner

from engine.cli.main import main


def test_seed_reports_counts_and_planted_problems(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["sandbox", "seed", "--patients", "40", "--seed", "3",
                                       "--workspace", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "40 patients, seed 3" in result.output
    assert "patients_without_email" in result.output
    assert (tmp_path / "sandbox" / "cliniko" / "manifest.json").is_file()


def test_serve_prints_the_variables_that_point_any_client_at_it(tmp_path: Path) -> None:
    CliRunner().invoke(main, ["sandbox", "seed", "--patients", "30", "--workspace", str(tmp_path)])
    env = {k: v for k, v in os.environ.items() if k != "CLINIKO_API_KEY"}
    process = subprocess.Popen([sys.executable, "-m", "engine.cli", "sandbox", "serve",
                                "--workspace", str(tmp_path)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    assert process.stdout is not None
    exports: dict[str, str] = {}
    lines = []
    try:
        for line in process.stdout:
            lines.append(line)
            if line.strip().startswith("export "):
                name, _, value = line.strip().removeprefix("export ").partition("=")
                exports[name] = value
            if line.startswith("Serving until interrupted"):
                break
        assert {"CLINIKO_API_KEY", "CLINIKO_API_BASE", "SALESFORCE_INSTANCE_URL", "SALESFORCE_ACCESS_TOKEN",
                "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"} <= set(exports), lines
        base = exports["CLINIKO_API_BASE"].replace("{shard}", "au1")
        response = httpx.get(f"{base}/patients", params={"per_page": 5},
                             auth=(exports["CLINIKO_API_KEY"], ""),
                             verify=ssl.create_default_context(cafile=exports["SSL_CERT_FILE"]),
                             headers={"User-Agent": "Test client (test@example.com)",
                                      "Accept": "application/json"})
        assert response.status_code == 200
        page = response.json()
        assert len(page["patients"]) == 5 and page["total_entries"] >= 25
        versions = httpx.get(exports["SALESFORCE_INSTANCE_URL"] + "/services/data",
                             verify=ssl.create_default_context(cafile=exports["SSL_CERT_FILE"]))
        assert versions.status_code == 200 and versions.json()[-1]["version"] == "62.0"
        # Dataverse: msal signs in with the printed app registration, and the Web API answers.
        session = requests.Session()
        session.trust_env = False  # requests lets the shell's REQUESTS_CA_BUNDLE override `verify`
        session.verify = exports["SSL_CERT_FILE"]
        app = msal.ConfidentialClientApplication(
            exports["DATAVERSE_CLIENT_ID"], client_credential=exports["DATAVERSE_CLIENT_SECRET"],
            authority=f"{exports['DATAVERSE_AUTHORITY_HOST']}/{exports['DATAVERSE_TENANT_ID']}",
            instance_discovery=False, http_client=session)
        token = app.acquire_token_for_client(scopes=[f"{exports['DATAVERSE_URL']}/.default"])
        assert "access_token" in token, token
        who = httpx.get(f"{exports['DATAVERSE_URL']}/api/data/v9.2/WhoAmI",
                        headers={"Authorization": f"Bearer {token['access_token']}"},
                        verify=ssl.create_default_context(cafile=exports["SSL_CERT_FILE"]))
        assert who.status_code == 200 and who.json()["UserId"]
    finally:
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=20)
    assert process.returncode == 0
    assert "Sandbox stopped." in rest


def test_seed_refuses_an_impossible_size_and_keeps_the_clinic_it_had(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["sandbox", "seed", "--patients", "20", "--workspace", str(tmp_path)]).exit_code == 0
    manifest = (tmp_path / "sandbox" / "cliniko" / "manifest.json").read_text()
    result = runner.invoke(main, ["sandbox", "seed", "--patients", "90000000", "--workspace", str(tmp_path)])
    assert result.exit_code == 2
    assert "names would have to repeat" in result.output and "Traceback" not in result.output
    assert (tmp_path / "sandbox" / "cliniko" / "manifest.json").read_text() == manifest
