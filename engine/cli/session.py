"""What every lifecycle command opens: the compiled spec, the workspace's state store, the source
and the target — real when credentials are set, else the workspace's sandbox, and said so first."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import click

from engine.cli.connections import SourceConnection, cliniko_source, dataverse_target, salesforce_target
from engine.cli.options import compile_or_exit, workspace_of
from engine.compile.compiler import CompiledSpec
from engine.connectors import ClinikoConnector
from engine.errors import UsageError
from engine.load.dataverse import CONTENT_FIELDS as DATAVERSE_CONTENT_FIELDS
from engine.load.dataverse import DataverseTarget
from engine.load.salesforce_target import CONTENT_FIELDS as SALESFORCE_CONTENT_FIELDS
from engine.load.salesforce_target import Download, SalesforceTarget
from engine.load.target import Target
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
    target: Target

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


# Where each target's attachment record carries the file's source address and name (the spec's fields).
CONTENT_FIELDS = {"salesforce": SALESFORCE_CONTENT_FIELDS, "dynamics365": DATAVERSE_CONTENT_FIELDS}


def attachment_download(connector: ClinikoConnector, max_bytes: int | None, system: str) -> Download:
    """An attachment's content from the source, for the target's file upload (bounded by the cap)."""
    address, name = CONTENT_FIELDS[system]

    def download(record: TargetRecord, folder: Path) -> Path:
        source_record = {"id": record.source_id, "content_url": record.values.get(address),
                         "filename": record.values.get(name)}
        return connector.download(source_record, folder, max_bytes=max_bytes)

    return download


@contextmanager
def open_session(spec: Path, workspace: Path | None, *, with_source: bool = True) -> Iterator[Session]:
    compiled = compile_or_exit(spec)
    system = compiled.loaded.spec.target_system
    if system not in CONTENT_FIELDS:
        raise UsageError(f"loading into {system} is not available; targets: {', '.join(CONTENT_FIELDS)}")
    ws = workspace_of(workspace).ensure()
    with ExitStack() as stack:
        source = stack.enter_context(cliniko_source(ws)) if with_source else None
        if source is not None:
            click.echo(f"Source: {source.label}")
        limit = target_limit(compiled.loaded.target, "file_max_bytes")
        download = attachment_download(source.connector, int(limit) if limit else None, system) \
            if source else None
        target: Target
        if system == "salesforce":
            connection = stack.enter_context(salesforce_target(ws))
            target = SalesforceTarget(connection.sf, compiled, label=connection.label, download=download)
        else:
            dataverse = stack.enter_context(dataverse_target(ws))
            target = DataverseTarget.for_spec(dataverse.client, compiled, label=dataverse.label,
                                              download=download, sharepoint=dataverse.sharepoint)
        click.echo(f"Target: {target.label}")
        store = stack.enter_context(StateStore.in_folder(ws.root))
        yield Session(compiled, ws, store, source, target)


def progress_display(stack: ExitStack) -> Progress:
    """Bars on a terminal; plain lines in logs, pipes and CI."""
    if sys.stderr.isatty():
        return stack.enter_context(Bars())
    return LogLines()
