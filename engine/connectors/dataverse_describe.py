"""A Dataverse environment's table metadata read through the Web API, for `validate --against-target`.

One `EntityDefinitions(LogicalName='x')?$expand=Attributes,Keys` per table. A column counts as a key
(what upserts match on) when an Active alternate key is made of it alone, or when it is the table's
primary id (the spec keys notes by their id). Option values come from each option-set column's
OptionSet; where the listing leaves it out (the Web API returns it only on the typed
`…/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata` cast), that cast is asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.load.dataverse_client import DataverseClient
from engine.load.target import LoadStopped
from engine.spec.against_target import OrgField

OPTION_TYPES = ("Picklist", "State", "Status")
_CASTS = {"Picklist": "PicklistAttributeMetadata", "State": "StateAttributeMetadata",
          "Status": "StatusAttributeMetadata"}


def dataverse_describer(client: DataverseClient) -> Callable[[str], dict[str, OrgField] | None]:
    def describe(table: str) -> dict[str, OrgField] | None:
        answer = client.send("GET", f"EntityDefinitions(LogicalName='{table}')",
                             params={"$expand": "Attributes,Keys"})
        if answer.status_code == 404:
            return None
        if answer.status_code != 200:
            raise LoadStopped(f"reading the definition of {table}: HTTP {answer.status_code} "
                              f"{answer.text[:300]}")
        definition: dict[str, Any] = answer.json()
        keyed = {str(k["KeyAttributes"][0]) for k in definition.get("Keys") or []
                 if len(k.get("KeyAttributes") or []) == 1
                 and k.get("EntityKeyIndexStatus", "Active") == "Active"}
        keyed.add(str(definition.get("PrimaryIdAttribute")))
        fields: dict[str, OrgField] = {}
        for attribute in definition.get("Attributes") or []:
            name = str(attribute["LogicalName"])
            fields[name] = OrgField(name=name, createable=bool(attribute.get("IsValidForCreate")),
                                    external_id=name in keyed, picklist=_options(client, table, attribute))
        return fields

    return describe


def _options(client: DataverseClient, table: str, attribute: dict[str, Any]) -> frozenset[object] | None:
    kind = str(attribute.get("AttributeType"))
    if kind not in OPTION_TYPES:
        return None
    option_set = attribute.get("OptionSet")
    if option_set is None:
        column = attribute["LogicalName"]
        path = (f"EntityDefinitions(LogicalName='{table}')/Attributes(LogicalName='{column}')"
                f"/Microsoft.Dynamics.CRM.{_CASTS[kind]}")
        answer = client.send("GET", path, params={"$expand": "OptionSet"})
        if answer.status_code != 200:
            return None  # the values cannot be read: not checked rather than all refused
        option_set = answer.json().get("OptionSet") or {}
    return frozenset(int(o["Value"]) for o in option_set.get("Options") or [])
