"""The standard tables of a Dynamics 365 Sales environment that the emulator serves (ref §2, §6).

This is the emulator's own model of the platform (it does not read our
target catalog): entity sets, primary columns, column types and max lengths,
required levels, option sets and state/status pairs, and lookups with their
navigation properties, polymorphic ones included (parentcustomerid_account,
regardingobjectid_contact_task, objectid_contact, ownerid → systemusers).
"""

from __future__ import annotations

from collections.abc import Mapping

from engine.sandbox.dataverse.model import Attribute, Table


def _s(name: str, length: int = 100, **kw: object) -> Attribute:
    return Attribute(name, "String", max_length=length, **kw)  # type: ignore[arg-type]


def _memo(name: str, length: int = 2000) -> Attribute:
    return Attribute(name, "Memo", max_length=length)


def _int(name: str, **kw: object) -> Attribute:
    return Attribute(name, "Integer", min_value=-2147483648, max_value=2147483647, **kw)  # type: ignore[arg-type]


def _dec(name: str) -> Attribute:
    return Attribute(name, "Decimal", min_value=-1e11, max_value=1e11)


def _money(name: str, **kw: object) -> Attribute:
    return Attribute(name, "Money", min_value=-922337203685477, max_value=922337203685477, **kw)  # type: ignore[arg-type]


def _dt(name: str, date_only: bool = False, **kw: object) -> Attribute:
    return Attribute(name, "DateTime", date_only=date_only, **kw)  # type: ignore[arg-type]


def _bool(name: str, **kw: object) -> Attribute:
    return Attribute(name, "Boolean", **kw)  # type: ignore[arg-type]


def _pick(name: str, *values: int, **kw: object) -> Attribute:
    return Attribute(name, "Picklist", options=values, **kw)  # type: ignore[arg-type]


def _lookup(name: str, *targets: str, kind: str = "Lookup", nav: dict[str, str] | None = None,
            **kw: object) -> Attribute:
    return Attribute(name, kind, targets=targets, navigation=nav or {}, **kw)  # type: ignore[arg-type]


def _system(*, owned: bool = True, states: Mapping[int, tuple[int, ...]] | None = None) -> list[Attribute]:
    """The columns every table has: audit dates, the row version, owner, state and status."""
    out = [
        _dt("createdon", createable=False, updateable=False),
        _dt("modifiedon", createable=False, updateable=False),
        _dt("overriddencreatedon", updateable=False),
        _int("importsequencenumber", updateable=False),
        Attribute("versionnumber", "BigInt", createable=False, updateable=False),
        _lookup("createdby", "systemuser", createable=False, updateable=False),
        _lookup("modifiedby", "systemuser", createable=False, updateable=False),
    ]
    if owned:
        out.append(_lookup("ownerid", "systemuser", kind="Owner", required="SystemRequired"))
        out.append(_lookup("owningbusinessunit", "businessunit", createable=False, updateable=False))
    if states:
        out.append(Attribute("statecode", "State", options=tuple(states), required="SystemRequired"))
        out.append(Attribute("statuscode", "Status", options=tuple(s for v in states.values() for s in v)))
    return out


_ADDRESS = [_s("address1_line1", 250), _s("address1_line2", 250), _s("address1_line3", 250),
            _s("address1_city", 80), _s("address1_stateorprovince", 50), _s("address1_postalcode", 20),
            _s("address1_country", 80)]
_ACTIVE: Mapping[int, tuple[int, ...]] = {0: (1,), 1: (2,)}


def _table(logical: str, entity_set: str, primary_id: str, primary_name: str, columns: list[Attribute], *,
           owned: bool = True, states: Mapping[int, tuple[int, ...]] | None = None, activity: bool = False,
           display: str = "") -> Table:
    attributes = [Attribute(primary_id, "Uniqueidentifier", updateable=False), *columns,
                  *_system(owned=owned, states=states)]
    return Table(logical, entity_set, primary_id, primary_name, {a.logical_name: a for a in attributes},
                 ownership="UserOwned" if owned else "OrganizationOwned", is_activity=activity,
                 state_status=dict(states or {}), display_name=display or logical)


def standard_tables() -> dict[str, Table]:
    regarding = {t: f"regardingobjectid_{t}_task" for t in ("account", "contact", "opportunity")}
    tables = [
        _table("account", "accounts", "accountid", "name", [
            _s("name", 160), _s("accountnumber", 20), _pick("customertypecode", *range(1, 13)),
            _memo("description"), _s("emailaddress1"), _s("telephone1", 50), _s("telephone2", 50),
            _s("websiteurl", 200), *_ADDRESS, _lookup("parentaccountid", "account"),
            _lookup("primarycontactid", "contact"), _lookup("transactioncurrencyid", "transactioncurrency"),
        ], states=_ACTIVE, display="Account"),
        _table("contact", "contacts", "contactid", "fullname", [
            _s("fullname", 160, createable=False, updateable=False), _s("salutation"), _s("firstname", 50),
            _s("middlename", 50), _s("lastname", 50, required="ApplicationRequired"), _s("nickname"),
            _s("jobtitle"), _dt("birthdate", date_only=True), _pick("gendercode", 1, 2),
            _pick("familystatuscode", 1, 2, 3, 4), _s("emailaddress1"), _s("emailaddress2"),
            _s("telephone1", 50), _s("telephone2", 50), _s("mobilephone", 50), *_ADDRESS,
            _memo("description"),
            _bool("donotbulkemail"),
            _lookup("parentcustomerid", "account", "contact", kind="Customer",
                    nav={"account": "parentcustomerid_account", "contact": "parentcustomerid_contact"}),
            _lookup("transactioncurrencyid", "transactioncurrency"),
        ], states=_ACTIVE, display="Contact"),
        _table("task", "tasks", "activityid", "subject", [
            _s("subject", 200, required="ApplicationRequired"), _memo("description"), _s("category", 250),
            _s("subcategory", 250), _dt("scheduledstart"), _dt("scheduledend"),
            _int("scheduleddurationminutes", createable=False, updateable=False), _dt("actualstart"),
            _dt("actualend"), _int("actualdurationminutes"), _pick("prioritycode", 0, 1, 2),
            _int("percentcomplete"),
            _lookup("regardingobjectid", "account", "contact", "opportunity", nav=regarding),
        ], states={0: (2, 3, 4, 7), 1: (5,), 2: (6,)}, activity=True, display="Task"),
        _table("annotation", "annotations", "annotationid", "subject", [
            _s("subject", 500), _memo("notetext", 100000), _bool("isdocument"), _s("filename", 255),
            _s("mimetype", 256), Attribute("documentbody", "String", max_length=1073741823),
            _int("filesize", createable=False, updateable=False), _s("langid", 2),
            _lookup("objectid", "account", "contact", "opportunity", "task",
                    nav={t: f"objectid_{t}" for t in ("account", "contact", "opportunity", "task")}),
            Attribute("objecttypecode", "EntityName", createable=False, updateable=False),
        ], display="Note"),
        _table("opportunity", "opportunities", "opportunityid", "name", [
            _s("name", 300), _memo("description"),
            _lookup("customerid", "account", "contact", kind="Customer",
                    nav={"account": "customerid_account", "contact": "customerid_contact"}),
            _lookup("parentaccountid", "account"), _lookup("parentcontactid", "contact"),
            _lookup("pricelevelid", "pricelevel"), _lookup("transactioncurrencyid", "transactioncurrency"),
            _bool("isrevenuesystemcalculated"), _money("estimatedvalue"), _dt("estimatedclosedate", True),
            _money("actualvalue"), _dt("actualclosedate", True), _money("totalamount"),
            _money("totalamountlessfreight"), _money("totallineitemamount"), _money("totaldiscountamount"),
            _money("totallineitemdiscountamount"), _money("totaltax"), _money("discountamount"),
            _dec("discountpercentage"), _money("freightamount"),
        ], states={0: (1, 2), 1: (3,), 2: (4, 5)}, display="Opportunity"),
        _table("opportunityproduct", "opportunityproducts", "opportunityproductid", "productidname", [
            _lookup("opportunityid", "opportunity", required="SystemRequired"),
            _lookup("productid", "product"),
            _lookup("uomid", "uom"), _bool("isproductoverridden", updateable=False),
            _s("productdescription", 500), _memo("description"), _dec("quantity"), _money("priceperunit"),
            _bool("ispriceoverridden"), _money("manualdiscountamount"), _money("tax"),
            _money("baseamount", createable=False), _money("extendedamount", createable=False),
            _int("lineitemnumber"), _int("sequencenumber"), _pick("producttypecode", 1, 2, 3, 4, 5),
            _lookup("transactioncurrencyid", "transactioncurrency"),
        ], owned=False, display="Opportunity Product"),
        _table("product", "products", "productid", "name", [
            _s("name"), _s("productnumber", required="SystemRequired"), _memo("description"),
            _pick("productstructure", 1, 2, 3, updateable=False), _pick("producttypecode", 1, 2, 3, 4),
            _int("quantitydecimal"), _dec("quantityonhand"), _money("price"), _money("currentcost"),
            _money("standardcost"), _s("vendorname"), _s("suppliername"), _bool("isstockitem"),
            _dt("validfromdate", True), _dt("validtodate", True),
            _lookup("defaultuomscheduleid", "uomschedule"),
            _lookup("defaultuomid", "uom"), _lookup("pricelevelid", "pricelevel", createable=False),
            _lookup("transactioncurrencyid", "transactioncurrency"),
        ], owned=False, states={0: (1,), 1: (2,), 2: (0,), 3: (3,)}, display="Product"),
        _table("pricelevel", "pricelevels", "pricelevelid", "name", [
            _s("name", required="SystemRequired"), _memo("description"), _dt("begindate", True),
            _dt("enddate", True), _lookup("transactioncurrencyid", "transactioncurrency", updateable=False),
        ], owned=False, states={0: (100001,), 1: (100002,)}, display="Price List"),
        _table("productpricelevel", "productpricelevels", "productpricelevelid", "productidname", [
            _lookup("pricelevelid", "pricelevel", required="SystemRequired"),
            _lookup("productid", "product", required="SystemRequired"),
            _lookup("uomid", "uom", required="SystemRequired"), _lookup("uomscheduleid", "uomschedule"),
            _money("amount"), _lookup("transactioncurrencyid", "transactioncurrency"),
        ], owned=False, display="Price List Item"),
        _table("uom", "uoms", "uomid", "name", [
            _s("name", required="SystemRequired"),
            _lookup("uomscheduleid", "uomschedule", required="SystemRequired"), _lookup("baseuom", "uom"),
            _dec("quantity"), _bool("isschedulebaseuom", createable=False, updateable=False),
        ], owned=False, display="Unit"),
        _table("uomschedule", "uomschedules", "uomscheduleid", "name", [
            _s("name", 200, required="SystemRequired"),
            _s("baseuomname", 100, required="SystemRequired", updateable=False), _memo("description"),
        ], owned=False, states={0: (1,), 1: (2,)}, display="Unit Group"),
        _table("systemuser", "systemusers", "systemuserid", "fullname", [
            _s("fullname", 200, createable=False, updateable=False), _s("firstname", 64), _s("lastname", 64),
            _s("internalemailaddress", required="SystemRequired"), _s("domainname", 1024,
                                                                        required="SystemRequired"),
            Attribute("azureactivedirectoryobjectid", "Uniqueidentifier", updateable=False),
            Attribute("applicationid", "Uniqueidentifier", updateable=False),
            _bool("isdisabled", createable=False, updateable=False),
            _lookup("businessunitid", "businessunit", required="SystemRequired"),
        ], owned=False, display="User"),
        _table("businessunit", "businessunits", "businessunitid", "name", [
            _s("name", 160, required="SystemRequired"),
        ], owned=False, display="Business Unit"),
        _table("transactioncurrency", "transactioncurrencies", "transactioncurrencyid", "currencyname", [
            _s("currencyname", required="SystemRequired"),
            _s("isocurrencycode", 5, required="SystemRequired"),
            _s("currencysymbol", 10, required="SystemRequired"),
            _int("currencyprecision", required="SystemRequired"), _dec("exchangerate"),
        ], owned=False, states=_ACTIVE, display="Currency"),
        _table("organization", "organizations", "organizationid", "name", [
            _s("name", 160), _int("maxuploadfilesize"), _bool("createproductswithoutparentinactivestate"),
            _lookup("basecurrencyid", "transactioncurrency"),
        ], owned=False, display="Organization"),
    ]
    return {t.logical_name: t for t in tables}
