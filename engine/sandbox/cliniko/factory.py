"""Starting the Cliniko sandbox: a store in a folder, the emulator, and the HTTPS server around it.

    server, store = start_cliniko_sandbox(folder, tls=ensure_tls(folder / "tls"))
    store.load(generate_clinic(seed=1, patients=500).records())
    base = api_base_url(server)            # https://127.0.0.1:<port>/shards/au1/v1
    httpx.get(base + "/patients", auth=(DEFAULT_API_KEY, ""), verify=str(tls.bundle),
              headers={"User-Agent": "Me (me@example.com)", "Accept": "application/json"})

The connector's base URL template is `URL_TEMPLATE`
(`https://127.0.0.1:{port}/shards/{shard}/v1`). The caller stops the server
(`server.stop()`) and closes the store (`store.close()`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from engine.sandbox.cliniko.api import ClinikoApp
from engine.sandbox.cliniko.clock import Clock
from engine.sandbox.cliniko.store import ClinikoStore
from engine.sandbox.server import EmulatorServer, FaultPlan
from engine.sandbox.tls import SandboxTLS

URL_TEMPLATE = "https://127.0.0.1:{port}/shards/{shard}/v1"
DATABASE_NAME = "cliniko.sqlite3"
DEFAULT_API_KEY = "flitstack-sandbox-key-au1"


def default_api_keys(shard: str = "au1") -> dict[str, str | None]:
    """One key for the account's first user, suffixed with the shard as Cliniko's new keys are."""
    return {f"flitstack-sandbox-key-{shard}": None}


def api_base_url(server: EmulatorServer, shard: str = "au1") -> str:
    return f"{server.base_url}/shards/{shard}/v1"


def start_cliniko_sandbox(folder: Path, *, tls: SandboxTLS, port: int = 0,
                          api_keys: Mapping[str, str | None] | None = None, requests_per_minute: int = 200,
                          faults: FaultPlan | None = None, shard: str = "au1",
                          clock: Clock | None = None) -> tuple[EmulatorServer, ClinikoStore]:
    """Open (or create) the store in `folder` and serve it.

    `api_keys` maps each key to its user's id (None: the account's first user).
    """
    store = ClinikoStore(folder / DATABASE_NAME, **({"clock": clock} if clock else {}))
    app = ClinikoApp(store, api_keys=api_keys if api_keys is not None else default_api_keys(shard),
                     shard=shard, requests_per_minute=requests_per_minute,
                     fault_retry_after=faults.retry_after_seconds if faults else 1)
    server = EmulatorServer(app, tls=tls, port=port, faults=faults, fault_response=app.fault_response)
    return server.start(), store

