"""`provision`: from a loaded spec to the files in the output folder.

    plan (platform-neutral) → the platform's own checks → its artifacts + the field sheet

Salesforce writes `salesforce/` (a metadata package), Dataverse `dataverse/` (Web API
metadata requests and their manifest).

Nothing is written unless the whole spec passes the platform's checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.errors import Diagnostic, SpecError, UsageError
from engine.provision.dataverse import dataverse_package, render_dataverse
from engine.provision.dataverse_rules import DataverseRules
from engine.provision.field_sheet import field_sheet_files
from engine.provision.files import write_tree
from engine.provision.plan import ProvisionPlan, build_plan
from engine.provision.salesforce import SOURCE_ROOT, render_salesforce, salesforce_package
from engine.provision.salesforce_rules import SalesforceRules
from engine.spec.loader import LoadedSpec

SUPPORTED = ("salesforce", "dynamics365")


@dataclass(frozen=True)
class ProvisionResult:
    plan: ProvisionPlan
    new_objects: int
    new_fields: int
    permitted_fields: int
    written: list[Path]
    relationships: int = 0         # Dataverse: lookups, created as relationships (not in new_fields)
    keys: int = 0                  # Dataverse: alternate keys
    notes: tuple[str, ...] = ()    # lines the platform reports (Dataverse: custom tables against the cap)


def provision(loaded: LoadedSpec, out: Path) -> ProvisionResult:
    """Write the target's provisioning artifacts and the field sheet under `out`.

    Raises SpecError (located diagnostics) when the spec asks for what the target refuses,
    UsageError when the target has no provisioner yet.
    """
    system = loaded.spec.target_system
    if system not in SUPPORTED:
        raise UsageError(f"provisioning for {system} is not written yet (supported: {', '.join(SUPPORTED)})")
    plan, problems = build_plan(loaded)
    if system == "dynamics365":
        _raise(problems + DataverseRules(loaded.spec, loaded.target, plan).run())
        return _dataverse(plan, loaded, out)
    problems += SalesforceRules(loaded.spec, loaded.target, plan).run()
    _raise(problems)
    package = salesforce_package(plan, loaded.target)
    files = {f"salesforce/{rel}": data for rel, data in render_salesforce(package).items()}
    files.update(field_sheet_files(plan))
    written = write_tree(out, files, prune=f"salesforce/{SOURCE_ROOT}")
    return ProvisionResult(plan=plan, new_objects=len(package.objects), new_fields=package.field_count,
                           permitted_fields=len(package.permitted), written=written)


def _raise(problems: list[Diagnostic]) -> None:
    if problems:
        unique = {(d.loc, d.path, d.message): d for d in problems}
        raise SpecError(sorted(unique.values(), key=lambda d: (
            (d.loc.file, d.loc.line, d.loc.column) if d.loc else ("", 0, 0), d.message)))


def _dataverse(plan: ProvisionPlan, loaded: LoadedSpec, out: Path) -> ProvisionResult:
    package = dataverse_package(plan, loaded.target)
    files = {f"dataverse/{rel}": data for rel, data in render_dataverse(package).items()}
    files.update(field_sheet_files(plan))
    written = write_tree(out, files, prune="dataverse")
    return ProvisionResult(plan=plan, new_objects=package.count("table"), new_fields=package.count("column"),
                           permitted_fields=0, written=written, relationships=package.count("relationship"),
                           keys=package.count("key"), notes=(package.table_line(),))
