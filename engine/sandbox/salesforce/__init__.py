"""A faithful local emulator of the Salesforce REST API, for the sandbox.

The unmodified simple-salesforce client, jsforce and the sf CLI run against
it: HTTPS, Bearer session tokens, any API version up to the catalog's, the
daily API allowance with `Sforce-Limit-Info`, describe driven by the org's
metadata, single-record CRUD and upsert by external id, SOQL with paging,
sObject Collections with allOrNone, and the platform's error codes and
messages for every write rule.

    org.py        the org: metadata + records (SQLite), the API every surface writes through
    metadata.py   objects and fields (catalog + custom), FLS          rules.py     every write rule
    ids.py        18-character ids, key prefixes                       values.py    storage forms
    soql.py       SOQL text → tree                                     query.py     running a query
    records.py    stored records and their rendering                   describe.py  describe answers
    app.py        route table and pipeline (auth, limits)              rest.py      sObject resources
    queries.py    query / queryAll and paging cursors                  composite.py sObject Collections
    errors.py     error answers, SaveResult                            users.py     Users, profiles, seeding
    schema.py     objects + recorded customisations                    usage.py     daily API allowance
    factory.py    start_salesforce_sandbox

    bulk.py       Bulk API 2.0 ingest jobs and their result CSVs
    files.py      ContentVersion (JSON, multipart), ContentDocument(Link), ContentNote
    metadata_deploy.py   Metadata API deploy and checkDeployStatus (SOAP): objects, fields, FLS
"""

from engine.sandbox.salesforce.app import DEFAULT_TOKEN, Call, Route, SalesforceApp
from engine.sandbox.salesforce.errors import RequestError, SaveError, SaveResult, fault_response
from engine.sandbox.salesforce.factory import DATABASE_NAME, start_salesforce_sandbox
from engine.sandbox.salesforce.metadata import FieldMeta, ObjectMeta, PicklistValue, custom_field
from engine.sandbox.salesforce.org import Org, Transaction
from engine.sandbox.salesforce.query import QueryResult
from engine.sandbox.salesforce.records import StoredRecord, Trigger
from engine.sandbox.salesforce.usage import ApiUsage
from engine.sandbox.salesforce.users import DEFAULT_USERS, UserSeed

__all__ = [
    "DATABASE_NAME",
    "DEFAULT_TOKEN",
    "DEFAULT_USERS",
    "ApiUsage",
    "Call",
    "FieldMeta",
    "ObjectMeta",
    "Org",
    "PicklistValue",
    "QueryResult",
    "RequestError",
    "Route",
    "SalesforceApp",
    "SaveError",
    "SaveResult",
    "StoredRecord",
    "Transaction",
    "Trigger",
    "UserSeed",
    "custom_field",
    "fault_response",
    "start_salesforce_sandbox",
]
