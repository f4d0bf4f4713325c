"""`flitstack demo --target salesforce|dynamics365 --out DIR`: the whole workflow against the sandbox.

It is the commands an analyst runs, in order, with their own code paths (each
step is the real command, invoked in this process): validate, audit,
provision + apply, sample + diff, sign-off, run, a few changes in the source
and delta, reconcile, and rollback (unless --keep). Every report lands in DIR. The sandbox is forced on,
whatever credentials the shell holds: a demo never touches a real system.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from engine.sandbox.changes import change_clinic
from engine.sandbox.cliniko import ClinikoStore
from engine.sandbox.cliniko.factory import DATABASE_NAME as CLINIKO_DATABASE
from engine.sandbox.dataverse import DATABASE_NAME as DATAVERSE_DATABASE
from engine.sandbox.dataverse import DEFAULT_USERS as DATAVERSE_USERS
from engine.sandbox.dataverse import Environment as DataverseEnvironment
from engine.sandbox.dataverse import UserSeed as DataverseUser
from engine.sandbox.salesforce import Org
from engine.sandbox.salesforce.factory import DATABASE_NAME as SALESFORCE_DATABASE
from engine.sandbox.salesforce.users import DEFAULT_USERS, UserSeed

SPECS = {"salesforce": Path("specs/cliniko-to-salesforce.yaml"),
         "dynamics365": Path("specs/cliniko-to-dynamics365.yaml")}
DEMO_RATE_LIMIT = "6000"  # Cliniko allows 200 requests a minute; the demo's sandbox is faster
SAMPLE_SIZE = 20
REPORTS = ("quarantine.csv", "unresolved_owners.csv")


def _step(title: str, *args: str, allowed: tuple[int, ...] = (0,)) -> int:
    from engine.cli.main import main  # the command group, imported late: it lists this command

    click.echo(f"\n== {title}: flitstack {' '.join(args)}")
    started = time.monotonic()
    try:
        main.main(list(args), prog_name="flitstack", standalone_mode=False)
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    click.echo(f"   ({time.monotonic() - started:.1f} s)")
    if code not in allowed:
        click.echo(f"demo stopped: step '{title}' exited {code}", err=True)
        sys.exit(code or 1)
    return code


def _practitioners(workspace: Path) -> list[tuple[str, str, str]]:
    """(e-mail, first name, last name) of the clinic's first three practitioners."""
    with ClinikoStore(workspace / "sandbox" / "cliniko" / CLINIKO_DATABASE) as store:
        people = [store.get("users", p["user_id"]) for p in store.select("practitioners", limit=3)]
    return [(str(p["email"]), str(p.get("first_name") or "Practitioner"), str(p.get("last_name") or n))
            for n, p in enumerate(people) if p and p.get("email")]


def _seed_practice_users(target: str, workspace: Path) -> None:
    """Users for some of the clinic's practitioners, as the practice's own org would have them: two
    active, one inactive — so owners resolve, and one shows why it cannot."""
    people = _practitioners(workspace)
    if target == "salesforce":
        seeds = [UserSeed(f"practitioner{n}@flitstack.sandbox", email, first, last, active=n < 2)
                 for n, (email, first, last) in enumerate(people)]
        with Org(workspace / "sandbox" / "salesforce" / SALESFORCE_DATABASE, users=[*DEFAULT_USERS, *seeds]):
            pass  # the org opens with these users seeded
        return
    users = tuple(DataverseUser(first, last, email, disabled=n >= 2)
                  for n, (email, first, last) in enumerate(people))
    with DataverseEnvironment(workspace / "sandbox" / "dataverse" / DATAVERSE_DATABASE,
                              users=(*DATAVERSE_USERS, *users)):
        pass  # a new environment is created with these users


@click.command()
@click.option("--target", type=click.Choice(sorted(SPECS)), default="salesforce", show_default=True)
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Folder for every report; its workspace/ subfolder is the demo's own (recreated).")
@click.option("--patients", type=click.IntRange(1, 100_000), default=200, show_default=True,
              help="Size of the generated clinic.")
@click.option("--keep", is_flag=True,
              help="Leave the migrated records in the sandbox target (skip the final rollback).")
def demo(target: str, out: Path, patients: int, keep: bool) -> None:
    """Run the whole migration workflow against the sandbox, writing every report into OUT."""
    spec = str(SPECS[target])
    out = out.resolve()
    workspace = out / "workspace"
    if workspace.exists():
        shutil.rmtree(workspace)
    out.mkdir(parents=True, exist_ok=True)
    with _sandbox_only():
        _workflow(spec, target, out, workspace, patients, keep)


@contextmanager
def _sandbox_only() -> Iterator[None]:
    """The sandbox whatever the shell exports, and a faster Cliniko limit unless one is set;
    the environment is given back as it was."""
    names = ("FLITSTACK_FORCE_SANDBOX", "FLITSTACK_SANDBOX_RATE_LIMIT")
    saved = {name: os.environ.get(name) for name in names}
    os.environ["FLITSTACK_FORCE_SANDBOX"] = "1"
    os.environ.setdefault("FLITSTACK_SANDBOX_RATE_LIMIT", DEMO_RATE_LIMIT)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _workflow(spec: str, target: str, out: Path, workspace: Path, patients: int, keep: bool) -> None:
    ws = ("--workspace", str(workspace))
    click.echo(f"Demo: Cliniko → {target}, all in the local sandbox (no real system is contacted); "
               f"reports in {out}")
    started = time.monotonic()
    _step("validate the spec", "validate", spec)
    _step("generate a synthetic clinic", "sandbox", "seed", "--patients", str(patients), *ws)
    _seed_practice_users(target, workspace)
    _step("audit the source", "audit", spec, "--out", str(out / "audit"), *ws)
    _step("provision and apply", "provision", spec, "--out", str(out / "provision"), "--apply", *ws)
    _step("sample with a field-level diff", "sample", spec, "--size", str(SAMPLE_SIZE),
          "--out", str(out / "sample"), *ws)
    _step("sign off", "signoff", spec, "--by", "Demo Analyst", "--note", "demo sign-off", *ws)
    _step("full run", "run", spec, *ws)
    changes = change_clinic(workspace / "sandbox")
    click.echo("\n== meanwhile, in the clinic: " + "; ".join(changes.describe()))
    _step("delta", "delta", spec, *ws)
    code = _step("reconcile", "reconcile", spec, "--out", str(out), *ws, allowed=(0, 1))
    if not keep:
        _step("roll the migration back", "rollback", spec, *ws)
    for name in REPORTS:
        source = workspace / "reports" / name
        if source.exists():
            shutil.copy2(source, out / name)
    click.echo(f"\nDemo finished in {time.monotonic() - started:.0f} s. Reports:")
    sources = out / "provision" / ("salesforce" if target == "salesforce" else "dataverse")
    for path in sorted(p for p in out.rglob("*") if p.is_file() and workspace not in p.parents
                       and sources not in p.parents):
        click.echo(f"  {path.relative_to(out)}")
    if sources.exists():
        click.echo(f"  {sources.relative_to(out)}/ ({sum(1 for p in sources.rglob('*') if p.is_file())} "
                   "metadata files)")
    if code:
        click.echo("The reconciliation found discrepancies (see reconciliation.html).")
        sys.exit(1)
