"""The Dataverse loader through its real client (httpx + msal) against the emulator over HTTPS.

Each test gets a fresh environment provisioned the way an administrator would:
the requests of `flitstack provision specs/cliniko-to-dynamics365.yaml --out DIR`
(dataverse/manifest.json) applied in order, skipping what exists. Records are the
Dynamics pair spec's target records (its objects, tables, key columns and fields).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sandbox_dataverse_fixture import (  # noqa: F401 - dataverse_tls serves as `dv_tls`
    client,
    dataverse_tls,
    sign_in,
)

from engine.cli.main import main
from engine.compile.compiler import CompiledSpec, compile_spec
from engine.load.dataverse import FILE_TOO_LARGE, DataverseTarget
from engine.load.dataverse_batch import BatchRequest
from engine.load.dataverse_client import DataverseClient
from engine.load.dataverse_records import row_id
from engine.load.target import LoadStep, LoadStopped
from engine.records import Ref, TargetRecord
from engine.sandbox.dataverse import (
    APPLICATION_USER_ID,
    CLIENT_ID,
    CLIENT_SECRET,
    DEFAULT_PRICE_LEVEL_ID,
    DEFAULT_UOM_ID,
    DEFAULT_USERS,
    TENANT_ID,
    Environment,
    start_dataverse_sandbox,
)
from engine.sandbox.server import EmulatorServer, FaultPlan
from engine.sandbox.tls import SandboxTLS
from engine.spec.loader import load_spec

SPEC = Path(__file__).resolve().parents[1] / "specs" / "cliniko-to-dynamics365.yaml"
BUSINESS = LoadStep("business", "account", "fs_clinikoid")
THIRD_PARTY = LoadStep("third_party", "account", "fs_clinikoid")
PATIENT = LoadStep("patient", "contact", "fs_clinikoid")
APPOINTMENT = LoadStep("appointment", "task", "fs_clinikoid")
NOTE = LoadStep("treatment_note", "annotation", "annotationid")
FILE = LoadStep("patient_file", "annotation", "annotationid")
PRODUCT = LoadStep("product", "product", "fs_clinikoid")
INVOICE = LoadStep("invoice", "opportunity", "fs_clinikoid")
LINE = LoadStep("invoice_item", "opportunityproduct", "fs_clinikoid")
AVERY, SAM, _, CASEY = DEFAULT_USERS


# -- environment --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def compiled() -> CompiledSpec:
    return compile_spec(load_spec(SPEC))


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("provision")
    result = CliRunner().invoke(main, ["provision", str(SPEC), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out / "dataverse"


def apply_manifest(server: EmulatorServer, tls: SandboxTLS, folder: Path) -> None:
    """What an administrator applies: each entry unless its `exists` path answers 200, in order."""
    with client(server, tls, sign_in(server, tls)["access_token"]) as api:
        for entry in json.loads((folder / "manifest.json").read_text())["entries"]:
            if api.get(entry["exists"]).status_code == 200:
                continue
            answer = api.request(entry["method"], entry["path"], content=(folder / entry["body"]).read_bytes(),
                                 headers={"Content-Type": "application/json"})
            assert answer.status_code < 300, (entry, answer.text)


class Sandbox:
    def __init__(self, folder: Path, tls: SandboxTLS, manifest: Path, **options: Any) -> None:
        self.folder, self.tls, self.options = folder, tls, options
        self.server, self.env = start_dataverse_sandbox(folder, tls=tls, key_delay=0, **options)
        apply_manifest(self.server, tls, manifest)
        self.sleeps: list[float] = []
        self.clients: list[DataverseClient] = []

    def restart(self, **options: Any) -> None:
        """The same environment served again (rows and definitions kept), e.g. with faults."""
        self.stop()
        self.server, self.env = start_dataverse_sandbox(self.folder, tls=self.tls, key_delay=0,
                                                        **{**self.options, **options})

    def client(self) -> DataverseClient:
        self.clients.append(DataverseClient(self.server.base_url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                               authority=f"{self.server.base_url}/{TENANT_ID}", verify=str(self.tls.bundle),
                               sleep=self.sleeps.append))
        return self.clients[-1]

    def target(self, compiled: CompiledSpec, **options: Any) -> DataverseTarget:
        return DataverseTarget.for_spec(self.client(), compiled, label="Dataverse sandbox", **options)

    def calls(self) -> dict[str, int]:
        return dict(self.server.app.calls)  # type: ignore[attr-defined]

    def stop(self) -> None:
        for dv in self.clients:
            dv.close()
        self.server.stop()
        self.env.close()


@pytest.fixture
def sandbox(tmp_path: Path, dv_tls: SandboxTLS, manifest: Path) -> Iterator[Sandbox]:
    box = Sandbox(tmp_path / "dv", dv_tls, manifest)
    yield box
    box.stop()


def by_key(env: Environment, table: str) -> dict[str, dict[str, Any]]:
    return {str(r.get("fs_clinikoid")): r for r in env.rows(table)}


# -- records of the pair spec --------------------------------------------------------------------------
WHEN = datetime(2021, 6, 1, 23, 30, tzinfo=UTC)


def clinic(source_id: str, name: str, **values: Any) -> TargetRecord:
    return TargetRecord("business", source_id, source_id, {"name": name, "overriddencreatedon": WHEN,
                                                          "fs_archived": False, **values})


def patient(source_id: str, last: str, clinic_id: str | None = "1001", **values: Any) -> TargetRecord:
    parent = Ref("business", clinic_id, clinic_id) if clinic_id else None
    return TargetRecord("patient", source_id, source_id, {
        "firstname": "Tal", "lastname": last, "birthdate": datetime(1988, 11, 23).date(),
        "parentcustomerid": parent, "fs_sourcecreatedon": WHEN, "overriddencreatedon": WHEN, **values})


def appointment(source_id: str, state: int, status: int, **values: Any) -> TargetRecord:
    return TargetRecord("appointment", source_id, source_id, {
        "subject": "Standard consultation", "scheduledstart": datetime(2024, 3, 15, 1, tzinfo=UTC),
        "scheduledend": datetime(2024, 3, 15, 1, 30, tzinfo=UTC), "regardingobjectid": Ref("patient", "5001", "5001"),
        "statecode": state, "statuscode": status, "overriddencreatedon": WHEN, **values})


def seed_patient(target: DataverseTarget) -> None:
    assert all(r.ok for r in target.load(BUSINESS, [clinic("1001", "Harbourside Physio")]))
    assert all(r.ok for r in target.load(PATIENT, [patient("5001", "Okonkwo-Reyes")]))


# -- upserts ---------------------------------------------------------------------------------------------
def test_upsert_creates_then_updates_the_same_rows_and_keeps_the_original_created_date(
        sandbox: Sandbox, compiled: CompiledSpec) -> None:
    target = sandbox.target(compiled)
    first = target.load(BUSINESS, [clinic("1001", "Harbourside Physio"), clinic("unassigned", "Unassigned")])
    assert [(r.ok, r.created) for r in first] == [(True, True), (True, True)]
    rows = by_key(sandbox.env, "account")
    assert rows["1001"]["accountid"] == first[0].target_id
    assert rows["1001"]["createdon"].startswith("2021-06-01T23:30:00")

    again = target.load(BUSINESS, [clinic("1001", "Harbourside Physio & Pilates",
                                          overriddencreatedon=datetime(2000, 1, 1, tzinfo=UTC)),
                                   clinic("unassigned", "Unassigned")])
    assert [(r.ok, r.created, r.target_id) for r in again] == [(True, False, r.target_id) for r in first]
    rows = by_key(sandbox.env, "account")
    assert len(rows) == 2
    assert rows["1001"]["name"] == "Harbourside Physio & Pilates"
    assert rows["1001"]["createdon"].startswith("2021-06-01T23:30:00")  # created-on is a create-only value


def test_lookups_are_bound_by_the_parents_alternate_key(sandbox: Sandbox, compiled: CompiledSpec) -> None:
    target = sandbox.target(compiled)
    [business] = target.load(BUSINESS, [clinic("1001", "Harbourside Physio")])
    [doctor] = target.load(THIRD_PARTY, [TargetRecord("third_party", "77", "contact-77",
                                                      {"name": "Dr Imogen Farrow-Lisle", "customertypecode": 5})])
    [result] = target.load(PATIENT, [patient("5001", "Okonkwo-Reyes",
                                             fs_referringdoctorid=Ref("third_party", "77", "contact-77"))])
    assert result.ok and result.created
    row = sandbox.env.get("contact", str(result.target_id))
    assert row["_parentcustomerid_value"] == business.target_id  # parentcustomerid_account@odata.bind
    assert row["_fs_referringdoctorid_value"] == doctor.target_id
    assert row["birthdate"] == "1988-11-23"


def test_refused_records_carry_the_platform_error_and_the_spec_field_while_the_rest_load(
        sandbox: Sandbox, compiled: CompiledSpec) -> None:
    target = sandbox.target(compiled)
    target.load(BUSINESS, [clinic("1001", "Harbourside Physio")])
    results = target.load(PATIENT, [
        patient("5001", "Okonkwo-Reyes"),
        patient("5002", "Ashgrove", clinic_id="9999"),  # its clinic was never loaded
        patient("5003", "x" * 51),  # lastname holds 50
        patient("5004", "Farrow", gendercode=7),  # not an option of gendercode
    ])
    assert results[0].ok and results[0].created
    assert [(r.code, r.fields) for r in results[1:]] == [
        ("0x80040217", ("parentcustomerid",)), ("0x80044331", ("lastname",)), ("0x80044331", ("gendercode",))]
    assert "9999" in str(results[1].message)
    assert set(by_key(sandbox.env, "contact")) == {"5001"}


def test_a_navigation_property_the_environment_does_not_have_is_reported_on_its_lookup(
        sandbox: Sandbox, compiled: CompiledSpec) -> None:
    target = sandbox.target(compiled)
    target.load(BUSINESS, [clinic("1001", "Harbourside Physio")])
    info = target.client.table("contact")
    stale = {**info.navigation, ("parentcustomerid", "account"): "parentcustomerid"}  # the bare logical name
    target.client._tables["contact"] = replace(info, navigation=stale)
    [result] = target.load(PATIENT, [patient("5001", "Okonkwo-Reyes")])
    assert (result.code, result.fields) == ("0x80048d19", ("parentcustomerid",))


def test_upsert_multiple_and_batch_leave_the_same_rows(tmp_path: Path, dv_tls: SandboxTLS, manifest: Path,
                                                       compiled: CompiledSpec) -> None:
    shown: dict[str, dict[str, tuple[Any, ...]]] = {}
    for path, bulk in (("UpsertMultiple", True), ("$batch", False)):
        box = Sandbox(tmp_path / path, dv_tls, manifest)
        try:
            target = box.target(compiled, bulk_threshold=2, upsert_multiple=bulk)
            target.load(BUSINESS, [clinic("1001", "Harbourside Physio")])
            target.load(PATIENT, [patient("5001", "Okonkwo-Reyes")])  # exists before: an update
            records = [patient(str(5000 + i), f"Patient {i}", emailaddress1=f"p{i}@mail.example")
                       for i in range(1, 8)]
            results = target.load(PATIENT, records)
            assert all(r.ok for r in results)
            assert [r.created for r in results] == [False] + [True] * 6
            rows = by_key(box.env, "contact")
            assert [r.target_id for r in results] == [rows[str(5000 + i)]["contactid"] for i in range(1, 8)]
            shown[path] = {k: (r["lastname"], r["emailaddress1"], r["createdon"][:19],
                               r["_parentcustomerid_value"] is not None) for k, r in rows.items()}
            calls = box.calls()
            assert (calls.get("POST contacts/UpsertMultiple", 0) > 0) is bulk
            assert (calls.get("POST $batch", 0) > 0) is not bulk
        finally:
            box.stop()
    assert shown["UpsertMultiple"] == shown["$batch"]


def test_a_refused_upsert_multiple_falls_back_to_one_answer_per_record(sandbox: Sandbox,
                                                                        compiled: CompiledSpec) -> None:
    target = sandbox.target(compiled, bulk_threshold=2, upsert_multiple=True)
    target.load(BUSINESS, [clinic("1001", "Harbourside Physio")])
    results = target.load(PATIENT, [patient("5001", "A"), patient("5002", "x" * 51), patient("5003", "C")])
    assert [(r.ok, r.created) for r in results] == [(True, True), (False, False), (True, True)]
    assert results[1].fields == ("lastname",)
    assert set(by_key(sandbox.env, "contact")) == {"5001", "5003"}
    assert sandbox.calls().get("POST contacts/UpsertMultiple") == 1


@pytest.mark.parametrize("faults", [FaultPlan(rate_429=0.35, seed=3, paths=("/api/data/",)),
                                    FaultPlan(rate_reset=0.3, rate_503=0.1, seed=5, paths=("/api/data/",))],
                         ids=["429", "dropped+503"])
def test_throttling_and_dropped_connections_are_retried_without_duplicates(
        sandbox: Sandbox, compiled: CompiledSpec, faults: FaultPlan) -> None:
    sandbox.restart(faults=faults)
    target = sandbox.target(compiled, bulk_threshold=5)
    target.load(BUSINESS, [clinic("1001", "Harbourside Physio")])
    records = [patient(str(5000 + i), f"Patient {i}") for i in range(20)]
    results = target.load(PATIENT, records[:4]) + target.load(PATIENT, records)  # single PATCHes, then bulk
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    assert sandbox.env.count("contact") == 20
    assert sandbox.server.stats.faults  # faults really happened
    if faults.rate_429:
        assert 1.0 in sandbox.sleeps  # the fault's Retry-After: 1 was honoured


def test_a_refused_token_signs_in_again_once_then_stops(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    dv = sandbox.client()
    real = dv._token  # the seam: what the client sends as its bearer token
    handed: list[str] = []

    def revoked_first(scope: str | None = None) -> str:
        handed.append("revoked" if not handed else real(scope))
        return handed[-1]

    monkeypatch.setattr(dv, "_token", revoked_first)
    assert dv.whoami() == APPLICATION_USER_ID
    assert handed[0] == "revoked" and len(handed) == 2

    monkeypatch.setattr(dv, "_token", lambda scope=None: "revoked")
    with pytest.raises(LoadStopped, match="after a new sign-in"):
        dv.json("GET", "WhoAmI")


def test_batch_keeps_change_sets_atomic_splits_above_a_thousand_and_queries_page(sandbox: Sandbox) -> None:
    dv = sandbox.client()
    url = dv.url("contacts(fs_clinikoid='{}')")
    answers = dv.batch([
        BatchRequest("PATCH", url.format("1"), {"lastname": "One"}),
        BatchRequest("PATCH", url.format("2"), {"lastname": "Two"}, change_set="pair"),
        BatchRequest("PATCH", url.format("3"), {"lastname": "x" * 51}, change_set="pair"),
        BatchRequest("PATCH", url.format("4"), {"lastname": "Four"}),
    ])
    assert [a.status for a in answers] == [204, 400, 400, 204]
    assert answers[1].error()[0] == "0x80044331"
    assert set(by_key(sandbox.env, "contact")) == {"1", "4"}  # the change set left nothing behind

    many = [BatchRequest("PATCH", url.format(n), {"lastname": f"P{n}"}) for n in range(10, 1011)]
    assert all(a.ok for a in dv.batch(many))
    assert sandbox.env.count("contact") == 2 + 1001
    assert sandbox.calls()["POST $batch"] == 1 + 2
    rows = list(dv.query("contacts", select=["fs_clinikoid"], page_size=250))  # pages by @odata.nextLink
    assert len({r["fs_clinikoid"] for r in rows}) == 1003 and sandbox.calls()["GET contacts"] == 5


# -- tasks ------------------------------------------------------------------------------------------------
def test_tasks_are_created_open_then_closed_and_a_rerun_does_not_fail_on_a_closed_task(
        sandbox: Sandbox, compiled: CompiledSpec) -> None:
    target = sandbox.target(compiled)
    seed_patient(target)
    records = [appointment("9001", 0, 2), appointment("9002", 2, 6), appointment("9003", 1, 5)]
    first = target.load(APPOINTMENT, records)
    assert [(r.ok, r.created) for r in first] == [(True, True)] * 3
    state = {k: (r["statecode"], r["statuscode"]) for k, r in by_key(sandbox.env, "task").items()}
    assert state == {"9001": (0, 2), "9002": (2, 6), "9003": (1, 5)}

    writes = {k: v for k, v in sandbox.calls().items() if "PATCH" in k}
    again = target.load(APPOINTMENT, records)
    assert [(r.ok, r.created, r.target_id) for r in again] == [(True, False, r.target_id) for r in first]
    # the open task is upserted again; the two closed ones, unchanged, are compared and left alone
    assert {k: v for k, v in sandbox.calls().items() if "PATCH" in k} == {
        **writes, "PATCH tasks": writes["PATCH tasks"] + 1}

    edited = [appointment("9002", 2, 6, description="Cancelled: away"), appointment("9001", 2, 6)]
    assert all(r.ok for r in target.load(APPOINTMENT, edited))
    rows = by_key(sandbox.env, "task")
    assert (rows["9002"]["statecode"], rows["9002"]["statuscode"], rows["9002"]["description"]) == \
        (2, 6, "Cancelled: away")
    assert (rows["9001"]["statecode"], rows["9001"]["statuscode"]) == (2, 6)
    assert rows["9001"]["_regardingobjectid_value"] == by_key(sandbox.env, "contact")["5001"]["contactid"]


def test_a_closed_task_is_restored_to_its_before_image_and_state(sandbox: Sandbox, compiled: CompiledSpec) -> None:
    target = sandbox.target(compiled)
    seed_patient(target)
    [task] = target.load(APPOINTMENT, [appointment("9001", 0, 2, description="Booked online")])
    fields = ["subject", "description", "statecode", "statuscode", "regardingobjectid"]
    before = target.find(APPOINTMENT, ["9001"], fields)["9001"]
    assert (before["statecode"], before["description"]) == (0, "Booked online")
    target.load(APPOINTMENT, [appointment("9001", 2, 6, description="Cancelled")])

    [restored] = target.restore("task", [(str(task.target_id), {k: v for k, v in before.items() if k != "Id"})])
    assert restored.ok, restored.error
    row = sandbox.env.get("task", str(task.target_id))
    assert (row["statecode"], row["statuscode"], row["description"]) == (0, 2, "Booked online")

    target.load(APPOINTMENT, [appointment("9001", 1, 5, description="Attended")])
    closed = target.find(APPOINTMENT, ["9001"], fields)["9001"]
    target.load(APPOINTMENT, [appointment("9001", 2, 6, description="Cancelled after all")])
    [restored] = target.restore("task", [(str(task.target_id), {k: v for k, v in closed.items() if k != "Id"})])
    assert restored.ok, restored.error
    row = sandbox.env.get("task", str(task.target_id))
    assert (row["statecode"], row["statuscode"], row["description"]) == (1, 5, "Attended")


# -- notes and files ----------------------------------------------------------------------------------------
def test_treatment_notes_are_annotations_on_the_patient_with_a_stable_id(sandbox: Sandbox,
                                                                          compiled: CompiledSpec) -> None:
    target = sandbox.target(compiled)
    seed_patient(target)
    note = TargetRecord("treatment_note", "7001", "treatment-note-7001", {
        "subject": "Initial assessment - 10 Jun 2024", "notetext": "Knee: swelling reduced",
        "objectid": Ref("patient", "5001", "5001"), "overriddencreatedon": WHEN})
    [created] = target.load(NOTE, [note])
    [again] = target.load(NOTE, [note])
    assert created.created and not again.created
    assert created.target_id == again.target_id == row_id("annotation", "treatment-note-7001")
    row = sandbox.env.get("annotation", str(created.target_id))
    assert (row["notetext"], row["objecttypecode"]) == ("Knee: swelling reduced", "contact")
    assert row["_objectid_value"] == by_key(sandbox.env, "contact")["5001"]["contactid"]


def test_attachments_above_the_org_upload_limit_are_refused_and_the_rest_carry_their_file(
        tmp_path: Path, dv_tls: SandboxTLS, manifest: Path, compiled: CompiledSpec) -> None:
    box = Sandbox(tmp_path / "dv", dv_tls, manifest, max_upload_file_size=1000)
    fetched: list[str] = []

    def download(record: TargetRecord, folder: Path) -> Path:
        fetched.append(record.source_id)
        path = folder / str(record.values["filename"])
        path.write_bytes(b"%" * (800 if record.source_id == "8002" else 300))
        return path

    try:
        target = box.target(compiled, download=download)
        seed_patient(target)
        files = [TargetRecord("patient_file", sid, f"attachment-{sid}", {
            "subject": "MRI report", "filename": f"{sid}.pdf", "mimetype": "application/pdf",
            "documentbody": f"https://cliniko.example/{sid}/content", "objectid": Ref("patient", "5001", "5001")})
            for sid in ("8001", "8002")]
        small, large = target.load(FILE, files)
        assert small.ok and small.created
        assert (large.code, large.fields) == (FILE_TOO_LARGE, ("documentbody",))
        assert "1068" in str(large.message) and "1000" in str(large.message)  # Base64 size and the org's limit
        row = box.env.get("annotation", str(small.target_id))
        assert (row["filename"], row["isdocument"], row["filesize"]) == ("8001.pdf", True, 300)
        assert box.env.count("annotation") == 1

        fetched.clear()
        [again] = target.load(FILE, files[:1])
        assert again.ok and not again.created and fetched == []  # the file is not fetched again
    finally:
        box.stop()


# -- sales ----------------------------------------------------------------------------------------------------
def test_invoices_become_opportunities_with_catalog_and_write_in_lines(sandbox: Sandbox,
                                                                       compiled: CompiledSpec) -> None:
    target = sandbox.target(compiled)
    seed_patient(target)
    [product] = target.load(PRODUCT, [TargetRecord("product", "3001", "3001", {
        "name": "Knee brace", "productnumber": "KB-01", "price": Decimal("25.00"), "quantitydecimal": 0})])
    assert product.ok and product.created
    row = sandbox.env.get("product", str(product.target_id))
    assert (row["statecode"], row["_defaultuomid_value"]) == (0, DEFAULT_UOM_ID)  # published, with a unit
    [price] = [p for p in sandbox.env.rows("productpricelevel") if p["_productid_value"] == product.target_id]
    assert (price["_pricelevelid_value"], float(price["amount"])) == (DEFAULT_PRICE_LEVEL_ID, 25.0)

    [invoice] = target.load(INVOICE, [TargetRecord("invoice", "4001", "4001", {
        "name": "Invoice 1042", "customerid": Ref("patient", "5001", "5001"), "isrevenuesystemcalculated": False,
        "estimatedvalue": Decimal("110.00"), "overriddencreatedon": WHEN})])
    assert invoice.ok
    opportunity = sandbox.env.get("opportunity", str(invoice.target_id))
    assert opportunity["_pricelevelid_value"] == DEFAULT_PRICE_LEVEL_ID
    assert opportunity["_customerid_value"] == by_key(sandbox.env, "contact")["5001"]["contactid"]

    lines = target.load(LINE, [
        TargetRecord("invoice_item", "4101", "4101", {
            "opportunityid": Ref("invoice", "4001", "4001"), "productid": Ref("product", "3001", "3001"),
            "isproductoverridden": False, "productdescription": None, "quantity": Decimal("2"),
            "priceperunit": Decimal("25.00"), "ispriceoverridden": True}),
        TargetRecord("invoice_item", "4102", "4102", {
            "opportunityid": Ref("invoice", "4001", "4001"), "productid": None, "isproductoverridden": True,
            "productdescription": "Standard consultation", "quantity": Decimal("1"),
            "priceperunit": Decimal("60.00"), "ispriceoverridden": True})])
    assert all(r.ok and r.created for r in lines), [r.error for r in lines]
    catalog, write_in = (sandbox.env.get("opportunityproduct", str(r.target_id)) for r in lines)
    assert (catalog["isproductoverridden"], catalog["_productid_value"], catalog["_uomid_value"]) == \
        (False, product.target_id, DEFAULT_UOM_ID)
    assert (write_in["isproductoverridden"], write_in.get("_productid_value"), write_in["productdescription"]) == \
        (True, None, "Standard consultation")
    assert catalog["_opportunityid_value"] == invoice.target_id
    assert float(catalog["baseamount"]) == 50.0


# -- owners -----------------------------------------------------------------------------------------------------
def test_owners_match_enabled_users_by_email_and_the_rest_go_to_the_caller(sandbox: Sandbox,
                                                                           compiled: CompiledSpec) -> None:
    target = sandbox.target(compiled)
    people = {"601": AVERY.email.upper(), "602": CASEY.email, "603": "nobody@clinic.example", "604": None}
    matches, fallback = target.match_owners(people, None)
    assert fallback == APPLICATION_USER_ID  # no fallback named: the signed-in user, explicitly
    assert {m.source_id: (m.user_id, m.reason) for m in matches} == {
        "601": (AVERY.id, None),
        "602": (None, "the Dataverse user with this e-mail is disabled"),
        "603": (None, "no Dataverse user has this e-mail"),
        "604": (None, "the practitioner has no e-mail")}
    assert target.match_owners(people, SAM.email)[1] == SAM.id
    with pytest.raises(LoadStopped, match=r"casey\.morgan"):
        target.match_owners(people, CASEY.email)
    with pytest.raises(LoadStopped, match="no user has this e-mail"):
        target.match_owners(people, "ghost@clinic.example")

    seed_patient(target)
    owned = [appointment("9001", 0, 2, ownerid=AVERY.id), appointment("9002", 0, 2, ownerid=fallback)]
    assert all(r.ok for r in target.load(APPOINTMENT, owned))
    rows = by_key(sandbox.env, "task")
    assert (rows["9001"]["_ownerid_value"], rows["9002"]["_ownerid_value"]) == (AVERY.id, APPLICATION_USER_ID)


# -- before-images, rollback ---------------------------------------------------------------------------------------
def test_find_gives_before_images_that_restore_puts_back_and_delete_removes(sandbox: Sandbox,
                                                                            compiled: CompiledSpec) -> None:
    target = sandbox.target(compiled)
    target.load(BUSINESS, [clinic("1001", "Harbourside Physio"), clinic("1002", "Riverside")])
    [loaded] = target.load(PATIENT, [patient("5001", "Okonkwo-Reyes", emailaddress1="tal@mail.example")])
    fields = ["lastname", "emailaddress1", "parentcustomerid", "overriddencreatedon"]
    found = target.find(PATIENT, ["5001", "5999"], fields)
    clinic_id = by_key(sandbox.env, "account")["1001"]["accountid"]
    assert found == {"5001": {"Id": loaded.target_id, "lastname": "Okonkwo-Reyes",
                              "emailaddress1": "tal@mail.example", "parentcustomerid": clinic_id}}

    target.load(PATIENT, [patient("5001", "Reyes", clinic_id="1002", emailaddress1=None)])
    assert sandbox.env.get("contact", str(loaded.target_id))["lastname"] == "Reyes"
    before = {k: v for k, v in found["5001"].items() if k != "Id"}
    [restored] = target.restore("contact", [(str(loaded.target_id), before)])
    assert restored.ok
    assert target.read("contact", [str(loaded.target_id)], fields[:3]) == {str(loaded.target_id): {
        "Id": loaded.target_id, **before}}

    assert [r.ok for r in target.delete("contact", [str(loaded.target_id)])] == [True]
    assert sandbox.env.count("contact") == 0
    assert [r.ok for r in target.delete("contact", [str(loaded.target_id)])] == [True]  # already gone
