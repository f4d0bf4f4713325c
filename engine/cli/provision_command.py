"""`flitstack provision SPEC --out DIR`: the target's custom objects, fields and permission
set as deployable files, and the field sheet for the admin to review first."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from engine.cli.connections import salesforce_target
from engine.cli.options import SPEC_ARG, WORKSPACE_OPTION, fail_spec, load_or_exit, workspace_of
from engine.errors import SpecError, UsageError
from engine.provision import provision as run_provision
from engine.provision.deploy_salesforce import deploy_package


@click.command()
@SPEC_ARG
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Folder for the platform's files (salesforce/...) and the field sheet "
                   "(field-sheet.xlsx, .csv, .md). Files there from an earlier run are replaced.")
@click.option("--deploy", is_flag=True,
              help="Then deploy the package to the target org through the Metadata API (the sandbox "
                   "org when no SALESFORCE_* credentials are set).")
@WORKSPACE_OPTION
def provision(spec: Path, out: Path, deploy: bool, workspace: Path | None) -> None:
    """Write the target metadata the spec's `provision:` section asks for, and the field sheet."""
    loaded = load_or_exit(spec)
    try:
        result = run_provision(loaded, out)
    except SpecError as error:
        fail_spec(error)
    except UsageError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    plan = result.plan
    existing = sum(1 for o in plan.objects for f in o.fields if not f.new and f.writes)
    click.echo(f"Provisioning for {plan.spec_name} ({plan.target_system}): "
               f"{len(plan.objects)} objects, {result.new_objects} new; "
               f"{result.new_fields} new fields ({result.permitted_fields} in the permission set), "
               f"{existing} existing fields written.")
    for obj in plan.objects:
        new = sum(1 for f in obj.fields if f.new)
        status = "new object" if obj.new else "existing"
        placed = f" (fields on {obj.fields_on})" if obj.fields_on and new else ""
        click.echo(f"  {obj.name:<24} {status:<10} {new:>3} new fields{placed}")
    click.echo(f"Wrote {len(result.written)} files under {out}:")
    for path in result.written:
        if path.parent == out or path.name in ("package.xml", "deploy.zip", "sfdx-project.json"):
            click.echo(f"  {path}")
    if not deploy:
        click.echo(f"Deploy: cd {out / 'salesforce'} && sf project deploy start --manifest package.xml")
        return
    package = out / "salesforce" / "deploy.zip"
    try:
        with salesforce_target(workspace_of(workspace)) as target:
            click.echo(f"Target: {target.label}")
            if plan.target_system != "salesforce":
                raise UsageError(f"--deploy applies Salesforce packages; {plan.target_system} is not "
                                 "supported yet")
            deployed = deploy_package(target.sf, package)
    except UsageError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(f"Deployed {package.name}: {deployed.get('state')}.")
