"""`flitstack validate` on invalid specs: each case must give one exact, located diagnostic.

Every case is built from the valid fixture `fixtures/specs/base.yaml`, either by
replacing text in it (`edit`) or by writing whole small files (`files`, where
`base.yaml` is always available to extend). The spec under test is always
`spec.yaml` in a temporary directory, which is also the working directory, so
diagnostics name files exactly as an analyst would see them.

Each row gives the expected FIRST diagnostic: `file:line:column`, the message,
the `at:` YAML path (None: the problem is the document as a whole, so there is
no `at:` line) and a fragment the hint must contain.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli.main import main

FIXTURE = Path(__file__).parent / "fixtures" / "specs" / "base.yaml"
BASE = FIXTURE.read_text(encoding="utf-8")


@dataclass(frozen=True)
class Build:
    """How to write a case's files: text replacements in the base, or whole files."""

    replacements: tuple[tuple[str, str], ...] = ()
    extra_files: tuple[tuple[str, str], ...] = ()

    def write(self, folder: Path) -> None:
        files = dict(self.extra_files)
        if "spec.yaml" not in files:
            text = BASE
            for old, new in self.replacements:
                assert text.count(old) == 1, f"{old!r} must occur exactly once in base.yaml"
                text = text.replace(old, new)
            files["spec.yaml"] = text
        files.setdefault("base.yaml", BASE)
        for name, text in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text, encoding="utf-8")


def edit(old: str, new: str, *more: str) -> Build:
    """Replace `old` (which must occur once in base.yaml) by `new`; more pairs may follow."""
    pairs = (old, new, *more)
    assert len(pairs) % 2 == 0
    return Build(replacements=tuple(zip(pairs[::2], pairs[1::2], strict=True)))


def files(**texts: str) -> Build:
    """Whole files, by name (`spec_yaml` → spec.yaml); base.yaml is the fixture unless given."""
    return Build(extra_files=tuple((name.replace("_yaml", ".yaml"), text) for name, text in texts.items()))


@dataclass(frozen=True)
class Case:
    id: str
    build: Build
    loc: str          # file:line:column of the first diagnostic
    message: str      # exact message after "error: "
    at: str | None    # the `at:` YAML path; None when there is no `at:` line
    hint: str         # a fragment the hint must contain


MINIMAL = """\
name: tiny
source: {system: cliniko}
target: {system: salesforce}
"""


def owners(practitioners: str = "patient", email: str = "Email", follow: str = "appointment: Patient__c",
           extra: str = "") -> Build:
    """An overlay of base.yaml with an `owners:` section (line 3: practitioners, 4: email, 6: the
    follow entry, 7: `extra`); as given, valid — the patients stand in for the practitioners."""
    return files(spec_yaml=f"extends: base.yaml\nowners:\n  practitioners: {practitioners}\n"
                           f"  email: {email}\n  follow:\n    {follow}\n{extra}")


def lookup_cycle(*, required: bool) -> Build:
    """patient → appointment (new Contact.First_Appointment__c) and appointment → patient (Patient__c)."""
    flag = ", required: true" if required else ""
    return edit(
        "      Description: {expr: \"join(', ', [occupation, referral_source][?@])\"}\n",
        "      Description: {expr: \"join(', ', [occupation, referral_source][?@])\"}\n"
        "      First_Appointment__c: {lookup: appointment, key: last_appointment.id}\n",
        "      Gender__c: {type: picklist(gender), label: Gender}\n",
        "      Gender__c: {type: picklist(gender), label: Gender}\n"
        f"      First_Appointment__c: {{type: lookup(Appointment__c){flag}}}\n",
        "Patient__c: {type: lookup(Contact), label: Patient}",
        "Patient__c: {type: lookup(Contact), label: Patient, required: true}",
    )


CASES = [
    # -- YAML ------------------------------------------------------------------------------------
    Case("yaml-syntax-unclosed-bracket",
         edit("    target: Contact\n", "    target: [Contact\n"),
         "spec.yaml:43:8", "YAML syntax: did not find expected ',' or ']' (while parsing a flow sequence "
         "that starts at line 42, column 13)", None, "check the brackets"),
    Case("yaml-syntax-colon-in-plain-value",
         edit("      FirstName: first_name\n", "      FirstName: first name: Ana\n"),
         "spec.yaml:53:28", "YAML syntax: mapping values are not allowed in this context", None,
         "quote a value that contains ': '"),
    Case("yaml-tab-indentation",
         edit("    source: patients\n", "\tsource: patients\n"),
         "spec.yaml:41:1", "YAML syntax: found character that cannot start any token", None,
         "indent with spaces"),
    Case("yaml-unsupported-tag",
         edit("name: base-cliniko-to-salesforce\n", "name: !!python/object:os.system base\n"),
         "spec.yaml:5:7", "YAML syntax: the YAML tag !!python/object:os.system is not supported", None,
         "write a plain value"),
    Case("yaml-duplicate-key",
         edit("      Email: {path: email, type: email}\n",
              "      Email: {path: email, type: email}\n      Email: email\n"),
         "spec.yaml:57:7", "duplicate key 'Email' (first defined at line 56)",
         "objects.patient.fields.Email", "YAML would silently keep only the last"),
    Case("yaml-merge-key",
         edit("    fields:\n      Name: business_name\n", "    fields:\n      <<: {Name: business_name}\n"),
         "spec.yaml:36:7", "YAML merge keys (<<) are not supported", "objects.business.fields", "extends:"),
    Case("yaml-not-a-mapping",
         files(spec_yaml="- name: tiny\n- source: cliniko\n"),
         "spec.yaml:1:1", "a spec must be a YAML mapping, not a list", None, "`key: value` lines"),
    Case("yaml-empty-file",
         files(spec_yaml="# nothing here yet\n"),
         "spec.yaml:1:1", "a spec must be a YAML mapping, not an empty file", None, "`key: value` lines"),
    # -- JSON Schema -----------------------------------------------------------------------------
    Case("unknown-top-level-key",
         edit("value_maps:\n", "value_map:\n"),
         "spec.yaml:10:1", "unknown key 'value_map'", "value_map", "did you mean 'value_maps'?"),
    Case("unknown-rule-key",
         edit("Gender__c: {path: sex, map: gender}", "Gender__c: {path: sex, mapp: gender}"),
         "spec.yaml:58:30", "unknown key 'mapp'", "objects.patient.fields.Gender__c.mapp",
         "did you mean 'map'?"),
    Case("list-where-mapping-expected",
         edit("source: {system: cliniko}\n", "source: [cliniko]\n"),
         "spec.yaml:7:9", "expected a mapping, got a list", "source", "`key: value` pairs"),
    Case("number-where-text-expected",
         edit("    source: patients\n", "    source: 12\n"),
         "spec.yaml:41:13", "expected text, got a number (12)", "objects.patient.source", "write text"),
    Case("bad-rule-type-enum",
         edit("{path: date_of_birth, type: date}", "{path: date_of_birth, type: dat}"),
         "spec.yaml:55:46", "'dat' is not allowed here", "objects.patient.fields.Birthdate.type",
         "did you mean 'date'?"),
    Case("bad-provision-type",
         edit("Starts_At__c: {type: datetime, label: Starts At}", "Starts_At__c: {type: date_time, label: Starts At}"),
         "spec.yaml:88:28", "'date_time' is not a valid value here",
         "provision.Appointment__c.fields.Starts_At__c.type", "text(n), longtext"),
    Case("bad-spec-version",
         edit("spec_version: 1\n", "spec_version: 2\n"),
         "spec.yaml:4:15", "'2' is not allowed here", "spec_version", "write 1"),
    Case("bad-object-name",
         edit("  patient:\n    source: patients\n", "  Patient:\n    source: patients\n"),
         "spec.yaml:40:3", "'Patient' is not a valid name here", "objects.Patient",
         "lowercase letters, digits and underscores"),
    Case("missing-name",
         edit("name: base-cliniko-to-salesforce\n", ""),
         "spec.yaml:4:1", "the spec has no `name`", None, "add `name: acme-physio`"),
    Case("join-missing-on",
         edit("        on: id\n", ""),
         "spec.yaml:47:9", "missing required key 'on'", "objects.patient.joins.last_appointment", "add `on:`"),
    # -- systems and names -----------------------------------------------------------------------
    Case("unknown-source-system",
         edit("source: {system: cliniko}", "source: {system: clinico}"),
         "spec.yaml:7:18", "unknown source system 'clinico'", "source.system", "known: cliniko"),
    Case("unknown-target-system",
         edit("target: {system: salesforce}", "target: {system: sales_force}"),
         "spec.yaml:8:18", "unknown target system 'sales_force'", "target.system", "salesforce"),
    Case("unknown-source-resource",
         edit("    source: patients\n", "    source: patient\n"),
         "spec.yaml:41:13", "'patient' is not a cliniko resource", "objects.patient.source",
         "did you mean 'patients'?"),
    Case("unknown-target-object",
         edit("    target: Contact\n", "    target: Contacts\n"),
         "spec.yaml:42:13",
         "'Contacts' is not a salesforce object in the catalog and is not declared under provision:",
         "objects.patient.target", "did you mean 'Contact'?"),
    Case("lookup-unknown-object",
         edit("{lookup: business, key: business_id}", "{lookup: businesses, key: business_id}"),
         "spec.yaml:71:29", "lookup to unknown object 'businesses'",
         "objects.appointment.fields.Business__c.lookup", "did you mean 'business'?"),
    Case("lookup-without-key",
         edit("{lookup: patient, key: patient_id}", "{lookup: patient}"),
         "spec.yaml:70:19", "lookup 'Patient__c' has no `key`", "objects.appointment.fields.Patient__c",
         "key: patient_id"),
    Case("after-unknown-object",
         edit("    after: [business]\n", "    after: [businesses]\n"),
         "spec.yaml:66:13", "`after` names 'businesses', which is not an object of this spec",
         "objects.appointment.after[0]", "did you mean 'business'?"),
    Case("test-unknown-object",
         edit("    object: appointment\n", "    object: appointments\n"),
         "spec.yaml:110:13", "test 'appointment in Sydney time' names unknown object 'appointments'",
         "tests[1].object", "did you mean 'appointment'?"),
    # -- field rules -----------------------------------------------------------------------------
    Case("rule-two-value-sources",
         edit("      FirstName: first_name\n", "      FirstName: {path: first_name, const: Ana}\n"),
         "spec.yaml:53:18", "field rule for 'FirstName' has 2 value sources (path, const)",
         "objects.patient.fields.FirstName", "keep exactly one of"),
    Case("rule-no-value-source",
         edit("      FirstName: first_name\n", "      FirstName: {max_length: 40}\n"),
         "spec.yaml:53:18", "field rule for 'FirstName' does not say where its value comes from",
         "objects.patient.fields.FirstName", "give exactly one of: path, expr, template, const, lookup"),
    Case("path-not-plain",
         edit("{path: date_of_birth, type: date}", '{path: "dates[0]", type: date}'),
         "spec.yaml:55:25", "'dates[0]' is not a plain dotted path",
         "objects.patient.fields.Birthdate.path", "use `expr:`"),
    Case("key-on-non-lookup",
         edit("      FirstName: first_name\n", "      FirstName: {path: first_name, key: id}\n"),
         "spec.yaml:53:37", "`key` only belongs to a lookup rule",
         "objects.patient.fields.FirstName.key", "make the rule a `lookup:`"),
    Case("on-overflow-without-max-length",
         edit("{path: last_name, required: true, max_length: 80, on_overflow: reject}",
              "{path: last_name, required: true, on_overflow: reject}"),
         "spec.yaml:54:51", "`on_overflow` without `max_length`",
         "objects.patient.fields.LastName.on_overflow", "add `max_length: N`"),
    Case("timezone-without-datetime",
         edit("{path: starts_at, type: datetime, timezone: Australia/Sydney}",
              "{path: starts_at, timezone: Australia/Sydney}"),
         "spec.yaml:69:39", "`timezone` only applies to `type: datetime` or `type: date`",
         "objects.appointment.fields.Starts_At__c.timezone", "add `type: datetime`"),
    Case("source-field-typo",
         edit("      FirstName: first_name\n", "      FirstName: first_nmae\n"),
         "spec.yaml:53:18", "'first_nmae' is not a field of the source record",
         "objects.patient.fields.FirstName", "did you mean 'first_name'?"),
    Case("jmespath-null-without-backticks",
         edit('    where: "archived_at == `null`"\n', '    where: "archived_at == null"\n'),
         "spec.yaml:44:12", "'null' is read as a field name here, not as the literal null",
         "objects.patient.where", "backticks: `null`"),
    # The column points into the quoted expression: at the stray ')' (offset 21, after the quote).
    Case("jmespath-syntax-in-where",
         edit('    where: "archived_at == `null`"\n', '    where: "archived_at == `null`)"\n'),
         "spec.yaml:44:34", "JMESPath syntax error near ')': Unexpected token: ) in 'archived_at == `null`)'",
         "objects.patient.where", "jmespath.org"),
    Case("jmespath-syntax-in-expr",
         edit("[occupation, referral_source][?@])", "[occupation, referral_source][?@]))"),
         "spec.yaml:60:73", "JMESPath syntax error near ')': Unexpected token: ) in "
         "\"join(', ', [occupation, referral_source][?@]))\"",
         "objects.patient.fields.Description.expr", "jmespath.org"),
    Case("jmespath-syntax-in-plain-scalar",
         edit('    where: "archived_at == `null`"\n', "    where: archived_at == `null`)\n"),
         "spec.yaml:44:33", "JMESPath syntax error near ')': Unexpected token: ) in 'archived_at == `null`)'",
         "objects.patient.where", "jmespath.org"),
    Case("jmespath-syntax-in-folded-block",
         edit('    where: "archived_at == `null`"\n',
              "    where: >\n      archived_at == `null`\n      && deleted_at == `null`)\n"),
         "spec.yaml:46:30", "JMESPath syntax error near ')': Unexpected token: ) in "
         "'archived_at == `null` && deleted_at == `null`)\\n'",
         "objects.patient.where", "jmespath.org"),
    Case("template-syntax",
         edit("{% if address_2 %}, {{ address_2 }}{% endif %}", "{% if address_2 %}, {{ address_2 }}"),
         "spec.yaml:57:33", "Jinja syntax error: Unexpected end of template. Jinja was looking for the "
         "following tags: 'elif' or 'else' or 'endif'. The innermost block that needs to be closed is 'if'.",
         "objects.patient.fields.MailingStreet.template", "templates format record values"),
    Case("template-syntax-escaped-newline",  # "\\n" inside quotes: still one line of YAML
         edit("{% if address_2 %}, {{ address_2 }}{% endif %}", "\\n{% if address_2 %}, {{ address_2 }}"),
         "spec.yaml:57:33", "Jinja syntax error: Unexpected end of template. Jinja was looking for the "
         "following tags: 'elif' or 'else' or 'endif'. The innermost block that needs to be closed is 'if'.",
         "objects.patient.fields.MailingStreet.template", "templates format record values"),
    Case("template-syntax-in-block-scalar",  # the template's second line is the file's line 60
         edit('      MailingStreet: {template: "{{ address_1 }}{% if address_2 %}, {{ address_2 }}{% endif %}"}\n',
              "      MailingStreet:\n        template: |\n          {{ address_1 }}\n"
              "          {% if address_2 %}, {{ address_2 }\n          {% endif %}\n"),
         "spec.yaml:60:11", "Jinja syntax error: unexpected '}'",
         "objects.patient.fields.MailingStreet.template", "templates format record values"),
    Case("template-dunder-class",
         edit("{{ patient_name }} {{ starts_at", "{{ patient_name.__class__ }} {{ starts_at"),
         "spec.yaml:68:30", "template reaches for '__class__', which is off limits: templates may only "
         "format record values", "objects.appointment.fields.Summary__c.template", "filters"),
    Case("template-dunder-mro",
         edit("{{ patient_name }} {{ starts_at", "{{ patient_name.__mro__ }} {{ starts_at"),
         "spec.yaml:68:30", "template reaches for '__mro__', which is off limits: templates may only "
         "format record values", "objects.appointment.fields.Summary__c.template", "filters"),
    Case("template-mro",
         edit("{{ patient_name }} {{ starts_at", "{{ patient_name.mro() }} {{ starts_at"),
         "spec.yaml:68:30", "template reaches for 'mro', which is off limits: templates may only "
         "format record values", "objects.appointment.fields.Summary__c.template", "filters"),
    Case("template-dunder-globals-by-item",
         edit("{{ patient_name }} {{ starts_at", "{{ patient_name['__globals__'] }} {{ starts_at"),
         "spec.yaml:68:30", "template reaches for '__globals__', which is off limits: templates may only "
         "format record values", "objects.appointment.fields.Summary__c.template", "filters"),
    Case("template-unknown-filter",
         edit("{{ patient_name }} {{ starts_at", "{{ patient_name | shout }} {{ starts_at"),
         "spec.yaml:68:30", "Jinja error: No filter named 'shout'.",
         "objects.appointment.fields.Summary__c.template", "strip_html"),
    Case("template-unknown-name",
         edit("{{ address_1 }}{% if", "{{ adress_1 }}{% if"),
         "spec.yaml:57:33", "'adress_1' is not a field of the source record",
         "objects.patient.fields.MailingStreet.template", "did you mean 'address_1'?"),
    # -- value maps ------------------------------------------------------------------------------
    Case("value-map-missing",
         edit("Gender__c: {path: sex, map: gender}", "Gender__c: {path: sex, map: genders}"),
         "spec.yaml:58:35", "value map 'genders' is not defined", "objects.patient.fields.Gender__c.map",
         "did you mean 'gender'?"),
    Case("value-map-output-not-in-picklist",
         edit("{path: invoice_status, map: invoice_status}", "{path: invoice_status, map: gender}"),
         "spec.yaml:14:13", "'Male' is not a value of the restricted picklist Appointment__c.Invoice_Status__c",
         "value_maps.gender.values.Male", "allowed: Open, Paid, Closed, Open Credit"),
    Case("const-not-in-picklist",
         edit("{path: invoice_status, map: invoice_status}", "{const: Payd}"),
         "spec.yaml:72:34", "'Payd' is not a value of the restricted picklist Appointment__c.Invoice_Status__c",
         "objects.appointment.fields.Invoice_Status__c.const", "did you mean 'Paid'?"),
    Case("value-map-case-duplicate",
         edit("      Female: Female\n", "      Female: Female\n      male: Male\n"),
         "spec.yaml:16:7", "'male' and 'Male' are the same value when case is ignored",
         "value_maps.gender.values.male", "keep one of them"),
    # -- target fields ---------------------------------------------------------------------------
    Case("target-field-unknown",
         edit("      FirstName: first_name\n", "      FristName: first_name\n"),
         "spec.yaml:53:7", "Contact has no field 'FristName' in the salesforce catalog and it is not provisioned",
         "objects.patient.fields.FristName", "did you mean 'FirstName'?"),
    Case("target-field-not-createable",
         edit("      FirstName: first_name\n", "      Name: first_name\n"),
         "spec.yaml:53:7", "Contact.Name cannot be set on create", "objects.patient.fields.Name",
         "remove the rule"),
    Case("max-length-exceeds-field",
         edit("{path: website_address, max_length: 255,", "{path: website_address, max_length: 300,"),
         "spec.yaml:38:52", "max_length 300 exceeds Account.Website's length of 255",
         "objects.business.fields.Website.max_length", "use max_length: 255 or less"),
    Case("required-field-not-mapped",
         edit("      Name: business_name\n", ""),
         "spec.yaml:35:5", "Account.Name is required by salesforce but no rule sets it",
         "objects.business.fields", "add a rule: Name:"),
    Case("lookup-to-wrong-target",
         edit("AccountId: {lookup: business,", "AccountId: {lookup: patient,"),
         "spec.yaml:59:27", "Contact.AccountId points at Account, but 'patient' loads into Contact",
         "objects.patient.fields.AccountId.lookup", "look up an object that loads into Account"),
    # -- keys ------------------------------------------------------------------------------------
    Case("missing-key",
         edit("    target: Appointment__c\n    key: {source: id, target: Cliniko_Id__c}\n",
              "    target: Appointment__c\n"),
         "spec.yaml:62:3", "object 'appointment' has no `key` (the external id that makes loads idempotent)",
         "objects.appointment", "add `key: {source: id, target: Cliniko_Id__c}`"),
    Case("key-field-not-external-id",
         edit("    target: Account\n    key: {source: id, target: Cliniko_Id__c}\n",
              "    target: Account\n    key: {source: id, target: AccountNumber}\n"),
         "spec.yaml:32:31", "Account.AccountNumber cannot hold an external id, so it cannot be the key",
         "objects.business.key.target", "external_id: true"),
    Case("key-field-missing",
         edit("    target: Contact\n    key: {source: id, target: Cliniko_Id__c}\n",
              "    target: Contact\n    key: {source: id, target: Cliniko_ID__c}\n"),
         "spec.yaml:43:31", "key field 'Cliniko_ID__c' does not exist on Contact",
         "objects.patient.key.target", "did you mean 'Cliniko_Id__c'?"),
    # -- joins -----------------------------------------------------------------------------------
    Case("join-latest-without-order-by",
         edit("        order_by: starts_at\n", ""),
         "spec.yaml:47:9", "join 'last_appointment' picks the latest record but has no `order_by`",
         "objects.patient.joins.last_appointment", "order_by: starts_at"),
    Case("join-unknown-resource",
         edit("        resource: individual_appointments\n", "        resource: individual_appointment\n"),
         "spec.yaml:47:19", "'individual_appointment' is not a cliniko resource",
         "objects.patient.joins.last_appointment.resource", "did you mean 'individual_appointments'?"),
    Case("join-unknown-match-field",
         edit("        match: patient_id\n", "        match: patient_idd\n"),
         "spec.yaml:48:16", "'patient_idd' is not a field of individual_appointments",
         "objects.patient.joins.last_appointment.match", "did you mean 'patient_id'?"),
    # -- provision -------------------------------------------------------------------------------
    Case("provision-picklist-unknown-value-map",
         edit("{type: picklist(gender), label: Gender}", "{type: picklist(genders), label: Gender}"),
         "spec.yaml:82:25", "picklist of unknown value map 'genders'",
         "provision.Contact.fields.Gender__c.type", "did you mean 'gender'?"),
    Case("provision-lookup-unknown-object",
         edit("{type: lookup(Account), label: Business}", "{type: lookup(Acount), label: Business}"),
         "spec.yaml:91:27", "lookup to unknown object 'Acount'",
         "provision.Appointment__c.fields.Business__c.type", "did you mean 'Account'?"),
    Case("provision-text-too-long",
         edit("Summary__c: {type: text(255), label: Summary}", "Summary__c: {type: text(300), label: Summary}"),
         "spec.yaml:89:26", "text(300) is longer than salesforce allows (255)",
         "provision.Appointment__c.fields.Summary__c.type", "use longtext"),
    # -- owners ----------------------------------------------------------------------------------
    Case("owners-missing-email",
         files(spec_yaml="extends: base.yaml\nowners:\n  practitioners: patient\n"),
         "spec.yaml:3:3", "missing required key 'email'", "owners", "add `email:`"),
    Case("owners-unknown-key",
         owners(extra="  falback: manager@clinic.example\n"),
         "spec.yaml:7:3", "unknown key 'falback'", "owners.falback", "did you mean 'fallback'?"),
    Case("owners-practitioners-unknown-object",
         owners(practitioners="patients"),
         "spec.yaml:3:18", "`owners.practitioners` names 'patients', which is not an object of this spec",
         "owners.practitioners", "did you mean 'patient'?"),
    Case("owners-email-not-a-field-rule",
         owners(email="Emial"),
         "spec.yaml:4:10", "'patient' has no field rule for 'Emial', so its people cannot be matched to "
         "users by e-mail", "owners.email", "did you mean 'Email'?"),
    Case("owners-user-field-not-on-target",
         owners(extra="  user_field: Salesforce_User__c\n"),
         "spec.yaml:7:15", "Contact has no field 'Salesforce_User__c' in the salesforce catalog and it is "
         "not provisioned", "owners.user_field", "provision it"),
    Case("owners-follow-unknown-object",
         owners(follow="appointments: Patient__c"),
         "spec.yaml:6:5", "`owners.follow` names 'appointments', which is not an object of this spec",
         "owners.follow.appointments", "did you mean 'appointment'?"),
    Case("owners-follow-not-a-lookup",
         owners(follow="appointment: Summary__c"),
         "spec.yaml:6:18", "'Summary__c' is not a lookup rule of 'appointment'",
         "owners.follow.appointment", "its lookups to 'patient': Patient__c"),
    Case("owners-follow-lookup-to-another-object",
         owners(follow="appointment: Business__c"),
         "spec.yaml:6:18", "appointment.Business__c looks up 'business', not the practitioners object 'patient'",
         "owners.follow.appointment", "its lookups to 'patient': Patient__c"),
    Case("owners-fallback-not-an-email",
         owners(extra="  fallback: manager\n"),
         "spec.yaml:7:13", "fallback owner 'manager' is neither an e-mail nor a username",
         "owners.fallback", "manager@clinic.example"),
    # -- load order ------------------------------------------------------------------------------
    Case("required-lookup-cycle",
         lookup_cycle(required=True),
         "spec.yaml:61:29", "lookup cycle that a second pass cannot break: patient → appointment → patient",
         "objects.patient.fields.First_Appointment__c", "make one optional"),
    # -- overlays --------------------------------------------------------------------------------
    Case("overlay-error-in-overlay",
         files(spec_yaml="extends: base.yaml\nname: acme-physio\nobjects:\n  patient:\n    fields:\n"
                         "      Title: {path: titel}\n"),
         "spec.yaml:6:21", "'titel' is not a field of the source record",
         "objects.patient.fields.Title.path", "did you mean 'title'?"),
    Case("overlay-jmespath-in-overlay",
         files(spec_yaml="extends: base.yaml\nobjects:\n  patient:\n    where: \"archived_at == `null`)\"\n"),
         "spec.yaml:4:34", "JMESPath syntax error near ')': Unexpected token: ) in 'archived_at == `null`)'",
         "objects.patient.where", "jmespath.org"),
    Case("overlay-error-kept-in-base",
         files(spec_yaml="extends: base.yaml\nname: acme-physio\n",
               base_yaml=BASE.replace('"archived_at == `null`"', '"archived_at == `null`)"')),
         "base.yaml:44:34", "JMESPath syntax error near ')': Unexpected token: ) in 'archived_at == `null`)'",
         "objects.patient.where", "jmespath.org"),
    Case("overlay-extends-missing-file",
         files(spec_yaml="extends: ../pairs/base.yaml\nname: acme-physio\n"),
         "spec.yaml:1:10", "the spec to extend does not exist: ../pairs/base.yaml",
         "extends", "the path is relative to"),
    Case("overlay-cycle",
         files(spec_yaml="extends: other.yaml\nname: acme-physio\n",
               other_yaml="extends: spec.yaml\nname: other\n"),
         "other.yaml:1:10", "overlay cycle: spec.yaml extends this spec again", "extends",
         "does not extend it back"),
    Case("overlay-extends-itself",
         files(spec_yaml="extends: spec.yaml\n" + MINIMAL),
         "spec.yaml:1:10", "overlay cycle: spec.yaml extends this spec again", "extends",
         "does not extend it back"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_validate_reports_the_exact_error(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    case.build.write(tmp_path)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["validate", "spec.yaml"])
    output = result.output
    assert "Traceback" not in output, output
    assert result.exit_code == 2, output
    assert result.exception is None or isinstance(result.exception, SystemExit), output
    lines = output.splitlines()
    assert lines[0] == f"{case.loc}: error: {case.message}", output
    rest = []
    for line in lines[1:]:
        if not line.startswith("  "):
            break
        rest.append(line)
    at = [line.removeprefix("  at: ") for line in rest if line.startswith("  at: ")]
    hint = [line.removeprefix("  hint: ") for line in rest if line.startswith("  hint: ")]
    assert at == ([case.at] if case.at is not None else []), output
    if case.hint:
        assert hint and case.hint in hint[0], output


def test_the_base_fixture_is_valid_and_its_tests_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Build().write(tmp_path)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    validated = runner.invoke(main, ["validate", "spec.yaml"])
    assert validated.exit_code == 0, validated.output
    assert "valid — 3 objects" in validated.output
    tested = runner.invoke(main, ["test", "spec.yaml"])
    assert tested.exit_code == 0, tested.output
    assert "3 passed, 0 failed" in tested.output


def test_an_optional_lookup_cycle_loads_in_a_second_pass(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # The same cycle as `required-lookup-cycle`, but Contact.First_Appointment__c may be empty.
    lookup_cycle(required=False).write(tmp_path)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    validated = runner.invoke(main, ["validate", "spec.yaml"])
    assert validated.exit_code == 0, validated.output
    planned = runner.invoke(main, ["plan", "spec.yaml"])
    assert planned.exit_code == 0, planned.output
    assert "second pass: Contact.First_Appointment__c → appointment" in planned.output
    order = [line.split()[1] for line in planned.output.splitlines() if line[:4].strip().rstrip(".").isdigit()]
    assert order == ["business", "patient", "appointment"]


def test_enough_cases() -> None:
    assert len(CASES) >= 35
    assert len({c.id for c in CASES}) == len(CASES)
