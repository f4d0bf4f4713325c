"""Starting the Dataverse sandbox: an environment in a folder, the emulator, and the HTTPS server around it.

    server, env = start_dataverse_sandbox(folder, tls=ensure_tls(folder / "tls"))
    app = msal.ConfidentialClientApplication(CLIENT_ID, client_credential=CLIENT_SECRET,
                                             authority=f"{server.base_url}/{TENANT_ID}",
                                             instance_discovery=False, verify=str(tls.bundle))
    token = app.acquire_token_for_client(scopes=[f"{server.base_url}/.default"])["access_token"]
    httpx.get(f"{server.base_url}/api/data/v9.2/WhoAmI", headers={"Authorization": f"Bearer {token}"},
              verify=str(tls.bundle))

The caller stops the server (`server.stop()`) and closes the environment
(`env.close()`). The environment is kept in `<folder>/dataverse.sqlite3` and
survives restarts (rows, table definitions, issued tokens); service
protection's window and the call counters start afresh with each start.
Injected faults (`faults=FaultPlan(...)`) answer with Dataverse's bodies: 429
with Retry-After and 0x80072322, 503, or a dropped connection.
"""

from __future__ import annotations

import time
from pathlib import Path

from engine.sandbox.dataverse.app import API_PREFIX, DataverseApp
from engine.sandbox.dataverse.auth import CLIENT_ID, CLIENT_SECRET, TENANT_ID, Directory
from engine.sandbox.dataverse.errors import fault_response
from engine.sandbox.dataverse.seed import DEFAULT_USERS, MAX_UPLOAD_FILE_SIZE, UserSeed
from engine.sandbox.dataverse.store import Clock, Environment
from engine.sandbox.server import EmulatorServer, FaultPlan
from engine.sandbox.tls import SandboxTLS

DATABASE_NAME = "dataverse.sqlite3"


def start_dataverse_sandbox(folder: Path, *, tls: SandboxTLS | None, port: int = 0,
                            faults: FaultPlan | None = None, requests_per_window: int = 6000,
                            window_seconds: int = 300, users: tuple[UserSeed, ...] = DEFAULT_USERS,
                            max_upload_file_size: int = MAX_UPLOAD_FILE_SIZE, key_delay: float = 2.0,
                            clock: Clock | None = None) -> tuple[EmulatorServer, Environment]:
    """Open (or create) the environment in `folder` and serve it (Web API at `{base_url}/api/data/v9.2/`)."""
    env = Environment(folder / DATABASE_NAME, client_id=CLIENT_ID, clock=clock or time.time,
                      key_delay=key_delay, users=users, max_upload_file_size=max_upload_file_size)
    app = DataverseApp(env, Directory(env), requests_per_window=requests_per_window,
                       window_seconds=window_seconds)
    server = EmulatorServer(app, tls=tls, port=port, faults=faults, fault_response=fault_response)
    return server.start(), env


def web_api_url(base_url: str) -> str:
    """The org URL layout: `{base}/api/data/v9.2/`."""
    return f"{base_url}{API_PREFIX}/"


__all__ = ["CLIENT_ID", "CLIENT_SECRET", "DATABASE_NAME", "TENANT_ID", "start_dataverse_sandbox",
           "web_api_url"]
