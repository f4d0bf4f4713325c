"""An org's field metadata read through the Salesforce REST describe, for `validate --against-target`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceResourceNotFound

from engine.spec.against_target import OrgField


def _field(raw: dict[str, Any]) -> OrgField:
    picklist = None
    if raw.get("type") in ("picklist", "multipicklist"):
        picklist = frozenset(v["value"] for v in raw.get("picklistValues") or [] if v.get("active", True))
    return OrgField(name=raw["name"], createable=bool(raw.get("createable")),
                    external_id=bool(raw.get("externalId") or raw.get("idLookup")), picklist=picklist)


def salesforce_describer(sf: Salesforce) -> Callable[[str], dict[str, OrgField] | None]:
    """A describe function for AgainstTarget: object name → its fields, or None when absent."""

    def describe(name: str) -> dict[str, OrgField] | None:
        try:
            result = sf.restful(f"sobjects/{name}/describe")
        except SalesforceResourceNotFound:
            return None
        fields: list[dict[str, Any]] = (result or {}).get("fields", [])
        return {f["name"]: _field(f) for f in fields}

    return describe
