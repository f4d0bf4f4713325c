"""The spec as typed objects, built from a schema-valid YAML document.

Every model object keeps `ypath`, its path in the merged document, so later
checks can point at the exact file, line and column it came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import Diagnostic
from engine.spec.yamldoc import LDict, YPath, format_path, locate

VALUE_KINDS = ("path", "expr", "template", "const", "lookup")
PLAIN_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
PROVISION_TYPE = re.compile(
    r"^(?P<kind>text|longtext|number|currency|date|datetime|bool|email|phone|picklist|lookup)"
    r"(\((?P<args>[^)]*)\))?$"
)


@dataclass(frozen=True)
class FieldRule:
    target: str
    kind: str
    value: Any
    ypath: YPath
    key: str | None = None
    map: str | None = None
    type: str | None = None
    timezone: str | None = None
    max_length: int | None = None
    on_overflow: str = "reject"
    default: Any = None
    has_default: bool = False
    required: bool = False


@dataclass(frozen=True)
class KeySpec:
    rule: FieldRule
    target: str
    prefix: str
    ypath: YPath


@dataclass(frozen=True)
class JoinSpec:
    name: str
    resource: str
    match: str
    on: str
    pick: str
    order_by: str | None
    ypath: YPath


@dataclass(frozen=True)
class EachSpec:
    path: str
    name: str
    ypath: YPath


@dataclass
class ObjectSpec:
    name: str
    source: str
    target: str
    key: KeySpec | None
    ypath: YPath
    where: str | None = None
    each: EachSpec | None = None
    joins: dict[str, JoinSpec] = field(default_factory=dict)
    seed: list[dict[str, Any]] = field(default_factory=list)
    after: list[str] = field(default_factory=list)
    fields: list[FieldRule] = field(default_factory=list)

    def lookups(self) -> list[FieldRule]:
        return [r for r in self.fields if r.kind == "lookup"]


@dataclass(frozen=True)
class ValueMap:
    name: str
    values: dict[str, Any]
    ignore_case: bool
    quarantine_unmapped: bool
    fallback: Any
    ypath: YPath

    def outputs(self) -> tuple[Any, ...]:
        """The distinct non-null target values the map produces, its fallback included."""
        produced = [v for v in self.values.values() if v is not None]
        if not self.quarantine_unmapped and self.fallback is not None:
            produced.append(self.fallback)
        return tuple(dict.fromkeys(produced))


@dataclass(frozen=True)
class ProvisionField:
    name: str
    type_text: str
    kind: str
    args: tuple[str, ...]
    label: str
    required: bool
    external_id: bool
    unique: bool
    description: str
    ypath: YPath
    help: str = ""

    @property
    def length(self) -> int | None:
        if self.kind == "text" and self.args:
            return int(self.args[0])
        if self.kind == "longtext" and self.args:
            return int(self.args[0])
        return None


@dataclass(frozen=True)
class ProvisionObject:
    name: str
    label: str
    plural_label: str
    description: str
    name_field: dict[str, Any]
    fields: dict[str, ProvisionField]
    ypath: YPath


@dataclass(frozen=True)
class SpecTest:
    name: str
    object: str
    given: list[dict[str, Any]]
    related: dict[str, list[dict[str, Any]]]
    expect: list[dict[str, Any]] | None
    expect_quarantine: list[dict[str, Any]]
    expect_filtered: int | None
    skip: bool
    ypath: YPath
    skip_reason: str = ""


@dataclass(frozen=True)
class OwnersSpec:
    """`owners:` — who owns the migrated records.

    The records of spec object `practitioners` are the people; at run time each is matched
    by the e-mail its rule writes to target field `email` to exactly one active standard user
    of the target. `user_field` (optional) receives the matched user's id on the practitioner's
    own record. Every object in `follow` (spec object → target field of its lookup rule to
    `practitioners`) is owned by the user of the practitioner that lookup points at. A record
    whose practitioner is not matched is owned by `fallback` (an e-mail or username) when
    given, else keeps the target's default owner.
    """

    practitioners: str
    email: str
    user_field: str | None
    fallback: str | None
    follow: dict[str, str]
    ypath: YPath


@dataclass
class Spec:
    file: Path
    name: str
    description: str
    source_system: str
    target_system: str
    value_maps: dict[str, ValueMap]
    objects: dict[str, ObjectSpec]
    provision: dict[str, ProvisionObject]
    tests: list[SpecTest]
    doc: LDict
    # Objects the spec declares but that could not be built (their problems are already reported):
    # later checks treat their names as known, so one mistake does not cascade into "unknown object".
    unbuilt: frozenset[str] = frozenset()
    owners: OwnersSpec | None = None

    def written_values(self, rule: FieldRule) -> list[tuple[YPath, Any]]:
        """Every value a rule can write that is known before any record is seen — its constant,
        its value map's outputs and fallback — each with where the spec says it (for picklist checks)."""
        values: list[tuple[YPath, Any]] = []
        if rule.kind == "const":
            values.append(((*rule.ypath, "const"), rule.value))
        vmap = self.value_maps.get(rule.map) if rule.map else None
        if vmap is not None:
            values.extend(((*vmap.ypath, "values", k), v) for k, v in vmap.values.items())
            if not vmap.quarantine_unmapped:
                values.append(((*vmap.ypath, "unmapped", "fallback"), vmap.fallback))
        return [(where, value) for where, value in values if value is not None]

    def diagnostic(self, ypath: YPath, message: str, hint: str = "", *, key: bool = False) -> Diagnostic:
        return Diagnostic(locate(self.doc, ypath, key=key), format_path(ypath), message, hint)


class _Builder:
    def __init__(self, doc: LDict) -> None:
        self.doc = doc
        self.problems: list[Diagnostic] = []

    def problem(self, ypath: YPath, message: str, hint: str = "", *, key: bool = False) -> None:
        self.problems.append(Diagnostic(locate(self.doc, ypath, key=key), format_path(ypath), message, hint))

    def rule(self, target: str, raw: Any, ypath: YPath) -> FieldRule | None:
        if isinstance(raw, str):
            kind = "path" if PLAIN_PATH.match(raw) else "expr"
            return FieldRule(target=target, kind=kind, value=raw, ypath=ypath)
        present = [k for k in VALUE_KINDS if k in raw]
        if len(present) != 1:
            if not present:
                self.problem(ypath, f"field rule for '{target}' does not say where its value comes from",
                             "give exactly one of: path, expr, template, const, lookup")
            else:
                self.problem(ypath, f"field rule for '{target}' has {len(present)} value sources "
                                    f"({', '.join(present)})",
                             "keep exactly one of: path, expr, template, const, lookup")
            return None
        kind = present[0]
        value = raw[kind]
        if kind == "path" and not PLAIN_PATH.match(str(value)):
            self.problem((*ypath, "path"), f"'{value}' is not a plain dotted path",
                         "use `expr:` for a JMESPath expression")
            return None
        if kind == "lookup" and "key" not in raw:
            self.problem(ypath, f"lookup '{target}' has no `key`",
                         "add `key: <expression giving the parent's source id>`, e.g. key: patient_id")
            return None
        if kind != "lookup" and "key" in raw:
            self.problem((*ypath, "key"), "`key` only belongs to a lookup rule",
                         "remove it, or make the rule a `lookup:`", key=True)
            return None
        if "on_overflow" in raw and "max_length" not in raw:
            self.problem((*ypath, "on_overflow"), "`on_overflow` without `max_length`",
                         "add `max_length: N` or remove `on_overflow`", key=True)
        if "timezone" in raw and raw.get("type") not in ("datetime", "date"):
            self.problem((*ypath, "timezone"), "`timezone` only applies to `type: datetime` or `type: date`",
                         "add `type: datetime` (or `date`) or remove `timezone`", key=True)
        return FieldRule(
            target=target, kind=kind, value=value, ypath=ypath,
            key=raw.get("key"), map=raw.get("map"), type=raw.get("type"),
            timezone=raw.get("timezone"), max_length=raw.get("max_length"),
            on_overflow=raw.get("on_overflow", "reject"),
            default=raw.get("default"), has_default="default" in raw,
            required=bool(raw.get("required", False)),
        )

    def object(self, name: str, raw: LDict) -> ObjectSpec | None:
        ypath: YPath = ("objects", name)
        ok = True
        for needed, example in (("source", "source: patients"), ("target", "target: Contact")):
            if needed not in raw:
                self.problem(ypath, f"object '{name}' has no `{needed}`", f"add `{example}`", key=True)
                ok = False
        key: KeySpec | None = None
        if "key" not in raw:
            self.problem(ypath, f"object '{name}' has no `key` (the external id that makes loads idempotent)",
                         "add `key: {source: id, target: Cliniko_Id__c}`", key=True)
            ok = False
        else:
            k = raw["key"]
            rule = self.rule(k["target"], k["source"], (*ypath, "key", "source"))
            if rule is None:
                ok = False
            else:
                key = KeySpec(rule=rule, target=k["target"], prefix=k.get("prefix", ""),
                              ypath=(*ypath, "key"))
        fields: list[FieldRule] = []
        for target, rule_raw in (raw.get("fields") or {}).items():
            if rule_raw is None:
                continue
            rule = self.rule(target, rule_raw, (*ypath, "fields", target))
            if rule is None:
                ok = False
            else:
                fields.append(rule)
        joins = {
            jname: JoinSpec(name=jname, resource=j["resource"], match=j["match"], on=j["on"],
                            pick=j.get("pick", "first"), order_by=j.get("order_by"),
                            ypath=(*ypath, "joins", jname))
            for jname, j in (raw.get("joins") or {}).items()
        }
        for join in joins.values():
            if join.pick in ("latest", "earliest") and not join.order_by:
                self.problem(join.ypath,
                             f"join '{join.name}' picks the {join.pick} record but has no `order_by`",
                             "add `order_by: <field of the joined resource>`, e.g. order_by: starts_at")
                ok = False
        each = None
        if raw.get("each"):
            each = EachSpec(path=raw["each"]["path"], name=raw["each"]["as"], ypath=(*ypath, "each"))
        if not ok:
            return None
        return ObjectSpec(
            name=name, source=raw["source"], target=raw["target"], key=key, ypath=ypath,
            where=raw.get("where"), each=each, joins=joins,
            seed=[dict(r) for r in raw.get("seed") or []], after=list(raw.get("after") or []),
            fields=fields,
        )

    def value_map(self, name: str, raw: LDict) -> ValueMap:
        unmapped = raw.get("unmapped", "quarantine")
        fallback_given = isinstance(unmapped, dict)
        return ValueMap(
            name=name, values=dict(raw.get("values") or {}), ignore_case=raw.get("ignore_case", False),
            quarantine_unmapped=not fallback_given,
            fallback=unmapped.get("fallback") if fallback_given else None,
            ypath=("value_maps", name),
        )

    def provision_object(self, name: str, raw: LDict) -> ProvisionObject:
        fields: dict[str, ProvisionField] = {}
        for fname, f in (raw.get("fields") or {}).items():
            if f is None:
                continue
            match = PROVISION_TYPE.match(f["type"])
            assert match is not None  # the JSON Schema pattern guarantees the shape
            args = tuple(a.strip() for a in (match.group("args") or "").split(",") if a.strip())
            fields[fname] = ProvisionField(
                name=fname, type_text=f["type"], kind=match.group("kind"), args=args,
                label=f.get("label") or fname.removesuffix("__c").replace("_", " "),
                required=f.get("required", False), external_id=f.get("external_id", False),
                unique=f.get("unique", False), description=f.get("description", ""),
                ypath=("provision", name, "fields", fname), help=f.get("help", ""),
            )
        return ProvisionObject(
            name=name, label=raw.get("label", ""), plural_label=raw.get("plural_label", ""),
            description=raw.get("description", ""), name_field=dict(raw.get("name_field") or {}),
            fields=fields, ypath=("provision", name),
        )

    def owners(self, raw: LDict) -> OwnersSpec:
        return OwnersSpec(
            practitioners=raw["practitioners"], email=raw["email"],
            user_field=raw.get("user_field"), fallback=raw.get("fallback"),
            follow={name: target for name, target in (raw.get("follow") or {}).items() if target is not None},
            ypath=("owners",),
        )

    def test(self, index: int, raw: LDict) -> SpecTest | None:
        skip = raw.get("skip", False)
        if not skip:
            for needed in ("object", "given"):
                if needed not in raw:
                    self.problem(("tests", index), f"test '{raw['name']}' has no `{needed}`",
                                 f"add `{needed}:`, or `skip: <why>` to skip an inherited test")
                    return None
        return SpecTest(
            name=raw["name"], object=raw.get("object", ""),
            given=[dict(r) for r in raw.get("given") or []],
            related={k: [dict(r) for r in v] for k, v in (raw.get("related") or {}).items()},
            expect=[dict(r) for r in raw["expect"]] if "expect" in raw else None,
            expect_quarantine=[dict(q) for q in raw.get("expect_quarantine") or []],
            expect_filtered=raw.get("expect_filtered"),
            skip=bool(skip), skip_reason=skip if isinstance(skip, str) else "",
            ypath=("tests", index),
        )


def build_model(doc: LDict, file: Path) -> tuple[Spec | None, list[Diagnostic]]:
    """Turn a schema-valid document into a Spec; report what the schema cannot express."""
    builder = _Builder(doc)
    for needed, example in (("name", "name: acme-physio"), ("source", "source: {system: cliniko}"),
                            ("target", "target: {system: salesforce}"),
                            ("objects", "objects: {patient: {...}}")):
        if needed not in doc:
            builder.problem((), f"the spec has no `{needed}`", f"add `{example}`")
    if builder.problems:
        return None, builder.problems
    objects = {}
    unbuilt: set[str] = set()
    for name, raw in (doc.get("objects") or {}).items():
        if raw is None:
            continue
        obj = builder.object(name, raw)
        if obj is not None:
            objects[name] = obj
        else:
            unbuilt.add(name)
    spec = Spec(
        file=file,
        name=doc["name"],
        description=doc.get("description", ""),
        source_system=doc["source"]["system"],
        target_system=doc["target"]["system"],
        value_maps={n: builder.value_map(n, v) for n, v in (doc.get("value_maps") or {}).items()
                    if v is not None},
        objects=objects,
        provision={n: builder.provision_object(n, v) for n, v in (doc.get("provision") or {}).items()
                   if v is not None},
        tests=[t for i, raw in enumerate(doc.get("tests") or []) if (t := builder.test(i, raw)) is not None],
        doc=doc,
        unbuilt=frozenset(unbuilt),
        owners=builder.owners(doc["owners"]) if doc.get("owners") is not None else None,
    )
    return spec, builder.problems
