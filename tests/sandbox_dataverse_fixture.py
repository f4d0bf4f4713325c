"""The Dataverse sandbox for tests, and the real clients that reach it over HTTPS.

msal signs in unmodified (client credentials, authority `{base}/{tenant}`,
`instance_discovery=False`); msal's requests session reads REQUESTS_CA_BUNDLE
over its own `verify`, so the `dataverse_tls` fixture points that variable at
the sandbox's combined bundle for the module (import `dataverse_tls` into a test
module; it serves there as `dv_tls`). The Web API is called with httpx.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import msal
import pytest

from engine.sandbox.dataverse import CLIENT_ID, CLIENT_SECRET, TENANT_ID, Environment, start_dataverse_sandbox
from engine.sandbox.server import EmulatorServer
from engine.sandbox.tls import SandboxTLS, ensure_tls

API = "/api/data/v9.2"
HEADERS = {"Accept": "application/json", "OData-MaxVersion": "4.0", "OData-Version": "4.0"}


def sign_in(server: EmulatorServer, tls: SandboxTLS, *, secret: str = CLIENT_SECRET) -> dict[str, Any]:
    app = msal.ConfidentialClientApplication(CLIENT_ID, client_credential=secret,
                                             authority=f"{server.base_url}/{TENANT_ID}",
                                             instance_discovery=False, verify=str(tls.bundle))
    result: dict[str, Any] = app.acquire_token_for_client(scopes=[f"{server.base_url}/.default"])
    return result


def trust(tls: SandboxTLS) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(tls.bundle))


def client(server: EmulatorServer, tls: SandboxTLS, token: str) -> httpx.Client:
    return httpx.Client(base_url=f"{server.base_url}{API}/", verify=trust(tls), timeout=30,
                        headers={**HEADERS, "Authorization": f"Bearer {token}"})


def provision(api: httpx.Client) -> None:
    """What the pair spec's provisioning adds: fs_clinikoid (alternate key) on account and contact, polled
    until the keys are Active."""
    for table in ("account", "contact"):
        column = {"@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata", "SchemaName": "fs_ClinikoId",
                  "MaxLength": 40, "RequiredLevel": {"Value": "None"}}
        assert api.post(f"EntityDefinitions(LogicalName='{table}')/Attributes", json=column).status_code == 204
        key = {"SchemaName": "fs_clinikoid_key", "KeyAttributes": ["fs_clinikoid"]}
        assert api.post(f"EntityDefinitions(LogicalName='{table}')/Keys", json=key).status_code == 204
        for _ in range(5):
            keys = api.get(f"EntityDefinitions(LogicalName='{table}')/Keys").json()["value"]
            if all(k["EntityKeyIndexStatus"] == "Active" for k in keys):
                break


@pytest.fixture(scope="module", name="dv_tls")
def dataverse_tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxTLS]:
    tls = ensure_tls(tmp_path_factory.mktemp("dv-tls"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REQUESTS_CA_BUNDLE", str(tls.bundle))
        patch.delenv("CURL_CA_BUNDLE", raising=False)
        yield tls


def start(folder: Path, tls: SandboxTLS, **options: Any) -> tuple[EmulatorServer, Environment]:
    return start_dataverse_sandbox(folder, tls=tls, **options)


@contextmanager
def provisioned(folder: Path, tls: SandboxTLS, **options: Any) -> Iterator[tuple[EmulatorServer, httpx.Client]]:
    """A running sandbox with the test tables provisioned, and a signed-in client."""
    server, env = start(folder, tls, **options)
    try:
        with client(server, tls, sign_in(server, tls)["access_token"]) as http:
            provision(http)
            yield server, http
    finally:
        server.stop()
        env.close()
