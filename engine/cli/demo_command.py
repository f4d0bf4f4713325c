"""`flitstack demo --target salesforce --out DIR`: the whole workflow against the sandbox, end to end.

It is the commands an analyst runs, in order, with their own code paths (each
step is the real command, invoked in this process): validate, audit,
provision + deploy, sample + diff, sign-off, run, a few changes in the source
and delta, reconcile. Every report lands in DIR. The sandbox is forced on,
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
from engine.sandbox.salesforce import Org
from engine.sandbox.salesforce.factory import DATABASE_NAME as SALESFORCE_DATABASE
from engine.sandbox.salesforce.users import DEFAULT_USERS, UserSeed

SPECS = {"salesforce": Path("specs/cliniko-to-salesforce.yaml")}
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


def _practitioner_users(workspace: Path) -> list[UserSeed]:
    """Salesforce users for some of the clinic's practitioners, as a real org would have them:
    two active standard users, one inactive — so owners resolve, and one shows why it cannot."""
    with ClinikoStore(workspace / "sandbox" / "cliniko" / CLINIKO_DATABASE) as store:
        people = [store.get("users", p["user_id"]) for p in store.select("practitioners", limit=3)]
    seeds = []
    for number, person in enumerate(p for p in people if p and p.get("email")):
        seeds.append(UserSeed(f"practitioner{number}@flitstack.sandbox", str(person["email"]),
                              str(person.get("first_name") or "Practitioner"),
                              str(person.get("last_name") or str(number)), active=number < 2))
    return seeds


@click.command()
@click.option("--target", type=click.Choice(sorted(SPECS)), default="salesforce", show_default=True)
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Folder for every report; its workspace/ subfolder is the demo's own (recreated).")
@click.option("--patients", type=click.IntRange(1, 100_000), default=200, show_default=True,
              help="Size of the generated clinic.")
def demo(target: str, out: Path, patients: int) -> None:
    """Run the whole migration workflow against the sandbox, writing every report into OUT."""
    spec = str(SPECS[target])
    out = out.resolve()
    workspace = out / "workspace"
    if workspace.exists():
        shutil.rmtree(workspace)
    out.mkdir(parents=True, exist_ok=True)
    with _sandbox_only():
        _workflow(spec, target, out, workspace, patients)


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


def _workflow(spec: str, target: str, out: Path, workspace: Path, patients: int) -> None:
    ws = ("--workspace", str(workspace))
    click.echo(f"Demo: Cliniko → {target}, all in the local sandbox (no real system is contacted); "
               f"reports in {out}")
    started = time.monotonic()
    _step("validate the spec", "validate", spec)
    _step("generate a synthetic clinic", "sandbox", "seed", "--patients", str(patients), *ws)
    with Org(workspace / "sandbox" / "salesforce" / SALESFORCE_DATABASE,
             users=[*DEFAULT_USERS, *_practitioner_users(workspace)]):
        pass  # the org opens with these users seeded, as the practice's own org would have them
    _step("audit the source", "audit", spec, "--out", str(out / "audit"), *ws)
    _step("provision and deploy", "provision", spec, "--out", str(out / "provision"), "--apply", *ws)
    _step("sample with a field-level diff", "sample", spec, "--size", str(SAMPLE_SIZE),
          "--out", str(out / "sample"), *ws)
    _step("sign off", "signoff", spec, "--by", "Demo Analyst", "--note", "demo sign-off", *ws)
    _step("full run", "run", spec, *ws)
    changes = change_clinic(workspace / "sandbox")
    click.echo("\n== meanwhile, in the clinic: " + "; ".join(changes.describe()))
    _step("delta", "delta", spec, *ws)
    code = _step("reconcile", "reconcile", spec, "--out", str(out), *ws, allowed=(0, 1))
    for name in REPORTS:
        source = workspace / "reports" / name
        if source.exists():
            shutil.copy2(source, out / name)
    click.echo(f"\nDemo finished in {time.monotonic() - started:.0f} s. Reports:")
    sources = out / "provision" / "salesforce" / "force-app"
    for path in sorted(p for p in out.rglob("*") if p.is_file() and workspace not in p.parents
                       and sources not in p.parents):
        click.echo(f"  {path.relative_to(out)}")
    if sources.exists():
        click.echo(f"  {sources.relative_to(out)}/ ({sum(1 for p in sources.rglob('*') if p.is_file())} "
                   "SFDX source files)")
    if code:
        click.echo("The reconciliation found discrepancies (see reconciliation.html).")
        sys.exit(1)
