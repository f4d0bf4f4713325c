"""The LOAD stage: transformed records into the target platform.

    target.py      the `TargetLoader` protocol every platform implements, `LoadResult`, `LoadStopped`
    salesforce.py  `SalesforceLoader`: sObject Collections upsert by external id, lookups, delete, read
    owners.py      practitioners → active standard Salesforce Users by e-mail
"""
