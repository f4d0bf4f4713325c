"""`flitstack validate SPEC --against-target`: the spec checked against the org it will load into."""

from __future__ import annotations

import sys

import click

from engine.cli.connections import salesforce_target
from engine.cli.options import fail_spec
from engine.connectors.salesforce_describe import salesforce_describer
from engine.errors import SpecError
from engine.spec.against_target import AgainstTarget
from engine.spec.loader import LoadedSpec
from engine.workspace import Workspace


def check_against_target(loaded: LoadedSpec, workspace: Workspace) -> None:
    system = loaded.spec.target_system
    if system != "salesforce":
        click.echo(f"error: --against-target is not available for {system} yet", err=True)
        sys.exit(2)
    with salesforce_target(workspace) as target:
        click.echo(f"Target: {target.label}")
        problems = AgainstTarget(loaded.spec, salesforce_describer(target.sf), "the org").run()
    if problems:
        fail_spec(SpecError(problems))
    click.echo("The org has every object and field the spec writes, with the picklist values it produces.")
