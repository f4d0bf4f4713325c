"""`flitstack connections`: which profile the workspace's source and target use, and what each reads
from the environment (names and whether they are set — never values)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from engine.cli.connections import CLINIKO_BASE, CLINIKO_KEY, CONTACT_EMAIL, SALESFORCE_TOKEN, SALESFORCE_URL
from engine.cli.options import WORKSPACE_OPTION, workspace_of
from engine.errors import UsageError
from engine.profiles import Profile, read_profiles, write_profiles

VARIABLES = {"source": ((CLINIKO_KEY, CONTACT_EMAIL), (CLINIKO_BASE,)),
             "target": ((SALESFORCE_URL, SALESFORCE_TOKEN), ())}
NONE = "none"


@click.command()
@click.option("--source", "source_profile", default=None, metavar="PROFILE",
              help=f"Use this profile for the source ('{NONE}': the plain variables, or the sandbox).")
@click.option("--target", "target_profile", default=None, metavar="PROFILE",
              help=f"Use this profile for the target ('{NONE}': the plain variables, or the sandbox).")
@WORKSPACE_OPTION
def connections(source_profile: str | None, target_profile: str | None, workspace: Path | None) -> None:
    """Show (or set) the workspace's connection profiles and the variables they read."""
    ws = workspace_of(workspace)
    try:
        profiles = read_profiles(ws.root)
        chosen = {"source": source_profile, "target": target_profile}
        if any(v is not None for v in chosen.values()):
            ws.ensure()
            for side, name in chosen.items():
                if name is not None:
                    profiles[side] = Profile(None if name == NONE else name)
            path = write_profiles(ws.root, profiles)
            click.echo(f"Wrote {path}")
    except UsageError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    for side, profile in profiles.items():
        required, optional = VARIABLES[side]
        ready = all(profile.get(name) for name in required)
        uses = "real system" if ready else ("sandbox" if not profile.name else "nothing: variables missing")
        click.echo(f"{side}: {profile.describe()} → {uses}")
        for name in (*required, *optional):
            state = "set" if profile.get(name) else ("unset" if name in required else "unset (optional)")
            click.echo(f"  {profile.variable(name):<44} {state}")
