"""`flitstack` — one command per step of a migration.

Exit codes mean something: 0 all good, 1 the step ran and found problems
(a failing spec test, a reconciliation discrepancy), 2 the input is wrong
(a spec error, a bad option). A user mistake never prints a traceback.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import ClassVar

import click

from engine.cli.options import SPEC_ARG, WORKSPACE_OPTION, compile_or_exit, load_or_exit, workspace_of
from engine.spectest.runner import run_tests


class _LazyGroup(click.Group):
    """Commands in their own modules are imported only when run (or listed): `validate` and `test`
    should not pay for importing the connectors, the sandbox and simple-salesforce."""

    LAZY: ClassVar[dict[str, str]] = {
        "audit": "engine.cli.audit_command:audit",
        "connections": "engine.cli.connections_command:connections",
        "run": "engine.cli.run_command:run",
        "demo": "engine.cli.demo_command:demo",
        "delta": "engine.cli.run_command:delta",
        "provision": "engine.cli.provision_command:provision",
        "reconcile": "engine.cli.reconcile_command:reconcile",
        "rollback": "engine.cli.rollback_command:rollback",
        "sandbox": "engine.cli.sandbox_commands:sandbox",
        "sample": "engine.cli.sample_command:sample",
        "signoff": "engine.cli.sample_command:signoff",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.LAZY})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.LAZY:
            module_name, _, attribute = self.LAZY[cmd_name].partition(":")
            command: click.Command = getattr(importlib.import_module(module_name), attribute)
            return command
        return super().get_command(ctx, cmd_name)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="flitstack")
def main() -> None:
    """Declarative CRM migrations: Cliniko to Salesforce or Dynamics 365."""


@main.command()
@SPEC_ARG
@click.option("--against-target", is_flag=True,
              help="Also check the spec against the live target org: fields, access, picklists.")
@WORKSPACE_OPTION
def validate(spec: Path, against_target: bool, workspace: Path | None) -> None:
    """Check a spec: schema, names, expressions, target fields, load order."""
    loaded = load_or_exit(spec)
    s = loaded.spec
    fields = sum(len(o.fields) for o in s.objects.values())
    click.echo(f"{spec}: valid — {len(s.objects)} objects, {fields} field rules, "
               f"{len(s.value_maps)} value maps, {len(s.tests)} tests "
               f"({s.source_system} → {s.target_system})")
    if against_target:
        from engine.cli.against_target_command import check_against_target

        check_against_target(loaded, workspace_of(workspace))


@main.command()
@SPEC_ARG
def plan(spec: Path) -> None:
    """Show the objects in load order, their dependencies and second-pass lookups."""
    loaded = load_or_exit(spec)
    steps = loaded.plan.steps
    click.echo(f"Load plan for {loaded.spec.name} ({loaded.spec.source_system} → "
               f"{loaded.spec.target_system}), {len(steps)} objects:")
    width = max((len(s.object) for s in steps), default=0)
    for number, step in enumerate(steps, start=1):
        source = loaded.spec.objects[step.object].source
        deps = ", ".join(step.depends_on) if step.depends_on else "—"
        click.echo(f"{number:>3}. {step.object:<{width}}  {source} → {step.target}  "
                   f"{step.field_count} fields  after: {deps}")
        for deferred in step.deferred:
            click.echo(f"     second pass: {step.target}.{deferred.field} → {deferred.parent} "
                       "(set by an update once both records exist)")


@main.command(name="test")
@SPEC_ARG
def test_command(spec: Path) -> None:
    """Run the spec's own tests; show expected versus actual field by field."""
    compiled = compile_or_exit(spec)
    results = run_tests(compiled)
    failed = 0
    skipped = 0
    for result in results:
        if result.skipped:
            skipped += 1
            why = f" ({result.test.skip_reason})" if result.test.skip_reason else ""
            click.echo(f"SKIP  {result.test.object or '-'}: {result.test.name}{why}")
        elif result.passed:
            click.echo(f"PASS  {result.test.object}: {result.test.name}")
        else:
            failed += 1
            click.echo(f"FAIL  {result.test.object}: {result.test.name}")
            for line in result.failures:
                click.echo(f"      {line}")
    passed = len(results) - failed - skipped
    summary = f"{passed} passed, {failed} failed"
    if skipped:
        summary += f", {skipped} skipped"
    click.echo(summary)
    if failed:
        sys.exit(1)
