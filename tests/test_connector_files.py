"""The files connector: customer exports as JSON arrays, API page envelopes, JSONL and CSV."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from engine.connectors import AttachmentTooLarge, FilesConnector, SourceConfigError, SourceFileError
from engine.connectors.export_formats import csv_field_name
from engine.connectors.files import resource_of
from engine.spec.catalog import load_catalog

BASE = "https://api.au1.cliniko.com/v1"
ALERT_FIELDS = list(load_catalog("source", "cliniko").objects["medical_alerts"].fields)


def alert(i: int, **extra: Any) -> dict[str, Any]:
    """A medical alert as the API returns it (string values only, so CSV can say the same)."""
    record: dict[str, Any] = {
        "id": str(836447129235883000 + i), "name": f"Allergy {i}",
        "created_at": f"2024-01-{i + 1:02d}T09:00:00Z", "updated_at": f"2024-02-{i + 1:02d}T09:00:00Z",
        "deleted_at": None,
        "patient": {"links": {"self": f"{BASE}/patients/{500 + i}"}},
        "links": {"self": f"{BASE}/medical_alerts/{836447129235883000 + i}"},
    }
    record.update(extra)
    return record


ALERTS = [alert(i) for i in range(5)]


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def read(folder: Path, resource: str = "medical_alerts", **options: Any) -> list[dict[str, Any]]:
    return list(FilesConnector(folder).read(resource, **options))


def to_csv(records: list[dict[str, Any]]) -> str:
    """Cliniko-style CSV: human column names, relation ids as columns, empty for null."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["Medical Alert ID", "Name", "Patient ID", "Created At", "Updated At", "Deleted At"])
    for r in records:
        writer.writerow([r["id"], r["name"], r["patient"]["links"]["self"].rsplit("/", 1)[1],
                         r["created_at"], r["updated_at"], r["deleted_at"] or ""])
    return out.getvalue()


# -- one normalised result whatever the format -----------------------------------------------------------

def test_json_formats_give_the_same_normalised_records(tmp_path: Path) -> None:
    array = tmp_path / "array"
    write(array, "medical_alerts.json", json.dumps(ALERTS, indent=2))
    pages = tmp_path / "pages"
    write(pages, "medical_alerts-1.json", json.dumps({"medical_alerts": ALERTS[:3], "total_entries": 5,
                                                      "links": {"self": "...", "next": "..."}}))
    write(pages, "medical_alerts-2.json", json.dumps({"medical_alerts": ALERTS[3:], "total_entries": 5,
                                                      "links": {"self": "..."}}))
    lines = tmp_path / "lines"
    write(lines, "medical_alerts.jsonl", "\n".join(json.dumps(r) for r in ALERTS) + "\n\n")
    results = [read(folder) for folder in (array, pages, lines)]
    assert results[0] == results[1] == results[2]
    first = results[0][0]
    assert set(ALERT_FIELDS) <= set(first)
    assert first["id"] == "836447129235883000" and first["patient_id"] == "500"
    assert [r["id"] for r in results[0]] == [r["id"] for r in ALERTS]


def test_csv_gives_the_same_values(tmp_path: Path) -> None:
    write(tmp_path / "json", "medical_alerts.json", json.dumps(ALERTS))
    write(tmp_path / "csv", "medical_alerts.csv", "\ufeff" + to_csv(ALERTS))  # Excel's BOM too
    from_json, from_csv = read(tmp_path / "json"), read(tmp_path / "csv")
    scalar = ["id", "name", "patient_id", "created_at", "updated_at", "deleted_at"]
    assert [{k: r[k] for k in scalar} for r in from_csv] == [{k: r[k] for k in scalar} for r in from_json]
    assert set(ALERT_FIELDS) <= set(from_csv[0])
    assert from_csv[0]["deleted_at"] is None and from_csv[0]["patient"] is None


@pytest.mark.parametrize(("header", "field"), [
    ("First Name", "first_name"), ("Address 1", "address_1"), ("Patient ID", "patient_id"),
    ("Date of Birth", "date_of_birth"), ("DOB", "date_of_birth"), ("Postcode", "post_code"),
    (" E-mail ", "email"), ("Medicare Reference Number", "medicare_reference_number"), ("id", "id"),
])
def test_csv_column_names(header: str, field: str) -> None:
    assert csv_field_name(header) == field


def test_csv_own_id_column_and_relation_ids(tmp_path: Path) -> None:
    write(tmp_path, "patients.csv", "Patient ID,First Name,Concession Type ID,Notes\n42,Ann,7,\n")
    write(tmp_path, "invoice_items.csv", "Invoice Item ID,Invoice ID,Name\n9,3,Consult\n")
    [p] = read(tmp_path, "patients")
    assert (p["id"], p["first_name"], p["concession_type_id"], p["notes"]) == ("42", "Ann", "7", None)
    [item] = read(tmp_path, "invoice_items")
    assert (item["id"], item["invoice_id"]) == ("9", "3")


def test_csv_quoted_newlines_keep_line_numbers(tmp_path: Path) -> None:
    write(tmp_path, "patients.csv", 'id,notes\n1,"two\nlines"\n2,x,extra\n')
    with pytest.raises(SourceFileError, match=r"patients.csv:4: expected 2 values \(one per header column\), found 3"):
        read(tmp_path, "patients")


# -- exactly once, filters ------------------------------------------------------------------------------

def test_duplicates_across_pages_are_yielded_once(tmp_path: Path) -> None:
    write(tmp_path, "medical_alerts-1.json", json.dumps(ALERTS[:3]))
    write(tmp_path, "medical_alerts-2.json", json.dumps(ALERTS[2:]))  # page shifted: ALERTS[2] twice
    write(tmp_path, "medical_alerts-10.json", json.dumps([alert(9)]))  # natural order: after -2
    got = [r["id"] for r in read(tmp_path)]
    assert got == [r["id"] for r in ALERTS] + [alert(9)["id"]]


def test_since_filters_on_updated_at(tmp_path: Path) -> None:
    records = [*ALERTS, alert(7, updated_at=None)]
    write(tmp_path, "medical_alerts.json", json.dumps(records))
    got = read(tmp_path, since=datetime(2024, 2, 4, 9, 0, tzinfo=UTC))
    assert [r["id"] for r in got] == [ALERTS[3]["id"], ALERTS[4]["id"], alert(7)["id"]]  # no updated_at: kept
    naive = read(tmp_path, since=datetime(2024, 2, 5, 9, 0))
    assert [r["id"] for r in naive] == [ALERTS[4]["id"], alert(7)["id"]]


def test_bad_updated_at_is_located(tmp_path: Path) -> None:
    write(tmp_path, "medical_alerts.jsonl", json.dumps(alert(1)) + "\n" + json.dumps(alert(2, updated_at="yesterday")))
    with pytest.raises(SourceFileError, match=r"medical_alerts.jsonl:2: updated_at 'yesterday'"):
        read(tmp_path, since=datetime(2024, 1, 1, tzinfo=UTC))


def test_include_archived(tmp_path: Path) -> None:
    write(tmp_path, "contacts.csv", "id,first_name,archived_at\n1,A,\n2,B,2024-03-01T00:00:00Z\n3,C,\n")
    assert [r["id"] for r in read(tmp_path, "contacts")] == ["1", "2", "3"]
    assert [r["id"] for r in read(tmp_path, "contacts", include_archived=False)] == ["1", "3"]


def test_resource_without_files_is_empty(tmp_path: Path) -> None:
    assert read(tmp_path, "patients") == []


def test_read_many(tmp_path: Path) -> None:
    write(tmp_path, "medical_alerts.json", json.dumps(ALERTS))
    write(tmp_path, "patients.csv", "id\n1\n2\n")
    got = list(FilesConnector(tmp_path).read_many(["patients", "medical_alerts"], workers=2))
    assert sorted((r, rec["id"]) for r, rec in got) == sorted(
        [("patients", "1"), ("patients", "2")] + [("medical_alerts", a["id"]) for a in ALERTS])


# -- file naming --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("stem", "resource"), [
    ("patients", "patients"), ("patients-2", "patients"), ("patients_page3", "patients"),
    ("patients.2024-05-01", "patients"), ("patient_cases", "patient_cases"),
    ("patient_attachments-1", "patient_attachments"), ("invoice_items", "invoice_items"),
    ("invoices", "invoices"), ("practitioner_reference_numbers", "practitioner_reference_numbers"),
    ("patient", None), ("patientsx", None), ("Patients", None), ("manifest", None),
])
def test_resource_of(stem: str, resource: str | None) -> None:
    names = sorted(load_catalog("source", "cliniko").objects)
    assert resource_of(stem, names) == resource


def test_unknown_resource_file_is_named(tmp_path: Path) -> None:
    write(tmp_path, "patients.json", "[]")
    write(tmp_path, "appointments.csv", "id\n1\n")
    write(tmp_path, "README.txt", "ignored")
    write(tmp_path, ".hidden.json", "ignored")
    with pytest.raises(SourceFileError, match=r"appointments.csv: no cliniko resource is named like this file.*individual_appointments"):
        FilesConnector(tmp_path)


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(SourceConfigError, match="does not exist"):
        FilesConnector(tmp_path / "nope")


def test_unknown_resource_name(tmp_path: Path) -> None:
    with pytest.raises(SourceConfigError, match="unknown cliniko resource 'appointments'"):
        read(tmp_path, "appointments")


def test_describe(tmp_path: Path) -> None:
    write(tmp_path, "patients.json", "[]")
    write(tmp_path, "patients-2.json", "[]")
    assert FilesConnector(tmp_path).describe() == f"cliniko export files in {tmp_path} (2 files, 1 resources)"


# -- malformed files are located ---------------------------------------------------------------------

@pytest.mark.parametrize(("name", "text", "message"), [
    ("patients.json", '[\n  {"id": "1"},\n  {"id": "2",}\n]', r"patients.json:3:14: invalid JSON: Expecting property name"),
    ("patients.json", '[\n  {"id": "1"}\n  {"id": "2"}\n]', r"patients.json:3:3: invalid JSON: expected ',' or '\]' after a record, found '\{'"),
    ("patients.json", '[{"id": "1"},\n "x"]', r"patients.json:2: expected a record object, found str"),
    ("patients.json", '[{"id": "1"}] []', r"patients.json:1:15: invalid JSON: extra data after the array"),
    ("patients.json", '[{"id": "1"},', r"patients.json:1:14: invalid JSON: Expecting value"),
    ("patients.json", '{"patients": [1]}', r"patients.json: patients\[0\]: expected a record object, found int"),
    ("patients.json", '{"data": []}', r"patients.json:1:1: expected a JSON array of patients records or an API page with a 'patients' array; found an object with keys: data"),
    ("patients.json", '{"patients": [}', r"patients.json:1:15: invalid JSON: Expecting value"),
    ("patients.json", '"hello"', r"patients.json:1:1: expected a JSON array of patients records or an API page"),
    ("patients.json", '[\n{"first_name": "Ann"}]', r"patients.json:2: record has no id"),
    ("patients.jsonl", '{"id": "1"}\n\n{"id": 2.5}\n', r"patients.jsonl:3: id is the number 2.5"),
    ("patients.jsonl", '{"id": "1"}\n{"id": "2"\n', r"patients.jsonl:2:11: invalid JSON: Expecting ',' delimiter"),
    ("patients.jsonl", '{"id": "1"}\n[1]\n', r"patients.jsonl:2: expected a record object, found list"),
    ("patients.csv", 'id,first_name\n1,Ann\n2\n', r"patients.csv:3: expected 2 values \(one per header column\), found 1"),
    ("patients.csv", 'id,first_name\n1,"Ann\n', r"patients.csv:\d+: malformed CSV"),
    ("patients.csv", 'id,First Name,first_name\n1,a,b\n', r"patients.csv:1: columns 2 and 3 both mean 'first_name'"),
    ("patients.csv", 'id,,x\n1,a,b\n', r"patients.csv:1: column 2 has no name"),
    ("patients.csv", 'first_name\nAnn\n', r"patients.csv:2: record has no id"),
])
def test_malformed_files_are_located(tmp_path: Path, name: str, text: str, message: str) -> None:
    write(tmp_path, name, text)
    with pytest.raises(SourceFileError, match=message) as caught:
        read(tmp_path, "patients")
    assert str(caught.value).startswith(str(tmp_path / name))


def test_non_utf8_file_is_located(tmp_path: Path) -> None:
    (tmp_path / "patients.json").write_bytes(b'[\n{"id": "1", "name": "Ren\xe9e"}]')
    with pytest.raises(SourceFileError, match=r"patients.json:2: not UTF-8 text"):
        read(tmp_path, "patients")


# -- attachments ------------------------------------------------------------------------------------------

def test_download_copies_the_body_in_chunks(tmp_path: Path) -> None:
    body = bytes(range(256)) * 1000
    (tmp_path / "attachments").mkdir()
    (tmp_path / "attachments" / "15-knee.pdf").write_bytes(body)
    (tmp_path / "attachments" / "150-other.pdf").write_bytes(b"not this one")
    conn = FilesConnector(tmp_path)
    path = conn.download({"id": "15", "filename": "Knee scan.pdf"}, tmp_path / "out")
    assert path == tmp_path / "out" / "15-Knee_scan.pdf" and path.read_bytes() == body
    fallback = conn.download({"id": "150"}, tmp_path / "out")
    assert fallback.name == "150-150-other.pdf"


def test_download_enforces_max_bytes(tmp_path: Path) -> None:
    (tmp_path / "attachments").mkdir()
    (tmp_path / "attachments" / "15.pdf").write_bytes(b"x" * 5000)
    with pytest.raises(AttachmentTooLarge, match="attachment 15 is 5000 bytes, over the 4096-byte cap"):
        FilesConnector(tmp_path).download({"id": "15"}, tmp_path / "out", max_bytes=4096)
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize(("files", "message"), [
    ([], r"no attachment body for record 15"),
    (["15.pdf", "15-copy.pdf"], r"several files could be the body of record 15: 15-copy.pdf, 15.pdf"),
])
def test_download_missing_or_ambiguous_body(tmp_path: Path, files: list[str], message: str) -> None:
    (tmp_path / "attachments").mkdir()
    for name in files:
        (tmp_path / "attachments" / name).write_bytes(b"x")
    with pytest.raises(SourceFileError, match=message):
        FilesConnector(tmp_path).download({"id": "15"}, tmp_path / "out")
