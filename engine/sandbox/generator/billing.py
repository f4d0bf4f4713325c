"""Invoices and their items. Amounts are integer cents until rendered, so an invoice's
totals are exactly the sums of its lines."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from .catalogue import CONCESSIONS, GST, ITEMS, KINDS, MISSED_FEE, PRODUCTS, TAXES
from .clock import DAY, iso_instant, local_day
from .ids import Sequences
from .model import GeneratedRecord
from .schedule import Bill, Visit
from .setup import Setup
from .shape import build, money
from .sites import SITES

STATUS_WORDS = {10: "Open", 20: "Paid", 30: "Closed", 40: "Open credit"}


@dataclass(frozen=True, slots=True)
class Line:
    """One invoice line; amounts in cents, rounded half up per line as a till would."""

    name: str
    code: str
    quantity: int
    unit: int
    discount_pct: int
    tax: int
    discount: int
    net: int
    tax_cents: int
    item: int | None = None  # billable item index
    product: int | None = None


@cache  # a few hundred distinct lines exist (items x quantity x discount), at any clinic size
def _line(name: str, code: str, quantity: int, unit: int, discount_pct: int, tax: int,
          item: int | None = None, product: int | None = None) -> Line:
    gross = unit * quantity
    discount = (gross * discount_pct + 50) // 100
    net = gross - discount
    tax_cents = (net * TAXES[tax].rate_bp + 5000) // 10000
    return Line(name, code, quantity, unit, discount_pct, tax, discount, net, tax_cents, item, product)


@dataclass(frozen=True, slots=True)
class Payer:
    """Who the invoice is for: the patient's id, addressee block and concession."""

    patient_id: str
    invoice_to: str
    concession: int | None


def _lines(rng: random.Random, bill: Bill, visit: Visit, concession: int | None, service: bool) -> list[Line]:
    lines = []
    if service:
        n = MISSED_FEE if visit.outcome == "dna" else KINDS[visit.kind].item
        item = ITEMS[n]
        pct = CONCESSIONS[concession].discount_pct if concession is not None and n != MISSED_FEE else 0
        lines.append(_line(item.name, item.code, 1, item.price, pct, item.tax, item=n))
    for n in bill.products:
        product = PRODUCTS[n]
        lines.append(_line(product.name, product.code, 1 + (rng.random() < 0.2), product.price, 0, GST,
                           product=n))
    return lines


def invoice_records(setup: Setup, seq: Sequences, bill: Bill, visit: Visit, payer: Payer,
                    appointment_id: str | None, rng: random.Random) -> Iterator[GeneratedRecord]:
    """The invoice, then its items; `appointment_id` None for a product-only sale."""
    lines = _lines(rng, bill, visit, payer.concession, appointment_id is not None)
    invoice_id, number = seq.take("invoices"), 1000 + seq.taken("invoices")
    closed = None
    if bill.status in (20, 30):
        closed = min(setup.now, bill.issued + rng.randrange(7 * DAY))
    stamps = {"created_at": iso_instant(bill.issued), "updated_at": iso_instant(closed or bill.issued)}
    yield GeneratedRecord("invoices", build("invoices", {
        "id": invoice_id, "number": number,
        "issue_date": local_day(visit.start, SITES[visit.site].zone).isoformat(),
        "status": bill.status, "status_description": STATUS_WORDS.get(bill.status),
        "total_amount": money(sum(x.net + x.tax_cents for x in lines)),
        "net_amount": money(sum(x.net for x in lines)), "tax_amount": money(sum(x.tax_cents for x in lines)),
        "discounted_amount": money(sum(x.discount for x in lines)), "invoice_to": payer.invoice_to,
        "notes": "Paid by EFTPOS." if bill.status == 20 and rng.random() < 0.3 else None,
        "closed_at": iso_instant(closed) if closed is not None else None,
        "patient_id": payer.patient_id, "practitioner_id": setup.refs["practitioners"][visit.practitioner],
        "business_id": setup.refs["businesses"][visit.site], "appointment_id": appointment_id, **stamps}))
    concession = None if payer.concession is None else CONCESSIONS[payer.concession].name
    for line in lines:
        record = _priced(line, concession if line.discount_pct else None).copy()
        record.update(id=seq.take("invoice_items"), invoice_id=invoice_id, **stamps,
                      billable_item_id=setup.ref("billable_items", line.item),
                      product_id=setup.ref("products", line.product))
        yield GeneratedRecord("invoice_items", record)


@cache  # the priced part of an item record depends on the line alone: build it once (copy it!)
def _priced(line: Line, concession: str | None) -> dict[str, Any]:
    tax = TAXES[line.tax]
    return build("invoice_items", {
        "name": line.name, "code": line.code, "quantity": line.quantity,
        "unit_price": money(line.unit), "net_price": money(line.net),
        "discount_percentage": money(line.discount_pct * 100), "discounted_amount": money(line.discount),
        "is_monetary_discount": False, "tax_name": tax.name, "tax_rate": money(tax.rate_bp),
        "tax_amount": money(line.tax_cents), "total_including_tax": money(line.net + line.tax_cents),
        "concession_type_name": concession})
