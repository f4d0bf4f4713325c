"""The Salesforce emulator's foundations without HTTP: 18-character ids and key prefixes, and the Org
API the REST, Bulk, Files and Metadata surfaces build on (metadata changes, field-level security,
transactions, persistence, users).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.sandbox.salesforce import (
    ObjectMeta,
    Org,
    RequestError,
    SaveError,
    StoredRecord,
    Trigger,
    UserSeed,
    custom_field,
)
from engine.sandbox.salesforce.ids import base62, case_suffix, make_id, next_custom_prefix, to18


@pytest.mark.parametrize(("id15", "id18"), [
    # Ids printed in Salesforce's REST API guide.
    ("001D000000IqhSL", "001D000000IqhSLIAZ"),
    ("00190000001pPvH", "00190000001pPvHAAU"),
    ("001D000000Kv3g5", "001D000000Kv3g5IAB"),
    ("001xx0000004GxD", "001xx0000004GxDAAU"),
    ("a02D0000006YUHr", "a02D0000006YUHrIAO"),
])
def test_case_safe_suffix_matches_the_platform(id15: str, id18: str) -> None:
    assert id15 + case_suffix(id15) == id18
    assert to18(id15) == id18
    assert to18(id18) == id18
    assert to18(id18[:15] + id18[15:].lower()) == id18  # the suffix itself ignores case


@pytest.mark.parametrize("bad", ["", "abc", "001D000000IqhSLIAA", "001D000000IqhS!", "001D000000IqhSLIA",
                                 "001D000000IqhSLIAZx"])
def test_malformed_ids(bad: str) -> None:
    assert to18(bad) is None


def test_made_ids_count_in_base62_and_sort_in_creation_order() -> None:
    assert base62(61, 3) == "00z" and base62(62, 3) == "010"
    made = [make_id("003", n) for n in (1, 9, 10, 35, 36, 61, 62, 3843, 3844)]
    assert made == sorted(made)
    assert all(to18(i) == i and i.startswith("0038d0") for i in made)
    assert next_custom_prefix(["001", "a00", "a01"]) == "a02"
    assert next_custom_prefix(f"a0{c}" for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") == "a10"


@pytest.fixture
def org(tmp_path: Path) -> Org:
    return Org(tmp_path / "org.sqlite3")


def test_custom_objects_get_prefixes_standard_fields_and_relabels(org: Org) -> None:
    first = org.add_custom_object("Patient__c", label="Patient")
    second = org.add_custom_object("Visit__c", label="Visit", label_plural="Visits",
                                   fields=[custom_field("Patient__c", "reference", reference_to=["Patient__c"])])
    assert (first.key_prefix, second.key_prefix) == ("a00", "a01")
    assert list(first.fields)[:2] == ["Id", "IsDeleted"]
    assert {"Name", "OwnerId", "CreatedDate", "SystemModstamp"} <= set(first.fields)
    assert first.fields["Id"].label == "Record ID"
    assert second.relationship("patient__r") is second.fields["Patient__c"]
    again = org.add_custom_object("Patient__c", label="Client", label_plural="Clients")
    assert (again.key_prefix, again.label, again.label_plural) == ("a00", "Client", "Clients")
    with pytest.raises(ValueError, match="ends in __c"):
        org.add_custom_object("Contact", label="x")
    with pytest.raises(ValueError, match="unknown object"):
        org.add_custom_field("Contact", custom_field("Thing__c", "reference", reference_to=["Nope__c"]))
    with pytest.raises(ValueError, match="__c"):
        custom_field("Plain", "string")
    with pytest.raises(RequestError) as unknown:
        org.describe("Nope__c")
    assert unknown.value.error_code == "INVALID_TYPE"


def test_auto_number_names(org: Org) -> None:
    org.add_custom_object("Invoice__c", label="Invoice", name_format="INV-{0000}")
    assert not org.describe("Invoice__c").fields["Name"].is_createable(False)
    ids = [org.insert("Invoice__c", {}).id for _ in range(2)]
    assert [org.get(str(i)).fields["Name"] for i in ids] == ["INV-0001", "INV-0002"]  # type: ignore[union-attr]


def test_field_level_security(org: Org) -> None:
    org.add_custom_field("Contact", custom_field("Secret__c", "string", length=10, accessible=False))
    org.add_custom_field("Contact", custom_field("Must__c", "string", length=10, required=True, accessible=False))
    meta = org.describe("Contact")
    assert meta.field("Secret__c") is None and meta.field("Secret__c", hidden=True) is not None
    assert meta.field("must__c") is not None  # required fields cannot be hidden
    with pytest.raises(RequestError, match="No such column 'Secret__c'"):
        org.insert("Contact", {"LastName": "x", "Must__c": "y", "Secret__c": "z"})
    org.set_field_access("Contact", "Secret__c", readable=True, editable=False)
    refused = org.insert("Contact", {"LastName": "x", "Must__c": "y", "Secret__c": "z"})
    assert refused.errors[0].status_code == "INVALID_FIELD_FOR_INSERT_UPDATE"
    org.set_field_access("Contact", "Secret__c", readable=True, editable=True)
    assert org.insert("Contact", {"LastName": "x", "Must__c": "y", "Secret__c": "z"}).success


def test_transactions_nest_and_roll_back(org: Org) -> None:
    with org.transaction():
        kept = org.insert("Account", {"Name": "Kept"})
        with org.transaction() as inner:
            org.insert("Account", {"Name": "Undone"})
            inner.rollback()
        with pytest.raises(RuntimeError), org.transaction():
            org.insert("Account", {"Name": "Failed"})
            raise RuntimeError("boom")
    assert [r.fields["Name"] for r in org.records("Account")] == ["Kept"]
    assert org.get(str(kept.id)) is not None
    with org.transaction() as outer:
        org.insert("Account", {"Name": "Gone"})
        outer.rollback()
    assert org.count("Account") == 1


def test_customisations_records_and_user_seeds_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "org.sqlite3"
    with Org(path) as org:
        org.add_custom_object("Patient__c", label="Patient",
                              fields=[custom_field("Ext__c", "string", length=20, external_id=True, unique=True)])
        org.add_custom_field("Contact", custom_field("Secret__c", "string", length=10, accessible=False))
        org.set_field_access("Contact", "Secret__c", readable=True, editable=True)
        created = org.insert("Patient__c", {"Ext__c": "E-1"})
        api_user = org.api_user_id
    seeds = [UserSeed("admin@flitstack.sandbox", "new.admin@clinic.example", "Sandbox", "Admin"),
             UserSeed("extra@flitstack.sandbox", "extra@clinic.example", "Ex", "Tra", active=False)]
    with Org(path, users=seeds) as org:
        assert org.find_by("Patient__c", "Ext__c", "e-1") == [created.id]
        assert org.describe("Contact").field("Secret__c") is not None
        assert org.insert("Patient__c", {"Ext__c": "E-2"}).id == make_id("a00", 2)
        assert org.api_user_id == api_user
        admin = org.get(api_user)
        assert admin is not None and admin.fields["Email"] == "new.admin@clinic.example"
        assert org.user_active(org.user_ids["extra@flitstack.sandbox"]) is False
        assert org.count("User") == 7  # the six defaults stay
    with pytest.raises(ValueError, match="API user"):
        Org(tmp_path / "other.sqlite3", users=[UserSeed("x@y.z", "x@y.z", "X", "Y", active=False)])


def test_find_by_ignores_case_unless_the_field_is_case_sensitive(org: Org) -> None:
    org.add_custom_field("Contact", custom_field("Key__c", "string", length=10, external_id=True, unique=True))
    org.add_custom_field("Contact", custom_field("Exact__c", "string", length=10, external_id=True,
                                                 case_sensitive=True))
    record = org.insert("Contact", {"LastName": "K", "Key__c": "AbC", "Exact__c": "AbC"})
    assert org.find_by("Contact", "key__c", "abc") == [record.id]
    assert org.find_by("Contact", "Exact__c", "abc") == []
    assert org.find_by("Contact", "Exact__c", "AbC") == [record.id]
    assert org.find_by("Contact", "LastName", "k") == [record.id]  # not indexed: scanned
    org.delete("Contact", str(record.id))
    assert org.find_by("Contact", "Key__c", "abc") == []
    assert org.insert("Contact", {"LastName": "K2", "Key__c": "ABC"}).success  # a deleted value is free again


def test_upsert_by_id_and_retrieve(org: Org) -> None:
    created = org.upsert("Contact", "Id", None, {"LastName": "ById"})
    assert (created.success, created.created) == (True, True)
    updated = org.upsert("Contact", "Id", str(created.id)[:15], {"FirstName": "Al"})
    assert (updated.success, updated.created, updated.id) == (True, False, created.id)
    assert org.retrieve("Contact", str(created.id), ["firstname"]) == {"Id": created.id, "FirstName": "Al"}
    missing = org.upsert("Contact", "Id", make_id("003", 999), {"LastName": "x"})
    assert missing.errors[0].status_code == "NOT_FOUND"
    assert org.query("SELECT Name FROM Contact").records[0]["Name"] == "Al ById"


def test_triggers_run_on_every_write_inside_its_transaction(org: Org) -> None:
    seen: list[tuple[str, bool]] = []

    def before(org: Org, meta: ObjectMeta, record: dict[str, Any], current: StoredRecord | None) -> list[SaveError]:
        if record.get("LastName") == "Refused":
            return [SaveError("FIELD_CUSTOM_VALIDATION_EXCEPTION", "Refused by a trigger")]
        record["Description"] = "stamped on insert" if current is None else "stamped on update"
        return []

    def after(org: Org, record: StoredRecord, created: bool) -> None:
        seen.append((str(record.fields["LastName"]), created))
        org.system_insert("Account", {"Name": f"made for {record.id}"})

    org.add_trigger("contact", Trigger(before_save=before, after_save=after,
                                       after_delete=lambda org, record: seen.append(("deleted", True))))
    created = org.insert("Contact", {"LastName": "One"})
    refused = org.insert("Contact", {"LastName": "Refused"})
    assert [e.status_code for e in refused.errors] == ["FIELD_CUSTOM_VALIDATION_EXCEPTION"]
    org.update("Contact", str(created.id), {"FirstName": "Uno"})
    assert org.retrieve("Contact", str(created.id), ["Description"]) == {"Id": created.id,
                                                                         "Description": "stamped on update"}
    with org.transaction() as tx:
        org.insert("Contact", {"LastName": "Undone"})
        tx.rollback()
    org.delete("Contact", str(created.id))
    assert seen == [("One", True), ("One", False), ("Undone", True), ("deleted", True)]
    assert org.count("Account") == 2  # the rolled-back insert's Account went with it
    account = next(org.records("Account"))
    org.system_update(account.id, {"Name": "Renamed"})
    assert org.get(account.id).fields["Name"] == "Renamed"  # type: ignore[union-attr]
