"""Checking a spec against a live org: does every field it writes exist there, can the API user
create it, and does the org's picklist hold every value the spec's value maps produce?

The catalog says what a platform *usually* has; the org says what this customer *really* has
(after provisioning, with their own picklist values and field-level security). Problems are
located in the spec like every other validation error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from engine.errors import Diagnostic
from engine.spec.model import FieldRule, ObjectSpec, Spec


@dataclass(frozen=True)
class OrgField:
    name: str
    createable: bool
    external_id: bool
    picklist: frozenset[object] | None  # active values; None when the field is not a picklist


OrgDescribe = Callable[[str], dict[str, OrgField] | None]  # object name → its fields, None if absent

DEPLOY_HINT = "run `flitstack provision SPEC --out DIR --apply`, then grant the permission set"
APPLY_HINT = "run `flitstack provision SPEC --out DIR --apply`"
KEY_HINT = ("make it the target's key for upserts (Salesforce: External ID and Unique; Dataverse: an "
            "alternate key)")


class AgainstTarget:
    def __init__(self, spec: Spec, describe: OrgDescribe, org_label: str, *, hint: str = DEPLOY_HINT) -> None:
        """`hint`: what to do about something missing (the platform's way of applying provisioning)."""
        self.spec = spec
        self.describe = describe
        self.org_label = org_label
        self.hint = hint
        self.problems: list[Diagnostic] = []
        self._cache: dict[str, dict[str, OrgField] | None] = {}

    def _fields(self, name: str) -> dict[str, OrgField] | None:
        if name not in self._cache:
            self._cache[name] = self.describe(name)
        return self._cache[name]

    def run(self) -> list[Diagnostic]:
        for obj in self.spec.objects.values():
            self._object(obj)
        return self.problems

    def _object(self, obj: ObjectSpec) -> None:
        fields = self._fields(obj.target)
        if fields is None:
            self.problems.append(self.spec.diagnostic(
                (*obj.ypath, "target"), f"{obj.target} does not exist in {self.org_label}", self.hint))
            return
        if obj.key is not None:
            key = fields.get(obj.key.target)
            if key is None:
                self._missing(obj, obj.key.target, (*obj.key.ypath, "target"))
            elif not key.external_id:
                self.problems.append(self.spec.diagnostic(
                    (*obj.key.ypath, "target"),
                    f"{obj.target}.{obj.key.target} is not an external id (alternate key) in "
                    f"{self.org_label}",
                    KEY_HINT))
        for rule in obj.fields:
            found = fields.get(rule.target)
            if found is None:
                self._missing(obj, rule.target, rule.ypath)
            elif not found.createable:
                self.problems.append(self.spec.diagnostic(
                    rule.ypath, f"{obj.target}.{rule.target} is not createable for the API user in "
                    f"{self.org_label}", "check its field-level security and that it is not a formula field",
                    key=True))
            elif found.picklist is not None:
                self._picklist(obj, rule, found)

    def _missing(self, obj: ObjectSpec, field: str, ypath: tuple[str | int, ...]) -> None:
        self.problems.append(self.spec.diagnostic(
            ypath, f"{obj.target}.{field} does not exist in {self.org_label} (or the API user cannot see it)",
            self.hint, key=True))

    def _picklist(self, obj: ObjectSpec, rule: FieldRule, field: OrgField) -> None:
        assert field.picklist is not None
        for where, value in self.spec.written_values(rule):
            if value not in field.picklist:
                shown = ", ".join(sorted(str(v) for v in field.picklist)) or "none"
                self.problems.append(self.spec.diagnostic(
                    where, f"{value!r} is not a value of {obj.target}.{rule.target}'s picklist in "
                    f"{self.org_label}", f"add it to the picklist, or map to one of: {shown}"))
