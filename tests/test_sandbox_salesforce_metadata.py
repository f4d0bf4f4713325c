"""The Metadata API file deploy of the Salesforce emulator, through the unmodified simple-salesforce client.

The package `flitstack provision` writes for the pair spec deploys cleanly, and
the objects and fields it creates are then usable through REST (describe,
insert, upsert by the new external id): the generated package and the
emulator agree. Problems come back as componentFailures, all or nothing with
rollbackOnError. A separate `Salesforce` object makes the metadata calls
(ref §0.4: a deploy leaves `Content-Type: text/xml` on the client's headers).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from click.testing import CliRunner
from sandbox_salesforce_fixture import (
    salesforce,
    salesforce_tls,  # noqa: F401 - serves as this module's `tls` fixture
)
from simple_salesforce import Salesforce

from engine.cli.main import main
from engine.sandbox.salesforce import Org, start_salesforce_sandbox
from engine.sandbox.server import EmulatorServer
from engine.sandbox.tls import SandboxTLS

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = """<?xml version="1.0" encoding="UTF-8"?>
<Package xmlns="http://soap.sforce.com/2006/04/metadata">{types}<version>62.0</version></Package>"""
HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'
NS = 'xmlns="http://soap.sforce.com/2006/04/metadata"'


@pytest.fixture()
def sandbox(tmp_path: Path, tls: SandboxTLS) -> Iterator[tuple[EmulatorServer, Org]]:
    server, org = start_salesforce_sandbox(tmp_path / "org", tls=tls)
    yield server, org
    server.stop()
    org.close()


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("provision")
    result = CliRunner().invoke(main, ["provision", str(ROOT / "specs" / "cliniko-to-salesforce.yaml"),
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out / "salesforce" / "deploy.zip"


def deploy(server: EmulatorServer, package: str | Path | io.BytesIO, *, sandbox: bool = False,
           **options: Any) -> dict[str, Any]:
    meta = salesforce(server)  # its own client: a deploy changes the client's headers for good
    started = meta.deploy(package, sandbox=sandbox, **options)
    assert started["state"] == "Queued" and started["asyncId"].startswith("0Af")
    status = meta.checkDeployStatus(started["asyncId"])
    return status


def make_zip(files: dict[str, str], types: dict[str, list[str]]) -> io.BytesIO:
    body = "".join(f"<types>{''.join(f'<members>{m}</members>' for m in members)}<name>{name}</name></types>"
                   for name, members in types.items())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("package.xml", PACKAGE.format(types=body))
        for name, text in files.items():
            archive.writestr(name, HEAD + text)
    buffer.seek(0)
    return buffer


def custom_object(name: str, fields: str, label: str = "Clinic") -> str:
    return (f"<CustomObject {NS}><deploymentStatus>Deployed</deploymentStatus>{fields}<label>{label}</label>"
            f"<nameField><label>{label} Name</label><type>Text</type></nameField>"
            f"<pluralLabel>{label}s</pluralLabel><sharingModel>ReadWrite</sharingModel></CustomObject>")


def text_field(name: str, *, extra: str = "") -> str:
    return f"<fields><fullName>{name}</fullName><label>{name[:-3]}</label><length>40</length>" \
           f"<type>Text</type>{extra}</fields>"


def permission_set(*fields: str) -> str:
    grants = "".join(f"<fieldPermissions><editable>true</editable><field>{f}</field><readable>true</readable>"
                     "</fieldPermissions>" for f in fields)
    return f"<PermissionSet {NS}><label>Access</label>{grants}</PermissionSet>"


def field_names(sf: Salesforce, name: str) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in getattr(sf, name).describe()["fields"]}


# -- the generated package --------------------------------------------------------------------------------

def test_the_provisioned_package_deploys_and_its_objects_work_through_rest(
        sandbox: tuple[EmulatorServer, Org], generated: Path) -> None:
    server, org = sandbox
    status = deploy(server, str(generated))
    assert status["state"] == "Succeeded", status
    detail = status["deployment_detail"]
    assert detail["failed_count"] == "0" and detail["errors"] == []
    with zipfile.ZipFile(generated) as archive:
        package = archive.read("package.xml").decode()
    assert int(detail["total_count"]) == package.count("<members>") == int(detail["deployed_count"])

    sf = salesforce(server)
    practitioner = field_names(sf, "Practitioner__c")
    assert practitioner["Cliniko_Id__c"]["externalId"] and practitioner["Cliniko_Id__c"]["unique"]
    assert practitioner["Cliniko_Id__c"]["type"] == "string" and practitioner["Cliniko_Id__c"]["length"] == 40
    assert practitioner["User__c"]["referenceTo"] == ["User"]
    assert sf.Practitioner__c.describe()["label"] == "Practitioner"
    contact = field_names(sf, "Contact")
    assert contact["Gender__c"]["type"] == "picklist" and contact["Gender__c"]["restrictedPicklist"]
    assert contact["Archived__c"]["type"] == "boolean" and contact["EPC_Expiry__c"]["type"] == "date"
    appointment = field_names(sf, "Appointment__c")
    assert appointment["Practitioner__c"]["referenceTo"] == ["Practitioner__c"]
    assert appointment["Practitioner__c"]["relationshipName"] == "Practitioner__r"

    created = sf.Practitioner__c.create({"Name": "Dr Ng", "Cliniko_Id__c": "P-1"})
    assert created["success"]
    assert sf.Practitioner__c.upsert(f"Cliniko_Id__c/{quote('P-1', safe='')}", {"Name": "Dr A Ng"}) == 200
    assert sf.Practitioner__c.upsert("Cliniko_Id__c/P-2", {"Name": "Dr B"}) == 201
    rows = sf.query("SELECT Name, Cliniko_Id__c FROM Practitioner__c ORDER BY Cliniko_Id__c")["records"]
    assert [(r["Name"], r["Cliniko_Id__c"]) for r in rows] == [("Dr A Ng", "P-1"), ("Dr B", "P-2")]
    appointment_id = sf.Appointment__c.create({"Practitioner__r": {"Cliniko_Id__c": "P-2"},
                                               "Cliniko_Id__c": "A-1"})["id"]
    row = sf.query(f"SELECT Practitioner__r.Name FROM Appointment__c WHERE Id = '{appointment_id}'")
    assert row["records"][0]["Practitioner__r"]["Name"] == "Dr B"

    # Redeploying the same package is harmless, and the deploy survives a restart.
    assert deploy(server, str(generated))["state"] == "Succeeded"
    assert org.object_meta("Practitioner__c") is not None
    with Org(org.path) as reopened:
        meta = reopened.describe("Practitioner__c")
        found = meta.field("Cliniko_Id__c")
        assert found is not None and found.external_id


def test_fields_stay_hidden_until_a_permission_set_grants_them(sandbox: tuple[EmulatorServer, Org]) -> None:
    server, _ = sandbox
    files = {"objects/Contact.object": f"<CustomObject {NS}>{text_field('Medicare__c')}</CustomObject>"}
    status = deploy(server, make_zip(files, {"CustomField": ["Contact.Medicare__c"]}))
    assert status["state"] == "Succeeded"
    sf = salesforce(server)
    assert "Medicare__c" not in field_names(sf, "Contact")
    files = {"permissionsets/Access.permissionset": permission_set("Contact.Medicare__c")}
    assert deploy(server, make_zip(files, {"PermissionSet": ["Access"]}))["state"] == "Succeeded"
    assert "Medicare__c" in field_names(sf, "Contact")
    assert sf.Contact.create({"LastName": "Ng", "Medicare__c": "123"})["success"]


def test_field_types_follow_the_metadata_settings(sandbox: tuple[EmulatorServer, Org]) -> None:
    server, _ = sandbox
    fields = "".join([
        text_field("Ext__c", extra="<externalId>true</externalId><unique>true</unique>"),
        "<fields><fullName>Notes__c</fullName><label>Notes</label><length>32768</length>"
        "<type>LongTextArea</type><visibleLines>3</visibleLines></fields>",
        "<fields><fullName>Fee__c</fullName><label>Fee</label><precision>10</precision><scale>2</scale>"
        "<type>Currency</type></fields>",
        "<fields><fullName>Count__c</fullName><label>Count</label><precision>4</precision><scale>0</scale>"
        "<type>Number</type></fields>",
        "<fields><fullName>When__c</fullName><label>When</label><type>DateTime</type></fields>",
        "<fields><fullName>Day__c</fullName><label>Day</label><type>Date</type></fields>",
        "<fields><fullName>Open__c</fullName><defaultValue>true</defaultValue><label>Open</label>"
        "<type>Checkbox</type></fields>",
        "<fields><fullName>Mail__c</fullName><label>Mail</label><type>Email</type></fields>",
        "<fields><fullName>Tel__c</fullName><label>Tel</label><type>Phone</type></fields>",
        "<fields><fullName>Kind__c</fullName><label>Kind</label><type>Picklist</type><valueSet>"
        "<restricted>true</restricted><valueSetDefinition><sorted>false</sorted><value><fullName>A</fullName>"
        "<default>true</default><label>Alpha</label></value><value><fullName>B</fullName><default>false"
        "</default><label>B</label></value></valueSetDefinition></valueSet></fields>",
        "<fields><fullName>Account__c</fullName><label>Account</label><referenceTo>Account</referenceTo>"
        "<relationshipName>Clinics</relationshipName><type>Lookup</type></fields>",
        "<fields><fullName>Code__c</fullName><label>Code</label><length>10</length><required>true</required>"
        "<type>Text</type></fields>",
    ])
    names = ["Ext__c", "Notes__c", "Fee__c", "Count__c", "When__c", "Day__c", "Open__c", "Mail__c", "Tel__c",
             "Kind__c", "Account__c"]
    files = {"objects/Clinic__c.object": custom_object("Clinic__c", fields),
             "permissionsets/Access.permissionset": permission_set(*(f"Clinic__c.{n}" for n in names))}
    # A wildcard member takes every field of the file.
    package = make_zip(files, {"CustomObject": ["Clinic__c"], "CustomField": ["*"], "PermissionSet": ["*"]})
    status = deploy(server, package)
    assert status["state"] == "Succeeded", status
    assert status["deployment_detail"]["total_count"] == "14"
    sf = salesforce(server)
    described = field_names(sf, "Clinic__c")
    assert described["Ext__c"]["externalId"] and described["Ext__c"]["idLookup"]
    assert (described["Notes__c"]["type"], described["Notes__c"]["length"]) == ("textarea", 32768)
    assert (described["Fee__c"]["type"], described["Fee__c"]["precision"], described["Fee__c"]["scale"]) == \
        ("currency", 10, 2)
    assert (described["Count__c"]["type"], described["Count__c"]["precision"]) == ("double", 4)
    assert described["When__c"]["type"] == "datetime" and described["Day__c"]["type"] == "date"
    assert described["Open__c"]["type"] == "boolean" and described["Open__c"]["defaultValue"] is True
    assert described["Mail__c"]["type"] == "email" and described["Tel__c"]["type"] == "phone"
    assert described["Kind__c"]["restrictedPicklist"]
    assert [v["value"] for v in described["Kind__c"]["picklistValues"]] == ["A", "B"]
    assert described["Account__c"]["referenceTo"] == ["Account"]
    assert described["Account__c"]["relationshipName"] == "Account__r"
    assert described["Code__c"]["nillable"] is False  # required: visible without a grant
    assert sf.Clinic__c.describe()["labelPlural"] == "Clinics"

    with pytest.raises(Exception) as refused:
        sf.Clinic__c.create({"Name": "North", "Kind__c": "Z", "Code__c": "N"})
    assert "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" in str(refused.value)
    created = sf.Clinic__c.create({"Name": "North", "Code__c": "N", "Ext__c": "c-1"})
    record = sf.Clinic__c.get(created["id"])
    assert record["Kind__c"] == "A" and record["Open__c"] is True


# -- failures --------------------------------------------------------------------------------------------

def failures(status: dict[str, Any]) -> list[tuple[str | None, str | None, str | None]]:
    return [(e["type"], e["file"], e["message"]) for e in status["deployment_detail"]["errors"]]


def test_problems_fail_the_deploy_and_roll_everything_back(sandbox: tuple[EmulatorServer, Org]) -> None:
    server, org = sandbox
    fields = "".join([
        text_field("Ok__c"),
        "<fields><fullName>Bad__c</fullName><label>Bad</label><referenceTo>Nope__c</referenceTo>"
        "<relationshipName>Bads</relationshipName><type>Lookup</type></fields>",
        "<fields><fullName>Odd__c</fullName><label>Odd</label><type>Blob</type></fields>",
        "<fields><fullName>Need__c</fullName><label>Need</label><length>5</length><required>true</required>"
        "<type>Text</type></fields>",
    ])
    files = {"objects/Clinic__c.object": custom_object("Clinic__c", fields),
             "permissionsets/Access.permissionset": permission_set("Clinic__c.Ok__c", "Clinic__c.Need__c")}
    status = deploy(server, make_zip(files, {
        "CustomObject": ["Clinic__c"], "CustomField": ["Clinic__c.Ok__c", "Clinic__c.Bad__c", "Clinic__c.Odd__c",
                                                       "Clinic__c.Need__c"], "PermissionSet": ["Access"]}))
    assert status["state"] == "Failed"
    assert sorted(failures(status)) == sorted([
        ("CustomField", "objects/Clinic__c.object",
         "Field Bad__c: referenceTo value of 'Nope__c' does not resolve to a valid sObject type"),
        ("CustomField", "objects/Clinic__c.object",
         "Error parsing file: 'Blob' is not a valid value for the enum 'FieldType'"),
        ("PermissionSet", "permissionsets/Access.permissionset",
         "You cannot deploy to a required field: Clinic__c.Need__c"),
    ])
    assert status["deployment_detail"]["deployed_count"] == "0"
    assert org.object_meta("Clinic__c") is None  # all or nothing


def test_without_rollback_the_valid_components_deploy(sandbox: tuple[EmulatorServer, Org]) -> None:
    server, org = sandbox
    fields = text_field("Ok__c") + "<fields><fullName>Bad__c</fullName><label>Bad</label>" \
        "<referenceTo>Nope__c</referenceTo><type>Lookup</type></fields>"
    files = {"objects/Clinic__c.object": custom_object("Clinic__c", fields)}
    status = deploy(server, make_zip(files, {"CustomObject": ["Clinic__c"], "CustomField": ["*"]}), sandbox=True)
    assert status["state"] == "SucceededPartial"
    assert status["deployment_detail"]["failed_count"] == "1"
    assert status["deployment_detail"]["deployed_count"] == "2"
    meta = org.describe("Clinic__c")
    assert meta.field("Ok__c", hidden=True) is not None and meta.field("Bad__c", hidden=True) is None


def test_check_only_and_missing_files(sandbox: tuple[EmulatorServer, Org]) -> None:
    server, org = sandbox
    files = {"objects/Clinic__c.object": custom_object("Clinic__c", text_field("Ok__c"))}
    status = deploy(server, make_zip(files, {"CustomObject": ["Clinic__c"], "CustomField": ["Clinic__c.Ok__c"]}),
                    checkOnly=True)
    assert status["state"] == "Succeeded" and org.object_meta("Clinic__c") is None
    status = deploy(server, make_zip(files, {"CustomObject": ["Clinic__c", "Ward__c"]}))
    assert status["state"] == "Failed"
    assert failures(status) == [("CustomObject", "package.xml", "An object 'Ward__c' of type CustomObject was "
                                 "named in package.xml, but was not found in zipped directory")]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("objects/Clinic__c.object", files["objects/Clinic__c.object"])
    status = deploy(server, buffer)
    assert status["state"] == "Failed" and failures(status)[0][2] == "No package.xml found"


def test_the_session_comes_from_the_soap_header(sandbox: tuple[EmulatorServer, Org]) -> None:
    server, _ = sandbox
    envelope = ('<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
                'xmlns:met="http://soap.sforce.com/2006/04/metadata"><soapenv:Header><met:SessionHeader>'
                '<met:sessionId>nope</met:sessionId></met:SessionHeader></soapenv:Header><soapenv:Body>'
                '<met:checkDeployStatus><met:asyncProcessId>0Af000000000001AAA</met:asyncProcessId>'
                '</met:checkDeployStatus></soapenv:Body></soapenv:Envelope>')
    response = requests.post(server.base_url + "/services/Soap/m/62.0/deployRequest/0Af000000000001AAA",
                             data=envelope, headers={"Content-Type": "text/xml",
                                                     "SOAPAction": "checkDeployStatus"}, timeout=10)
    assert response.status_code == 500
    assert "<faultcode>sf:INVALID_SESSION_ID</faultcode>" in response.text
