"""How a TargetRecord becomes a Dataverse request body, and how Dataverse's errors map back to its fields.

Rendering (ref/dataverse.md §2):
- a `Ref` becomes `"<nav>@odata.bind": "/<entityset>(<parent key column>='<external id>')"`,
  the navigation property read from metadata for the lookup column and the parent's
  table (a polymorphic `parentcustomerid` to an account is `parentcustomerid_account`),
  the key column being the parent spec object's key target field; a parent keyed on
  its primary id (a note) is bound by its GUID;
- a plain GUID in a lookup column (the owner the runner assigned) is bound by id:
  `"ownerid@odata.bind": "/systemusers(<guid>)"`;
- a missing lookup clears the relationship on update and is left out on create;
- Decimals go as exact numbers, date-times as UTC `…Z`, dates as `YYYY-MM-DD`;
- on update, columns the metadata marks not valid for update (`overriddencreatedon`,
  `isproductoverridden` …) are left out: Dataverse keeps their value from create.

Error mapping: Dataverse names what it refuses inside quotes: the navigation property
of a bad bind (0x80048d19), the attribute of a validation error (0x80044331), the
literal it could not convert; a bind to a row that does not exist (0x80040217) names the
table and the key. Each is traced back to the spec field that carried it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from engine.load.dataverse_client import DataverseClient, TableInfo, key_literal
from engine.records import Ref, TargetRecord

ROW_NAMESPACE = uuid.UUID("5d0c6f4e-8a51-4a8e-bb7e-2f0f6b3c9d21")
_QUOTED = re.compile(r"'([^']*)'")


def row_id(table: str, key: str) -> str:
    """The deterministic primary key of a row keyed on its primary id (a note): uuid5 of table and key,
    so a re-run addresses the same note (catalog: annotation.annotationid)."""
    return str(uuid.uuid5(ROW_NAMESPACE, f"{table}/{key}"))


def plain(value: Any) -> Any:
    """A plain value as the Web API takes it (Decimals stay Decimals: the client writes them exactly)."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat(timespec="seconds") + "Z"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ",".join(str(plain(v)) for v in value)  # a multi-select option set
    return value


@dataclass
class Rendered:
    body: dict[str, Any]
    navs: dict[str, str] = field(default_factory=dict)  # navigation property → spec field
    refs: dict[str, tuple[str, str]] = field(default_factory=dict)  # spec field → (parent table, external id)

    def fields_of(self, message: str) -> tuple[str, ...]:
        """The spec fields an error message is about (see the module docstring)."""
        found: list[str] = []
        for quoted in _QUOTED.findall(message):
            if quoted in self.navs:
                found.append(self.navs[quoted])
            elif quoted in self.body:
                found.append(quoted)
            else:
                found += [name for name, value in self.body.items() if "@" not in name and value is not None
                          and str(value) == quoted]
        if not found:
            found = [name for name, (parent, external) in self.refs.items()
                     if parent in message and external in message]
        return tuple(dict.fromkeys(found))


class Renderer:
    def __init__(self, client: DataverseClient, spec_targets: Mapping[str, tuple[str, str]],
                 owner_field: str | None) -> None:
        """`spec_targets`: spec object → (target table, key column), for lookups' parents."""
        self.client = client
        self.spec_targets = spec_targets
        self.owner_field = owner_field

    def path(self, table: str, key_column: str, key: str) -> str:
        """The row's address by its key: `contacts(fs_clinikoid='42')`, or `annotations(<guid>)`."""
        info = self.client.table(table)
        if key_column == info.primary_id:
            return f"{info.entity_set}({row_id(table, key)})"
        return f"{info.entity_set}({key_column}={key_literal(key)})"

    def reference(self, ref: Ref) -> tuple[str, str]:
        """(parent table, bind value) of a lookup to a record of another spec object."""
        parent, key_column = self.spec_targets[ref.object]
        return parent, "/" + self.path(parent, key_column, ref.external_id)

    def render(self, table: str, key_column: str, record: TargetRecord, *, creating: bool,
               only: Collection[str] | None = None, omit: Collection[str] = ()) -> Rendered:
        info = self.client.table(table)
        out = Rendered({})
        for name, value in record.values.items():
            if name == key_column or name in omit or (only is not None and name not in only):
                continue
            if not creating and name in info.columns and name not in info.updateable:
                continue
            if isinstance(value, Ref):
                parent, bind = self.reference(value)
                self._bind(out, info, name, parent, bind)
                out.refs[name] = (parent, value.external_id)
            elif info.is_lookup(name):
                if value is None:
                    if not creating and info.lookup_targets.get(name):
                        self._bind(out, info, name, info.lookup_targets[name][0], None)
                    continue
                parent = self.lookup_target(info, name)
                self._bind(out, info, name, parent, f"/{self.client.table(parent).entity_set}({value})")
            else:
                out.body[name] = plain(value)
        return out

    def lookup_target(self, info: TableInfo, column: str) -> str:
        """The table a lookup column given as a bare GUID points at: a user for the owner, else its only
        target."""
        if column == self.owner_field or info.columns.get(column) == "Owner":
            return "systemuser"
        targets = info.lookup_targets.get(column, ())
        if len(targets) != 1:
            raise ValueError(f"{info.logical_name}.{column} points at {', '.join(targets) or 'no table'}: "
                             "a bare id cannot say which; the spec should write it as a lookup")
        return targets[0]

    @staticmethod
    def _bind(out: Rendered, info: TableInfo, column: str, parent: str, bind: str | None) -> None:
        nav = info.nav(column, parent)
        out.body[f"{nav}@odata.bind"] = bind
        out.navs[nav] = column
