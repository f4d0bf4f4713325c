"""The sandbox as the rest of the engine uses it: started in-process, seeded, and described.

A workspace's sandbox lives in `<workspace>/sandbox/`: its CA (`tls/`) and each
emulator's store. Commands that find no credentials start it for the length of
the command; `flitstack sandbox serve` keeps it running for other clients.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.sandbox.cliniko import DEFAULT_API_KEY, ClinikoStore, api_base_url, start_cliniko_sandbox
from engine.sandbox.cliniko.factory import DATABASE_NAME
from engine.sandbox.generator import Manifest, generate_clinic
from engine.sandbox.salesforce import DEFAULT_TOKEN, Org, start_salesforce_sandbox
from engine.sandbox.server import EmulatorServer, FaultPlan
from engine.sandbox.tls import SandboxTLS, ensure_tls

SANDBOX_USER_AGENT = "flitstack sandbox (sandbox@flitstack.example)"
DEFAULT_PATIENTS = 200
DEFAULT_SEED = 1


def _rate_limit_from_environment() -> int:
    """Cliniko's own 200/min unless FLITSTACK_SANDBOX_RATE_LIMIT asks for a faster sandbox (demos)."""
    value = os.environ.get("FLITSTACK_SANDBOX_RATE_LIMIT", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else 200


@dataclass
class SandboxOptions:
    cliniko_port: int = 0
    cliniko_requests_per_minute: int = field(default_factory=_rate_limit_from_environment)
    cliniko_faults: FaultPlan | None = None
    salesforce_port: int = 0


def _cliniko_folder(folder: Path) -> Path:
    return folder / "cliniko"


def seed_cliniko(folder: Path, *, patients: int, seed: int) -> Manifest:
    """Replace the sandbox's Cliniko account with a freshly generated clinic."""
    clinic = generate_clinic(seed=seed, patients=patients)  # first: a bad size leaves the old clinic
    target = _cliniko_folder(folder)
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    with ClinikoStore(target / DATABASE_NAME) as store:
        store.load(clinic.records())
    manifest = clinic.manifest
    (target / "manifest.json").write_text(
        json.dumps({"seed": seed, "patients": patients, **json.loads(manifest.to_json())}, indent=2),
        encoding="utf-8")
    return manifest


def seeded_description(folder: Path) -> dict[str, Any] | None:
    path = _cliniko_folder(folder) / "manifest.json"
    if not path.is_file():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@dataclass
class Sandbox:
    """The running emulators of one workspace's sandbox."""

    folder: Path
    options: SandboxOptions = field(default_factory=SandboxOptions)
    tls: SandboxTLS | None = None
    cliniko: EmulatorServer | None = None
    cliniko_store: ClinikoStore | None = None
    salesforce: EmulatorServer | None = None
    salesforce_org: Org | None = None
    seeded_now: bool = False
    with_cliniko: bool = True
    with_salesforce: bool = True

    def start(self) -> Sandbox:
        self.tls = ensure_tls(self.folder / "tls")
        if self.with_cliniko:
            if seeded_description(self.folder) is None:
                seed_cliniko(self.folder, patients=DEFAULT_PATIENTS, seed=DEFAULT_SEED)
                self.seeded_now = True
            self.cliniko, self.cliniko_store = start_cliniko_sandbox(
                _cliniko_folder(self.folder), tls=self.tls, port=self.options.cliniko_port,
                requests_per_minute=self.options.cliniko_requests_per_minute,
                faults=self.options.cliniko_faults)
        if self.with_salesforce:
            self.salesforce, self.salesforce_org = start_salesforce_sandbox(
                self.folder / "salesforce", tls=self.tls, port=self.options.salesforce_port)
        return self

    def stop(self) -> None:
        for server in (self.cliniko, self.salesforce):
            if server is not None:
                server.stop()
        if self.cliniko_store is not None:
            self.cliniko_store.close()
        if self.salesforce_org is not None:
            self.salesforce_org.close()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def cliniko_api_key(self) -> str:
        return DEFAULT_API_KEY

    @property
    def cliniko_base_template(self) -> str:
        """The connector's base URL, with {shard} left for the key to fill in."""
        assert self.cliniko is not None, "start the sandbox first"
        return api_base_url(self.cliniko, "{shard}")

    def describe_cliniko(self) -> str:
        assert self.cliniko is not None
        seeded = seeded_description(self.folder) or {}
        size = f"synthetic clinic, {seeded.get('patients', '?')} patients, seed {seeded.get('seed', '?')}"
        return f"Cliniko sandbox at {api_base_url(self.cliniko)} ({size})"

    @property
    def salesforce_token(self) -> str:
        return DEFAULT_TOKEN

    def describe_salesforce(self) -> str:
        assert self.salesforce is not None
        return f"Salesforce sandbox org at {self.salesforce.base_url}"

    def environment(self) -> dict[str, str]:
        """Variables that point the connectors, and any other client, at this sandbox."""
        assert self.tls is not None
        variables: dict[str, str] = {}
        if self.cliniko is not None:
            variables.update({"CLINIKO_API_KEY": self.cliniko_api_key,
                              "CLINIKO_API_BASE": self.cliniko_base_template})
        if self.salesforce is not None:
            variables.update({"SALESFORCE_INSTANCE_URL": self.salesforce.base_url,
                              "SALESFORCE_ACCESS_TOKEN": self.salesforce_token})
        return {**variables, **self.tls.client_environment()}
