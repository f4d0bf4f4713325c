"""The LOAD stage: transformed records into the target platform.

    target.py      the `TargetLoader` protocol every platform implements, `LoadResult`, `LoadStopped`
    salesforce.py  `SalesforceLoader`: sObject Collections upsert by external id, lookups, delete, read
    salesforce_bulk.py   Bulk API 2.0 upserts above the catalog's bulk_threshold
    salesforce_files.py  attachments (multipart ContentVersion), treatment notes (ContentNote + link), owners
    owners.py      practitioners → active standard Salesforce Users by e-mail
"""
