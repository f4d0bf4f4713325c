"""`flitstack provision SPEC --out DIR` for Salesforce, through the CLI.

Two specs: the real pair spec and `fixtures/specs/provision.yaml`, which has one
provisioned field of every abstract type, required fields, two lookups from one
object to the same parent and a ContentNote field. Expectations are computed
from the spec's YAML itself, not from the provisioning code.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import openpyxl
import pytest
import yaml
from click.testing import CliRunner, Result

from engine.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
PAIR = ROOT / "specs" / "cliniko-to-salesforce.yaml"
FIXTURE = ROOT / "tests" / "fixtures" / "specs" / "provision.yaml"
CATALOG = yaml.safe_load((ROOT / "targets" / "salesforce" / "catalog.yaml").read_text(encoding="utf-8"))
TYPES = yaml.safe_load((ROOT / "targets" / "salesforce" / "types.yaml").read_text(encoding="utf-8"))
NS = "{http://soap.sforce.com/2006/04/metadata}"
SOURCE = "salesforce/force-app/main/default"
PERMISSION_SET = "Flitstack_Migration"


# -- running the command -------------------------------------------------------------------------
def run_provision(spec: Path, out: Path) -> Result:
    return CliRunner().invoke(main, ["provision", str(spec), "--out", str(out)])


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folders = {}
    for name, spec in (("pair", PAIR), ("fixture", FIXTURE)):
        out = tmp_path_factory.mktemp(name)
        result = run_provision(spec, out)
        assert result.exit_code == 0, result.output
        folders[name] = out
    return folders


def raw_spec(spec: Path) -> dict[str, Any]:
    return yaml.safe_load(spec.read_text(encoding="utf-8"))


def host_of(obj: str) -> str:
    """Where a provisioned field of `obj` is deployed (ContentNote's go to ContentVersion)."""
    return CATALOG["objects"].get(obj, {}).get("custom_fields_on", obj)


def expected_fields(spec: Path) -> dict[str, dict[str, Any]]:
    """'Host.Field' → its provision entry (an object's own declaration wins over a redirected one)."""
    found: dict[str, dict[str, Any]] = {}
    provision = raw_spec(spec)["provision"]
    for own in (True, False):
        for obj, entry in provision.items():
            if (host_of(obj) == obj) == own:
                for name, field in entry["fields"].items():
                    found.setdefault(f"{host_of(obj)}.{name}", field)
    return found


def new_objects(spec: Path) -> set[str]:
    return {name for name in raw_spec(spec)["provision"] if name not in CATALOG["objects"]}


def xml(path: Path | bytes) -> ElementTree.Element:
    data = path.read_bytes() if isinstance(path, Path) else path
    return ElementTree.fromstring(data)


def children(element: ElementTree.Element) -> dict[str, str]:
    return {child.tag.removeprefix(NS): (child.text or "") for child in element}


def canonical(element: ElementTree.Element) -> list[str]:
    """The element's children, whitespace between tags ignored."""
    return [ElementTree.canonicalize(ElementTree.tostring(child), strip_text=True) for child in element]


def field_files(out: Path) -> dict[str, Path]:
    return {f"{p.parent.parent.name}.{p.name.removesuffix('.field-meta.xml')}": p
            for p in sorted((out / SOURCE / "objects").glob("*/fields/*.field-meta.xml"))}


def value_map_outputs(spec: Path, name: str) -> list[str]:
    vmap = raw_spec(spec)["value_maps"][name]
    outputs = [v for v in (vmap.get("values") or {}).values() if v is not None]
    unmapped = vmap.get("unmapped")
    if isinstance(unmapped, dict) and unmapped.get("fallback") is not None:
        outputs.append(unmapped["fallback"])
    return list(dict.fromkeys(str(v) for v in outputs))


# -- package.xml ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name,spec", [("pair", PAIR), ("fixture", FIXTURE)])
def test_package_xml_lists_exactly_the_new_components(outputs: dict[str, Path], name: str, spec: Path) -> None:
    package = xml(outputs[name] / "salesforce" / "package.xml")
    members = {children(t)["name"]: [m.text for m in t.findall(f"{NS}members")]
               for t in package.findall(f"{NS}types")}
    assert members["CustomObject"] == sorted(new_objects(spec))
    assert members["CustomField"] == sorted(expected_fields(spec))
    assert members["PermissionSet"] == [PERMISSION_SET]
    assert set(members) == {"CustomObject", "CustomField", "PermissionSet"}
    assert package.find(f"{NS}version").text == "62.0"  # type: ignore[union-attr]


# -- field XML by type ---------------------------------------------------------------------------
COMMON = {"fullName", "label", "type", "description", "inlineHelpText"}
# Metadata type → (elements it must have, further elements it may have).
ELEMENTS = {
    "Text": ({"length", "required", "externalId", "unique"}, {"caseSensitive"}),
    "LongTextArea": ({"length", "visibleLines", "required"}, set()),
    "Number": ({"precision", "scale", "required", "externalId", "unique"}, set()),
    "Currency": ({"precision", "scale", "required"}, set()),
    "Date": ({"required"}, set()),
    "DateTime": ({"required"}, set()),
    "Checkbox": ({"defaultValue"}, set()),
    "Email": ({"required", "externalId", "unique"}, set()),
    "Phone": ({"required"}, set()),
    "Picklist": ({"valueSet", "required"}, set()),
    "Lookup": ({"referenceTo", "relationshipName", "relationshipLabel", "deleteConstraint", "required"}, set()),
}


def test_every_abstract_type_is_in_the_fixture() -> None:
    kinds = {re.match(r"[a-z]+", f["type"]).group(0)  # type: ignore[union-attr]
             for entry in raw_spec(FIXTURE)["provision"].values() for f in entry["fields"].values()}
    assert kinds == set(TYPES["types"])
    assert {t["metadata_type"] for t in TYPES["types"].values()} == set(ELEMENTS)


@pytest.mark.parametrize("name,spec", [("pair", PAIR), ("fixture", FIXTURE)])
def test_every_field_file_parses_with_the_elements_of_its_type(outputs: dict[str, Path], name: str,
                                                               spec: Path) -> None:
    declared = expected_fields(spec)
    files = field_files(outputs[name])
    assert set(files) == set(declared)
    for member, path in files.items():
        root = xml(path)
        assert root.tag == f"{NS}CustomField"
        elements = children(root)
        kind = re.match(r"[a-z]+", declared[member]["type"]).group(0)  # type: ignore[union-attr]
        assert elements["type"] == TYPES["types"][kind]["metadata_type"], member
        must, may = ELEMENTS[elements["type"]]
        assert must <= set(elements) <= must | may | COMMON, (member, sorted(elements))
        assert elements["fullName"] == member.split(".")[1]
        assert elements["label"] == declared[member].get("label", elements["label"])


# Field of the fixture → element values its field-meta.xml must have.
FIXTURE_FIELDS = [
    ("Visit__c.Cliniko_Id__c", {"type": "Text", "length": "40", "externalId": "true", "unique": "true",
                                "caseSensitive": "false", "required": "false"}),
    ("Visit__c.Reason__c", {"type": "Text", "length": "80", "required": "true", "externalId": "false",
                            "inlineHelpText": "Why the patient came."}),
    ("Visit__c.Notes__c", {"type": "LongTextArea", "length": "32768", "visibleLines": "3"}),
    ("Visit__c.Summary__c", {"type": "LongTextArea", "length": "1000", "visibleLines": "3"}),
    ("Visit__c.Amount__c", {"type": "Number", "precision": "10", "scale": "2"}),
    ("Visit__c.Fee__c", {"type": "Currency", "precision": "18", "scale": "2"}),
    ("Visit__c.Visit_Date__c", {"type": "Date", "label": "Visit Date"}),
    ("Visit__c.Starts_At__c", {"type": "DateTime"}),
    ("Visit__c.Attended__c", {"type": "Checkbox", "defaultValue": "false"}),
    ("Visit__c.Contact_Email__c", {"type": "Email", "externalId": "false"}),
    ("Visit__c.Contact_Phone__c", {"type": "Phone"}),
    ("Visit__c.Colour__c", {"type": "Picklist"}),
    ("Visit__c.Patient__c", {"type": "Lookup", "referenceTo": "Contact", "deleteConstraint": "Restrict",
                             "required": "true"}),
    ("Visit__c.Referrer__c", {"type": "Lookup", "referenceTo": "Contact", "deleteConstraint": "SetNull",
                              "required": "false"}),
    ("Visit__c.Clinic__c", {"type": "Lookup", "referenceTo": "Account", "deleteConstraint": "SetNull",
                            "relationshipName": "Visits", "relationshipLabel": "Visits"}),
    ("Contact.Referring_Clinic__c", {"type": "Lookup", "referenceTo": "Account",
                                     "relationshipName": "Contacts_Referring_Clinic"}),
    ("ContentVersion.Cliniko_Id__c", {"description": "Attachment or treatment note id <from Cliniko> & more"}),
    ("ContentVersion.Note_Kind__c", {"type": "Text", "length": "20", "label": "Note Kind"}),
]


@pytest.mark.parametrize("member,expected", FIXTURE_FIELDS, ids=[m for m, _ in FIXTURE_FIELDS])
def test_fixture_field_elements(outputs: dict[str, Path], member: str, expected: dict[str, str]) -> None:
    elements = children(xml(field_files(outputs["fixture"])[member]))
    assert {k: elements.get(k) for k in expected} == expected


def picklist_values(path: Path) -> tuple[str, list[str]]:
    root = xml(path)
    restricted = root.find(f"{NS}valueSet/{NS}restricted").text  # type: ignore[union-attr]
    values = root.findall(f"{NS}valueSet/{NS}valueSetDefinition/{NS}value")
    for value in values:
        assert children(value)["fullName"] == children(value)["label"]
        assert children(value)["default"] == "false"
    assert root.find(f"{NS}valueSet/{NS}valueSetDefinition/{NS}sorted").text == "false"  # type: ignore[union-attr]
    return str(restricted), [children(v)["fullName"] for v in values]


@pytest.mark.parametrize("name,spec", [("pair", PAIR), ("fixture", FIXTURE)])
def test_picklist_values_are_the_value_maps_outputs(outputs: dict[str, Path], name: str, spec: Path) -> None:
    files = field_files(outputs[name])
    picklists = {m: f for m, f in expected_fields(spec).items() if f["type"].startswith("picklist(")}
    assert picklists
    for member, field in picklists.items():
        vmap = field["type"][len("picklist("):-1]
        assert picklist_values(files[member]) == ("true", value_map_outputs(spec, vmap)), member


def test_fixture_picklists_by_hand(outputs: dict[str, Path]) -> None:
    files = field_files(outputs["fixture"])
    assert picklist_values(files["Visit__c.Colour__c"])[1] == ["Red", "Blue & Green"]
    assert picklist_values(files["Contact.Gender__c"])[1] == ["Male", "Female", "Other"]


@pytest.mark.parametrize("name,spec", [("pair", PAIR), ("fixture", FIXTURE)])
def test_lookups_point_at_their_object_with_unique_relationship_names(outputs: dict[str, Path], name: str,
                                                                      spec: Path) -> None:
    by_parent: dict[str, list[str]] = {}
    files = field_files(outputs[name])
    lookups = {m: f for m, f in expected_fields(spec).items() if f["type"].startswith("lookup(")}
    assert lookups
    for member, field in lookups.items():
        elements = children(xml(files[member]))
        assert elements["referenceTo"] == field["type"][len("lookup("):-1]
        assert re.fullmatch(r"[A-Za-z](?!.*__)[A-Za-z0-9_]{0,39}", elements["relationshipName"])
        assert not elements["relationshipName"].endswith("_")
        by_parent.setdefault(elements["referenceTo"], []).append(elements["relationshipName"].lower())
    for parent, names in by_parent.items():
        assert len(names) == len(set(names)), (parent, names)


# -- permission set ------------------------------------------------------------------------------
@pytest.mark.parametrize("name,spec", [("pair", PAIR), ("fixture", FIXTURE)])
def test_permission_set_grants_every_new_field_except_required_ones(outputs: dict[str, Path], name: str,
                                                                    spec: Path) -> None:
    path = outputs[name] / SOURCE / "permissionsets" / f"{PERMISSION_SET}.permissionset-meta.xml"
    root = xml(path)
    granted = []
    for fp in root.findall(f"{NS}fieldPermissions"):
        elements = children(fp)
        assert elements["readable"] == elements["editable"] == "true"
        granted.append(elements["field"])
    declared = expected_fields(spec)
    assert granted == sorted(m for m, f in declared.items() if not f.get("required"))
    objects = [children(op) for op in root.findall(f"{NS}objectPermissions")]
    assert [o["object"] for o in objects] == sorted(new_objects(spec))
    assert all(o[k] == "true" for o in objects for k in ("allowCreate", "allowRead", "allowEdit", "allowDelete"))


def test_required_fields_are_not_in_the_permission_set(outputs: dict[str, Path]) -> None:
    text = (outputs["fixture"] / SOURCE / "permissionsets" /
            f"{PERMISSION_SET}.permissionset-meta.xml").read_text(encoding="utf-8")
    assert "Visit__c.Reason__c" not in text and "Visit__c.Patient__c" not in text
    assert "<field>Visit__c.Referrer__c</field>" in text


# -- ContentNote ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["pair", "fixture"])
def test_content_note_fields_land_on_content_version(outputs: dict[str, Path], name: str) -> None:
    out = outputs[name]
    assert not (out / SOURCE / "objects" / "ContentNote").exists()
    package = (out / "salesforce" / "package.xml").read_text(encoding="utf-8")
    assert "ContentNote" not in package
    assert "<members>ContentVersion.Cliniko_Id__c</members>" in package
    with zipfile.ZipFile(out / "salesforce" / "deploy.zip") as archive:
        assert "objects/ContentNote.object" not in archive.namelist()
    rows = sheet_csv(out)
    notes = [r for r in rows if r["Object"] == "ContentNote" and r["Status"] == "new"]
    assert notes and all(r["Deployed as"] == f"ContentVersion.{r['Field']}" for r in notes)
    assert all("ContentNote cannot hold custom fields" in r["Notes"] for r in notes)


def test_a_content_note_only_field_is_deployed_on_content_version(outputs: dict[str, Path]) -> None:
    files = field_files(outputs["fixture"])
    assert "ContentVersion.Note_Kind__c" in files


# -- the Metadata API zip ------------------------------------------------------------------------
@pytest.mark.parametrize("name,spec", [("pair", PAIR), ("fixture", FIXTURE)])
def test_deploy_zip_is_metadata_api_format(outputs: dict[str, Path], name: str, spec: Path) -> None:
    out = outputs[name]
    declared = expected_fields(spec)
    hosts = {m.split(".")[0] for m in declared} | new_objects(spec)
    with zipfile.ZipFile(out / "salesforce" / "deploy.zip") as archive:
        names = archive.namelist()
        assert names[0] == "package.xml"
        assert sorted(names) == sorted(["package.xml", f"permissionsets/{PERMISSION_SET}.permissionset"]
                                       + [f"objects/{h}.object" for h in hosts])
        assert archive.read("package.xml") == (out / "salesforce" / "package.xml").read_bytes()
        assert archive.read(f"permissionsets/{PERMISSION_SET}.permissionset") == \
            (out / SOURCE / "permissionsets" / f"{PERMISSION_SET}.permissionset-meta.xml").read_bytes()
        for host in hosts:
            root = xml(archive.read(f"objects/{host}.object"))
            inside = {children(f)["fullName"]: f for f in root.findall(f"{NS}fields")}
            assert sorted(f"{host}.{n}" for n in inside) == sorted(m for m in declared if m.startswith(f"{host}."))
            for fname, element in inside.items():
                assert canonical(element) == canonical(xml(out / SOURCE / "objects" / host / "fields" /
                                                           f"{fname}.field-meta.xml"))
            top = children(root)
            if host in new_objects(spec):
                source = children(xml(out / SOURCE / "objects" / host / f"{host}.object-meta.xml"))
                assert "fullName" not in source
                assert {k: v for k, v in top.items() if k != "fields"} == source
                assert source["deploymentStatus"] == "Deployed" and source["sharingModel"] == "ReadWrite"
                assert source["enableBulkApi"] == "true"
                assert {"label", "pluralLabel", "nameField"} <= set(source)
            else:
                assert set(top) == {"fields"}


def test_custom_object_elements(outputs: dict[str, Path]) -> None:
    root = xml(outputs["fixture"] / SOURCE / "objects" / "Visit__c" / "Visit__c.object-meta.xml")
    elements = children(root)
    assert (elements["label"], elements["pluralLabel"], elements["description"]) == \
        ("Visit", "Visits", "One visit to a clinic.")
    name_field = children(root.find(f"{NS}nameField"))  # type: ignore[arg-type]
    assert name_field == {"displayFormat": "V-{00000}", "label": "Visit Number", "type": "AutoNumber"}
    pair = xml(outputs["pair"] / SOURCE / "objects" / "Practitioner__c" / "Practitioner__c.object-meta.xml")
    assert children(pair.find(f"{NS}nameField")) == {"label": "Practitioner Name", "type": "Text"}  # type: ignore[arg-type]


def test_sfdx_project(outputs: dict[str, Path]) -> None:
    project = json.loads((outputs["pair"] / "salesforce" / "sfdx-project.json").read_text(encoding="utf-8"))
    assert project["packageDirectories"] == [{"default": True, "path": "force-app"}]
    assert project["sourceApiVersion"] == "62.0"


# -- the field sheet -----------------------------------------------------------------------------
def sheet_csv(out: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((out / "field-sheet.csv").read_text(encoding="utf-8"))))


def _plain(text: str) -> str:
    return text.replace("\\|", "|").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def md_cell(cell: str) -> str:
    """Undo the Markdown encoding: code spans, <br> line breaks, escaped pipes, HTML entities."""
    lines = [""]
    i = 0
    while i < len(cell):
        if cell.startswith("<br>", i):
            lines.append("")
            i += 4
        elif cell[i] == "`":
            fence = re.match(r"`+", cell[i:]).group(0)  # type: ignore[union-attr]
            close = re.compile(rf"(?<!`){fence}(?!`)")
            end = close.search(cell, i + len(fence))
            assert end is not None, cell
            content = cell[i + len(fence):end.start()]
            if len(content) > 1 and content[0] == content[-1] == " " and content.strip():
                content = content[1:-1]
            lines[-1] += content.replace("\\|", "|")
            i = end.end()
        else:
            stop = min((p for p in (cell.find("`", i), cell.find("<br>", i)) if p >= 0), default=len(cell))
            lines[-1] += _plain(cell[i:stop])
            i = stop
    return "\n".join(lines)


def md_tables(out: Path) -> dict[str, list[list[str]]]:
    """Section title → the rows of its table (header excluded)."""
    tables: dict[str, list[list[str]]] = {}
    section = ""
    for line in (out / "field-sheet.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            section = line[3:]
            tables[section] = []
        elif line.startswith("| ") and section:
            cells = [md_cell(c.strip()) for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            tables[section].append(cells)
    return {s: [r for r in rows[1:] if set("".join(r)) - {"-"}] for s, rows in tables.items()}


@pytest.mark.parametrize("name", ["pair", "fixture"])
def test_sheet_formats_agree_row_for_row(outputs: dict[str, Path], name: str) -> None:
    out = outputs[name]
    with (out / "field-sheet.csv").open(encoding="utf-8", newline="") as handle:
        csv_rows = list(csv.reader(handle))
    header, csv_rows = csv_rows[0], csv_rows[1:]
    wb = openpyxl.load_workbook(out / "field-sheet.xlsx")
    assert wb.sheetnames[0] == "Overview"
    xlsx_rows = []
    for ws in wb.worksheets[1:]:
        assert [c.value for c in ws[1]] == header
        assert all(c.font.bold for c in ws[1])
        assert ws.freeze_panes == "A2"
        assert ws.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(len(header))}{ws.max_row}"
        assert all(ws.column_dimensions[openpyxl.utils.get_column_letter(i)].width
                   for i in range(1, len(header) + 1))
        xlsx_rows += [["" if v is None else str(v) for v in row]
                      for row in ws.iter_rows(min_row=2, values_only=True)]
    tables = md_tables(out)
    md_rows = [row for section, rows in tables.items() if section != "Overview" for row in rows]
    assert xlsx_rows == csv_rows
    assert md_rows == csv_rows
    overview = [["" if v is None else str(v) for v in row]
                for row in wb["Overview"].iter_rows(min_row=2, values_only=True)]
    assert overview == tables["Overview"]
    assert [r[0] for r in overview] == [ws.title for ws in wb.worksheets[1:]]


@pytest.mark.parametrize("name,spec", [("pair", PAIR), ("fixture", FIXTURE)])
def test_sheet_lists_every_provisioned_and_written_field(outputs: dict[str, Path], name: str,
                                                         spec: Path) -> None:
    rows = sheet_csv(outputs[name])
    doc = raw_spec(spec)
    new = {(obj, f) for obj, entry in doc["provision"].items() for f in entry["fields"]}
    written = {(o["target"], f) for o in doc["objects"].values() for f in o["fields"]} | \
        {(o["target"], o["key"]["target"]) for o in doc["objects"].values()}
    assert {(r["Object"], r["Field"]) for r in rows} == new | written
    assert {(r["Object"], r["Field"]) for r in rows if r["Status"] == "new"} == new
    for r in rows:
        if r["Status"] == "new":
            assert r["Spec type"] == doc["provision"][r["Object"]]["fields"][r["Field"]]["type"]


def test_sheet_row_content(outputs: dict[str, Path]) -> None:
    rows = {(r["Object"], r["Field"], r["Written by"]): r for r in sheet_csv(outputs["fixture"])}
    gender = rows[("Contact", "Gender__c", "patient")]
    assert (gender["Rule"], gender["Source"], gender["Value map"], gender["Picklist values"]) == \
        ("path", "sex", "gender", "Male; Female; Other")
    assert gender["Value map entries"] == \
        "male → Male; female → Female; prefer not to say → (empty); anything else → Other (ignoring case)"
    summary = rows[("Visit__c", "Summary__c", "visit")]
    assert (summary["Rule"], summary["Source"], summary["Length"]) == \
        ("template", "{{ patient_name }} at {{ starts_at }}", "1000")
    key = rows[("Visit__c", "Cliniko_Id__c", "visit")]
    assert (key["Rule"], key["Source"], key["External ID"], key["Unique"]) == ("key", "id", "yes", "yes")
    lookup = rows[("Visit__c", "Patient__c", "visit")]
    assert (lookup["Rule"], lookup["Source"], lookup["Lookup to"], lookup["Required"]) == \
        ("lookup", "patient (key: patient_id)", "Contact", "yes")
    unwritten = rows[("Visit__c", "Unwritten__c", "")]
    assert (unwritten["Status"], unwritten["Rule"], unwritten["Source"]) == ("new", "", "")
    account_type = rows[("Account", "Type", "business")]
    assert (account_type["Status"], account_type["Rule"], account_type["Source"]) == ("existing", "const", "Clinic")
    assert account_type["Notes"] == "add to the picklist: Clinic"


# -- reproducible output -------------------------------------------------------------------------
def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_rerun_gives_byte_identical_files(outputs: dict[str, Path], tmp_path: Path) -> None:
    first = tree(outputs["pair"])
    result = run_provision(PAIR, outputs["pair"])
    assert result.exit_code == 0, result.output
    assert tree(outputs["pair"]) == first
    result = run_provision(PAIR, tmp_path / "again")
    assert result.exit_code == 0, result.output
    assert tree(tmp_path / "again") == first


def test_rerun_removes_files_a_dropped_field_left_behind(tmp_path: Path) -> None:
    assert run_provision(FIXTURE, tmp_path).exit_code == 0
    stale = tmp_path / SOURCE / "objects" / "Visit__c" / "fields" / "Dropped__c.field-meta.xml"
    stale.write_text("<CustomField/>", encoding="utf-8")
    assert run_provision(FIXTURE, tmp_path).exit_code == 0
    assert not stale.exists()


def test_summary(tmp_path: Path) -> None:
    result = run_provision(FIXTURE, tmp_path)
    assert "5 objects, 1 new; 22 new fields (20 in the permission set)" in result.output
    assert "ContentNote" in result.output and "fields on ContentVersion" in result.output
    assert str(tmp_path / "salesforce" / "deploy.zip") in result.output


# -- what Salesforce refuses: located spec errors, exit 2, nothing written -----------------------
FIXTURE_TEXT = FIXTURE.read_text(encoding="utf-8")
LONG = "A" * 41
CV_KEY = "      Cliniko_Id__c: {type: text(40), external_id: true, unique: true, label: Cliniko ID,\n"
# (id, text replaced in the fixture, its replacement, a text on the line the error points at, the text
#  the error's column points at on that line, what the message says)
INVALID = [
    ("double underscore", "      Unwritten__c: {type", "      Bad__Name__c: {type", "Bad__Name__c:",
     "Bad__Name__c", "'Bad__Name__c' has two underscores in a row before __c"),
    ("41 characters", "      Unwritten__c: {type", f"      {LONG}__c: {{type", f"{LONG}__c:", f"{LONG}__c",
     f"'{LONG}__c' has 41 characters before __c; Salesforce allows at most 40"),
    ("no suffix", "      Unwritten__c: {type", "      Unwritten: {type", "Unwritten:", "Unwritten",
     "'Unwritten' does not end in __c"),
    ("trailing underscore", "      Unwritten__c: {type", "      Unwritten___c: {type", "Unwritten___c:",
     "Unwritten___c", "'Unwritten___c' ends with an underscore before __c"),
    ("object name", "  Visit__c:\n    label: Visit", "  Visit__Two__c:\n    label: Visit", "  Visit__Two__c:",
     "Visit__Two__c", "'Visit__Two__c' has two underscores in a row before __c"),
    ("label too long", "label: Not Written}", f"label: {'L' * 41}}}", "Unwritten__c:", "L" * 41,
     "the label of Visit__c.Unwritten__c has 41 characters; Salesforce allows at most 40"),
    ("short long text", "type: longtext(1000)", "type: longtext(100)", "Summary__c: {type", "longtext(100)",
     "a Salesforce long text area holds at least 256 characters"),
    ("precision", 'type: "number(10,2)"', 'type: "number(20,2)"', "Amount__c: {type", '"number(20,2)"',
     "number(20,2): precision must be 1 to 18 digits"),
    ("scale", 'type: "number(10,2)"', 'type: "number(2,3)"', "Amount__c: {type", '"number(2,3)"',
     "number(2,3): the scale is larger than the precision"),
    ("required checkbox", "type: bool, label", "type: bool, required: true, label", "Attended__c: {type", "required",
     "Visit__c.Attended__c is a checkbox, which Salesforce cannot make required"),
    ("ContentNote differs", CV_KEY, "      Note_Kind__c: {type: text(30), label: Note Kind}\n" + CV_KEY,
     "Note_Kind__c: {type: text(20)", "Note_Kind__c",
     "ContentNote.Note_Kind__c is deployed on ContentVersion, where ContentVersion.Note_Kind__c is declared "
     "differently"),
]


@pytest.mark.parametrize("case,old,new,line_text,at,message", INVALID, ids=[c[0] for c in INVALID])
def test_invalid_provisioning_is_a_located_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str,
                                                 old: str, new: str, line_text: str, at: str,
                                                 message: str) -> None:
    assert FIXTURE_TEXT.count(old) == 1
    text = FIXTURE_TEXT.replace(old, new)
    if case == "object name":
        text = text.replace("target: Visit__c", "target: Visit__Two__c")
    (tmp_path / "spec.yaml").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["provision", "spec.yaml", "--out", "out"])
    assert result.exit_code == 2, result.output
    lines = text.splitlines()
    line = next(i for i, content in enumerate(lines, 1) if line_text in content)
    column = lines[line - 1].index(at) + 1
    first = result.output.splitlines()[0]
    assert first == f"spec.yaml:{line}:{column}: error: {message}" or \
        first.startswith(f"spec.yaml:{line}:{column}: error: {message}"), result.output
    assert "hint:" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()
