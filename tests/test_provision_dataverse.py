"""`flitstack provision SPEC --out DIR` for Dynamics 365 (Dataverse), through the CLI.

The pair spec's `provision:` section becomes Web API metadata requests under
DIR/dataverse/ and a manifest giving their order. Expectations are computed from
the spec's YAML and the catalog, not from the provisioning code; overlays written
in the test's folder give the failing cases.
"""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import openpyxl
import pytest
import yaml
from click.testing import CliRunner, Result

from engine.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
PAIR = ROOT / "specs" / "cliniko-to-dynamics365.yaml"
SPEC = yaml.safe_load(PAIR.read_text(encoding="utf-8"))
CATALOG = yaml.safe_load((ROOT / "targets" / "dynamics365" / "catalog.yaml").read_text(encoding="utf-8"))
SCHEMA = json.loads((ROOT / "schemas" / "dataverse-manifest.schema.json").read_text(encoding="utf-8"))
PREFIX = "fs_"
OPTION_BASE = 36500 * 10000
CRM = "Microsoft.Dynamics.CRM."
# @odata.type of each abstract type's column, as ref/dataverse.md §5 describes them.
METADATA_TYPE = {"text": "String", "email": "String", "phone": "String", "longtext": "Memo",
                 "number": "Decimal", "currency": "Money", "date": "DateTime", "datetime": "DateTime",
                 "bool": "Boolean", "picklist": "Picklist"}
TYPE_TEXT = re.compile(r"(\w+)(?:\((.*)\))?")


def run_provision(spec: Path, out: Path) -> Result:
    return CliRunner().invoke(main, ["provision", str(spec), "--out", str(out)])


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("dataverse")
    result = run_provision(PAIR, folder)
    assert result.exit_code == 0, result.output
    return folder


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> str:
    result = run_provision(PAIR, tmp_path_factory.mktemp("output"))
    assert result.exit_code == 0, result.output
    return result.output


def body(out: Path, rel: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "dataverse" / rel).read_text(encoding="utf-8"))
    return data


def text_of(label: dict[str, Any]) -> str:
    """The English text of a Label, checking the Label's own shape on the way."""
    assert label["@odata.type"] == f"{CRM}Label"
    [localized] = label["LocalizedLabels"]
    assert localized["@odata.type"] == f"{CRM}LocalizedLabel"
    assert localized["LanguageCode"] == 1033
    text: str = localized["Label"]
    return text


def parse_type(text: str) -> tuple[str, list[str]]:
    match = TYPE_TEXT.fullmatch(text.replace(" ", ""))
    assert match, text
    return match.group(1), [a for a in (match.group(2) or "").split(",") if a]


def new_tables() -> dict[str, dict[str, Any]]:
    return {name: entry for name, entry in SPEC["provision"].items() if name not in CATALOG["objects"]}


def fields(kinds: set[str] | None = None) -> list[tuple[str, str, dict[str, Any]]]:
    """(table, column, provision entry) of every provisioned column, optionally of some kinds."""
    found = []
    for table, entry in SPEC["provision"].items():
        for name, field in entry["fields"].items():
            if kinds is None or parse_type(field["type"])[0] in kinds:
                found.append((table, name, field))
    return found


def primary_id(table: str) -> str:
    known = CATALOG["objects"].get(table)
    return str(known["primary_id"]) if known else f"{table}id"


# -- tables --------------------------------------------------------------------------------------
def test_every_new_table_has_its_entity_definition(out: Path) -> None:
    tables = new_tables()
    assert sorted(p.stem for p in (out / "dataverse" / "tables").glob("*.json")) == sorted(tables)
    for name, entry in tables.items():
        table = body(out, f"tables/{name}.json")
        assert table["@odata.type"] == f"{CRM}EntityMetadata"
        assert table["SchemaName"] == name and name.startswith(PREFIX)
        assert text_of(table["DisplayName"]) == entry["label"]
        assert text_of(table["DisplayCollectionName"]) == entry["plural_label"]
        assert text_of(table["Description"]) == entry.get("description", text_of(table["Description"]))
        assert table["OwnershipType"] == "UserOwned"
        assert table["HasNotes"] is True and table["IsActivity"] is False
        [primary] = table["Attributes"]
        assert primary["@odata.type"] == f"{CRM}StringAttributeMetadata"
        assert primary["IsPrimaryName"] is True
        assert primary["SchemaName"] == entry["name_field"]["name"]
        assert text_of(primary["DisplayName"]) == entry["name_field"]["label"]
        assert primary["FormatName"] == {"Value": "Text"} and primary["MaxLength"] == 100


# -- columns -------------------------------------------------------------------------------------
def test_every_new_column_is_one_file_and_lookups_are_not(out: Path) -> None:
    written = {(p.parent.name, p.stem) for p in (out / "dataverse" / "columns").glob("*/*.json")}
    assert written == {(t, n) for t, n, f in fields() if parse_type(f["type"])[0] != "lookup"}


@pytest.mark.parametrize("kind", sorted(METADATA_TYPE))
def test_columns_of_each_type_carry_what_dataverse_needs(out: Path, kind: str) -> None:
    for table, name, field in fields({kind}):
        column = body(out, f"columns/{table}/{name}.json")
        _, args = parse_type(field["type"])
        assert column["@odata.type"] == f"{CRM}{METADATA_TYPE[kind]}AttributeMetadata"
        assert column["AttributeType"] == METADATA_TYPE[kind]
        assert column["SchemaName"] == name and name.startswith(PREFIX)
        assert text_of(column["DisplayName"]) == field["label"]
        required = "ApplicationRequired" if field.get("required") else "None"
        assert column["RequiredLevel"]["Value"] == required
        if field.get("description"):
            assert field["description"] in text_of(column["Description"])
        if field.get("help"):
            assert field["help"] in text_of(column["Description"])
        if kind in ("text", "email", "phone"):
            assert column["FormatName"] == {"Value": {"text": "Text", "email": "Email", "phone": "Phone"}[kind]}
            assert column["MaxLength"] == (int(args[0]) if args else {"email": 100, "phone": 50}[kind])
        elif kind == "longtext":
            assert column["Format"] == "TextArea"
            assert column["MaxLength"] == (int(args[0]) if args else 1048576)
        elif kind == "number":
            precision, scale = int(args[0]), int(args[1])
            largest = Decimal(10) ** (precision - scale) - Decimal(10) ** -scale
            assert column["Precision"] == scale
            assert Decimal(str(column["MaxValue"])) == largest == -Decimal(str(column["MinValue"]))
        elif kind == "currency":
            assert column["PrecisionSource"] == 2
        elif kind == "date":
            assert column["Format"] == "DateOnly" and column["DateTimeBehavior"] == {"Value": "DateOnly"}
        elif kind == "datetime":
            assert column["Format"] == "DateAndTime" and column["DateTimeBehavior"] == {"Value": "UserLocal"}
        elif kind == "bool":
            options = column["OptionSet"]
            assert options["OptionSetType"] == "Boolean"
            assert (options["TrueOption"]["Value"], text_of(options["TrueOption"]["Label"])) == (1, "Yes")
            assert (options["FalseOption"]["Value"], text_of(options["FalseOption"]["Label"])) == (0, "No")


def test_picklists_take_their_options_from_the_value_map(out: Path) -> None:
    picklists = fields({"picklist"})
    assert picklists
    for table, name, field in picklists:
        vmap = SPEC["value_maps"][parse_type(field["type"])[1][0]]
        outputs = [v for v in vmap["values"].values() if v is not None]
        fallback = (vmap.get("unmapped") or {}).get("fallback")
        outputs += [fallback] if fallback is not None else []
        option_set = body(out, f"columns/{table}/{name}.json")["OptionSet"]
        assert option_set["@odata.type"] == f"{CRM}OptionSetMetadata"
        assert option_set["IsGlobal"] is False and option_set["OptionSetType"] == "Picklist"
        values = [o["Value"] for o in option_set["Options"]]
        assert values == list(dict.fromkeys(outputs))
        assert all(OPTION_BASE <= v < OPTION_BASE + 10000 for v in values)
        first_word = {}
        for word, value in vmap["values"].items():
            first_word.setdefault(value, str(word))
        labels = [text_of(o["Label"]).lower() for o in option_set["Options"]]
        assert labels == [first_word[v].replace("_", " ").lower() for v in values]
    outcome = body(out, "columns/task/fs_appointmentoutcome.json")["OptionSet"]["Options"]
    assert [(o["Value"], text_of(o["Label"])) for o in outcome] == [
        (365000000, "Booked"), (365000001, "Attended"), (365000002, "Did not arrive"), (365000003, "Cancelled")]


# -- relationships and keys ----------------------------------------------------------------------
def test_every_lookup_is_a_one_to_many_relationship(out: Path) -> None:
    lookups = fields({"lookup"})
    relationships = [body(out, f"relationships/{p.name}")
                     for p in sorted((out / "dataverse" / "relationships").glob("*.json"))]
    by_lookup = {(r["ReferencingEntity"], r["Lookup"]["SchemaName"]): r for r in relationships}
    assert set(by_lookup) == {(t, n) for t, n, _ in lookups}
    assert len({r["SchemaName"] for r in relationships}) == len(relationships)
    for table, name, field in lookups:
        relationship = by_lookup[(table, name)]
        parent = parse_type(field["type"])[1][0]
        assert relationship["@odata.type"] == f"{CRM}OneToManyRelationshipMetadata"
        assert relationship["SchemaName"].startswith(PREFIX)
        assert relationship["ReferencedEntity"] == parent
        assert relationship["ReferencedAttribute"] == primary_id(parent)
        assert relationship["ReferencingEntityNavigationPropertyName"] == name
        lookup = relationship["Lookup"]
        assert lookup["@odata.type"] == f"{CRM}LookupAttributeMetadata"
        assert text_of(lookup["DisplayName"]) == field["label"]
        required = field.get("required", False)
        assert lookup["RequiredLevel"]["Value"] == ("ApplicationRequired" if required else "None")
        cascade = relationship["CascadeConfiguration"]
        assert cascade["Delete"] == ("Restrict" if required else "RemoveLink")
        assert set(cascade) == {"Assign", "Delete", "Merge", "Reparent", "Share", "Unshare", "RollupView"}


def test_every_external_id_has_an_alternate_key(out: Path) -> None:
    keyed = {(t, n) for t, n, f in fields() if f.get("external_id") or f.get("unique")}
    found = set()
    for path in sorted((out / "dataverse" / "keys").glob("*/*.json")):
        key = body(out, f"keys/{path.parent.name}/{path.name}")
        assert key["@odata.type"] == f"{CRM}EntityKeyMetadata"
        assert key["SchemaName"].startswith(PREFIX) and key["SchemaName"] == path.stem
        assert text_of(key["DisplayName"])
        [column] = key["KeyAttributes"]
        found.add((path.parent.name, column))
    assert found == keyed
    # Every spec object's key column on a provisioned table is one of them.
    spec_keys = {(o["target"], o["key"]["target"]) for o in SPEC["objects"].values()
                 if o["key"]["target"] in (SPEC["provision"].get(o["target"]) or {}).get("fields", {})}
    assert spec_keys <= found


# -- the manifest --------------------------------------------------------------------------------
def test_manifest_lists_every_request_in_the_order_to_send(out: Path) -> None:
    manifest = body(out, "manifest.json")
    jsonschema.Draft202012Validator(SCHEMA).validate(manifest)
    entries = manifest["entries"]
    assert [e["step"] for e in entries] == list(range(1, len(entries) + 1))
    kinds = [e["kind"] for e in entries]
    assert kinds == sorted(kinds, key=["table", "column", "relationship", "key"].index)
    files = {str(p.relative_to(out / "dataverse")) for p in (out / "dataverse").rglob("*.json")}
    assert sorted(e["body"] for e in entries) == sorted(files - {"manifest.json"})
    for entry in entries:
        sent = body(out, entry["body"])
        assert entry["method"] == "POST"
        assert sent["SchemaName"] == entry["name"]
        where = f"EntityDefinitions(LogicalName='{entry['table']}')"
        if entry["kind"] == "table":
            assert (entry["path"], entry["exists"]) == ("EntityDefinitions", where)
        elif entry["kind"] == "column":
            assert entry["path"] == f"{where}/Attributes"
            assert entry["exists"] == f"{where}/Attributes(LogicalName='{entry['name']}')"
        elif entry["kind"] == "relationship":
            assert entry["path"] == "RelationshipDefinitions"
            assert sent["ReferencingEntity"] == entry["table"]
        else:
            assert entry["path"] == f"{where}/Keys"
    assert manifest["publisher"] == {"customization_prefix": "fs", "option_value_prefix": 36500}
    assert manifest["custom_tables"]["count"] == len(new_tables()) and manifest["custom_tables"]["limit"] == 15
    assert manifest["service_root"] == "/api/data/v9.2/"


def test_a_second_run_writes_the_same_bytes(out: Path, tmp_path: Path) -> None:
    again = run_provision(PAIR, tmp_path)
    assert again.exit_code == 0, again.output
    first = {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    second = {p.relative_to(tmp_path): p.read_bytes() for p in sorted(tmp_path.rglob("*")) if p.is_file()}
    assert first == second


def test_a_rerun_removes_files_of_dropped_columns(tmp_path: Path) -> None:
    stale = tmp_path / "dataverse" / "columns" / "contact" / "fs_dropped.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}", encoding="utf-8")
    assert run_provision(PAIR, tmp_path).exit_code == 0
    assert not stale.exists()


# -- the field sheet and the command's output ----------------------------------------------------
def test_field_sheet_lists_every_provisioned_field(out: Path) -> None:
    with (out / "field-sheet.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    new = {(r["Object"], r["Field"]) for r in rows if r["Status"] == "new"}
    assert new == {(t, n) for t, n, _ in fields()}
    markdown = (out / "field-sheet.md").read_text(encoding="utf-8")
    assert markdown.startswith("# Field sheet: cliniko-to-dynamics365 (dynamics365)")
    assert all(f"`{n}`" in markdown for _, n, _ in fields())
    workbook = openpyxl.load_workbook(io.BytesIO((out / "field-sheet.xlsx").read_bytes()))
    assert set(SPEC["provision"]) <= set(workbook.sheetnames)


def test_output_reports_the_custom_table_count_and_how_to_apply(output: str) -> None:
    assert f"{len(new_tables())} of 15 custom tables (Professional tier)" in output
    assert "dataverse/manifest.json" in output and "Apply:" in output
    assert "sf project deploy" not in output


# -- refusals ------------------------------------------------------------------------------------
def overlay(tmp_path: Path, provision: list[str], value_maps: list[str] | None = None) -> Path:
    lines = [f"extends: {PAIR}", "name: clinic-overlay"]
    if value_maps:
        lines += ["value_maps:", *value_maps]
    lines += ["provision:", *provision]
    path = tmp_path / "overlay.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def extra_tables(count: int) -> list[str]:
    lines = []
    for number in range(1, count + 1):
        lines += [f"  fs_extra{number:02d}:", f"    label: Extra {number}", "    fields:",
                  "      fs_note: {type: text(20), label: Note}"]
    return lines


def test_sixteen_custom_tables_fail_with_a_located_error(tmp_path: Path) -> None:
    spec = overlay(tmp_path, extra_tables(16 - len(new_tables())))
    result = run_provision(spec, tmp_path / "out")
    assert result.exit_code == 2, result.output
    line = spec.read_text(encoding="utf-8").splitlines().index("provision:") + 1
    assert f"overlay.yaml:{line}:1: error: the spec provisions 16 custom tables" in result.output
    assert "allows 15" in result.output and "hint:" in result.output
    assert not (tmp_path / "out").exists()


def test_fifteen_custom_tables_are_at_the_limit(tmp_path: Path) -> None:
    result = run_provision(overlay(tmp_path, extra_tables(15 - len(new_tables()))), tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "15 of 15 custom tables (Professional tier)" in result.output
    table = body(tmp_path / "out", "tables/fs_extra01.json")
    assert table["Attributes"][0]["SchemaName"] == "fs_name"


@pytest.mark.parametrize("provision,value_maps,expected", [
    (["  contact:", "    fields:", "      notes_extra: {type: text(20), label: Extra}"], [],
     "new column 'notes_extra' does not start with the publisher prefix fs_"),
    (["  contact:", "    fields:", "      fs_Extra: {type: text(20), label: Extra}"], [],
     "new column 'fs_Extra' may contain only lower-case letters"),
    (["  contact:", "    fields:", "      fs_extra: {type: text(5000), label: Extra}"], [],
     "text(5000) is longer than"),
    (["  contact:", "    fields:", "      fs_extra: {type: 'number(14,12)', label: Extra}"], [],
     "keeps at most 10 decimal places"),
    (["  contact:", "    fields:", "      fs_extra: {type: currency, label: Extra, unique: true}"], [],
     "contact.fs_extra is an alternate key"),
    (["  contact:", "    fields:", "      fs_level: {type: picklist(level), label: Level}"],
     ["  level:", "    values: {low: 1, high: 2}"],
     "value map level gives option values outside the publisher's range 365000000 to 365009999: 1, 2"),
])
def test_what_dataverse_refuses_is_a_located_error(tmp_path: Path, provision: list[str],
                                                    value_maps: list[str], expected: str) -> None:
    spec = overlay(tmp_path, provision, value_maps)
    result = run_provision(spec, tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert re.search(r"overlay\.yaml:\d+:\d+: error: ", result.output), result.output
    assert expected in result.output


def test_a_value_map_of_words_numbers_options_from_the_publisher_range(tmp_path: Path) -> None:
    spec = overlay(tmp_path, ["  contact:", "    fields:",
                              "      fs_colour: {type: picklist(colour), label: Colour}"],
                   ["  colour:", "    values: {r: Red, g: Green, b: Blue}"])
    assert run_provision(spec, tmp_path / "out").exit_code == 0
    options = body(tmp_path / "out", "columns/contact/fs_colour.json")["OptionSet"]["Options"]
    assert [(o["Value"], text_of(o["Label"])) for o in options] == [
        (OPTION_BASE, "Red"), (OPTION_BASE + 1, "Green"), (OPTION_BASE + 2, "Blue")]


def test_an_option_several_words_map_to_is_labelled_with_the_first(tmp_path: Path) -> None:
    spec = overlay(tmp_path, ["  contact:", "    fields:", "      fs_tier: {type: picklist(tier), label: Tier}"],
                   ["  tier:", "    values: {gold_member: 365000100, Gold: 365000100, silver: 365000101}"])
    assert run_provision(spec, tmp_path / "out").exit_code == 0
    options = body(tmp_path / "out", "columns/contact/fs_tier.json")["OptionSet"]["Options"]
    assert [(o["Value"], text_of(o["Label"])) for o in options] == [(365000100, "Gold member"),
                                                                   (365000101, "Silver")]
