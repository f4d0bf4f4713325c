"""The write rules: turning a request body into stored column values, or the platform's refusal.

    values = prepare(table, body, creating=True, resolve=env.resolve_bind)

- `<nav>@odata.bind` must name a navigation property of the table (else 400
  0x80048d19, the platform's "undeclared property") and point at a row of that
  property's table, by id or by alternate key (a missing row is 404
  0x80040217). The value is stored as `_<lookup>_value`.
- Any other property must be a column (else 400 "Invalid property"); lookups
  cannot be set by value, only bound. Columns not valid for create (or update)
  are ignored, as the platform does with read-only columns, except the state:
  a row is always created open (state 0), then closed by a later update.
- Values are checked by `values.convert` (types, max lengths, option sets,
  SystemRequired columns written as null).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.sandbox.dataverse.errors import (
    DataverseError,
    invalid_argument,
    invalid_property,
    undeclared_property,
)
from engine.sandbox.dataverse.model import Table
from engine.sandbox.dataverse.values import convert

# (target table, reference text) → the referenced row's id
Resolve = Callable[[str, str], str]
LOOKUP_TABLE = "@Microsoft.Dynamics.CRM.lookuplogicalname"
ALWAYS_IGNORED = ("@odata.type", "@odata.id", "@odata.etag", "@odata.context")


def prepare(table: Table, body: Any, *, creating: bool, resolve: Resolve) -> dict[str, Any]:
    """The stored values a create or update body writes (see the module docstring)."""
    if not isinstance(body, dict):
        raise invalid_argument(f"The request body must be a JSON object describing a {table.logical_name}.")
    navigation = table.navigation()
    out: dict[str, Any] = {}
    for name, value in body.items():
        if name in ALWAYS_IGNORED:
            continue
        if name.endswith("@odata.bind"):
            nav = name[: -len("@odata.bind")]
            if nav not in navigation:
                raise undeclared_property(nav)
            attribute, target = navigation[nav]
            if not (attribute.createable if creating else attribute.updateable):
                continue
            if value is None:
                out[attribute.value_name] = None
                out[attribute.value_name + LOOKUP_TABLE] = None
                continue
            if not isinstance(value, str):
                raise invalid_argument(f"The value of '{name}' must be an entity reference such as "
                                       f"'/{target}s(<guid>)'.")
            out[attribute.value_name] = resolve(target, value)
            out[attribute.value_name + LOOKUP_TABLE] = target
            continue
        if "@" in name:
            continue  # instance annotations (…@OData.Community.Display.V1.FormattedValue) carry no data
        column = table.attributes.get(name)
        if column is None or column.is_lookup:
            raise invalid_property(name, table.logical_name)
        attribute = column
        if attribute.logical_name in ("statecode", "statuscode") and creating:
            out[name] = convert(table.logical_name, attribute, value)
            continue
        if not (attribute.createable if creating else attribute.updateable):
            continue
        out[name] = convert(table.logical_name, attribute, value)
    return out


def apply_state(table: Table, values: dict[str, Any], *, creating: bool) -> None:
    """Pair statecode with statuscode (a default status for a bare state; the state of a bare status),
    refuse a pair that does not belong together, and create rows open."""
    if not table.state_status:
        return
    state, status = values.get("statecode"), values.get("statuscode")
    if state is None and status is None:
        return
    if state is None:
        state = next((s for s, codes in table.state_status.items() if status in codes), -1)
    if status is None:
        status = table.state_status[state][0]
    if status not in table.state_status.get(state, ()):
        raise DataverseError(400, "0x80040203", f"{status} is not a valid status code for state code "
                             f"{table.logical_name}State.{state} on {table.logical_name}.")
    opening = creating and state != _open_state(table)
    if opening:
        raise DataverseError(400, "0x80040203", f"A {table.logical_name} is created open: create it with "
                             f"statecode {_open_state(table)} (or none), then PATCH statecode {state} and "
                             f"statuscode {status}.")
    values["statecode"], values["statuscode"] = state, status


def _open_state(table: Table) -> int:
    return 2 if table.logical_name == "product" else 0


def check_closed(table: Table, current: dict[str, Any], values: dict[str, Any]) -> None:
    """Closed activities are read-only: only a state change (reopening) may touch them."""
    if not table.is_activity or current.get("statecode") in (None, 0):
        return
    if set(values) - {"statecode", "statuscode"} or "statecode" not in values:
        raise DataverseError(400, "0x80040203", f"This {table.logical_name} is closed or canceled and cannot "
                             "be edited (reopen it first with statecode 0).")


def open_state(table: Table) -> tuple[int, int] | None:
    if not table.state_status:
        return None
    state = _open_state(table)
    return state, table.state_status[state][0]
