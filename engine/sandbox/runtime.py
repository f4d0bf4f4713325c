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

from engine.errors import UsageError
from engine.sandbox.cliniko import DEFAULT_API_KEY, ClinikoStore, api_base_url, start_cliniko_sandbox
from engine.sandbox.cliniko.factory import DATABASE_NAME
from engine.sandbox.dataverse import CLIENT_ID as DATAVERSE_CLIENT
from engine.sandbox.dataverse import CLIENT_SECRET as DATAVERSE_SECRET
from engine.sandbox.dataverse import TENANT_ID as DATAVERSE_TENANT
from engine.sandbox.dataverse import DataverseApp, start_dataverse_sandbox
from engine.sandbox.dataverse import Environment as DataverseEnvironment
from engine.sandbox.generator import Manifest, generate_clinic
from engine.sandbox.graph import SITE_ID as GRAPH_SITE_ID
from engine.sandbox.graph import Drive, start_graph_sandbox
from engine.sandbox.salesforce import DEFAULT_TOKEN, Org, start_salesforce_sandbox
from engine.sandbox.salesforce.org import DEFAULT_DAILY_API_LIMIT
from engine.sandbox.salesforce.users import UserSeed
from engine.sandbox.server import EmulatorServer, FaultPlan
from engine.sandbox.tls import SandboxTLS, ensure_tls

SANDBOX_USER_AGENT = "flitstack sandbox (sandbox@flitstack.example)"
DEFAULT_PATIENTS = 200
DEFAULT_SEED = 1


def _rate_limit_from_environment() -> int:
    """Cliniko's own 200/min unless FLITSTACK_SANDBOX_RATE_LIMIT asks for a faster sandbox (demos)."""
    value = os.environ.get("FLITSTACK_SANDBOX_RATE_LIMIT", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else 200


FAULTS_VARIABLE = "FLITSTACK_SANDBOX_FAULTS"
_FAULT_KINDS = {"429": "rate_429", "503": "rate_503", "reset": "rate_reset", "slow": "rate_slow"}


def faults_from_environment(system: str) -> FaultPlan | None:
    """Injected faults for one emulator, from FLITSTACK_SANDBOX_FAULTS.

    Form: `cliniko=429:0.04,503:0.03,reset:0.03;salesforce=503:0.03,reset:0.02;seed=7` — per
    system, each kind with the share of requests it hits (a Salesforce 429 is answered as
    403 REQUEST_LIMIT_EXCEEDED, which stops a load for the day). Unset: no faults.
    """
    text = os.environ.get(FAULTS_VARIABLE, "").strip()
    if not text:
        return None
    rates: dict[str, dict[str, float]] = {}
    seed = 0
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, _, body = part.partition("=")
        if name.strip() == "seed" and body.strip().isdigit():
            seed = int(body)
            continue
        if name.strip() not in ("cliniko", "salesforce", "dataverse", "graph"):
            raise UsageError(f"{FAULTS_VARIABLE}: unknown system {name.strip()!r} in {part!r} "
                             "(cliniko, salesforce, dataverse, graph or seed)")
        for item in filter(None, (i.strip() for i in body.split(","))):
            kind, _, rate = item.partition(":")
            try:
                value = float(rate)
            except ValueError:
                value = -1.0
            if kind not in _FAULT_KINDS or not 0.0 <= value <= 1.0:
                raise UsageError(f"{FAULTS_VARIABLE}: {item!r} should be KIND:RATE with KIND one of "
                                 f"{', '.join(_FAULT_KINDS)} and RATE between 0 and 1")
            rates.setdefault(name.strip(), {})[_FAULT_KINDS[kind]] = value
    chosen = rates.get(system)
    if not chosen:
        return None
    plan = FaultPlan(seed=seed)
    for attribute, value in chosen.items():
        setattr(plan, attribute, value)
    return plan


def _daily_limit_from_environment() -> int:
    value = os.environ.get("FLITSTACK_SANDBOX_SALESFORCE_DAILY_LIMIT", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else DEFAULT_DAILY_API_LIMIT


@dataclass
class SandboxOptions:
    cliniko_port: int = 0
    cliniko_requests_per_minute: int = field(default_factory=_rate_limit_from_environment)
    cliniko_faults: FaultPlan | None = field(default_factory=lambda: faults_from_environment("cliniko"))
    salesforce_port: int = 0
    salesforce_faults: FaultPlan | None = field(default_factory=lambda: faults_from_environment("salesforce"))
    salesforce_daily_api_limit: int = field(default_factory=_daily_limit_from_environment)
    salesforce_users: tuple[UserSeed, ...] | None = None  # None: the org's default users
    dataverse_port: int = 0
    dataverse_faults: FaultPlan | None = field(default_factory=lambda: faults_from_environment("dataverse"))
    graph_faults: FaultPlan | None = field(default_factory=lambda: faults_from_environment("graph"))


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
    dataverse: EmulatorServer | None = None
    dataverse_environment: DataverseEnvironment | None = None
    graph: EmulatorServer | None = None
    graph_drive: Drive | None = None
    seeded_now: bool = False
    with_cliniko: bool = True
    with_salesforce: bool = True
    with_dataverse: bool = False

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
                self.folder / "salesforce", tls=self.tls, port=self.options.salesforce_port,
                faults=self.options.salesforce_faults, users=self.options.salesforce_users,
                daily_api_limit=self.options.salesforce_daily_api_limit)
        if self.with_dataverse:
            self.dataverse, self.dataverse_environment = start_dataverse_sandbox(
                self.folder / "dataverse", tls=self.tls, port=self.options.dataverse_port,
                faults=self.options.dataverse_faults)
            # SharePoint's Graph drive, signed in through the same tenant as Dataverse (as in Entra).
            assert isinstance(self.dataverse.app, DataverseApp)
            self.graph, self.graph_drive = start_graph_sandbox(
                self.folder / "graph", tls=self.tls, directory=self.dataverse.app.directory,
                faults=self.options.graph_faults)
        return self

    def stop(self) -> None:
        for server in (self.cliniko, self.salesforce, self.graph, self.dataverse):
            if server is not None:
                server.stop()
        if self.graph_drive is not None:
            self.graph_drive.close()
        if self.dataverse_environment is not None:
            self.dataverse_environment.close()
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

    def describe_dataverse(self) -> str:
        assert self.dataverse is not None
        return f"Dataverse sandbox environment at {self.dataverse.base_url}"

    @property
    def dataverse_credentials(self) -> dict[str, str]:
        """What a client signs in with: the sandbox's own tenant, app registration and secret."""
        assert self.dataverse is not None
        return {"DATAVERSE_URL": self.dataverse.base_url, "DATAVERSE_TENANT_ID": DATAVERSE_TENANT,
                "DATAVERSE_CLIENT_ID": DATAVERSE_CLIENT, "DATAVERSE_CLIENT_SECRET": DATAVERSE_SECRET,
                "DATAVERSE_AUTHORITY_HOST": self.dataverse.base_url,
                **({"DATAVERSE_SHAREPOINT_SITE": GRAPH_SITE_ID, "GRAPH_URL": self.graph.base_url}
                   if self.graph is not None else {})}

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
        if self.dataverse is not None:
            variables.update(self.dataverse_credentials)
        return {**variables, **self.tls.client_environment()}
