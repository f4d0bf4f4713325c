"""Options and helpers several commands share."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click

from engine.compile.compiler import CompiledSpec, compile_spec
from engine.errors import SpecError
from engine.spec.loader import LoadedSpec, load_spec
from engine.workspace import Workspace

SPEC_ARG = click.argument("spec", type=click.Path(path_type=Path, dir_okay=False))
WORKSPACE_OPTION = click.option(
    "--workspace", type=click.Path(path_type=Path, file_okay=False), default=None,
    help="Folder for this migration's sandbox, state and reports (default: ./.flitstack or "
         "$FLITSTACK_WORKSPACE).")


def fail_spec(error: SpecError) -> NoReturn:
    for diagnostic in error.diagnostics:
        click.echo(diagnostic.format(), err=True)
    count = len(error.diagnostics)
    click.echo(f"{count} error{'s' if count != 1 else ''}; nothing was run.", err=True)
    sys.exit(2)


def load_or_exit(spec: Path) -> LoadedSpec:
    try:
        return load_spec(spec)
    except SpecError as error:
        fail_spec(error)


def compile_or_exit(spec: Path) -> CompiledSpec:
    return compile_spec(load_or_exit(spec))


def workspace_of(option: Path | None) -> Workspace:
    return Workspace.locate(option)
