"""What every lifecycle command opens: the compiled spec, the workspace's state store, the source
and the target — real when credentials are set, else the workspace's sandbox, and said so first."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import click

from engine.cli.connections import SourceConnection, TargetConnection, cliniko_source, salesforce_target
from engine.cli.options import compile_or_exit, workspace_of
from engine.compile.compiler import CompiledSpec
from engine.connectors import ClinikoConnector
from engine.errors import UsageError
from engine.load.salesforce_target import Download, SalesforceTarget
from engine.records import TargetRecord
from engine.run.progress import Bars, LogLines, Progress
from engine.spec.limits import target_limit
from engine.state.store import StateStore
from engine.workspace import Workspace


@dataclass
class Session:
    compiled: CompiledSpec
    workspace: Workspace
    store: StateStore
    source: SourceConnection | None
    target_connection: TargetConnection
    target: SalesforceTarget

    @property
    def reader(self) -> ClinikoConnector:
        if self.source is None:
            raise UsageError("this command was opened without the source")
        return self.source.connector

    @property
    def spec_name(self) -> str:
        return self.compiled.loaded.spec.name

    @property
    def spec_hash(self) -> str:
        return self.compiled.loaded.content_hash


def attachment_download(connector: ClinikoConnector, max_bytes: int | None) -> Download:
    """An attachment's content from the source, for the target's file upload (bounded by the cap)."""
    def download(record: TargetRecord, folder: Path) -> Path:
        source_record = {"id": record.source_id, "content_url": record.values.get("VersionData"),
                         "filename": record.values.get("PathOnClient")}
        return connector.download(source_record, folder, max_bytes=max_bytes)

    return download


@contextmanager
def open_session(spec: Path, workspace: Path | None, *, with_source: bool = True) -> Iterator[Session]:
    compiled = compile_or_exit(spec)
    if compiled.loaded.spec.target_system != "salesforce":
        raise UsageError(f"loading into {compiled.loaded.spec.target_system} is not available yet; "
                         "this flitstack loads into Salesforce")
    ws = workspace_of(workspace).ensure()
    with ExitStack() as stack:
        source = stack.enter_context(cliniko_source(ws)) if with_source else None
        if source is not None:
            click.echo(f"Source: {source.label}")
        connection = stack.enter_context(salesforce_target(ws))
        click.echo(f"Target: {connection.label}")
        limit = target_limit(compiled.loaded.target, "file_max_bytes")
        download = attachment_download(source.connector, int(limit) if limit else None) if source else None
        target = SalesforceTarget(connection.sf, compiled, label=connection.label, download=download)
        store = stack.enter_context(StateStore.in_folder(ws.root))
        yield Session(compiled, ws, store, source, connection, target)


def progress_display(stack: ExitStack) -> Progress:
    """Bars on a terminal; plain lines in logs, pipes and CI."""
    if sys.stderr.isatty():
        return stack.enter_context(Bars())
    return LogLines()
