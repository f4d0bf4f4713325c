"""A local emulator of the Dataverse (Dynamics 365 Sales) Web API v9.2 and the Entra ID sign-in it needs.

msal (client credentials, pointed at the sandbox authority) and httpx run
against it unmodified over HTTPS with the sandbox CA: tokens, WhoAmI, the
standard Sales tables with their lookups, option sets and alternate keys,
create / retrieve / update / upsert / delete, queries with paging, `$batch`
with atomic change sets, the *Multiple messages, table/column/key/relationship
definitions, note attachments, service-protection limits, and the platform's
error codes (ref/dataverse.md). The Microsoft Graph drive for SharePoint uploads
is engine/sandbox/graph, signed in through this tenant (auth.py).

    model.py     tables, columns, keys                 standard.py  the standard tables
    schema.py    standard + created definitions        store.py     rows in SQLite, every write rule's caller
    rules.py     body → stored values, state rules     values.py    column types, conversions
    odata.py     $filter, $orderby, key segments       errors.py    error answers and codes
    auth.py      Entra ID token + discovery            limits.py    service protection window
    app.py       pipeline and routes                   records.py   row resources, queries, WhoAmI
    batch.py     $batch and change sets                bulk.py      Create/Update/UpsertMultiple
    metadata.py  EntityDefinitions & co.               seed.py      the rows a new environment holds
    factory.py   start_dataverse_sandbox
"""

from engine.sandbox.dataverse.app import API_PREFIX, Call, DataverseApp, Route
from engine.sandbox.dataverse.auth import CLIENT_ID, CLIENT_SECRET, TENANT_ID, Directory
from engine.sandbox.dataverse.errors import DataverseError, fault_response
from engine.sandbox.dataverse.factory import DATABASE_NAME, start_dataverse_sandbox, web_api_url
from engine.sandbox.dataverse.model import Attribute, Key, Table
from engine.sandbox.dataverse.seed import (
    APPLICATION_USER_ID,
    BASE_CURRENCY_ID,
    BUSINESS_UNIT_ID,
    DEFAULT_PRICE_LEVEL_ID,
    DEFAULT_UOM_ID,
    DEFAULT_UOM_SCHEDULE_ID,
    DEFAULT_USERS,
    MAX_UPLOAD_FILE_SIZE,
    ORGANIZATION_ID,
    UserSeed,
)
from engine.sandbox.dataverse.store import Environment

__all__ = [
    "API_PREFIX",
    "APPLICATION_USER_ID",
    "BASE_CURRENCY_ID",
    "BUSINESS_UNIT_ID",
    "CLIENT_ID",
    "CLIENT_SECRET",
    "DATABASE_NAME",
    "DEFAULT_PRICE_LEVEL_ID",
    "DEFAULT_UOM_ID",
    "DEFAULT_UOM_SCHEDULE_ID",
    "DEFAULT_USERS",
    "MAX_UPLOAD_FILE_SIZE",
    "ORGANIZATION_ID",
    "TENANT_ID",
    "Attribute",
    "Call",
    "DataverseApp",
    "DataverseError",
    "Directory",
    "Environment",
    "Key",
    "Route",
    "Table",
    "UserSeed",
    "fault_response",
    "start_dataverse_sandbox",
    "web_api_url",
]
