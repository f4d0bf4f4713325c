"""What Salesforce accepts in a deployment, checked before any file is written.

API names (ref/salesforce.md §6): letters, digits and underscores; a letter
first; no `__` inside the base name and no trailing underscore; a `__c`
suffix; at most `api_name_max_length` (limits.yaml) characters before it.
Also the sizes the Metadata API enforces (labels, descriptions, number
precision, long text length) and combinations it refuses (a required
checkbox). Each problem is a located diagnostic on the `provision:` entry.
"""

from __future__ import annotations

import re

from engine.errors import Diagnostic
from engine.provision.plan import PlannedField, PlannedObject, ProvisionPlan
from engine.spec.catalog import Catalog
from engine.spec.limits import target_limit
from engine.spec.model import Spec
from engine.spec.yamldoc import YPath

SUFFIX = "__c"
LABEL_MAX = 40
DESCRIPTION_MAX = 1000
HELP_MAX = 510
PICKLIST_VALUE_MAX = 255
LONGTEXT_MIN = 256
MAX_PRECISION = 18
AUTONUMBER_FORMAT = re.compile(r"\{0+\}")


def suggest_name(name: str, max_length: int) -> str:
    """A valid custom API name close to `name`."""
    base = re.sub(r"[^A-Za-z0-9]+", "_", name.removesuffix(SUFFIX))
    base = re.sub(r"_+", "_", base).strip("_")
    if not base or not base[0].isalpha():
        base = f"X_{base}".rstrip("_")
    return base[:max_length].rstrip("_") + SUFFIX


def name_problem(name: str, max_length: int) -> str | None:
    """Why `name` is not a valid custom object or field API name, or None."""
    if not name.endswith(SUFFIX):
        return f"'{name}' does not end in {SUFFIX}, which every custom object and field name needs"
    base = name[: -len(SUFFIX)]
    if not base:
        return f"'{name}' has nothing before {SUFFIX}"
    if not base[0].isalpha():
        return f"'{name}' does not start with a letter"
    if not re.fullmatch(r"[A-Za-z0-9_]+", base):
        return f"'{name}' may contain only letters, digits and underscores"
    if "__" in base:
        return f"'{name}' has two underscores in a row before {SUFFIX} (Salesforce keeps '__' for suffixes)"
    if base.endswith("_"):
        return f"'{name}' ends with an underscore before {SUFFIX}"
    if len(base) > max_length:
        return f"'{name}' has {len(base)} characters before {SUFFIX}; Salesforce allows at most {max_length}"
    return None


class SalesforceRules:
    def __init__(self, spec: Spec, catalog: Catalog, plan: ProvisionPlan) -> None:
        self.spec = spec
        self.plan = plan
        limit = target_limit(catalog, "api_name_max_length")
        self.max_name = int(limit) if limit else 40
        self.problems: list[Diagnostic] = []

    def problem(self, ypath: YPath, message: str, hint: str = "", *, key: bool = False) -> None:
        self.problems.append(self.spec.diagnostic(ypath, message, hint, key=key))

    def run(self) -> list[Diagnostic]:
        for obj in self.plan.objects:
            if obj.new:
                self.check_object(obj)
            for f in obj.fields:
                if f.new:
                    self.check_field(obj, f)
        return self.problems

    def _name(self, ypath: YPath, name: str) -> None:
        problem = name_problem(name, self.max_name)
        if problem:
            suggestion = suggest_name(name, self.max_name)
            hint = (f"shorten it to {self.max_name} characters before {SUFFIX}, e.g. {suggestion}"
                    if "characters before" in problem else
                    f"use letters, digits and single underscores, ending in {SUFFIX}: e.g. {suggestion}")
            self.problem(ypath, problem, hint, key=True)

    def _text(self, ypath: YPath, what: str, text: str, limit: int) -> None:
        if len(text) > limit:
            self.problem(ypath, f"{what} has {len(text)} characters; Salesforce allows at most {limit}",
                         "shorten it")

    def check_object(self, obj: PlannedObject) -> None:
        assert obj.ypath is not None
        self._name(obj.ypath, obj.name)
        self._text((*obj.ypath, "label"), f"the label of {obj.name}", obj.label, LABEL_MAX)
        self._text((*obj.ypath, "plural_label"), f"the plural label of {obj.name}", obj.plural_label,
                   LABEL_MAX)
        self._text((*obj.ypath, "description"), f"the description of {obj.name}", obj.description,
                   DESCRIPTION_MAX)
        nf = obj.name_field
        if nf is None:
            return
        if nf.name != "Name":
            self.problem((*nf.ypath, "name"), f"a Salesforce record name field is always called Name, "
                         f"not '{nf.name}'", "remove `name:` (only Dataverse names its primary column)")
        self._text((*nf.ypath, "label"), f"the name field label of {obj.name}", nf.label, LABEL_MAX)
        if nf.type == "autonumber" and nf.display_format and not AUTONUMBER_FORMAT.search(nf.display_format):
            self.problem((*nf.ypath, "display_format"), f"display format '{nf.display_format}' has no "
                         "number placeholder", "include {0}, e.g. PR-{00000}")

    def check_field(self, obj: PlannedObject, f: PlannedField) -> None:
        assert f.ypath is not None
        where = f"{obj.name}.{f.name}"
        self._name(f.ypath, f.name)
        self._text((*f.ypath, "label"), f"the label of {where}", f.label, LABEL_MAX)
        self._text((*f.ypath, "description"), f"the description of {where}", f.description, DESCRIPTION_MAX)
        self._text((*f.ypath, "help"), f"the help text of {where}", f.help, HELP_MAX)
        type_path = (*f.ypath, "type")
        if f.kind == "text" and (f.length or 0) < 1:
            self.problem(type_path, f"{f.spec_type} holds no characters", "give a length of 1 to 255")
        if f.kind == "longtext" and f.length is not None and f.length < LONGTEXT_MIN:
            self.problem(type_path, f"a Salesforce long text area holds at least {LONGTEXT_MIN} characters",
                         f"use text({f.length}) for up to 255 characters")
        if f.kind == "number" and f.precision is not None and f.scale is not None:
            if not 1 <= f.precision <= MAX_PRECISION:
                self.problem(type_path, f"{f.spec_type}: precision must be 1 to {MAX_PRECISION} digits",
                             "number(p,s): p is all digits, s those after the decimal point")
            elif f.scale > f.precision:
                self.problem(type_path, f"{f.spec_type}: the scale is larger than the precision",
                             "number(p,s): p is all digits, s those after the decimal point, so s <= p")
        if f.kind == "bool" and f.required:
            self.problem((*f.ypath, "required"), f"{where} is a checkbox, which Salesforce cannot make "
                         "required (it is always true or false)", "remove `required: true`", key=True)
        if f.kind == "picklist":
            if not f.picklist_values:
                self.problem(type_path, f"{f.spec_type} has no values: the value map gives no target value",
                             "add values to the value map, or a fallback")
            for value in f.picklist_values:
                if len(value) > PICKLIST_VALUE_MAX:
                    self.problem(type_path, f"picklist value '{value[:40]}...' is longer than "
                                 f"{PICKLIST_VALUE_MAX} characters", "shorten it in the value map")
