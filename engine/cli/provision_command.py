"""`flitstack provision SPEC --out DIR`: the target's custom objects and fields as deployable
files (Salesforce: a metadata package with a permission set; Dataverse: Web API metadata
requests and their manifest), and the field sheet for the admin to review first."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from engine.cli.connections import dataverse_target, salesforce_target
from engine.cli.options import SPEC_ARG, WORKSPACE_OPTION, fail_spec, load_or_exit, workspace_of
from engine.errors import SpecError, UsageError
from engine.load.target import LoadStopped
from engine.provision import ProvisionResult
from engine.provision import provision as run_provision
from engine.provision.apply_dataverse import apply_manifest
from engine.provision.deploy_salesforce import deploy_package


@click.command()
@SPEC_ARG
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Folder for the platform's files (salesforce/... or dataverse/...) and the field sheet "
                   "(field-sheet.xlsx, .csv, .md). Files there from an earlier run are replaced.")
@click.option("--apply", "apply_", is_flag=True,
              help="Then apply them to the target: Salesforce — deploy the package through the Metadata API; "
                   "Dataverse — send the manifest's requests (skipping what exists) and wait for the "
                   "alternate keys. The sandbox when no target credentials are set.")
@WORKSPACE_OPTION
def provision(spec: Path, out: Path, apply_: bool, workspace: Path | None) -> None:
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
    if plan.target_system != "salesforce":
        _report_dataverse(result, out)
        if apply_:
            _apply_dataverse(out, workspace)
        return
    existing = sum(1 for o in plan.objects for f in o.fields if not f.new and f.writes)
    click.echo(f"Provisioning for {plan.spec_name} ({plan.target_system}): "
               f"{len(plan.objects)} objects, {result.new_objects} new; "
               f"{result.new_fields} new fields ({result.permitted_fields} in the permission set), "
               f"{existing} existing fields written.")
    _objects(result, "new object", "fields")
    _written(result, out, ("package.xml", "deploy.zip", "sfdx-project.json"))
    if not apply_:
        click.echo(f"Deploy: cd {out / 'salesforce'} && sf project deploy start --manifest package.xml "
                   "(or add --apply)")
        return
    package = out / "salesforce" / "deploy.zip"
    try:
        with salesforce_target(workspace_of(workspace)) as target:
            click.echo(f"Target: {target.label}")
            deployed = deploy_package(target.sf, package)
    except UsageError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(f"Deployed {package.name}: {deployed.get('state')}.")


def _objects(result: ProvisionResult, new_word: str, fields_word: str) -> None:
    for obj in result.plan.objects:
        new = sum(1 for f in obj.fields if f.new)
        status = new_word if obj.new else "existing"
        placed = f" (fields on {obj.fields_on})" if obj.fields_on and new else ""
        click.echo(f"  {obj.name:<24} {status:<10} {new:>3} new {fields_word}{placed}")


def _written(result: ProvisionResult, out: Path, shown: tuple[str, ...]) -> None:
    click.echo(f"Wrote {len(result.written)} files under {out}:")
    for path in result.written:
        if path.parent == out or path.name in shown:
            click.echo(f"  {path}")


def _report_dataverse(result: ProvisionResult, out: Path) -> None:
    plan = result.plan
    existing = sum(1 for o in plan.objects for f in o.fields if not f.new and f.writes)
    click.echo(f"Provisioning for {plan.spec_name} ({plan.target_system}): "
               f"{len(plan.objects)} tables, {result.new_objects} new; "
               f"{result.new_fields + result.relationships} new columns ({result.relationships} of them "
               f"lookups, created as relationships), {result.keys} alternate keys, "
               f"{existing} existing columns written.")
    for note in result.notes:
        click.echo(note)
    _objects(result, "new table", "columns")
    _written(result, out, ("manifest.json",))
    click.echo(f"Apply: add --apply, or send the requests of {out / 'dataverse' / 'manifest.json'} in order "
               "(each entry's method and path, with its body file), skipping those whose `exists` path "
               "answers 200; then wait for each alternate key's EntityKeyIndexStatus to be Active.")


def _apply_dataverse(out: Path, workspace: Path | None) -> None:
    try:
        with dataverse_target(workspace_of(workspace)) as target:
            click.echo(f"Target: {target.label}")
            applied = apply_manifest(target.client, out)
    except (UsageError, LoadStopped) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    made = ", ".join(f"{n} {kind}s" for kind, n in applied.created.items()) or "nothing new"
    there = sum(applied.present.values())
    click.echo(f"Applied: {made}; {there} already in place; alternate keys Active "
               f"(waited {applied.keys_waited_seconds:.0f} s).")
