"""Starting the Salesforce sandbox: an org in a folder, the emulator, and the HTTPS server around it.

    server, org = start_salesforce_sandbox(folder, tls=ensure_tls(folder / "tls"))
    sf = simple_salesforce.Salesforce(instance_url=server.base_url, session_id=DEFAULT_TOKEN,
                                      version="62.0")      # with REQUESTS_CA_BUNDLE=tls.bundle
    sf.Contact.create({"LastName": "Ng"})

The caller stops the server (`server.stop()`) and closes the org (`org.close()`).
The org is kept in `<folder>/salesforce.sqlite3` and survives restarts; its
knobs (Set Audit Fields, the daily API allowance) are the arguments of each
start. Injected faults (`faults=FaultPlan(...)`) answer with Salesforce's own
bodies: the plan's 429 draws become 403 REQUEST_LIMIT_EXCEEDED, 503s are
SERVER_UNAVAILABLE, resets drop the connection.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from engine.sandbox.salesforce import bulk, files, metadata_deploy
from engine.sandbox.salesforce.app import DEFAULT_TOKEN, SalesforceApp
from engine.sandbox.salesforce.errors import fault_response
from engine.sandbox.salesforce.org import DEFAULT_DAILY_API_LIMIT, Clock, Org
from engine.sandbox.salesforce.users import UserSeed
from engine.sandbox.server import EmulatorServer, FaultPlan
from engine.sandbox.tls import SandboxTLS

DATABASE_NAME = "salesforce.sqlite3"


def start_salesforce_sandbox(folder: Path, *, tls: SandboxTLS | None, port: int = 0,
                             token: str = DEFAULT_TOKEN, set_audit_fields: bool = False,
                             daily_api_limit: int = DEFAULT_DAILY_API_LIMIT, faults: FaultPlan | None = None,
                             users: Sequence[UserSeed] | None = None, allow_inactive_owners: bool = False,
                             clock: Clock | None = None) -> tuple[EmulatorServer, Org]:
    """Open (or create) the org in `folder` and serve it; `token` authenticates as the API user."""
    org = Org(folder / DATABASE_NAME, set_audit_fields=set_audit_fields, daily_api_limit=daily_api_limit,
              users=users, allow_inactive_owners=allow_inactive_owners, clock=clock or time.time)
    app = SalesforceApp(org, tokens={token: None})
    metadata_deploy.register(app)  # Metadata API file deploy (SOAP)
    bulk.register(app)  # Bulk API 2.0 ingest jobs
    files.register(app)  # ContentVersion bodies, ContentNote, ContentDocumentLink queries
    server = EmulatorServer(app, tls=tls, port=port, faults=faults, fault_response=fault_response)
    return server.start(), org
