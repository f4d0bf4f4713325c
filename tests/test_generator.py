"""The synthetic clinic generator: determinism, storage form, referential integrity, and a
manifest that matches what an independent audit of the records finds.

The audit below recomputes every planted problem from the records alone, with the pair
specs' value maps and length limits read from the spec files, so a generator that plants
one problem too many (or a manifest that miscounts) fails here.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import sys
import time
import tracemalloc
import unicodedata
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jmespath
import pytest
import yaml

from engine.sandbox.generator import GeneratedRecord, Manifest, generate_clinic

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 1, 15, tzinfo=UTC)
LIMIT_25_MIB = 26_214_400
CHUNK_MAX = 1 << 20

INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DECIMAL = re.compile(r"^\d+\.\d+$")
ID = re.compile(r"^[1-9]\d{18}$")


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


CATALOG = _yaml(ROOT / "sources" / "cliniko" / "catalog.yaml")["objects"]
SALESFORCE = _yaml(ROOT / "specs" / "cliniko-to-salesforce.yaml")


@functools.cache
def _storage_fields(resource: str) -> dict[str, dict[str, Any]]:
    """Catalog fields minus link objects (the emulator renders them) and content_url."""
    fields = CATALOG[resource]["fields"]
    return {
        name: spec for name, spec in fields.items()
        if not (spec["type"] == "object" and str(spec.get("description", "")).startswith(("link", "self link")))
        and not (resource == "patient_attachments" and name == "content_url")
    }


@functools.cache
def _patterns(resource: str) -> list[tuple[str, re.Pattern[str]]]:
    """(field, pattern) for the catalog types with a fixed text form; ids are strings."""
    forms = {"datetime": INSTANT, "date": DAY, "decimal": DECIMAL, "id": ID}
    return [(name, forms[spec["type"]]) for name, spec in _storage_fields(resource).items()
            if spec["type"] in forms]


def _map_keys(name: str) -> set[str]:
    return {str(key).casefold() for key in SALESFORCE["value_maps"][name]["values"]}


GENDER_KEYS = _map_keys("gender")
INVOICE_STATUS_KEYS = _map_keys("invoice_status")
CONTACT_TYPE_KEYS = _map_keys("contact_type")


def _length_rules() -> dict[str, list[tuple[str, Any, int]]]:
    """source resource -> (path or compiled JMESPath, max_length) of the Salesforce field rules
    that read the record itself (joins and templates left out)."""
    rules: dict[str, list[tuple[str, Any, int]]] = {}
    for obj in SALESFORCE["objects"].values():
        joins = set(obj.get("joins", {}))
        for rule in obj["fields"].values():
            if not isinstance(rule, dict) or "max_length" not in rule:
                continue
            if "path" in rule and "." not in rule["path"]:
                rules.setdefault(obj["source"], []).append(("path", rule["path"], rule["max_length"]))
            elif "expr" in rule and not any(re.search(rf"\b{j}\b", rule["expr"]) for j in joins):
                rules.setdefault(obj["source"], []).append(("expr", jmespath.compile(rule["expr"]), rule["max_length"]))
    return rules


LENGTH_RULES = _length_rules()
ARCHIVABLE = ("patients", "businesses", "appointment_types", "contacts", "products")  # + practitioners


def _non_latin(text: str) -> bool:
    return any(unicodedata.category(c).startswith("L") and not unicodedata.name(c, "").startswith("LATIN")
               for c in text)


def _emoji(text: str) -> bool:
    return any(ord(c) >= 0x1F000 or unicodedata.category(c) == "So" for c in text)


def _flat_length(content: Any) -> int:
    """Characters of all the strings in a note's content (keys excluded)."""
    if len(json.dumps(content, ensure_ascii=False)) <= 100_000:
        return 0  # the JSON text is longer than its strings: cannot be over (a fast path)
    total, stack = 0, [content]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            total += len(value)
        elif isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return total


def _instant(text: str) -> datetime:
    assert INSTANT.match(text), text
    return datetime.fromisoformat(text[:-1] + "+00:00")


def _near_dst_change(starts_at: str, zone: str) -> bool:
    """Whether the zone's UTC offset differs 24 h before and 24 h after the instant."""
    moment, tz = _instant(starts_at), ZoneInfo(zone)
    return (moment - timedelta(hours=24)).astimezone(tz).utcoffset() != \
        (moment + timedelta(hours=24)).astimezone(tz).utcoffset()


class Audit:
    """Checks each record as it streams past and recounts everything the manifest claims."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        self.counts: Counter[str] = Counter()
        self.problems: Counter[str] = Counter()
        self.seen: dict[str, set[str]] = {}
        self.created: dict[str, str | None] = {}
        self.zones: dict[str, str] = {}
        self.names: set[tuple[str, str, str]] = set()
        self.emails: set[str] = set()
        self.patients: list[str] = []
        self.booked: set[str] = set()
        self.at_business: set[str] = set()

    def feed(self, item: GeneratedRecord) -> None:
        resource, record = item.resource, item.record
        fields = _storage_fields(resource)
        assert set(record) == set(fields), (resource, set(record) ^ set(fields))
        self._formats(resource, record, fields)
        self._references(resource, record, fields)
        self.seen.setdefault(resource, set()).add(record["id"])
        self.created[record["id"]] = record.get("created_at")
        self.counts[resource] += 1
        if resource in ARCHIVABLE and record.get("archived_at"):
            self.problems[f"archived_{resource}"] += 1
        self._overlong(resource, record)
        getattr(self, f"_{resource}", lambda _item: None)(item)

    def _formats(self, resource: str, record: dict[str, Any], fields: dict[str, dict[str, Any]]) -> None:
        assert ID.match(record["id"]), record["id"]
        assert record["id"] not in self.seen.get(resource, ()), f"duplicate {resource} id {record['id']}"
        for name, pattern in _patterns(resource):
            value = record[name]
            assert value is None or pattern.match(value), (resource, name, value)
        created, updated = record.get("created_at"), record.get("updated_at")
        if created is not None:
            assert created <= updated <= self.now, (resource, record["id"], created, updated)

    def _references(self, resource: str, record: dict[str, Any], fields: dict[str, dict[str, Any]]) -> None:
        """Every `<x>_id` names a record yielded earlier (so parents come first)."""
        for name, spec in fields.items():
            if spec["type"] != "id" or name == "id" or record[name] is None:
                continue
            targets = spec.get("reference_to")
            assert targets, f"{resource}.{name} points outside the catalog: {record[name]}"
            assert any(record[name] in self.seen.get(t, ()) for t in targets), (resource, name, record[name])
            # A record cannot point at one created after it (a case is linked when it opens).
            stamp = record["updated_at" if name == "patient_case_id" else "created_at"]
            parent = self.created[record[name]]
            assert parent is None or stamp >= parent, (resource, name, stamp, parent)
        for name, target in (("appointment_type_ids", "appointment_types"), ("attendee_ids", "attendees")):
            for value in record.get(name) or ():
                assert value in self.seen.get(target, ()), (resource, name, value)

    def _overlong(self, resource: str, record: dict[str, Any]) -> None:
        for kind, rule, limit in LENGTH_RULES.get(resource, ()):
            value = record.get(rule) if kind == "path" else rule.search(record)
            if value is not None and len(str(value)) > limit:
                assert resource == "patients", f"unplanted overlong {resource} value for {rule}"
                self.problems["overlong_fields"] += 1

    def _businesses(self, item: GeneratedRecord) -> None:
        self.zones[item.record["id"]] = item.record["time_zone_identifier"]

    def _practitioners(self, item: GeneratedRecord) -> None:
        self.problems["archived_practitioners"] += item.record["active"] is False

    def _patients(self, item: GeneratedRecord) -> None:
        patient = item.record
        self.patients.append(patient["id"])
        email = patient["email"]
        self.problems["patients_without_email"] += not email
        if email:
            self.problems["duplicate_patients_email"] += email.casefold() in self.emails
            self.emails.add(email.casefold())
        identity = (patient["first_name"], patient["last_name"], patient["date_of_birth"])
        self.problems["duplicate_patients_name_dob"] += identity in self.names
        self.names.add(identity)
        sex = patient["sex"]
        self.problems["unmapped_sex_values"] += bool(sex) and sex.casefold() not in GENDER_KEYS
        name = f"{patient['first_name']} {patient['last_name']}"
        self.problems["non_latin_names"] += _non_latin(name)
        self.problems["emoji_names"] += _emoji(name)

    def _individual_appointments(self, item: GeneratedRecord) -> None:
        visit = item.record
        self.booked.add(visit["patient_id"])
        if visit["business_id"]:
            self.at_business.add(visit["patient_id"])
        assert visit["starts_at"] < visit["ends_at"]
        self.problems["dst_appointments"] += _near_dst_change(visit["starts_at"], self.zones[visit["business_id"]])

    def _invoices(self, item: GeneratedRecord) -> None:
        self.problems["unmapped_invoice_status"] += str(item.record["status"]) not in INVOICE_STATUS_KEYS

    def _contacts(self, item: GeneratedRecord) -> None:
        self.problems["unmapped_contact_type"] += item.record["type"].casefold() not in CONTACT_TYPE_KEYS

    def _treatment_notes(self, item: GeneratedRecord) -> None:
        self.problems["long_treatment_notes"] += _flat_length(item.record["content"]) > 100_000

    def _patient_attachments(self, item: GeneratedRecord) -> None:
        assert item.content is not None
        self.problems["oversized_attachments"] += item.record["size"] > LIMIT_25_MIB

    def result(self) -> tuple[dict[str, int], dict[str, int]]:
        problems = dict(self.problems)
        problems["patients_without_appointment"] = sum(p not in self.booked for p in self.patients)
        problems["patients_without_business"] = sum(p not in self.at_business for p in self.patients)
        return dict(self.counts), problems


def _audit(records: Iterable[GeneratedRecord]) -> tuple[dict[str, int], dict[str, int]]:
    audit = Audit()
    for item in records:
        audit.feed(item)
    return audit.result()


def _nonzero(values: dict[str, int]) -> dict[str, int]:
    return {key: value for key, value in values.items() if value}


def _body_digest(item: GeneratedRecord) -> tuple[int, str, int]:
    """(bytes streamed, sha256, largest chunk)."""
    assert item.content is not None
    digest, total, largest = hashlib.sha256(), 0, 0
    for chunk in item.content():
        digest.update(chunk)
        total += len(chunk)
        largest = max(largest, len(chunk))
    return total, digest.hexdigest(), largest


@pytest.fixture(scope="module")
def small() -> tuple[list[GeneratedRecord], Manifest]:
    clinic = generate_clinic(seed=7, patients=50)
    return list(clinic.records()), clinic.manifest


# ----------------------------------------------------------------------------- interface


def test_manifest_has_exactly_the_promised_problem_keys(small: tuple[list[GeneratedRecord], Manifest]) -> None:
    _, manifest = small
    assert list(manifest.problems) == [
        "patients_without_email", "duplicate_patients_name_dob", "duplicate_patients_email",
        "patients_without_appointment", "patients_without_business", "unmapped_sex_values",
        "unmapped_invoice_status", "unmapped_contact_type", "oversized_attachments",
        "long_treatment_notes", "non_latin_names", "emoji_names", "dst_appointments",
        "archived_patients", "archived_businesses", "archived_appointment_types",
        "archived_practitioners", "archived_contacts", "archived_products", "overlong_fields",
    ]
    assert '"duplicate_patients_email"' in manifest.to_json()


def test_default_now_is_fixed() -> None:
    assert generate_clinic(3, 5).manifest == generate_clinic(3, 5, now=NOW).manifest


# ----------------------------------------------------------------------------- determinism


def _fingerprint(records: list[GeneratedRecord]) -> list[tuple[str, Any, Any]]:
    return [(r.resource, r.record, _body_digest(r) if r.content else None) for r in records]


def test_same_seed_gives_identical_records_and_bodies(small: tuple[list[GeneratedRecord], Manifest]) -> None:
    records, _ = small
    again = list(generate_clinic(seed=7, patients=50).records())
    assert _fingerprint(again) == _fingerprint(records)


def test_another_seed_or_now_gives_other_data(small: tuple[list[GeneratedRecord], Manifest]) -> None:
    records, _ = small
    patients = [r.record for r in records if r.resource == "patients"]
    other_seed = [r.record for r in generate_clinic(seed=8, patients=50).records() if r.resource == "patients"]
    later = [r.record for r in generate_clinic(seed=7, patients=50, now=NOW + timedelta(days=30)).records()
             if r.resource == "patients"]
    assert [p["id"] for p in other_seed] != [p["id"] for p in patients]
    assert [p["last_name"] for p in other_seed] != [p["last_name"] for p in patients]
    assert [p["created_at"] for p in later] != [p["created_at"] for p in patients]


# ----------------------------------------------------------------------------- shape and integrity


def test_records_are_storage_form_with_intact_references(small: tuple[list[GeneratedRecord], Manifest]) -> None:
    records, _ = small
    _audit(records)  # asserts fields, formats, unique ids, and parents before children


def test_audit_catches_a_child_before_its_parent(small: tuple[list[GeneratedRecord], Manifest]) -> None:
    records, _ = small
    visit = next(r for r in records if r.resource == "individual_appointments")
    parent = next(r for r in records if r.resource == "patients" and r.record["id"] == visit.record["patient_id"])
    late = [r for r in records if r is not parent] + [parent]
    with pytest.raises(AssertionError, match="patient_id"):
        _audit(late)


def test_generated_resources_cover_the_brief(small: tuple[list[GeneratedRecord], Manifest]) -> None:
    records, _ = small
    by = Counter(r.resource for r in records)
    assert by["businesses"] >= 4 and by["appointment_types"] >= 8 and by["concession_types"] >= 5
    assert by["practitioners"] >= 3 and by["users"] >= by["practitioners"] and by["contacts"] >= 5
    zones = {r.record["time_zone_identifier"] for r in records if r.resource == "businesses"}
    assert {"Australia/Sydney", "Australia/Perth", "Pacific/Auckland", "America/Los_Angeles"} <= zones
    registrations = Counter(r.record["business_registration_value"] for r in records if r.resource == "businesses")
    assert max(registrations.values()) == 3  # the multi-location group
    reasons = {r.record["cancellation_reason"] for r in records if r.resource == "individual_appointments"}
    assert reasons - {None} <= {10, 20, 30, 31, 40, 50, 60} and len(reasons) > 3
    emails = [r.record["email"] for r in records if r.resource == "patients" and r.record["email"]]
    assert all(e.lower().rsplit("@", 1)[1].split(".")[-2] == "example" for e in emails)


def test_visits_are_plausible(small: tuple[list[GeneratedRecord], Manifest]) -> None:
    """Local working hours, a practitioner registered at the business, the business still open,
    and invoices and notes that agree with their appointment."""
    records, _ = small
    by_id = {(r.resource, r.record["id"]): r.record for r in records}
    registered = {(r.record["practitioner_id"], r.record["business_id"])
                  for r in records if r.resource == "practitioner_reference_numbers"}
    visits = [r.record for r in records if r.resource == "individual_appointments"]
    for visit in visits:
        business = by_id["businesses", visit["business_id"]]
        local = _instant(visit["starts_at"]).astimezone(ZoneInfo(business["time_zone_identifier"]))
        assert 8 <= local.hour < 18, (visit["id"], local)
        assert (visit["practitioner_id"], visit["business_id"]) in registered
        assert business["archived_at"] is None or visit["starts_at"] < business["archived_at"]
        assert visit["created_at"] <= visit["starts_at"] and visit["created_at"] >= \
            by_id["patients", visit["patient_id"]]["created_at"]
    for invoice in (r.record for r in records if r.resource == "invoices" and r.record["appointment_id"]):
        visit = by_id["individual_appointments", invoice["appointment_id"]]
        assert (invoice["business_id"], invoice["patient_id"]) == (visit["business_id"], visit["patient_id"])
        assert visit["invoice_status"] == invoice["status"]
    for note in (r.record for r in records if r.resource == "treatment_notes"):
        visit = by_id["individual_appointments", note["booking_id"]]
        assert not visit["did_not_arrive"] and not visit["cancelled_at"]
        assert visit["treatment_note_status"] == (10 if note["draft"] else 90)
    assert sum(v["starts_at"] > NOW.strftime("%Y-%m-%dT%H:%M:%SZ") for v in visits) > 0  # some still to come


def test_name_pools_cannot_make_chance_duplicates() -> None:
    """The duplicate count is exact only if pools are distinct (ignoring case), scripts do not
    overlap, and the index -> identity walk is injective."""
    from engine.sandbox.generator import names

    pools = {"LATIN_FIRST": names.LATIN_FIRST, "LATIN_LAST": names.LATIN_LAST, "EMOJI_FIRST": names.EMOJI_FIRST,
             "NON_LATIN_FIRST": names.NON_LATIN_FIRST, "NON_LATIN_LAST": names.NON_LATIN_LAST}
    for label, pool in pools.items():
        assert len({n.casefold() for n in pool}) == len(pool), label
    assert not any(_non_latin(n) or _emoji(n) for n in names.LATIN_FIRST + names.LATIN_LAST)
    assert all(_non_latin(n) and not _emoji(n) for n in names.NON_LATIN_FIRST + names.NON_LATIN_LAST)
    assert all(_emoji(n) and not _non_latin(n) for n in names.EMOJI_FIRST)
    maker = names.IdentityMaker(9, datetime(1930, 1, 1).date(), datetime(2023, 12, 31).date())
    for script in names.Script:
        people = {maker.identity(i, script) for i in range(0, 30_000, 3 if script is names.Script.LATIN else 1)}
        assert len(people) == (10_000 if script is names.Script.LATIN else 30_000), script


def test_invoice_totals_are_the_sums_of_their_items(small: tuple[list[GeneratedRecord], Manifest]) -> None:
    records, _ = small
    cents: Counter[str] = Counter()
    for r in records:
        if r.resource == "invoice_items":
            cents[r.record["invoice_id"]] += round(float(r.record["total_including_tax"]) * 100)
    invoices = [r.record for r in records if r.resource == "invoices"]
    assert invoices and all(round(float(i["total_amount"]) * 100) == cents[i["id"]] for i in invoices)


def test_attachment_sizes_match_streamed_bytes(small: tuple[list[GeneratedRecord], Manifest]) -> None:
    records, _ = small
    files = [r for r in records if r.resource == "patient_attachments"]
    assert files
    for item in files:
        total, digest, largest = _body_digest(item)
        assert total == item.record["size"], item.record["filename"]
        assert largest <= CHUNK_MAX
        assert _body_digest(item)[1] == digest  # re-callable, same bytes
    assert sum(r.record["size"] > LIMIT_25_MIB for r in files) == 1


# ----------------------------------------------------------------------------- the manifest


def test_manifest_matches_an_independent_audit_at_50(small: tuple[list[GeneratedRecord], Manifest]) -> None:
    records, manifest = small
    counts, problems = _audit(records)
    assert _nonzero(manifest.counts) == counts
    assert _nonzero(manifest.problems) == problems


def test_every_problem_is_planted_at_50(small: tuple[list[GeneratedRecord], Manifest]) -> None:
    _, manifest = small
    assert [key for key, count in manifest.problems.items() if count < 1] == []
    assert manifest.problems["oversized_attachments"] == 1
    assert manifest.problems["patients_without_business"] == manifest.problems["patients_without_appointment"]


def test_manifest_matches_the_audit_and_scales_at_2000() -> None:
    clinic = generate_clinic(seed=11, patients=2000)
    counts, problems = _audit(clinic.records())
    manifest = clinic.manifest
    assert _nonzero(manifest.counts) == counts
    assert _nonzero(manifest.problems) == problems
    per_patient = {k: v / counts["patients"] for k, v in counts.items()}
    assert 5.0 <= per_patient["individual_appointments"] <= 7.0
    assert 3.0 <= per_patient["treatment_notes"] <= 5.0
    assert 4.0 <= per_patient["invoices"] <= 6.0
    assert 1.3 <= counts["invoice_items"] / counts["invoices"] <= 1.8
    assert 0.2 <= per_patient["patient_attachments"] <= 0.45
    assert 0.2 <= per_patient["patient_cases"] <= 0.45
    assert 10 <= counts["practitioners"] <= 20 and 90 <= counts["contacts"] <= 110
    share = {k: v / 2000 for k, v in problems.items()}
    assert 0.02 <= share["patients_without_email"] <= 0.04
    assert 0.01 <= share["duplicate_patients_name_dob"] <= 0.03
    assert 0.01 <= share["duplicate_patients_email"] <= 0.03
    assert 0.03 <= share["patients_without_appointment"] <= 0.05
    assert 0.04 <= share["non_latin_names"] <= 0.08
    assert problems["oversized_attachments"] == 1


# ----------------------------------------------------------------------------- memory


def test_streaming_keeps_tracemalloc_peak_small() -> None:
    """Materialising these 200 patients' records takes about 12 MB; streaming peaks near 0.5."""
    list(generate_clinic(seed=1, patients=3).records())  # load the catalog before measuring
    tracemalloc.start()
    try:
        for _ in generate_clinic(seed=5, patients=200).records():
            pass
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3_000_000, f"peak {peak:,} bytes"


def _rss() -> int | None:
    statm = Path("/proc/self/statm")
    return int(statm.read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") if statm.exists() else None


def test_memory_is_flat_over_20000_patients() -> None:
    """480,000 records would take over a gigabyte if kept; the stream adds nothing per patient.

    tracemalloc slows allocation about sixfold (a minute at this size), so the live pymalloc
    block count and the resident set size are sampled instead; both count what is kept."""
    clinic = generate_clinic(seed=3, patients=20_000)
    blocks, rss = sys.getallocatedblocks(), _rss()
    most_blocks, most_rss, total = 0, 0, 0
    started = time.perf_counter()
    for total, _ in enumerate(clinic.records(), 1):
        if total % 20_000 == 0:
            most_blocks = max(most_blocks, sys.getallocatedblocks() - blocks)
            now_rss = _rss()
            most_rss = max(most_rss, now_rss - rss if now_rss is not None and rss is not None else 0)
    elapsed = time.perf_counter() - started
    assert total > 400_000
    assert most_blocks < 100_000, f"{most_blocks:,} more live blocks"
    assert most_rss < 60_000_000, f"resident set grew by {most_rss:,} bytes"
    print(f"\n{total:,} records in {elapsed:.1f} s ({total / elapsed:,.0f} records/s)")
