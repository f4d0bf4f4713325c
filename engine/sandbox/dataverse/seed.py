"""What every new environment holds before the first request: the rows the platform makes itself.

A business unit, the organization (with maxuploadfilesize), the base currency
(AUD), the "Default Unit" group with its "Primary Unit", a default price list,
the application user the client-credentials app signs in as, and a few people
(active ones with e-mail addresses to match owners on, and one disabled).
Ids are fixed (uuid5 of a name), so tests and demos can name them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

_NAMESPACE = uuid.UUID("0b7c2d1e-5f3a-4e8b-9c6d-7a1f2e3d4c5b")


def fixed_id(name: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, name))


@dataclass(frozen=True)
class UserSeed:
    first: str
    last: str
    email: str
    disabled: bool = False

    @property
    def id(self) -> str:
        return fixed_id(f"systemuser:{self.email.lower()}")


ORGANIZATION_ID = fixed_id("organization")
BUSINESS_UNIT_ID = fixed_id("businessunit")
BASE_CURRENCY_ID = fixed_id("transactioncurrency:AUD")
DEFAULT_UOM_SCHEDULE_ID = fixed_id("uomschedule:Default Unit")
DEFAULT_UOM_ID = fixed_id("uom:Primary Unit")
DEFAULT_PRICE_LEVEL_ID = fixed_id("pricelevel:Default Price List")
APPLICATION_USER_ID = fixed_id("systemuser:application")
MAX_UPLOAD_FILE_SIZE = 5_242_880
DEFAULT_USERS = (
    UserSeed("Avery", "Nguyen", "avery.nguyen@clinic.example"),
    UserSeed("Sam", "Patel", "sam.patel@clinic.example"),
    UserSeed("Jordan", "Lee", "jordan.lee@clinic.example"),
    UserSeed("Casey", "Morgan", "casey.morgan@clinic.example", disabled=True),
)


def seed_rows(client_id: str, users: tuple[UserSeed, ...],
              max_upload: int) -> list[tuple[str, dict[str, object]]]:
    """(table, stored values) of every seeded row, in an order that satisfies their lookups."""
    bu = {"_businessunitid_value": BUSINESS_UNIT_ID}
    rows: list[tuple[str, dict[str, object]]] = [
        ("businessunit", {"businessunitid": BUSINESS_UNIT_ID, "name": "flitstack sandbox"}),
        ("transactioncurrency", {"transactioncurrencyid": BASE_CURRENCY_ID,
                                 "currencyname": "Australian Dollar",
                                 "isocurrencycode": "AUD", "currencysymbol": "$", "currencyprecision": 2,
                                 "exchangerate": 1.0, "statecode": 0, "statuscode": 1}),
        ("organization", {"organizationid": ORGANIZATION_ID, "name": "flitstack sandbox",
                          "maxuploadfilesize": max_upload, "createproductswithoutparentinactivestate": False,
                          "_basecurrencyid_value": BASE_CURRENCY_ID}),
        ("systemuser", {"systemuserid": APPLICATION_USER_ID, "fullname": "# flitstack migration",
                        "firstname": "#", "lastname": "flitstack migration",
                        "internalemailaddress": "flitstack-app@sandbox.example", "domainname": "",
                        "applicationid": client_id, "isdisabled": False, **bu}),
    ]
    for user in users:
        rows.append(("systemuser", {"systemuserid": user.id, "fullname": f"{user.first} {user.last}",
                                    "firstname": user.first, "lastname": user.last,
                                    "internalemailaddress": user.email, "domainname": user.email,
                                    "azureactivedirectoryobjectid": fixed_id(f"aad:{user.email}"),
                                    "isdisabled": user.disabled, **bu}))
    rows += [
        ("uomschedule", {"uomscheduleid": DEFAULT_UOM_SCHEDULE_ID, "name": "Default Unit",
                         "baseuomname": "Primary Unit", "statecode": 0, "statuscode": 1}),
        ("uom", {"uomid": DEFAULT_UOM_ID, "name": "Primary Unit",
                 "_uomscheduleid_value": DEFAULT_UOM_SCHEDULE_ID,
                 "quantity": 1.0, "isschedulebaseuom": True}),
        ("pricelevel", {"pricelevelid": DEFAULT_PRICE_LEVEL_ID, "name": "Default Price List",
                        "_transactioncurrencyid_value": BASE_CURRENCY_ID, "statecode": 0,
                        "statuscode": 100001}),
    ]
    return rows
