"""A migrated workspace: a seeded Cliniko sandbox, the spec's package deployed to the Salesforce
sandbox, a sign-off, and `flitstack run` done — everything through the CLI, as an analyst would.

`Workspace` helpers invoke commands in-process with the workspace's environment and read the
Salesforce sandbox org's records directly (for snapshots), between commands.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from engine.cli.main import main
from engine.sandbox.changes import SourceChanges, change_clinic
from engine.sandbox.dataverse import DATABASE_NAME as DATAVERSE_DATABASE
from engine.sandbox.dataverse import Environment as DataverseEnvironment
from engine.sandbox.salesforce import Org
from engine.sandbox.salesforce.factory import DATABASE_NAME
from engine.spec.loader import load_spec
from engine.state.store import StateStore

ROOT = Path(__file__).resolve().parent.parent
SALESFORCE_SPEC = ROOT / "specs" / "cliniko-to-salesforce.yaml"
SMALL_CLINIC = 30
# Fields the org sets itself on every write: not part of what a migration (or a rollback) restores.
SYSTEM_FIELDS = frozenset({"LastModifiedDate", "LastModifiedById", "SystemModstamp", "LastViewedDate",
                           "LastReferencedDate", "modifiedon", "modifiedby", "versionnumber"})
DYNAMICS_SPEC = ROOT / "specs" / "cliniko-to-dynamics365.yaml"
KEY_FIELDS = ("Cliniko_Id__c", "fs_clinikoid")


@dataclass
class MigrationWorkspace:
    root: Path
    spec: Path = SALESFORCE_SPEC

    @property
    def env(self) -> dict[str, str]:
        # No credentials: the sandbox. A fast Cliniko rate limit keeps tests quick.
        return {"FLITSTACK_WORKSPACE": str(self.root), "FLITSTACK_SANDBOX_RATE_LIMIT": "60000",
                "CLINIKO_API_KEY": "", "SALESFORCE_INSTANCE_URL": "", "SALESFORCE_ACCESS_TOKEN": ""}

    def invoke(self, *args: str, expect: int | None = 0, env: dict[str, str] | None = None) -> Result:
        result = CliRunner().invoke(main, list(args), env={**self.env, **(env or {})}, catch_exceptions=False)
        if expect is not None:
            assert result.exit_code == expect, f"flitstack {' '.join(args)} → {result.exit_code}\n{result.output}"
        return result

    def store(self) -> StateStore:
        return StateStore.in_folder(self.root)

    def org(self) -> Org:
        """The sandbox org, opened directly (only between commands: a command runs its own server)."""
        return Org(self.root / "sandbox" / "salesforce" / DATABASE_NAME)

    @property
    def dynamics(self) -> bool:
        return self.spec.name.endswith("dynamics365.yaml")

    def environment(self) -> DataverseEnvironment:
        """The Dataverse sandbox environment, opened directly (between commands only)."""
        return DataverseEnvironment(self.root / "sandbox" / "dataverse" / DATAVERSE_DATABASE)

    def snapshot(self, *objects: str) -> dict[str, dict[str, dict[str, Any]]]:
        """Every live record of `objects` (all objects when none given), system fields aside."""
        if self.dynamics:
            with self.environment() as env:
                tables = objects or tuple(env.schema.tables)
                # The Web API reads an absent column and a null one alike: so does the snapshot.
                return {name: {str(row[env.schema.table(name).primary_id]): {
                    k: v for k, v in row.items() if k not in SYSTEM_FIELDS and v is not None}
                    for row in env.rows(name)} for name in tables}
        with self.org() as org:
            names = objects or tuple(meta.name for meta in org.objects())
            return {name: {record.id: {k: v for k, v in record.fields.items() if k not in SYSTEM_FIELDS}
                           for record in org.records(name)} for name in names}

    def keyed_snapshot(self) -> dict[str, dict[str, dict[str, Any]]]:
        """The snapshot keyed by each record's Cliniko id, lookups as "Object:key" and the org's own
        ids and timestamps left out: comparable between two orgs loaded from the same clinic."""
        raw = self.snapshot()
        names = {_record_id(name, record_id, fields): f"{name}:{_key(fields)}" for name, records in raw.items()
                 for record_id, fields in records.items() if _key(fields)}
        keyed: dict[str, dict[str, dict[str, Any]]] = {}
        for name, records in raw.items():
            for fields in records.values():
                key = _key(fields)
                if not key:
                    continue
                keyed.setdefault(name, {})[str(key)] = {
                    k: names.get(v, v) if isinstance(v, str) else v for k, v in fields.items()
                    if k not in ("Id", "CreatedDate", "ContentDocumentId", "LatestPublishedVersionId",
                                 f"{name}id", "activityid", "createdon", "overriddencreatedon")}
        return keyed

    def sign_off(self, who: str = "Test Analyst") -> None:
        """A sign-off of the current spec without a sample (tests of commands other than sample)."""
        loaded = load_spec(self.spec)
        with self.store() as store:
            store.add_signoff(who, loaded.spec.name, loaded.content_hash, None, None, "fixture")


def _key(fields: dict[str, Any]) -> str | None:
    return next((str(fields[k]) for k in KEY_FIELDS if fields.get(k)), None)


def _record_id(table: str, record_id: str, fields: dict[str, Any]) -> str:
    """Salesforce snapshots are keyed by Id; Dataverse rows carry theirs as `<table>id` (activities:
    `activityid`)."""
    return str(fields.get(f"{table}id") or fields.get("activityid") or record_id)


def change_source(workspace: MigrationWorkspace) -> SourceChanges:
    """The demo's source changes (3 patients edited, 2 appointments archived, 1 patient added)."""
    return change_clinic(workspace.root / "sandbox")


_TEMPLATES: dict[tuple[int, Path], Path] = {}


def prepared_workspace(root: Path, *, patients: int = SMALL_CLINIC,
                       spec: Path = SALESFORCE_SPEC) -> MigrationWorkspace:
    """Seeded, provisioned and deployed, signed off — not yet migrated.

    The first workspace of each (size, spec) is made through the CLI; later ones are copies of it,
    which saves the seeding and the deployment per test (the workspace is closed between commands)."""
    key = (patients, spec)
    if key not in _TEMPLATES:
        template = Path(tempfile.mkdtemp(prefix="flitstack-template-"))
        atexit.register(shutil.rmtree, template, True)
        workspace = MigrationWorkspace(template / "workspace", spec)
        workspace.invoke("sandbox", "seed", "--patients", str(patients))
        workspace.invoke("provision", str(spec), "--out", str(template / "provision"), "--apply")
        workspace.sign_off()
        _TEMPLATES[key] = workspace.root
    shutil.copytree(_TEMPLATES[key], root)
    return MigrationWorkspace(root, spec)


@pytest.fixture()
def prepared(tmp_path: Path) -> MigrationWorkspace:
    return prepared_workspace(tmp_path / "workspace")


@pytest.fixture()
def migrated(prepared: MigrationWorkspace) -> MigrationWorkspace:
    prepared.invoke("run", str(prepared.spec))
    return prepared

