"""Deploying the generated package (`deploy.zip`) to an org through the Metadata API.

The same SOAP `deploy` / `checkDeployStatus` calls the Salesforce CLI makes,
through simple-salesforce. The org answers asynchronously: the status is polled
until the deployment succeeds or fails, and a failure names each component
that did not deploy.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from simple_salesforce.api import Salesforce

from engine.errors import UsageError

DONE = ("Succeeded", "SucceededPartial", "Failed", "Canceled")


def deploy_package(sf: Salesforce, package: Path, *, timeout_seconds: float = 600.0,
                   poll_seconds: float = 2.0, sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """Deploy `package` (a Metadata API zip) and wait; UsageError when it does not fully succeed."""
    if not package.is_file():
        raise UsageError(f"{package}: no such package; run `flitstack provision SPEC --out DIR` first")
    started = sf.deploy(str(package), sandbox=False)
    async_id = started.get("asyncId")
    if not async_id:
        raise UsageError(f"the org did not accept the deployment: {started}")
    waited = 0.0
    while True:
        status: dict[str, Any] = sf.checkDeployStatus(str(async_id))
        if status.get("state") in DONE:
            break
        if waited >= timeout_seconds:
            raise UsageError(f"deployment {async_id} still {status.get('state')} after {waited:.0f} s")
        sleep(poll_seconds)
        waited += poll_seconds
    if status.get("state") != "Succeeded":
        detail = status.get("deployment_detail") or {}
        errors = detail.get("errors") if isinstance(detail, dict) else None
        listed = "; ".join(f"{e.get('type')} {e.get('file')}: {e.get('message')}" for e in errors or []
                           if isinstance(e, dict))
        reason = listed or status.get("state_detail")
        raise UsageError(f"deployment {async_id} {status.get('state')}: {reason}")
    return status
