"""`flitstack validate SPEC --against-target`: the spec checked against the org it will load into."""

from __future__ import annotations

import sys

import click

from engine.cli.connections import dataverse_target, salesforce_target
from engine.cli.options import fail_spec
from engine.connectors.dataverse_describe import dataverse_describer
from engine.connectors.salesforce_describe import salesforce_describer
from engine.errors import SpecError, UsageError
from engine.load.target import LoadStopped
from engine.spec.against_target import APPLY_HINT, AgainstTarget
from engine.spec.loader import LoadedSpec
from engine.workspace import Workspace


def check_against_target(loaded: LoadedSpec, workspace: Workspace) -> None:
    try:
        if loaded.spec.target_system == "salesforce":
            with salesforce_target(workspace) as target:
                click.echo(f"Target: {target.label}")
                problems = AgainstTarget(loaded.spec, salesforce_describer(target.sf), "the org").run()
            where = "The org"
        else:
            with dataverse_target(workspace) as dataverse:
                click.echo(f"Target: {dataverse.label}")
                describer = dataverse_describer(dataverse.client)
                problems = AgainstTarget(loaded.spec, describer, "the environment", hint=APPLY_HINT).run()
            where = "The environment"
    except (UsageError, LoadStopped) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    if problems:
        fail_spec(SpecError(problems))
    click.echo(f"{where} has every object and field the spec writes, with the option values it produces.")
