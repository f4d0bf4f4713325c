"""Applying the Dataverse provisioning manifest to an environment through the Web API (`--apply`).

The manifest (dataverse.py) lists every request in the order it must go —
tables, columns, relationships, alternate keys — each with an `exists` path.
Applying is a loop: an item whose `exists` path answers 200 is already there
and skipped, so applying twice changes nothing the second time; any other
refusal stops at that item, naming it and the platform's message. Alternate
keys build their index asynchronously (EntityKeyIndexStatus Pending →
InProgress → Active): the command waits until every key is Active, since an
upsert through a key that is not Active fails.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import UsageError
from engine.load.dataverse_client import DataverseClient

MANIFEST = Path("dataverse") / "manifest.json"


@dataclass
class ApplyResult:
    created: dict[str, int] = field(default_factory=dict)  # kind → items created
    present: dict[str, int] = field(default_factory=dict)  # kind → items already there
    keys_waited_seconds: float = 0.0


def _entries(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    entries = manifest.get("requests") or manifest.get("entries") or []
    return sorted(entries, key=lambda e: int(e["step"]))


def apply_manifest(client: DataverseClient, out: Path, *, key_timeout_seconds: float = 600.0,
                   poll_seconds: float = 2.0, sleep: Callable[[float], None] = time.sleep) -> ApplyResult:
    path = out / MANIFEST
    if not path.is_file():
        raise UsageError(f"{path}: no manifest; run `flitstack provision SPEC --out {out}` first")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    result = ApplyResult()
    keys: list[dict[str, Any]] = []
    for entry in _entries(manifest):
        kind = str(entry["kind"])
        if entry["kind"] == "key":
            keys.append(entry)
        if client.send("GET", entry["exists"]).status_code == 200:
            result.present[kind] = result.present.get(kind, 0) + 1
            continue
        body = json.loads((path.parent / entry["body"]).read_text(encoding="utf-8"))
        answer = client.send(entry["method"], entry["path"], body=body)
        if answer.status_code not in (200, 201, 204):
            raise UsageError(f"step {entry['step']} ({kind} {entry['name']} on {entry['table']}): "
                             f"{entry['method']} {entry['path']} answered HTTP {answer.status_code}: "
                             f"{_message(answer.text)}; items before it are in place, re-run to continue")
        result.created[kind] = result.created.get(kind, 0) + 1
    result.keys_waited_seconds = _wait_for_keys(client, keys, key_timeout_seconds, poll_seconds, sleep)
    return result


def _wait_for_keys(client: DataverseClient, keys: list[dict[str, Any]], timeout: float, poll: float,
                   sleep: Callable[[float], None]) -> float:
    waited = 0.0
    pending = list(keys)
    while pending:
        still = []
        for entry in pending:
            status = client.json("GET", entry["exists"]).get("EntityKeyIndexStatus")
            if status == "Failed":
                raise UsageError(f"alternate key {entry['name']} on {entry['table']} failed to build its "
                                 "index (duplicate values in the column?); fix the data, then "
                                 "ReactivateEntityKey")
            if status != "Active":
                still.append(entry)
        pending = still
        if pending:
            if waited >= timeout:
                names = ", ".join(e["name"] for e in pending)
                raise UsageError(f"alternate keys still not Active after {waited:.0f} s: {names}")
            sleep(poll)
            waited += poll
    return waited


def _message(text: str) -> str:
    try:
        return str(json.loads(text)["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return text[:300]
