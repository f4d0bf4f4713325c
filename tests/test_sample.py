"""`flitstack sample` and `flitstack signoff`, through the CLI against the sandboxes: the slice is
referentially closed, only it loads, the diff compares every mapped field, and sign-off binds the
spec version to a reviewed diff that `run` then requires."""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from sandbox_migration_fixture import MigrationWorkspace

from engine.records import Ref
from engine.sample.selection import Outline, select
from engine.sample.values import canonical
from engine.sandbox.cliniko.factory import DATABASE_NAME as CLINIKO_DATABASE
from engine.sandbox.cliniko.store import ClinikoStore
from engine.spec.loader import load_spec

# A note's link to its patient (LinkedEntityId) is read back from its ContentDocumentLinks and compared.
NOT_READ_BACK = {("treatment_note", "Content"), ("patient_attachment", "VersionData")}


def _selection(ws: MigrationWorkspace, run_id: int = 1) -> dict[str, set[str]]:
    body = json.loads((ws.root / "reports" / f"sample-{run_id}" / "selection.json").read_text())
    return {name: set(ids) for name, ids in body["selection"].items()}


def _diff_rows(ws: MigrationWorkspace, run_id: int = 1) -> list[dict[str, str]]:
    with (ws.root / "reports" / f"sample-{run_id}" / "diff.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _cliniko(ws: MigrationWorkspace, resource: str) -> list[dict[str, Any]]:
    with ClinikoStore(ws.root / "sandbox" / "cliniko" / CLINIKO_DATABASE) as store:
        return store.select(resource)


def _live(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r.get("deleted_at") is None]


# -- the slice -----------------------------------------------------------------------------------------
def test_selection_keeps_every_child_of_a_patient_and_every_record_they_point_at(
        prepared: MigrationWorkspace) -> None:
    result = prepared.invoke("sample", str(prepared.spec), "--size", "5")
    chosen = _selection(prepared)
    patients = chosen["patient"]
    assert len(patients) == 5
    assert re.search(r"^\s+patient\s+5$", result.output, re.MULTILINE)

    # Independently of the engine: the Cliniko sandbox's own rows and their foreign keys.
    appointments = _live(_cliniko(prepared, "individual_appointments"))
    invoices = _live(_cliniko(prepared, "invoices"))
    children = {"appointment": appointments, "invoice": invoices,
                "treatment_note": _live(_cliniko(prepared, "treatment_notes")),
                "patient_attachment": _live(_cliniko(prepared, "patient_attachments"))}
    for name, rows in children.items():
        mine = {r["id"] for r in rows if r["patient_id"] in patients}
        assert mine <= chosen.get(name, set()), name
        assert chosen.get(name, set()) <= {r["id"] for r in rows}, name
    assert chosen["appointment"] < {r["id"] for r in appointments}  # a slice, not everything
    items = _live(_cliniko(prepared, "invoice_items"))
    assert {i["id"] for i in items if i["invoice_id"] in chosen["invoice"]} <= chosen["invoice_item"]

    # Closed upward: every parent a selected record names is selected too.
    parents = {"appointment": ("individual_appointments", {"patient_id": "patient",
                                                           "practitioner_id": "practitioner",
                                                           "appointment_type_id": "appointment_type",
                                                           "business_id": "business"}),
               "invoice": ("invoices", {"patient_id": "patient", "practitioner_id": "practitioner",
                                        "business_id": "business"}),
               "invoice_item": ("invoice_items", {"invoice_id": "invoice", "product_id": "product"}),
               "treatment_note": ("treatment_notes", {"patient_id": "patient"}),
               "patient": ("patients", {"referring_doctor_id": "referral_contact"})}
    for name, (resource, keys) in parents.items():
        for row in _cliniko(prepared, resource):
            if row["id"] not in chosen.get(name, set()):
                continue
            for key, parent in keys.items():
                if row.get(key) is not None:
                    assert row[key] in chosen[parent], f"{name} {row['id']} {key} → {parent} {row[key]}"
    # A practitioner's clinic is the business of their latest appointment (any patient's).
    for practitioner in chosen["practitioner"]:
        theirs = [a for a in appointments if a["practitioner_id"] == practitioner]
        if theirs:
            assert max(theirs, key=lambda a: a["starts_at"])["business_id"] in chosen["business"]


def test_select_adds_ancestors_without_their_other_children() -> None:
    clinic = Ref("business", "b1", "b1")
    shape = Outline({
        "business": {"b1": (), "b2": ()},
        "patient": {"p1": (clinic,), "p2": (clinic,), "p3": (Ref("business", "b2", "b2"),)},
        "appointment": {"a1": (Ref("patient", "p1", "p1"),), "a2": (Ref("patient", "p2", "p2"),)},
        "invoice": {"i1": (Ref("patient", "p1", "p1"), Ref("business", "gone", "gone"))},
        "item": {"t1": (Ref("invoice", "i1", "i1"),)},
    })
    assert select(shape, "patient", 1) == {"business": {"b1"}, "patient": {"p1"}, "appointment": {"a1"},
                                           "invoice": {"i1"}, "item": {"t1"}}


# -- loading and the diff --------------------------------------------------------------------------------
def test_sample_loads_only_the_slice(prepared: MigrationWorkspace) -> None:
    targets = ("Account", "Contact", "Practitioner__c", "Appointment_Type__c", "Appointment__c", "Invoice__c",
               "Invoice_Line_Item__c", "Product2", "ContentVersion")
    before = {name: len(records) for name, records in prepared.snapshot(*targets).items()}
    prepared.invoke("sample", str(prepared.spec), "--size", "5")
    after = {name: len(records) for name, records in prepared.snapshot(*targets).items()}
    chosen = _selection(prepared)
    spec = load_spec(prepared.spec).spec
    expected: Counter[str] = Counter()
    with prepared.store() as store:
        [run] = store.runs()
        assert (run.kind, run.status) == ("sample", "completed")
        quarantined = {(q.object, q.source_id) for q in store.quarantined()}
        assert quarantined, "the seeded clinic's planted problems reach the sample"
        for name, ids in chosen.items():
            target = spec.objects[name].target
            loaded = sum(1 for i in ids if (name, i) not in quarantined)
            assert store.status_counts(name).get("loaded", 0) == loaded, name
            expected["ContentVersion" if target == "ContentNote" else target] += loaded
    assert {name: after[name] - before[name] for name in targets} == {t: expected[t] for t in targets}


def test_diff_compares_every_mapped_field_of_every_loaded_record(prepared: MigrationWorkspace) -> None:
    result = prepared.invoke("sample", str(prepared.spec), "--size", "5")
    assert "0 mismatched fields" in result.output
    rows = _diff_rows(prepared)
    spec = load_spec(prepared.spec).spec
    by_record: dict[tuple[str, str], set[str]] = {}
    for row in rows:
        by_record.setdefault((row["object"], row["source_id"]), set()).add(row["field"])
        assert row["match"] == ("skipped" if (row["object"], row["field"]) in NOT_READ_BACK else "yes"), row
    with prepared.store() as store:
        loaded = {(name, e.source_id) for name in _selection(prepared)
                  for e in store.crosswalk_of(name, status="loaded")}
    assert set(by_record) == loaded
    for (name, _), fields in by_record.items():
        obj = spec.objects[name]
        assert obj.key is not None
        assert fields == {obj.key.target, *(rule.target for rule in obj.fields)}, name
    # Lookups are compared as the parent's target id; the source value is the rule's raw key.
    patient = next(r for r in rows if r["object"] == "appointment" and r["field"] == "Patient__c")
    assert patient["actual"].startswith("003") and patient["source_value"] in _selection(prepared)["patient"]
    html = (prepared.root / "reports" / "sample-1" / "diff.html").read_text(encoding="utf-8")
    body = re.sub(r"<[^>]+>", "", html.split("<body>", 1)[1]).strip()
    assert body.splitlines()[0].startswith("This report contains record values")
    assert "Quarantined records" in html and "PARENT_NOT_LOADED" in html


def test_a_field_changed_in_the_org_shows_as_a_mismatch(prepared: MigrationWorkspace, tmp_path: Path) -> None:
    prepared.invoke("sample", str(prepared.spec), "--size", "5")
    row = next(r for r in _diff_rows(prepared) if r["object"] == "patient" and r["field"] == "LastName")
    with prepared.org() as org:
        assert org.update("Contact", row["target_id"], {"LastName": "Changed-In-Org"}).success
    out = tmp_path / "copy"
    result = prepared.invoke("sample", str(prepared.spec), "--diff-only", "--run", "1", "--out", str(out))
    assert "1 mismatched fields" in result.output
    assert f"mismatch: patient {row['source_id']} ({row['target_id']}) LastName" in result.output
    assert "Changed-In-Org" not in result.output  # values stay in the report
    [changed] = [r for r in _diff_rows(prepared) if r["match"] == "no"]
    assert (changed["field"], changed["expected"], changed["actual"]) == ("LastName", row["expected"],
                                                                          "Changed-In-Org")
    assert (out / "diff.csv").read_bytes() == (prepared.root / "reports" / "sample-1" / "diff.csv").read_bytes()
    with prepared.store() as store:
        assert len(store.runs()) == 1  # --diff-only loaded nothing


def test_an_interrupted_sample_resumes_its_own_slice(prepared: MigrationWorkspace) -> None:
    prepared.invoke("sample", str(prepared.spec), "--size", "3")
    with prepared.store() as store:
        store.set_run_status(1, "stopped")
    result = prepared.invoke("sample", str(prepared.spec), "--size", "9")
    assert "Resuming sample 1 (anchor patient, size 3" in result.output
    assert len(_selection(prepared)["patient"]) == 3
    with prepared.store() as store:
        assert [(r.id, r.status) for r in store.runs()] == [(1, "completed")]


def test_sample_usage_errors(prepared: MigrationWorkspace) -> None:
    result = prepared.invoke("sample", str(prepared.spec), "--diff-only", expect=2)
    assert "no completed sample" in result.output
    result = prepared.invoke("sample", str(prepared.spec), "--anchor", "nope", expect=2)
    assert "--anchor nope: not an object" in result.output


# -- sign-off ----------------------------------------------------------------------------------------------
def test_signoff_refuses_without_a_sample(prepared: MigrationWorkspace) -> None:
    result = prepared.invoke("signoff", str(prepared.spec), "--by", "Dana", expect=2)
    assert "no completed sample" in result.output and "flitstack sample" in result.output


def test_signoff_records_the_diff_and_run_then_loads(prepared: MigrationWorkspace, tmp_path: Path) -> None:
    prepared.invoke("sample", str(prepared.spec), "--size", "3")
    result = prepared.invoke("signoff", str(prepared.spec), "--by", "Dana Reviewer", "--note", "diff read")
    diff = (prepared.root / "reports" / "sample-1" / "diff.csv").read_bytes()
    digest = hashlib.sha256(diff).hexdigest()
    assert digest in result.output and "Dana Reviewer" in result.output
    loaded = load_spec(prepared.spec)
    with prepared.store() as store:
        signoff = store.latest_signoff(loaded.spec.name)
        assert signoff is not None
        assert (signoff.who, signoff.spec_hash, signoff.sample_run, signoff.diff_sha256, signoff.note) == \
            ("Dana Reviewer", loaded.content_hash, 1, digest, "diff read")
    assert "Run 2 completed." in prepared.invoke("run", str(prepared.spec)).output

    changed = tmp_path / "changed.yaml"
    changed.write_text(f"extends: {prepared.spec}\ndescription: changed after sign-off\n", encoding="utf-8")
    refused = prepared.invoke("run", str(changed), expect=2).output
    assert "changed since Dana Reviewer signed it off" in refused and "flitstack sample" in refused
    assert "sign off" in refused
    refused = prepared.invoke("signoff", str(changed), "--by", "Dana", expect=2).output
    assert "another version" in refused and "re-run" in refused


def test_signoff_refuses_a_sample_whose_diff_is_missing(prepared: MigrationWorkspace) -> None:
    prepared.invoke("sample", str(prepared.spec), "--size", "2")
    (prepared.root / "reports" / "sample-1" / "diff.csv").unlink()
    result = prepared.invoke("signoff", str(prepared.spec), "--by", "Dana", "--sample", "1", expect=2)
    assert "has no diff" in result.output and "--diff-only" in result.output


# -- the value normaliser ----------------------------------------------------------------------------------
MOMENTS = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1),
                       timezones=st.just(UTC)).map(lambda m: m.replace(microsecond=m.microsecond // 1000 * 1000))


@given(MOMENTS, st.integers(-14 * 60, 14 * 60))
def test_an_instant_compares_equal_in_every_form_the_two_sides_write(moment: datetime, offset: int) -> None:
    salesforce = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"
    local = moment.astimezone(timezone(timedelta(minutes=offset))).isoformat()
    forms = {canonical(v, "datetime") for v in (moment, salesforce, local, moment.isoformat().replace("+00:00", "Z"))}
    assert len(forms) == 1


@given(st.decimals(min_value=-10**12, max_value=10**12, places=2, allow_nan=False, allow_infinity=False))
def test_money_compares_equal_as_decimal_float_and_text(amount: Decimal) -> None:
    assert canonical(amount, "number", 2) == canonical(float(amount), "number", 2) == \
        canonical(format(amount, "f"), "number", 2)


@given(st.lists(st.text(alphabet="abcdefgh XYZ", min_size=1, max_size=6).map(str.strip).filter(bool),
                min_size=1, max_size=5))
def test_multi_select_order_and_form_do_not_matter(values: list[str]) -> None:
    assert canonical(values, "multi") == canonical(";".join(reversed(values)), "multi")


@given(st.one_of(st.none(), st.text(max_size=5), st.booleans(), st.integers(), st.floats(allow_nan=False),
                 st.decimals(min_value=-10**20, max_value=10**20, allow_nan=False, allow_infinity=False)),
       st.sampled_from(["text", "multi", "bool", "number", "date", "datetime", "id"]))
def test_canonical_is_idempotent(value: Any, kind: str) -> None:
    once = canonical(value, kind)
    assert canonical(once, kind) == once


def test_normaliser_cases() -> None:
    assert canonical(None, "bool") == canonical(False, "bool") == "false"
    assert canonical("", "text") is None and canonical(None, "text") is None
    assert canonical("2024-01-02", "date") == canonical("2024-01-02T00:00:00.000+0000", "date")
    assert canonical(30, "number", 0) == canonical(30.0, "number", 0) == "30"
    assert canonical(Decimal("12.345"), "number", 2) == canonical(12.35, "number", 2)
    assert canonical("0018d0000000001AAA", "id") == canonical("0018d0000000001", "id")
    assert canonical("Ann", "text") != canonical("ann", "text")
