"""`flitstack sandbox`: run the local emulators for other clients, and fill them with a clinic."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from pathlib import Path

import click

from engine.cli.options import WORKSPACE_OPTION, workspace_of
from engine.sandbox.runtime import Sandbox, SandboxOptions, seed_cliniko


@click.group()
def sandbox() -> None:
    """The local sandbox: emulators of Cliniko and Salesforce (Dataverse to come) on 127.0.0.1."""


@sandbox.command()
@click.option("--patients", type=click.IntRange(min=1), default=200, show_default=True,
              help="Patients in the generated clinic (appointments, notes, invoices... scale with it).")
@click.option("--seed", "seed_value", type=int, default=1, show_default=True,
              help="Same seed and size, same clinic.")
@WORKSPACE_OPTION
def seed(patients: int, seed_value: int, workspace: Path | None) -> None:
    """Replace the sandbox's Cliniko account with a generated clinic."""
    ws = workspace_of(workspace).ensure()
    try:
        manifest = seed_cliniko(ws.sandbox, patients=patients, seed=seed_value)
    except ValueError as exc:  # a size the generator cannot make distinct people for
        click.echo(f"error: --patients {patients:,}: {exc}", err=True)
        sys.exit(2)
    total = sum(manifest.counts.values())
    click.echo(f"Seeded the Cliniko sandbox in {ws.sandbox}: {total:,} records "
               f"({patients:,} patients, seed {seed_value}).")
    for resource, count in sorted(manifest.counts.items()):
        click.echo(f"  {count:>9,}  {resource}")
    click.echo("Planted data-quality problems:")
    for problem, count in sorted(manifest.problems.items()):
        click.echo(f"  {count:>9,}  {problem}")


@sandbox.command()
@click.option("--cliniko-port", type=click.IntRange(min=0, max=65535), default=0,
              help="Port for the Cliniko emulator (default: any free port).")
@click.option("--salesforce-port", type=click.IntRange(min=0, max=65535), default=0,
              help="Port for the Salesforce emulator (default: any free port).")
@click.option("--dataverse-port", type=click.IntRange(min=0, max=65535), default=0,
              help="Port for the Dataverse emulator (default: any free port).")
@click.option("--rate-limit", type=click.IntRange(min=1), default=200, show_default=True,
              help="Cliniko requests per minute per user before 429.")
@WORKSPACE_OPTION
def serve(cliniko_port: int, salesforce_port: int, dataverse_port: int, rate_limit: int,
          workspace: Path | None) -> None:
    """Run the sandbox in the foreground; print its URLs and the variables that point clients at it."""
    ws = workspace_of(workspace).ensure()
    options = SandboxOptions(cliniko_port=cliniko_port, cliniko_requests_per_minute=rate_limit,
                             salesforce_port=salesforce_port, dataverse_port=dataverse_port)
    with Sandbox(ws.sandbox, options, with_dataverse=True) as running:
        if running.seeded_now:
            click.echo("The sandbox was empty: seeded a default clinic "
                       "(`flitstack sandbox seed` makes another).")
        click.echo(running.describe_cliniko())
        click.echo(running.describe_salesforce())
        click.echo(running.describe_dataverse())
        click.echo("Point the connectors (and any other client) at it with:")
        for name, value in running.environment().items():
            click.echo(f"  export {name}={value}")
        click.echo("Serving until interrupted (Ctrl-C).", nl=True)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    click.echo("Sandbox stopped.")
