"""What Dataverse accepts in a provisioning, checked before any file is written.

- Names: every new table and column carries the publisher's customization prefix
  (`fs_`), which the spec gives by using it: the prefix most of its provisioned
  names share. A prefix is 2 to 8 letters or digits, a letter first, never
  `mscrm`. Names are lower case, because the spec writes logical names and
  Dataverse derives the logical name by lower-casing the SchemaName.
- Sizes: text(n) 1 to 4,000 (`max_length` in types.yaml), longtext(n) up to
  1,048,576, number(p,s) with s at most 10 decimal places (`max_precision`).
- Option sets: the value map gives options, all integers in the publisher's
  range (option value prefix × 10,000 to + 9,999) or all words (numbered from
  there).
- Alternate keys: only on column types Dataverse can index.
- The Professional licence's custom-table cap (limits.yaml).

Each problem is a located diagnostic on the `provision:` entry.
"""

from __future__ import annotations

import re
from collections import Counter

from engine.errors import Diagnostic
from engine.provision.dataverse_columns import integer_outputs
from engine.provision.plan import PlannedField, ProvisionPlan
from engine.spec.catalog import Catalog
from engine.spec.limits import target_limit
from engine.spec.model import Spec
from engine.spec.yamldoc import YPath

PREFIX = re.compile(r"[a-z][a-z0-9]{1,7}")
NAME = re.compile(r"[a-z][a-z0-9_]*")
OPTION_RANGE = 10_000
# Column kinds an alternate key may hold (String, Decimal, DateTime, Picklist, Lookup columns).
KEYABLE = frozenset({"text", "email", "phone", "number", "date", "datetime", "picklist", "lookup"})
TABLE_LIMIT = "professional_custom_tables"
OPTION_PREFIX_LIMIT = "publisher_option_value_prefix"


def publisher_prefix(plan: ProvisionPlan) -> str:
    """The customization prefix the spec's new tables and columns share (most of them; ties:
    the first in alphabetical order), without its underscore."""
    names = [o.name for o in plan.new_objects()]
    names += [f.name for fields in plan.deployments().values() for f in fields]
    counts = Counter(n.split("_", 1)[0] for n in names if "_" in n)
    if not counts:
        return ""
    top = max(counts.values())
    return min(p for p, n in counts.items() if n == top)


def option_value_prefix(catalog: Catalog) -> int:
    value = target_limit(catalog, OPTION_PREFIX_LIMIT)
    if value is None:
        raise LookupError(f"targets/{catalog.system}/limits.yaml has no {OPTION_PREFIX_LIMIT}")
    return int(value)


def key_columns(fields: list[PlannedField]) -> list[PlannedField]:
    """New columns that need an alternate key: external ids, unique columns, and the columns
    a spec object keys its records on (upserts address rows by them)."""
    return [f for f in fields if f.external_id or f.unique or any(w.rule == "key" for w in f.writes)]


class DataverseRules:
    def __init__(self, spec: Spec, catalog: Catalog, plan: ProvisionPlan) -> None:
        self.spec = spec
        self.catalog = catalog
        self.plan = plan
        self.prefix = publisher_prefix(plan)
        self.option_base = option_value_prefix(catalog) * OPTION_RANGE
        self.problems: list[Diagnostic] = []

    def problem(self, ypath: YPath, message: str, hint: str = "", *, key: bool = False) -> None:
        self.problems.append(self.spec.diagnostic(ypath, message, hint, key=key))

    def run(self) -> list[Diagnostic]:
        self.check_table_count()
        if self.prefix and (not PREFIX.fullmatch(self.prefix) or self.prefix.startswith("mscrm")):
            first = next((o for o in self.plan.objects if o.ypath is not None), None)
            self.problem(first.ypath if first and first.ypath else ("provision",),
                         f"publisher prefix '{self.prefix}' is not a Dataverse customization prefix",
                         "use 2 to 8 lower-case letters or digits, a letter first, not mscrm "
                         "(e.g. fs_), before the first underscore of every provisioned name", key=True)
        for obj in self.plan.new_objects():
            assert obj.ypath is not None
            self._name(obj.ypath, obj.name, "table")
        for host, fields in self.plan.deployments().items():
            for f in fields:
                self.check_column(host, f)
        return self.problems

    def _name(self, ypath: YPath, name: str, what: str) -> None:
        start = f"{self.prefix}_"
        if not self.prefix:
            self.problem(ypath, f"new {what} '{name}' has no publisher prefix",
                         f"name it like fs_{name.lower()}: every new table and column starts with the "
                         "publisher's customization prefix and an underscore", key=True)
        elif not name.startswith(start) or len(name) == len(start):
            self.problem(ypath, f"new {what} '{name}' does not start with the publisher prefix {start}",
                         f"name it {start}{name.split('_', 1)[-1].lower()}: every new table and column "
                         f"carries the prefix the spec's other provisioned names use", key=True)
        elif not NAME.fullmatch(name):
            self.problem(ypath, f"new {what} '{name}' may contain only lower-case letters, digits and "
                         "underscores", f"Dataverse lower-cases it to '{name.lower()}', the name the "
                         "Web API and the rest of the spec must use: write that", key=True)

    def check_table_count(self) -> None:
        limit = target_limit(self.catalog, TABLE_LIMIT)
        tables = [o.name for o in self.plan.new_objects()]
        if limit is not None and len(tables) > limit:
            self.problem(("provision",), f"the spec provisions {len(tables)} custom tables "
                         f"({', '.join(tables)}); the Dynamics 365 Sales Professional licence allows "
                         f"{int(limit)} (targets/dynamics365/limits.yaml: {TABLE_LIMIT})",
                         "keep the data of some tables in columns of standard tables, or drop tables "
                         "from `provision:` (custom columns on standard tables do not count)", key=True)

    def check_column(self, host: str, f: PlannedField) -> None:
        assert f.ypath is not None
        self._name(f.ypath, f.name, "column")
        platform = self.catalog.types.get(f.kind, {})
        type_path = (*f.ypath, "type")
        if f.kind == "text" and not 1 <= (f.length or 0) <= int(platform.get("max_length", 4000)):
            self.problem(type_path, f"{f.spec_type}: a Dataverse text column holds 1 to "
                         f"{platform.get('max_length', 4000)} characters", "use longtext for more")
        if f.kind == "longtext" and f.length is not None and \
                not 1 <= f.length <= int(platform.get("max_length", 1048576)):
            self.problem(type_path, f"{f.spec_type}: a Dataverse multiline text column holds 1 to "
                         f"{platform.get('max_length', 1048576)} characters", "use longtext for the maximum")
        if f.kind == "number" and f.precision is not None and f.scale is not None:
            most = int(platform.get("max_precision", 10))
            if f.scale > most:
                self.problem(type_path, f"{f.spec_type}: a Dataverse decimal column keeps at most "
                             f"{most} decimal places", f"number(p,s) with s <= {most}")
            elif f.precision < 1:
                self.problem(type_path, f"{f.spec_type} holds no digits", "number(p,s) with p >= 1")
            elif f.scale > f.precision:
                self.problem(type_path, f"{f.spec_type}: the scale is larger than the precision",
                             "number(p,s): p is all digits, s those after the decimal point, so s <= p")
        if f.kind == "picklist":
            self.check_options(f, type_path)
        if key_columns([f]) and f.kind not in KEYABLE:
            self.problem(type_path, f"{host}.{f.name} is an alternate key (external_id, unique or a "
                         f"spec object's key), which a {f.spec_type} column cannot be",
                         "key on a text, number, date or picklist column")

    def check_options(self, f: PlannedField, type_path: YPath) -> None:
        vmap = self.plan.value_maps.get(f.value_map)
        if vmap is None or not vmap.outputs():
            self.problem(type_path, f"{f.spec_type} has no options: the value map gives no target value",
                         "add values to the value map, or a fallback")
            return
        outputs = vmap.outputs()
        low, high = self.option_base, self.option_base + OPTION_RANGE - 1
        if integer_outputs(vmap):
            outside = [str(v) for v in outputs if not low <= v <= high]
            if outside:
                self.problem(type_path, f"value map {vmap.name} gives option values outside the "
                             f"publisher's range {low} to {high}: {', '.join(outside)}",
                             f"number its options {low} + n (the option value prefix "
                             f"{low // OPTION_RANGE} × 10,000), so they cannot collide with other "
                             "publishers' options")
        elif not all(isinstance(v, str) for v in outputs):
            self.problem(type_path, f"value map {vmap.name} mixes option values and words "
                         f"({', '.join(map(str, outputs))})",
                         f"give every option its integer value ({low} + n), or only words (numbered "
                         "from there in the map's order)")
        elif len(outputs) > OPTION_RANGE:
            self.problem(type_path, f"value map {vmap.name} gives {len(outputs)} options; the publisher's "
                         f"range holds {OPTION_RANGE}", "merge options in the value map")
