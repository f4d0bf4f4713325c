"""Starting the Graph sandbox: the site's drive in a folder, served over HTTPS, signed in through the
Dataverse sandbox's tenant.

    dv_server, env = start_dataverse_sandbox(folder / "dataverse", tls=tls)
    graph, drive = start_graph_sandbox(folder / "graph", tls=tls, directory=dv_server.app.directory)
    # msal, authority f"{dv_server.base_url}/{TENANT_ID}", scope f"{graph.base_url}/.default"

Entra issues one app registration tokens for Dataverse and for Graph alike, so
the Graph emulator has no token endpoint of its own: it registers its base URL
with the Dataverse sandbox's `Directory` (which then accepts the scope
`{graph base}/.default`) and checks bearer tokens against that environment's
token table. The loader keeps one msal app and one authority, as in
production. The caller stops the server and closes the drive (`drive.close()`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from engine.sandbox.dataverse.auth import Directory
from engine.sandbox.graph.app import GraphApp, fault_response
from engine.sandbox.graph.store import Drive
from engine.sandbox.server import EmulatorServer, FaultPlan
from engine.sandbox.tls import SandboxTLS


def start_graph_sandbox(folder: Path, *, tls: SandboxTLS | None, directory: Directory, port: int = 0,
                        faults: FaultPlan | None = None,
                        clock: Callable[[], float] | None = None) -> tuple[EmulatorServer, Drive]:
    """Open (or create) the drive in `folder` and serve it (Graph at `{base_url}/v1.0/`)."""
    folder.mkdir(parents=True, exist_ok=True)
    drive = Drive(folder, clock=clock or time.time)
    app = GraphApp(drive, lambda token: directory.env.token_user(token) is not None)
    server = EmulatorServer(app, tls=tls, port=port, faults=faults, fault_response=fault_response)
    directory.trust_resource(server.base_url)
    return server.start(), drive
