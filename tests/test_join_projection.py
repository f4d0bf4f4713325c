"""Join indexes keep only the fields the rules read — and the transform's output is the same."""

from __future__ import annotations

from pathlib import Path

import pytest
from sandbox_migration_fixture import ROOT, MigrationWorkspace

from engine.cli.connections import cliniko_source
from engine.compile.compiler import compile_spec
from engine.compile.joins import JoinIndex, fields_used
from engine.records import Quarantined
from engine.spec.loader import load_spec
from engine.workspace import Workspace


def test_fields_used_is_conservative() -> None:
    obj = load_spec(ROOT / "specs" / "cliniko-to-salesforce.yaml").spec.objects["treatment_note"]
    assert fields_used(obj, "visit") == {"starts_at"}  # `{% if visit %}` asks only for presence
    practitioner = load_spec(ROOT / "specs" / "cliniko-to-salesforce.yaml").spec.objects["practitioner"]
    assert fields_used(practitioner, "references") is None  # a projection over the join: whole records


@pytest.mark.parametrize("spec", ["cliniko-to-salesforce.yaml", "cliniko-to-dynamics365.yaml"])
def test_projected_indexes_give_the_same_outcomes(prepared: MigrationWorkspace, spec: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    compiled = compile_spec(load_spec(ROOT / "specs" / spec))
    for name, value in prepared.env.items():
        monkeypatch.setenv(name, value)
    with cliniko_source(Workspace(Path(prepared.root))) as source:
        for name, cobj in compiled.objects.items():
            if not cobj.spec.joins:
                continue
            projected = compiled.join_indexes(name)
            whole = {j: JoinIndex(join) for j, join in cobj.spec.joins.items()}
            for indexes in (projected, whole):
                for index in indexes.values():
                    index.add_all(source.connector.read(index.join.resource))
            records = list(source.connector.read(cobj.spec.source))
            with_projection = cobj.transform_all(records, projected)
            without = cobj.transform_all(records, whole)
            assert [_comparable(o) for o in with_projection] == [_comparable(o) for o in without], name


def _comparable(outcome: object) -> object:
    if isinstance(outcome, Quarantined):  # the kept context differs by design; the verdict must not
        return ("quarantined", outcome.source_id, outcome.problems)
    return outcome
