"""The Metadata API's file deploy (SOAP), enough for the packages `flitstack provision` writes.

    POST /services/Soap/m/{ver}/deployRequest       SOAPAction deploy → deployResponse/result/{id,state}
    POST /services/Soap/m/{ver}/deployRequest/{id}  SOAPAction checkDeployStatus → .../result/{status,...}

The session id is read from the SOAP `SessionHeader` (or, failing that, the
Bearer header, which simple-salesforce also sends); an unknown one is the
platform's INVALID_SESSION_ID SOAP fault (HTTP 500, as SOAP faults are).

A deploy is a zip in Metadata API file format with `package.xml` at its root
(simple-salesforce forces `singlePackage`): `objects/<Object>.object` (a
CustomObject with label, pluralLabel, nameField and `<fields>`; a standard
object's file carries only `<fields>`) and `permissionsets/<Name>.permissionset`
(`fieldPermissions` become the API user's field-level security). Only
components named in package.xml are deployed (`*` takes every file of that
type); a named component without a file fails unless `allowMissingFiles`.

Decisions:
- The deploy runs synchronously when it is received; `deploy` answers state
  `Queued` and the first `checkDeployStatus` already sees Succeeded or Failed.
- All components are validated before anything is written (the org's
  in-memory schema cannot be rolled back), against the org plus the objects
  and fields of the same deploy, so a lookup may reference an object the same
  package creates. With `rollbackOnError` (forced by simple-salesforce when
  `sandbox=False`) one failure deploys nothing; without it the valid
  components are deployed and the status is `SucceededPartial`.
  `checkOnly` validates only.
- New custom fields are created hidden from the API user (field-level
  security), as on the platform, unless they are required; a permission set
  in the package (or an earlier one) grants them. Redeploying a field keeps
  its current access. A metadata `relationshipName` is the parent's child
  relationship; the SOQL relationship from the child is `<Field>__r`.
- Problems use the platform's wording where known: "referenceTo value of 'X'
  does not resolve to a valid sObject type", "'X' is not a valid value for
  the enum 'FieldType'", "You cannot deploy to a required field: Obj.Field",
  "In field: field - no CustomField named Obj.Field found".
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import threading
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field, replace
from xml.sax.saxutils import escape

from engine.sandbox.salesforce.app import Call, Route, SalesforceApp
from engine.sandbox.salesforce.errors import RequestError
from engine.sandbox.salesforce.ids import make_id
from engine.sandbox.salesforce.metadata import METADATA_TYPES, FieldMeta, PicklistValue, custom_field
from engine.sandbox.server import Response

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
MD_NS = "http://soap.sforce.com/2006/04/metadata"
DEPLOY_PREFIX = "0Af"
_STATE_KEY = "metadata_deploy"
_NAME = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*__c$")


def routes() -> list[Route]:
    return [Route("POST", r"/services/Soap/m/(?P<version>\d{2,3}\.\d)/deployRequest(?:/(?P<id>[^/]+))?",
                  _handle, versioned=False, auth=False, counted=False)]


def register(app: SalesforceApp) -> None:
    app.add_routes(routes())


# -- requests ------------------------------------------------------------------------------------------

@dataclass
class _Deploys:
    lock: threading.Lock = field(default_factory=threading.Lock)
    results: dict[str, DeployResult] = field(default_factory=dict)
    counter: int = 0


@dataclass
class Failure:
    component_type: str
    file_name: str
    full_name: str
    problem: str
    problem_type: str = "Error"


@dataclass
class DeployResult:
    id: str
    created: str
    completed: str
    check_only: bool
    rollback_on_error: bool
    ignore_warnings: bool
    total: int = 0
    deployed: int = 0
    failures: list[Failure] = field(default_factory=list)
    successes: list[tuple[str, str, str]] = field(default_factory=list)  # (type, file, fullName)

    @property
    def status(self) -> str:
        if not self.failures:
            return "Succeeded"
        return "SucceededPartial" if self.deployed and not self.rollback_on_error else "Failed"


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _find(root: ET.Element, name: str) -> ET.Element | None:
    for element in root.iter():
        if _local(element.tag) == name:
            return element
    return None


def _text(root: ET.Element | None, name: str, default: str = "") -> str:
    if root is None:
        return default
    for child in root:
        if _local(child.tag) == name:
            return (child.text or "").strip()
    return default


def _children(root: ET.Element, name: str) -> list[ET.Element]:
    return [child for child in root if _local(child.tag) == name]


def _flag(value: str, default: bool = False) -> bool:
    return value.lower() == "true" if value else default


def _fault(code: str, message: str) -> Response:
    body = (f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{SOAP_NS}" '
            f'xmlns:sf="http://soap.sforce.com/2006/04/metadata"><soapenv:Body><soapenv:Fault>'
            f"<faultcode>sf:{code}</faultcode><faultstring>{escape(f'{code}: {message}')}</faultstring>"
            f"</soapenv:Fault></soapenv:Body></soapenv:Envelope>")
    return Response(500, body.encode("utf-8"), {"Content-Type": "text/xml; charset=utf-8"})


def _envelope(inner: str) -> Response:
    body = (f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{SOAP_NS}" '
            f'xmlns="{MD_NS}"><soapenv:Body>{inner}</soapenv:Body></soapenv:Envelope>')
    return Response(200, body.encode("utf-8"), {"Content-Type": "text/xml; charset=utf-8"})


def _handle(call: Call) -> Response:
    try:
        envelope = ET.fromstring(call.request.body or b"<empty/>")
    except ET.ParseError as error:
        return _fault("INVALID_XML", f"Could not parse the request: {error}")
    session = _text(_find(envelope, "SessionHeader"), "sessionId") or None
    if session is None:
        scheme, _, token = (call.request.headers.get("authorization") or "").partition(" ")
        session = token.strip() if scheme.lower() in ("bearer", "oauth") and token.strip() else None
    try:
        call.app.user_for_token(session)
    except RequestError:
        return _fault("INVALID_SESSION_ID", "Invalid Session ID found in SessionHeader: Illegal Session")
    if call.org.count_api_call() is None:
        return _fault("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
    action = (call.request.headers.get("soapaction") or "").strip().strip('"')
    deploys: _Deploys = call.app.state(_STATE_KEY, _Deploys)
    if action == "deploy" or (not action and _find(envelope, "deploy") is not None):
        return _deploy(call, envelope, deploys)
    if action == "checkDeployStatus" or (not action and _find(envelope, "checkDeployStatus") is not None):
        wanted = _text(_find(envelope, "checkDeployStatus"), "asyncProcessId") or call.params.get("id", "")
        with deploys.lock:
            result = deploys.results.get(wanted)
        if result is None:
            return _fault("INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {wanted}")
        include = _flag(_text(_find(envelope, "checkDeployStatus"), "includeDetails"))
        return _envelope(f"<checkDeployStatusResponse><result>{_status_xml(result, include)}</result>"
                         "</checkDeployStatusResponse>")
    return _fault("INVALID_OPERATION", f"Unsupported SOAPAction '{action}' on deployRequest")


def _deploy(call: Call, envelope: ET.Element, deploys: _Deploys) -> Response:
    request = _find(envelope, "deploy")
    zipped = _text(request, "ZipFile")
    options = _find(envelope, "DeployOptions")
    try:
        data = base64.b64decode(zipped, validate=False)
    except (binascii.Error, ValueError):
        data = b""
    with deploys.lock:
        deploys.counter += 1
        async_id = make_id(DEPLOY_PREFIX, deploys.counter)
    now = call.org.timestamp()
    result = DeployResult(async_id, now, now, check_only=_flag(_text(options, "checkOnly")),
                          rollback_on_error=_flag(_text(options, "rollbackOnError"), True),
                          ignore_warnings=_flag(_text(options, "ignoreWarnings")))
    Deployer(call.app, result, allow_missing=_flag(_text(options, "allowMissingFiles"))).run(data)
    result.completed = call.org.timestamp()
    with deploys.lock:
        deploys.results[async_id] = result
    return _envelope(f"<deployResponse><result><done>false</done><id>{async_id}</id><state>Queued</state>"
                     "</result></deployResponse>")


def _status_xml(result: DeployResult, details: bool) -> str:
    parts = [
        f"<checkOnly>{str(result.check_only).lower()}</checkOnly>",
        f"<completedDate>{result.completed}</completedDate>",
        f"<createdDate>{result.created}</createdDate>",
    ]
    if details:
        detail = []
        for failure in result.failures:
            detail.append(
                "<componentFailures><changed>false</changed>"
                f"<componentType>{escape(failure.component_type)}</componentType>"
                f"<created>false</created><deleted>false</deleted>"
                f"<fileName>{escape(failure.file_name)}</fileName>"
                f"<fullName>{escape(failure.full_name)}</fullName>"
                f"<problem>{escape(failure.problem)}</problem>"
                f"<problemType>{failure.problem_type}</problemType>"
                "<success>false</success></componentFailures>")
        deployed = result.status != "Failed" and not result.check_only
        for type_, file_name, full_name in result.successes:
            detail.append(
                f"<componentSuccesses><changed>{str(deployed).lower()}</changed>"
                f"<componentType>{escape(type_)}</componentType><created>{str(deployed).lower()}</created>"
                f"<deleted>false</deleted><fileName>{escape(file_name)}</fileName>"
                f"<fullName>{escape(full_name)}</fullName><success>true</success></componentSuccesses>")
        parts.append(f"<details>{''.join(detail)}</details>")
    succeeded = result.status != "Failed"
    parts += [
        "<done>true</done>",
        f"<id>{result.id}</id>",
        f"<ignoreWarnings>{str(result.ignore_warnings).lower()}</ignoreWarnings>",
        f"<numberComponentErrors>{len(result.failures)}</numberComponentErrors>",
        f"<numberComponentsDeployed>{result.deployed}</numberComponentsDeployed>",
        f"<numberComponentsTotal>{result.total}</numberComponentsTotal>",
        "<numberTestErrors>0</numberTestErrors><numberTestsCompleted>0</numberTestsCompleted>",
        "<numberTestsTotal>0</numberTestsTotal>",
        f"<rollbackOnError>{str(result.rollback_on_error).lower()}</rollbackOnError>",
        "<runTestsEnabled>false</runTestsEnabled>",
        f"<status>{result.status}</status>",
        f"<success>{str(succeeded).lower()}</success>",
    ]
    if result.status == "Failed" and result.failures and not details:
        parts.append(f"<errorMessage>{escape(result.failures[0].problem)}</errorMessage>")
    return "".join(parts)


# -- deploying -----------------------------------------------------------------------------------------

@dataclass
class _Object:
    name: str
    file_name: str
    label: str
    plural: str
    name_label: str
    name_format: str | None


@dataclass
class _Field:
    object_name: str
    file_name: str
    meta: FieldMeta

    @property
    def full_name(self) -> str:
        return f"{self.object_name}.{self.meta.name}"


@dataclass
class _PermissionSet:
    name: str
    file_name: str
    grants: list[tuple[str, str, bool, bool]]  # (object, field, readable, editable)


class Deployer:
    """Validates a package against the org (plus itself), then applies what may be applied."""

    def __init__(self, app: SalesforceApp, result: DeployResult, *, allow_missing: bool) -> None:
        self.app = app
        self.org = app.org
        self.result = result
        self.allow_missing = allow_missing
        self.objects: list[_Object] = []
        self.fields: list[_Field] = []
        self.permission_sets: list[_PermissionSet] = []

    def fail(self, type_: str, file_name: str, full_name: str, problem: str) -> None:
        self.result.failures.append(Failure(type_, file_name, full_name, problem))

    def run(self, data: bytes) -> None:
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
            files = {info.filename.lstrip("/"): archive.read(info) for info in archive.infolist()
                     if not info.is_dir()}
        except (zipfile.BadZipFile, ValueError, OSError):
            self.fail("", "", "", "Error reading the zip file: not a valid zip archive")
            return
        if "package.xml" not in files:
            self.fail("", "package.xml", "package.xml", "No package.xml found")
            return
        try:
            members = self._package(files["package.xml"])
        except ET.ParseError as error:
            self.fail("", "package.xml", "package.xml", f"Error parsing file: {error}")
            return
        self._read_files(files, members)
        self.result.total = len(self.objects) + len(self.fields) + len(self.permission_sets) + \
            len(self.result.failures)
        self._validate()
        self._apply()

    def _package(self, raw: bytes) -> dict[str, set[str]]:
        root = ET.fromstring(raw)
        members: dict[str, set[str]] = {}
        for types in _children(root, "types"):
            names = {(m.text or "").strip() for m in _children(types, "members")}
            members.setdefault(_text(types, "name"), set()).update(names)
        return members

    def _read_files(self, files: dict[str, bytes], members: dict[str, set[str]]) -> None:
        wanted_objects = members.get("CustomObject", set())
        wanted_fields = members.get("CustomField", set())
        wanted_sets = members.get("PermissionSet", set())
        found: set[tuple[str, str]] = set()
        for path in sorted(files):
            folder, _, file_name = path.partition("/")
            stem, _, extension = file_name.rpartition(".")
            if folder == "objects" and extension == "object":
                try:
                    root = ET.fromstring(files[path])
                except ET.ParseError as error:
                    self.fail("CustomObject", path, stem, f"Error parsing file: {error}")
                    continue
                if stem in wanted_objects or "*" in wanted_objects:
                    found.add(("CustomObject", stem))
                    self._read_object(stem, path, root)
                for element in _children(root, "fields"):
                    full_name = f"{stem}.{_text(element, 'fullName')}"
                    if full_name in wanted_fields or "*" in wanted_fields:
                        found.add(("CustomField", full_name))
                        self._read_field(stem, path, element)
            elif folder == "permissionsets" and extension == "permissionset":
                if stem not in wanted_sets and "*" not in wanted_sets:
                    continue
                found.add(("PermissionSet", stem))
                try:
                    root = ET.fromstring(files[path])
                except ET.ParseError as error:
                    self.fail("PermissionSet", path, stem, f"Error parsing file: {error}")
                    continue
                grants = [(*_text(p, "field").partition(".")[::2], _flag(_text(p, "readable")),
                           _flag(_text(p, "editable"))) for p in _children(root, "fieldPermissions")]
                self.permission_sets.append(_PermissionSet(stem, path, grants))
        if self.allow_missing:
            return
        for type_, names in members.items():
            for name in sorted(names - {"*"}):
                if type_ in ("CustomObject", "CustomField", "PermissionSet") and (type_, name) not in found:
                    self.fail(type_, "package.xml", name, f"An object '{name}' of type {type_} was named in "
                              "package.xml, but was not found in zipped directory")

    def _read_object(self, name: str, path: str, root: ET.Element) -> None:
        if not name.endswith("__c"):
            return  # a standard object's file only carries fields
        if not _NAME.match(name) or len(name) > 43:
            self.fail("CustomObject", path, name, f"Invalid custom object name: {name}")
            return
        label, plural = _text(root, "label"), _text(root, "pluralLabel")
        name_field = _children(root, "nameField")
        missing = [n for n, v in (("label", label), ("pluralLabel", plural)) if not v]
        if not name_field:
            missing.append("nameField")
        if missing:
            self.fail("CustomObject", path, name, f"Must specify a {missing[0]} for a custom object")
            return
        name_type = _text(name_field[0], "type", "Text")
        name_format = _text(name_field[0], "displayFormat") or None if name_type == "AutoNumber" else None
        if name_type not in ("Text", "AutoNumber"):
            self.fail("CustomObject", path, name, f"'{name_type}' is not a valid name field type: "
                      "use Text or AutoNumber")
            return
        self.objects.append(_Object(name, path, label, plural, _text(name_field[0], "label", "Name"),
                                    name_format))

    def _read_field(self, object_name: str, path: str, element: ET.Element) -> None:
        name = _text(element, "fullName")
        full_name = f"{object_name}.{name}"

        def fail(problem: str) -> None:
            self.fail("CustomField", path, full_name, problem)

        if not _NAME.match(name) or len(name) > 43:
            return fail(f"Invalid field name: {name}")
        type_ = _text(element, "type")
        if type_ not in METADATA_TYPES:
            return fail(f"Error parsing file: '{type_}' is not a valid value for the enum 'FieldType'")
        describe_type, default_length = METADATA_TYPES[type_]
        length_text = _text(element, "length")
        length = int(length_text) if length_text.isdigit() else default_length
        if type_ == "Text" and not 1 <= length <= 255:
            return fail("Length must be between 1 and 255")
        if type_ in ("LongTextArea", "Html") and not 256 <= length <= 131072:
            return fail("Length must be between 256 and 131,072")
        precision = scale = None
        if type_ in ("Number", "Currency", "Percent"):
            precision = int(_text(element, "precision") or 18)
            scale = int(_text(element, "scale") or 0)
            if not 1 <= precision <= 18:
                return fail("The total number of digits (precision) must be between 1 and 18")
            if not 0 <= scale <= precision:
                return fail("The number of decimal places (scale) must not exceed the precision")
        external = _flag(_text(element, "externalId"))
        if external and type_ not in ("Text", "Number", "Email", "AutoNumber"):
            return fail(f"Field {name}: an external id must be Text, Number, Email or AutoNumber")
        references = tuple(r.text.strip() for r in _children(element, "referenceTo") if r.text)
        if type_ in ("Lookup", "MasterDetail") and not references:
            return fail("Must specify the referenceTo attribute for a relationship field")
        picklist: list[PicklistValue] = []
        restricted = False
        value_set = _children(element, "valueSet")
        if type_ in ("Picklist", "MultiselectPicklist"):
            definition = _children(value_set[0], "valueSetDefinition") if value_set else []
            if not definition:
                return fail("Must specify a valueSet with a valueSetDefinition for a picklist")
            restricted = _flag(_text(value_set[0], "restricted"))
            for value in _children(definition[0], "value"):
                text = _text(value, "fullName")
                picklist.append(PicklistValue(text, _text(value, "label", text), True,
                                              _flag(_text(value, "default"))))
        required = _flag(_text(element, "required")) or type_ == "MasterDetail"
        default = _text(element, "defaultValue")
        if type_ == "Checkbox" and not default:
            return fail("Must specify a defaultValue for a Checkbox field")
        try:
            meta = custom_field(
                name, describe_type, label=_text(element, "label") or None,
                length=length if describe_type not in ("double", "currency", "percent", "date", "datetime",
                                                       "boolean") else 0,
                precision=precision, scale=scale, required=required, unique=_flag(_text(element, "unique")),
                external_id=external, case_sensitive=_flag(_text(element, "caseSensitive")),
                picklist=picklist, restricted=restricted, reference_to=references,
                default_value=_flag(default) if type_ == "Checkbox" else None,
                accessible=False, editable=False, description=_text(element, "description"))
        except ValueError as error:
            return fail(str(error))
        if type_ == "AutoNumber":
            meta = replace(meta, auto_number=True, createable=False, updateable=False, nillable=False,
                           defaulted_on_create=True)
        self.fields.append(_Field(object_name, path, meta))
        return None

    # -- validation and writing ------------------------------------------------------------------------

    def _validate(self) -> None:
        new_objects = {o.name.lower() for o in self.objects}
        bad_fields: list[_Field] = []
        for item in self.fields:
            problem = None
            if self.org.object_meta(item.object_name) is None and item.object_name.lower() not in new_objects:
                problem = f"Could not resolve the entity from <fields> value: {item.object_name}"
            for target in item.meta.reference_to:
                unknown = self.org.object_meta(target) is None and target.lower() not in new_objects
                if problem is None and unknown:
                    problem = (f"Field {item.meta.name}: referenceTo value of '{target}' does not resolve "
                               "to a valid sObject type")
            if problem:
                self.fail("CustomField", item.file_name, item.full_name, problem)
                bad_fields.append(item)
        self.fields = [f for f in self.fields if f not in bad_fields]
        pending = {(f.object_name.lower(), f.meta.name.lower()): f.meta for f in self.fields}
        good_sets = []
        for permission_set in self.permission_sets:
            problems = []
            for object_name, field_name, _, _ in permission_set.grants:
                meta = pending.get((object_name.lower(), field_name.lower()))
                if meta is None:
                    existing = self.org.object_meta(object_name)
                    meta = existing.field(field_name, hidden=True) if existing else None
                if meta is None:
                    problems.append("In field: field - no CustomField named "
                                    f"{object_name}.{field_name} found")
                elif meta.required or (not meta.nillable and meta.type == "reference"):
                    problems.append(f"You cannot deploy to a required field: {object_name}.{meta.name}")
            for problem in problems:
                self.fail("PermissionSet", permission_set.file_name, permission_set.name, problem)
            if not problems:
                good_sets.append(permission_set)
        self.permission_sets = good_sets

    def _apply(self) -> None:
        components: list[tuple[str, str, str]] = [
            *(("CustomObject", o.file_name, o.name) for o in self.objects),
            *(("CustomField", f.file_name, f.full_name) for f in self.fields),
            *(("PermissionSet", p.file_name, p.name) for p in self.permission_sets)]
        self.result.successes = components
        if self.result.check_only or (self.result.failures and self.result.rollback_on_error):
            self.result.deployed = 0
            return
        with self.org.transaction():
            for obj in self.objects:
                self.org.add_custom_object(obj.name, label=obj.label, label_plural=obj.plural,
                                           name_field_label=obj.name_label, name_format=obj.name_format)
            for item in self.fields:
                current = self.org.describe(item.object_name).field(item.meta.name, hidden=True)
                meta = item.meta
                if current is not None:
                    meta = replace(meta, accessible=current.accessible or meta.accessible,
                                   editable=current.editable or meta.editable)
                self.org.add_custom_field(item.object_name, meta)
            for permission_set in self.permission_sets:
                for object_name, field_name, readable, editable in permission_set.grants:
                    self.org.set_field_access(object_name, field_name, readable=readable or editable,
                                              editable=editable)
        self.result.deployed = len(components)

