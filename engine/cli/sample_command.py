"""`flitstack sample SPEC` and `flitstack signoff SPEC`: the reviewed slice, and the approval of it.

`sample` picks a referentially closed slice of the source (engine/sample/selection.py),
loads it like a run (checkpointed, resumable, no sign-off needed), reads every loaded
record back and writes the field-level diff to `<workspace>/reports/sample-<run>/`.
The slice is kept there too (`selection.json`, ids only), so an interrupted sample
resumes the same slice and `--diff-only` compares it again later.

`signoff` records who approved which version of the spec after which sample, with the
sha256 of that sample's diff.csv; `run` and `delta` refuse a spec changed since.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import click

from engine.cli.options import SPEC_ARG, WORKSPACE_OPTION, compile_or_exit, workspace_of
from engine.cli.run_command import BATCH_OPTION, execute, lifecycle_errors, report_run
from engine.cli.session import Session, open_session
from engine.errors import UsageError
from engine.report.files import write_text
from engine.report.sample_diff import DIFF_CSV, file_sha256, write_sample_diff
from engine.run.runner import Scope
from engine.sample.diff import MISMATCH, SampleDiff, compute_diff
from engine.sample.selection import Selection, default_anchor, sample_selection
from engine.state.store import FILE_NAME, Run, StateStore
from engine.workspace import Workspace

SELECTION_FILE = "selection.json"
DEFAULT_SIZE = 25
MISMATCHES_PRINTED = 50


def sample_folder(workspace: Workspace, run_id: int) -> Path:
    return workspace.reports / f"sample-{run_id}"


def _save_selection(folder: Path, anchor: str, size: int, selection: Selection) -> None:
    body = {"anchor": anchor, "size": size,
            "selection": {name: sorted(ids) for name, ids in selection.items()}}
    write_text(folder / SELECTION_FILE, json.dumps(body, indent=1))


def _load_selection(folder: Path) -> Selection | None:
    path = folder / SELECTION_FILE
    if not path.exists():
        return None
    body = json.loads(path.read_text(encoding="utf-8"))
    return {name: set(ids) for name, ids in body["selection"].items()}


def _completed_sample(store: StateStore, spec_name: str, run_id: int | None) -> Run:
    """The sample `run_id`, or the latest completed sample of the spec."""
    if run_id is None:
        done = [r for r in store.runs("sample") if r.status == "completed" and r.spec_name == spec_name]
        if not done:
            raise UsageError(f"spec '{spec_name}' has no completed sample: run `flitstack sample SPEC` first")
        return done[-1]
    try:
        run = store.run(run_id)
    except KeyError:
        raise UsageError(f"there is no run {run_id}") from None
    if run.kind != "sample" or run.spec_name != spec_name:
        raise UsageError(f"run {run_id} is a {run.kind} of spec '{run.spec_name}', not a sample of "
                         f"'{spec_name}'")
    if run.status != "completed":
        raise UsageError(f"sample {run_id} did not complete ({run.status}): run `flitstack sample SPEC` "
                         "to resume it")
    return run


def _print_selection(session: Session, selection: Selection) -> None:
    total = sum(len(ids) for ids in selection.values())
    click.echo(f"Sample: {total:,} records")
    for name in session.compiled.plan.order:
        if selection.get(name):
            click.echo(f"  {name:<22}{len(selection[name]):>7,}")


def _start_or_resume(session: Session, anchor: str | None, size: int) -> tuple[Run, Selection]:
    store, workspace = session.store, session.workspace
    current = store.unfinished("sample", session.spec_name)
    if current is not None and current.spec_hash == session.spec_hash:
        selection = _load_selection(sample_folder(workspace, current.id))
        if selection is not None:
            click.echo(f"Resuming sample {current.id} ({current.note}; objects it finished are skipped).")
            return current, selection
        click.echo(f"Resuming sample {current.id}: it stopped before its slice was saved, so the slice is "
                   "selected again.")
    elif current is not None:
        click.echo(f"Sample {current.id} did not complete and was made with another version of the spec: "
                   "starting a new sample.")
        current = None
    chosen = anchor or default_anchor(session.compiled)
    click.echo(f"Selecting the first {size:,} {chosen} records and every record they reach …")
    selection = sample_selection(session.compiled, session.reader, chosen, size)
    if current is None:
        current = store.start_run("sample", session.spec_name, session.spec_hash, session.target.label,
                                  note=f"anchor {chosen}, size {size}")
    _save_selection(sample_folder(workspace, current.id), chosen, size, selection)
    return current, selection


def _report_diff(session: Session, diff: SampleDiff, out: Path | None) -> None:
    paths = write_sample_diff(diff, sample_folder(session.workspace, diff.run_id))
    if out is not None:
        write_sample_diff(diff, out)
    compared = sum(s.compared for s in diff.objects.values())
    fields = sum(s.fields for s in diff.objects.values())
    quarantined = sum(s.quarantined for s in diff.objects.values())
    mismatches = diff.mismatches
    click.echo(f"Diff: {fields:,} fields of {compared:,} records compared; {quarantined:,} sampled records "
               f"quarantined; {len(mismatches):,} mismatched fields.")
    for row in mismatches[:MISMATCHES_PRINTED]:
        click.echo(f"  mismatch: {row.object} {row.source_id} ({row.target_id}) {row.field}")
    if len(mismatches) > MISMATCHES_PRINTED:
        click.echo(f"  … and {len(mismatches) - MISMATCHES_PRINTED:,} more")
    if diff.skipped:
        click.echo("Not compared: " + ", ".join(f"{t}.{f}" for t, f in sorted(diff.skipped)))
    click.echo(f"Reports (they contain record values): {paths['html']} · {paths['csv']}"
               + (f" · copies in {out}" if out is not None else ""))
    click.echo(f"Review the diff, then: flitstack signoff SPEC --by NAME --sample {diff.run_id}")


@click.command()
@SPEC_ARG
@click.option("--size", type=click.IntRange(1, 100_000), default=DEFAULT_SIZE, show_default=True,
              help="How many anchor records (patients) the slice grows from.")
@click.option("--anchor", default=None, metavar="OBJECT",
              help="The spec object whose first records anchor the slice (default: the one reading "
                   "patients).")
@click.option("--diff-only", is_flag=True, help="Compare an existing sample again without loading anything.")
@click.option("--run", "run_id", type=int, default=None,
              help="With --diff-only: the sample to compare (default: the latest completed one).")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Also write diff.csv and diff.html here (the copy under reports/sample-<run>/ is the one "
                   "signoff hashes).")
@BATCH_OPTION
@WORKSPACE_OPTION
def sample(spec: Path, size: int, anchor: str | None, diff_only: bool, run_id: int | None, out: Path | None,
           batch_size: int, workspace: Path | None) -> None:
    """Load a referentially closed slice and write the field-level diff for review."""
    with lifecycle_errors(), open_session(spec, workspace) as session:
        store = session.store
        if diff_only:
            run = _completed_sample(store, session.spec_name, run_id)
            selection = _load_selection(sample_folder(session.workspace, run.id))
            if selection is None:
                raise UsageError(f"sample {run.id} has no {SELECTION_FILE} under "
                                 f"{sample_folder(session.workspace, run.id)}: run a new sample")
            if run.spec_hash != session.spec_hash:
                click.echo(f"Note: sample {run.id} was loaded with another version of the spec; the diff "
                           "compares what this version produces.")
        else:
            if run_id is not None:
                raise UsageError("--run goes with --diff-only (a new sample gets a new run)")
            run, selection = _start_or_resume(session, anchor, size)
            _print_selection(session, selection)
            execute(session, run, Scope(select=selection), batch_size)
            report_run(session, store.run(run.id))
        diff = compute_diff(session.compiled, session.reader, session.target, store, selection, run.id)
        _report_diff(session, diff, out)


def _mismatch_count(path: Path) -> int:
    with path.open(newline="", encoding="utf-8") as handle:
        return sum(1 for row in csv.DictReader(handle) if row.get("match") == MISMATCH)


@click.command()
@SPEC_ARG
@click.option("--by", "who", required=True, help="Who approves the spec and the sample's diff.")
@click.option("--note", default="", help="Why, or what was reviewed.")
@click.option("--sample", "sample_id", type=int, default=None,
              help="The sample reviewed (default: the latest completed sample of this spec).")
@WORKSPACE_OPTION
def signoff(spec: Path, who: str, note: str, sample_id: int | None, workspace: Path | None) -> None:
    """Record who approved this version of the spec after reviewing a sample's diff."""
    compiled = compile_or_exit(spec)
    name, spec_hash = compiled.loaded.spec.name, compiled.loaded.content_hash
    ws = workspace_of(workspace)
    with lifecycle_errors():
        if not who.strip():
            raise UsageError("--by needs the name of the person signing off")
        if not (ws.root / FILE_NAME).exists():
            raise UsageError(f"no migration state in {ws.root}: run `flitstack sample SPEC` first")
        with StateStore.in_folder(ws.root) as store:
            run = _completed_sample(store, name, sample_id)
            if run.spec_hash != spec_hash:
                raise UsageError(f"sample {run.id} was made with another version of spec '{name}': "
                                 "re-run `flitstack sample SPEC` and review its diff before signing off")
            diff_path = sample_folder(ws, run.id) / DIFF_CSV
            if not diff_path.exists():
                raise UsageError(f"sample {run.id} has no diff ({diff_path} is missing): "
                                 f"run `flitstack sample SPEC --diff-only --run {run.id}`")
            digest = file_sha256(diff_path)
            recorded = store.add_signoff(who.strip(), name, spec_hash, run.id, digest, note)
    click.echo(f"Signed off by {recorded.who} (sign-off {recorded.id}):")
    click.echo(f"  spec    {name} (content {spec_hash})")
    click.echo(f"  sample  {run.id} — {diff_path} (sha256 {digest}, {_mismatch_count(diff_path):,} "
               "mismatched fields)")
    if note:
        click.echo(f"  note    {note}")
    click.echo("`flitstack run` will load this version of the spec; any change to it needs a new sample "
               "and sign-off.")
