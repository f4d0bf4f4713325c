"""Provisioning: the custom objects, fields and permissions a spec needs on its target,
as deployable artifacts, plus the field sheet an admin reviews first.

    plan.py              spec → platform-neutral plan (objects, fields, the rules that write them)
    salesforce_rules.py  what Salesforce refuses (API names, sizes), as located spec errors
    salesforce.py        plan → Salesforce metadata (SFDX source + Metadata API zip)
    deploy_salesforce.py the package deployed to an org through the Metadata API (`--apply`)
    dataverse_rules.py   what Dataverse refuses (prefixes, sizes, option ranges, the table cap)
    dataverse_columns.py one column's Web API definition by abstract type
    dataverse.py         plan → Dataverse Web API metadata requests and their manifest
    templates.py         the target's Jinja templates (targets/<platform>/templates/)
    field_sheet.py       plan → field-sheet.xlsx / .csv / .md
    files.py             reproducible zips and output folders
    run.py               all of the above for `flitstack provision`
"""

from engine.provision.plan import ProvisionPlan, build_plan
from engine.provision.run import ProvisionResult, provision

__all__ = ["ProvisionPlan", "ProvisionResult", "build_plan", "provision"]
