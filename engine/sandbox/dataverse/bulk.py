"""The bulk messages: CreateMultiple, UpdateMultiple and UpsertMultiple on a table (ref §3).

    POST /contacts/Microsoft.Dynamics.CRM.CreateMultiple
         {"Targets": [{"@odata.type": "Microsoft.Dynamics.CRM.contact", …}]}
         → 200 {"@odata.context": "…#Microsoft.Dynamics.CRM.CreateMultipleResponse", "Ids": [...]}
    POST …/UpdateMultiple  items carry their primary key            → 204
    POST …/UpsertMultiple  items carry "@odata.id": "contacts(key='v')" (or their primary key)  → 204

Every item needs `@odata.type` naming the table. Standard tables run one
transaction: any item's error rolls back every item, and the answer is that
error. The call counts once toward service protection.
"""

from __future__ import annotations

from typing import Any

from engine.sandbox.dataverse.app import Call, Route, json_response, no_content
from engine.sandbox.dataverse.errors import DataverseError, invalid_argument
from engine.sandbox.dataverse.model import Table
from engine.sandbox.server import Response


def routes() -> list[Route]:
    pattern = r"/(?P<set>[A-Za-z_]\w*)/Microsoft\.Dynamics\.CRM\.{}"
    return [Route("POST", pattern.format("CreateMultiple"), create_multiple),
            Route("POST", pattern.format("UpdateMultiple"), update_multiple),
            Route("POST", pattern.format("UpsertMultiple"), upsert_multiple)]


def _targets(call: Call, table: Table) -> list[dict[str, Any]]:
    body = call.json_body()
    targets = body.get("Targets") if isinstance(body, dict) else None
    if not isinstance(targets, list) or not targets:
        raise invalid_argument("The request needs 'Targets': a non-empty array of entity records.")
    wanted = f"Microsoft.Dynamics.CRM.{table.logical_name}"
    for index, item in enumerate(targets):
        if not isinstance(item, dict):
            raise invalid_argument(f"Targets[{index}] is not an entity record (a JSON object).")
        kind = str(item.get("@odata.type") or "").lstrip("#")
        if not kind:
            raise DataverseError(400, "0x80048d19", f"Targets[{index}]: the '@odata.type' annotation is "
                                 f"required on every item of a bulk message ('{wanted}').")
        if kind != wanted:
            raise invalid_argument(f"Targets[{index}]: '@odata.type' is '{kind}'; this message runs on "
                                   f"{table.entity_set} and takes '{wanted}'.")
    return targets


def create_multiple(call: Call) -> Response:
    table = call.env.schema.by_set(call.params["set"])
    targets = _targets(call, table)
    with call.env.transaction():
        ids = [call.env.create(table.logical_name, item, caller=call.user_id)[table.primary_id]
               for item in targets]
    return json_response(200, {"@odata.context": f"{call.api_root}/$metadata#Microsoft.Dynamics.CRM."
                                                 "CreateMultipleResponse", "Ids": ids})


def update_multiple(call: Call) -> Response:
    table = call.env.schema.by_set(call.params["set"])
    targets = _targets(call, table)
    with call.env.transaction():
        for index, item in enumerate(targets):
            row_id = item.get(table.primary_id)
            if not isinstance(row_id, str):
                raise invalid_argument(f"Targets[{index}]: UpdateMultiple needs each item's primary key "
                                       f"'{table.primary_id}'.")
            body = {k: v for k, v in item.items() if k != table.primary_id}
            call.env.update(table.logical_name, row_id.lower(), body, caller=call.user_id)
    return no_content()


def upsert_multiple(call: Call) -> Response:
    table = call.env.schema.by_set(call.params["set"])
    targets = _targets(call, table)
    with call.env.transaction():
        for index, item in enumerate(targets):
            body = {k: v for k, v in item.items() if k != "@odata.id"}
            reference = item.get("@odata.id")
            if isinstance(reference, str):
                target, _, key = call.env.resolve_reference(reference)
                if target != table.logical_name:
                    raise invalid_argument(f"Targets[{index}]: '@odata.id' points at a {target}, not a "
                                           f"{table.logical_name}.")
            elif isinstance(item.get(table.primary_id), str):
                key = {"": str(item[table.primary_id])}
                body.pop(table.primary_id)
            else:
                raise invalid_argument(f"Targets[{index}]: UpsertMultiple needs '@odata.id' "
                                       f"(\"{table.entity_set}(<key>='<value>')\") or the primary key.")
            call.env.upsert(table.logical_name, key, body, caller=call.user_id)
    return no_content()
