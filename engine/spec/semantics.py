"""Checks the JSON Schema cannot express: names that must exist, expressions that
must parse, fields the target must have, value maps that must cover picklists.

Each problem becomes a located diagnostic with a hint of what to write instead.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path

from engine.compile.expressions import ExpressionProblem, parse_jmespath, root_names
from engine.compile.templates import TemplateProblem, parse_template
from engine.errors import Diagnostic, Loc
from engine.spec.catalog import Catalog, CatalogField
from engine.spec.model import FieldRule, ObjectSpec, Spec
from engine.spec.target_view import TargetObjectView, target_objects
from engine.spec.yamldoc import YPath, format_path, locate


def _suggest(name: str, known: Iterable[str]) -> str:
    options = sorted(known)
    close = difflib.get_close_matches(name, options, n=1)
    if close:
        return f"did you mean '{close[0]}'?"
    if len(options) <= 12:
        return f"known: {', '.join(options)}" if options else ""
    return ""


def _picklist_hint(value: object, allowed: tuple[object, ...]) -> str:
    close = difflib.get_close_matches(str(value), [str(a) for a in allowed], n=1)
    listed = f"allowed: {', '.join(str(a) for a in allowed)}"
    return f"did you mean '{close[0]}'? {listed}" if close else listed


class SemanticChecker:
    def __init__(self, spec: Spec, source: Catalog | None, target: Catalog) -> None:
        self.spec = spec
        self.source = source
        self.target = target
        self.views = target_objects(spec, target)
        self.problems: list[Diagnostic] = []

    # -- reporting ---------------------------------------------------------------------------
    def problem(self, ypath: YPath, message: str, hint: str = "", *, key: bool = False) -> None:
        self.problems.append(self.spec.diagnostic(ypath, message, hint, key=key))

    def _known_object(self, name: str) -> bool:
        """An object of the spec, including one whose own problems kept it from being built."""
        return name in self.spec.objects or name in self.spec.unbuilt

    # -- expressions -------------------------------------------------------------------------
    def expression(self, ypath: YPath, text: str, scope: set[str] | None) -> None:
        try:
            parse_jmespath(text)
            names = root_names(text)
        except ExpressionProblem as exc:
            self.problems.append(Diagnostic(self._inside(ypath, exc.offset), format_path(ypath),
                                            f"{exc} in {text!r}",
                                            "JMESPath reference: https://jmespath.org/specification.html"))
            return
        self._check_names(ypath, names, scope)

    def _source_lines(self, loc: Loc) -> list[str]:
        try:  # the file that holds the value: with overlays, not always the spec's own file
            return Path(loc.file).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            return []

    def _inside(self, ypath: YPath, offset: int = 0, *, lineno: int = 0) -> Loc | None:
        """Where character `offset` (or template line `lineno`) of a scalar's text is in its file.

        A plain or quoted scalar is on one line (a quoted one's text starts after the quote; a
        template error points at its start); a block scalar's (`|`, `>`) text is on the lines below.
        """
        loc = locate(self.spec.doc, ypath)
        if loc is None:
            return None
        lines = self._source_lines(loc)
        line = lines[loc.line - 1] if 0 < loc.line <= len(lines) else ""
        first = line[loc.column - 1: loc.column]
        if not first or first not in "|>":  # on one line: plain or quoted
            quote = 1 if first in ("'", '"') else 0
            return loc if lineno else Loc(loc.file, loc.line, loc.column + quote + offset)
        number = loc.line + 1
        while number <= len(lines):
            content = lines[number - 1]
            indent = len(content) - len(content.lstrip(" "))
            text = content[indent:]
            if lineno > 1:
                lineno -= 1
            elif lineno == 1 or offset <= len(text):
                return Loc(loc.file, number, indent + 1 + (0 if lineno else offset))
            else:
                offset -= len(text) + 1  # the line break, or the space `>` folds it into
            number += 1
        return loc

    def template(self, ypath: YPath, text: str, scope: set[str] | None) -> None:
        try:
            _, names = parse_template(text)
        except TemplateProblem as exc:
            self.problems.append(Diagnostic(self._inside(ypath, lineno=exc.lineno), format_path(ypath),
                                            str(exc), "templates format record values; use filters such "
                                            "as date, phone, strip_html, truncate"))
            return
        self._check_names(ypath, set(names), scope)

    def _check_names(self, ypath: YPath, names: set[str], scope: set[str] | None) -> None:
        if scope is None:
            scope = names - {"null", "true", "false"}
        for name in sorted(names & {"null", "true", "false"}):
            self.problem(ypath, f"'{name}' is read as a field name here, not as the literal {name}",
                         f"JMESPath writes literals in backticks: `{name}`")
        for name in sorted(names - scope - {"null", "true", "false"}):
            self.problem(ypath, f"'{name}' is not a field of the source record",
                         _suggest(name, scope) or "check the source catalog for the resource's fields")

    def scope_for(self, obj: ObjectSpec) -> set[str] | None:
        """Names an expression of this object may read, or None when the source is uncatalogued."""
        if self.source is None or obj.source not in self.source.objects:
            return None
        names = set(self.source.objects[obj.source].fields)
        names.update(obj.joins)
        for seed in obj.seed:
            names.update(seed)
        if obj.each:
            names.update({obj.each.name, f"{obj.each.name}_index"})
        return names

    # -- the checks --------------------------------------------------------------------------
    def run(self) -> list[Diagnostic]:
        for obj in self.spec.objects.values():
            self.check_object(obj)
        self.check_provision()
        self.check_value_maps()
        self.check_owners()
        self.check_tests()
        return self.problems

    def check_object(self, obj: ObjectSpec) -> None:
        scope = self.scope_for(obj)
        if self.source is not None and obj.source not in self.source.objects:
            self.problem((*obj.ypath, "source"), f"'{obj.source}' is not a {self.source.system} resource",
                         _suggest(obj.source, self.source.objects))
        view = self.views.get(obj.target)
        if view is None:
            self.problem((*obj.ypath, "target"),
                         f"'{obj.target}' is not a {self.target.system} object in the catalog "
                         "and is not declared under provision:",
                         _suggest(obj.target, self.views) or f"declare it: provision: {{{obj.target}: ...}}")
        if obj.where:
            self.expression((*obj.ypath, "where"), obj.where, scope)
        if obj.each:
            base_scope = None if scope is None else scope - {obj.each.name, f"{obj.each.name}_index"}
            self.expression((*obj.each.ypath, "path"), obj.each.path, base_scope)
        for join in obj.joins.values():
            self.check_join(obj, join.resource, join.match, join.order_by, join.ypath)
            self.expression((*join.ypath, "on"), join.on, scope)
        for index, parent in enumerate(obj.after):
            if not self._known_object(parent):
                self.problem((*obj.ypath, "after", index), f"`after` names '{parent}', which is not an "
                             "object of this spec", _suggest(parent, self.spec.objects))
        if obj.key is not None:
            self.check_rule(obj, obj.key.rule, scope, view, is_key=True)
            if view is not None:
                kf = view.fields.get(obj.key.target)
                if kf is None:
                    close = difflib.get_close_matches(obj.key.target, sorted(view.fields), n=1)
                    self.problem((*obj.key.ypath, "target"),
                                 f"key field '{obj.key.target}' does not exist on {obj.target}",
                                 f"did you mean '{close[0]}'?" if close else
                                 f"provision it: provision: {{{obj.target}: {{fields: {{{obj.key.target}: "
                                 "{type: text(40), external_id: true, unique: true}}}}}")
                elif not kf.external_id:
                    self.problem((*obj.key.ypath, "target"),
                                 f"{obj.target}.{obj.key.target} cannot hold an external id, so it "
                                 "cannot be the key", "use a field provisioned with `external_id: true`")
        for rule in obj.fields:
            self.check_rule(obj, rule, scope, view)
        if view is not None:
            self.check_required_fields(obj, view)

    def check_join(self, obj: ObjectSpec, resource: str, match: str, order_by: str | None,
                   ypath: YPath) -> None:
        if self.source is None:
            return
        joined = self.source.objects.get(resource)
        if joined is None:
            self.problem((*ypath, "resource"), f"'{resource}' is not a {self.source.system} resource",
                         _suggest(resource, self.source.objects))
            return
        for key, name in (("match", match), ("order_by", order_by)):
            if name is not None and name.split(".")[0] not in joined.fields:
                self.problem((*ypath, key), f"'{name}' is not a field of {resource}",
                             _suggest(name, joined.fields))

    def check_rule(self, obj: ObjectSpec, rule: FieldRule, scope: set[str] | None,
                   view: TargetObjectView | None, *, is_key: bool = False) -> None:
        y = rule.ypath
        if rule.kind in ("path", "expr"):
            at = y if isinstance(self._raw(y), str) else (*y, rule.kind)
            self.expression(at, rule.value, scope)
        elif rule.kind == "template":
            self.template((*y, "template"), rule.value, scope)
        elif rule.kind == "lookup":
            if not self._known_object(rule.value):
                self.problem((*y, "lookup"), f"lookup to unknown object '{rule.value}'",
                             _suggest(rule.value, self.spec.objects))
            assert rule.key is not None
            self.expression((*y, "key"), rule.key, scope)
        if rule.map and rule.map not in self.spec.value_maps:
            self.problem((*y, "map"), f"value map '{rule.map}' is not defined",
                         _suggest(rule.map, self.spec.value_maps) or "add it under value_maps:")
        if is_key or view is None:
            return
        target_field = view.fields.get(rule.target)
        if target_field is None:
            self.problem(y, f"{obj.target} has no field '{rule.target}' in the {self.target.system} "
                            "catalog and it is not provisioned",
                         _suggest(rule.target, view.fields) or
                         f"declare it under provision: {{{obj.target}: {{fields: {{{rule.target}: ...}}}}}}",
                         key=True)
            return
        if not target_field.createable:
            self.problem(y, f"{obj.target}.{rule.target} cannot be set on create",
                         "remove the rule, or map the value to a custom field", key=True)
        self.check_field_fit(obj, rule, target_field)

    def _raw(self, ypath: YPath) -> object:
        node: object = self.spec.doc
        for step in ypath:
            if isinstance(node, dict):
                node = node.get(step)
            elif isinstance(node, list) and isinstance(step, int):
                node = node[step]
        return node

    def check_field_fit(self, obj: ObjectSpec, rule: FieldRule, field: CatalogField) -> None:
        y = rule.ypath
        if rule.kind == "lookup":
            parent = self.spec.objects.get(rule.value)
            view = self.views.get(obj.target)
            if (parent is not None and parent.target not in self.views) or (
                    view is not None and rule.target in view.provisioned
                    and not any(r in self.views for r in field.reference_to)):
                return  # an unknown target object: reported where it is named, not again here
            if field.reference_to and parent is not None and parent.target not in field.reference_to:
                self.problem((*y, "lookup"),
                             f"{obj.target}.{rule.target} points at {', '.join(field.reference_to)}, "
                             f"but '{rule.value}' loads into {parent.target}",
                             "look up an object that loads into " + " or ".join(field.reference_to))
            elif not field.reference_to:
                self.problem((*y, "lookup"), f"{obj.target}.{rule.target} is not a lookup field",
                             "a lookup rule must write a reference field")
            return
        if rule.max_length and field.length and rule.max_length > field.length:
            self.problem((*y, "max_length"), f"max_length {rule.max_length} exceeds "
                         f"{obj.target}.{rule.target}'s length of {field.length}",
                         f"use max_length: {field.length} or less")
        if field.restricted and field.values:
            allowed = field.picklist_values
            for where, value in self.spec.written_values(rule):
                if value not in allowed:
                    self.problem(where, f"{value!r} is not a value of the restricted picklist "
                                 f"{obj.target}.{rule.target}",
                                 _picklist_hint(value, allowed))

    def check_required_fields(self, obj: ObjectSpec, view: TargetObjectView) -> None:
        written = {r.target for r in obj.fields}
        if obj.key is not None:
            written.add(obj.key.target)
        for name, field in view.fields.items():
            if field.required and field.createable and name not in written:
                self.problem((*obj.ypath, "fields"),
                             f"{obj.target}.{name} is required by {self.target.system} but no rule sets it",
                             f"add a rule: {name}: <expression>", key=True)

    def check_provision(self) -> None:
        for pname, prov in self.spec.provision.items():
            in_catalog = self.target.objects.get(pname)
            for fname, pf in prov.fields.items():
                if in_catalog is not None and fname in in_catalog.fields:
                    self.problem(pf.ypath, f"{pname}.{fname} already exists in the {self.target.system} "
                                 "catalog", "remove it from provision:, it needs no provisioning", key=True)
                if pf.kind == "picklist" and pf.args and pf.args[0] not in self.spec.value_maps:
                    self.problem((*pf.ypath, "type"), f"picklist of unknown value map '{pf.args[0]}'",
                                 _suggest(pf.args[0], self.spec.value_maps))
                if pf.kind == "lookup" and pf.args and pf.args[0] not in self.views:
                    self.problem((*pf.ypath, "type"), f"lookup to unknown object '{pf.args[0]}'",
                                 _suggest(pf.args[0], self.views))
                limit = self.target.types.get(pf.kind, {}).get("max_length")
                if limit and pf.length and pf.length > limit:
                    self.problem((*pf.ypath, "type"), f"{pf.type_text} is longer than "
                                 f"{self.target.system} allows ({limit})",
                                 "use longtext for long text" if pf.kind == "text" else "")
                if pf.external_id and pf.kind not in ("text", "number", "email"):
                    self.problem((*pf.ypath, "external_id"),
                                 f"a {pf.kind} field cannot be an external id", "use text(n)")

    def check_value_maps(self) -> None:
        for vmap in self.spec.value_maps.values():
            if not vmap.ignore_case:
                continue
            seen: dict[str, str] = {}
            for k in vmap.values:
                if k.casefold() in seen:
                    self.problem((*vmap.ypath, "values", k),
                                 f"'{k}' and '{seen[k.casefold()]}' are the same value when case is "
                                 "ignored", "keep one of them", key=True)
                seen[k.casefold()] = k

    def check_owners(self) -> None:
        owners = self.spec.owners
        if owners is None:
            return
        y = owners.ypath
        if self.target.owner_field is None:
            self.problem(y, f"the {self.target.system} target has no record owners (its catalog names no "
                         "`owner_field`)", "remove `owners:`, or add `owner_field: <field>` to "
                         f"targets/{self.target.system}/catalog.yaml", key=True)
        people = self.spec.objects.get(owners.practitioners)
        if people is None and owners.practitioners not in self.spec.unbuilt:
            self.problem((*y, "practitioners"),
                         f"`owners.practitioners` names '{owners.practitioners}', which is not an object of "
                         "this spec", _suggest(owners.practitioners, self.spec.objects))
        if people is not None:
            rules = {r.target for r in people.fields}
            if owners.email not in rules:
                self.problem((*y, "email"), f"'{people.name}' has no field rule for '{owners.email}', "
                             "so its people cannot be matched to users by e-mail",
                             _suggest(owners.email, rules) or
                             f"add a rule: {owners.email}: <expression giving the e-mail>")
            view = self.views.get(people.target)
            if owners.user_field is not None and view is not None and owners.user_field not in view.fields:
                self.problem((*y, "user_field"), f"{people.target} has no field '{owners.user_field}' in the "
                             f"{self.target.system} catalog and it is not provisioned",
                             _suggest(owners.user_field, view.fields) or
                             f"provision it: provision: {{{people.target}: {{fields: {{{owners.user_field}: "
                             "{type: lookup(User)}}}}}")
        for name, field_name in owners.follow.items():
            at: YPath = (*y, "follow", name)
            obj = self.spec.objects.get(name)
            if obj is None:
                if name not in self.spec.unbuilt:
                    self.problem(at, f"`owners.follow` names '{name}', which is not an object of this spec",
                                 _suggest(name, self.spec.objects), key=True)
                continue
            to_people = [r.target for r in obj.lookups() if r.value == owners.practitioners]
            hint = (f"its lookups to '{owners.practitioners}': {', '.join(to_people)}" if to_people else
                    f"add a rule to '{name}': <field>: {{lookup: {owners.practitioners}, key: <its id>}}")
            rule = next((r for r in obj.fields if r.target == field_name), None)
            if rule is None or rule.kind != "lookup":
                self.problem(at, f"'{field_name}' is not a lookup rule of '{name}'", hint)
            elif rule.value != owners.practitioners and self._known_object(owners.practitioners):
                self.problem(at, f"{name}.{field_name} looks up '{rule.value}', not the practitioners "
                             f"object '{owners.practitioners}'", hint)
        if owners.fallback is not None and "@" not in owners.fallback:
            self.problem((*y, "fallback"), f"fallback owner '{owners.fallback}' is neither an e-mail nor a "
                         "username", "write the e-mail or username of an active user, e.g. "
                         "manager@clinic.example")

    def check_tests(self) -> None:
        for test in self.spec.tests:
            if not test.skip and not self._known_object(test.object):
                self.problem((*test.ypath, "object"), f"test '{test.name}' names unknown object "
                             f"'{test.object}'", _suggest(test.object, self.spec.objects))
