"""The sales side of a load: products into the catalog, invoices' price list, invoice lines' units (ref §6).

- A product is created with the default unit group and unit (`defaultuomscheduleid`,
  `defaultuomid`: needed before it can be priced), then published
  (`PublishProductHierarchy`; new products start as Draft unless the organisation's
  `createproductswithoutparentinactivestate` is set), and given a price list item
  in the default price list at its `price`, so catalog lines can use it. The price
  list item's id is derived from the product's, so sending it again never adds a second.
- An opportunity is created on the default price list when the spec names none.
- An opportunity product naming a product is a catalog line: `isproductoverridden`
  false, `productid` and the default unit `uomid`; without a product it is a write-in
  line (`isproductoverridden` true, its text in `productdescription`).

The default price list and unit are looked up once per load: the price list by the
`price_list` name when given, else the only active one; the unit is the base unit of
the `unit_group` (Dynamics' "Default Unit" group has "Primary Unit").
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from engine.load.dataverse_client import DataverseClient, key_literal
from engine.load.dataverse_upsert import Item
from engine.load.target import LoadResult, LoadStopped

DEFAULT_UNIT_GROUP = "Default Unit"
_PRICE_ITEM_NAMESPACE = uuid.UUID("8f3e2a10-64b7-4c1d-9e55-0d7a6b2c4f90")


class SalesCatalog:
    def __init__(self, client: DataverseClient, *, price_list: str | None = None,
                 unit_group: str = DEFAULT_UNIT_GROUP) -> None:
        self.client = client
        self.price_list_name = price_list
        self.unit_group = unit_group
        self._price_list: str | None = None
        self._unit: tuple[str, str] | None = None
        self._published_on_create: bool | None = None

    # -- defaults, looked up once --------------------------------------------------------------------
    def price_list(self) -> str:
        if self._price_list is None:
            where = "statecode eq 0" + (f" and name eq {key_literal(self.price_list_name)}"
                                        if self.price_list_name else "")
            rows = list(self.client.query("pricelevels", select=["pricelevelid", "name"], filter=where))
            if len(rows) != 1:
                named = f"named {self.price_list_name!r} " if self.price_list_name else ""
                raise LoadStopped(f"{len(rows)} active price lists {named}in the environment: invoices need "
                                  "exactly one (name it with the loader's price_list option)")
            self._price_list = str(rows[0]["pricelevelid"])
        return self._price_list

    def unit(self) -> tuple[str, str]:
        """(unit group id, its base unit's id)."""
        if self._unit is None:
            groups = list(self.client.query("uomschedules", select=["uomscheduleid"],
                                            filter=f"name eq {key_literal(self.unit_group)}"))
            if len(groups) != 1:
                raise LoadStopped(f"{len(groups)} unit groups named {self.unit_group!r}: products need one")
            group = str(groups[0]["uomscheduleid"])
            units = [u for u in self.client.query("uoms", select=["uomid", "isschedulebaseuom"],
                                                  filter=f"_uomscheduleid_value eq {group}")
                     if u.get("isschedulebaseuom")]
            if len(units) != 1:
                raise LoadStopped(f"the unit group {self.unit_group!r} has no base unit")
            self._unit = (group, str(units[0]["uomid"]))
        return self._unit

    # -- bodies before sending -------------------------------------------------------------------------
    def prepare(self, table: str, items: Sequence[Item]) -> None:
        """Add what the table needs on create (see the module docstring) to the items' bodies."""
        info = self.client.table(table)
        for item in items:
            body = item.rendered.body
            creating = item.existing is None
            if table == "product" and creating:
                group, unit = self.unit()
                self._default(body, info.nav("defaultuomscheduleid", "uomschedule"),
                              f"/uomschedules({group})")
                self._default(body, info.nav("defaultuomid", "uom"), f"/uoms({unit})")
            elif table == "opportunity" and creating:
                self._default(body, info.nav("pricelevelid", "pricelevel"),
                              f"/pricelevels({self.price_list()})")
            elif table == "opportunityproduct":
                catalog_line = bool(body.get(f"{info.nav('productid', 'product')}@odata.bind"))
                if creating:
                    body["isproductoverridden"] = not catalog_line
                if catalog_line and creating:
                    self._default(body, info.nav("uomid", "uom"), f"/uoms({self.unit()[1]})")
                elif not catalog_line and creating:
                    body.pop(f"{info.nav('productid', 'product')}@odata.bind", None)

    @staticmethod
    def _default(body: dict[str, Any], nav: str, bind: str) -> None:
        body.setdefault(f"{nav}@odata.bind", bind)

    # -- after products are written -----------------------------------------------------------------------
    def finish_products(self, items: Sequence[Item], results: list[LoadResult]) -> list[LoadResult]:
        """Publish the products just created and give each loaded product its price list item."""
        out = list(results)
        for index, (item, result) in enumerate(zip(items, results, strict=True)):
            if not result.ok or result.target_id is None:
                continue
            problem = self._publish(result.target_id) if result.created else None
            problem = problem or self._price_item(result.target_id, item.record.values.get("price"))
            if problem is not None:
                out[index] = LoadResult(result.source_id, result.target_id, result.created, *problem)
        return out

    def _publish(self, product_id: str) -> tuple[str, str, tuple[str, ...]] | None:
        if self._published_on_create is None:
            flag = "createproductswithoutparentinactivestate"
            rows = list(self.client.query("organizations", select=[flag]))
            self._published_on_create = bool(rows and rows[0].get(flag))
        if self._published_on_create:
            return None
        response = self.client.send("POST", f"products({product_id})/Microsoft.Dynamics.CRM."
                                            "PublishProductHierarchy", body={})
        if response.status_code == 404 and "segment" in response.text:
            # An environment without the action (the sandbox): the state change it makes, directly.
            response = self.client.send("PATCH", f"products({product_id})",
                                        body={"statecode": 0, "statuscode": 1}, headers={"If-Match": "*"})
        return None if response.status_code < 300 else _problem(response.json(), "statecode")

    def _price_item(self, product_id: str, price: Any) -> tuple[str, str, tuple[str, ...]] | None:
        info = self.client.table("productpricelevel")
        group, unit = self.unit()
        item_id = uuid.uuid5(_PRICE_ITEM_NAMESPACE, f"{self.price_list()}/{product_id}")
        body: dict[str, Any] = {
            f"{info.nav('pricelevelid', 'pricelevel')}@odata.bind": f"/pricelevels({self.price_list()})",
            f"{info.nav('productid', 'product')}@odata.bind": f"/products({product_id})",
            f"{info.nav('uomid', 'uom')}@odata.bind": f"/uoms({unit})",
            f"{info.nav('uomscheduleid', 'uomschedule')}@odata.bind": f"/uomschedules({group})",
            "amount": price}
        response = self.client.send("PATCH", f"productpricelevels({item_id})", body=body)
        return None if response.status_code < 300 else _problem(response.json(), "price")


def _problem(payload: Any, field: str) -> tuple[str, str, tuple[str, ...]]:
    inner = payload.get("error") if isinstance(payload, dict) else None
    inner = inner if isinstance(inner, dict) else {}
    return str(inner.get("code") or "UNKNOWN_ERROR"), str(inner.get("message") or ""), (field,)
