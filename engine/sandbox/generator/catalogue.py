"""What the clinic sells and books: taxes, concession types, billable items, products and
appointment types, with their records. Fixed lists: a real clinic has a few dozen of these."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .clock import DAY, iso_instant
from .ids import IdMaker
from .model import GeneratedRecord
from .shape import build, money


@dataclass(frozen=True, slots=True)
class Tax:
    name: str
    rate_bp: int  # basis points: 1000 = 10.0 %


@dataclass(frozen=True, slots=True)
class Concession:
    name: str
    discount_pct: int  # taken off service lines


@dataclass(frozen=True, slots=True)
class Item:
    name: str
    code: str
    kind: str  # item_type
    price: int  # cents
    tax: int  # index into TAXES


@dataclass(frozen=True, slots=True)
class Product:
    name: str
    code: str
    supplier: str
    cost: int
    price: int
    stock: int
    archived_days_ago: int | None = None  # retired this many days before `now`


@dataclass(frozen=True, slots=True)
class Kind:
    """An appointment type; `item` is its default billable item."""

    name: str
    category: str
    color: str
    minutes: int
    item: int
    weight: int  # how often follow-up visits are of this type
    telehealth: bool = False
    archived_days_ago: int | None = None


GST, GST_NZ, SALES_TAX, GST_FREE = range(4)
TAXES = (Tax("GST", 1000), Tax("GST (NZ)", 1500), Tax("Sales tax (LA County)", 950), Tax("GST-free", 0))

CONCESSIONS = (
    Concession("Pensioner", 20), Concession("Student", 10), Concession("Health Care Card", 15),
    Concession("Child (under 16)", 10), Concession("DVA Gold Card", 0),
)

INITIAL, MISSED_FEE = 0, 8
ITEMS = (
    Item("Initial consultation", "PHY-INIT", "Service", 11000, GST_FREE),
    Item("Standard consultation", "PHY-STD", "Service", 8500, GST_FREE),
    Item("Extended consultation", "PHY-EXT", "Service", 12000, GST_FREE),
    Item("Remedial massage (60 min)", "MAS-60", "Service", 11500, GST_FREE),
    Item("Telehealth review", "TEL-REV", "Service", 7500, GST_FREE),
    Item("Clinical Pilates session", "PIL-1", "Service", 7000, GST_FREE),
    Item("Dry needling", "DN-30", "Service", 8000, GST_FREE),
    Item("Hydrotherapy session", "HYD-45", "Service", 9000, GST_FREE),
    Item("Missed appointment fee", "DNA-FEE", "Other", 5000, GST),
    Item("Report writing", "ADM-RPT", "Other", 15000, GST),
)

PRODUCTS = (
    Product("Knee support brace (M)", "BRACE-M", "Eastbrook Medical Supplies", 2200, 4550, 14),
    Product("Heat pack", "HEAT-1", "Eastbrook Medical Supplies", 900, 2495, 30),
    Product("Cold pack", "COLD-1", "Eastbrook Medical Supplies", 800, 1995, 22),
    Product("Resistance band - light", "BAND-L", "Wattle Fitness Wholesale", 300, 1200, 60),
    Product("Resistance band - heavy", "BAND-H", "Wattle Fitness Wholesale", 350, 1400, 48),
    Product("Foam roller 45 cm", "ROLL-45", "Wattle Fitness Wholesale", 1100, 3900, 9),
    Product("Massage ball", "BALL-1", "Wattle Fitness Wholesale", 250, 990, 75),
    Product("Lumbar roll", "LUMB-1", "Eastbrook Medical Supplies", 1500, 4200, 6),
    Product("Posture corrector", "POST-1", "Eastbrook Medical Supplies", 1800, 4900, 0),
    Product("Kinesiology tape 5 m", "TAPE-5", "Tideline Sports Care", 600, 1800, 120),
    Product("Wrist splint (L)", "SPL-WL", "Tideline Sports Care", 1400, 3800, 11),
    Product("Ankle brace", "BRACE-A", "Tideline Sports Care", 1700, 4400, 8),
    Product("Orthotic insoles", "ORTH-1", "Stride Lab Orthotics", 3500, 8900, 15),
    Product("Pilates ring", "PIL-RING", "Wattle Fitness Wholesale", 1200, 3500, 4),
    Product("Cervical pillow", "PILLOW-C", "Restwell Bedding Co.", 3000, 7900, 5),
    Product("Magnesium cream 100 g", "MAG-100", "Greenleaf Remedies", 700, 2200, 40),
    Product("Exercise mat", "MAT-1", "Wattle Fitness Wholesale", 1300, 3900, 12),
    Product("Spiky ball", "BALL-S", "Wattle Fitness Wholesale", 200, 800, 90),
    Product("Arnica gel 50 g", "ARN-50", "Greenleaf Remedies", 500, 1600, 0, archived_days_ago=900),
    Product("TENS unit", "TENS-1", "Tideline Sports Care", 4500, 12900, 2, archived_days_ago=1500),
    Product("Hot/cold gel pack", "GEL-HC", "Eastbrook Medical Supplies", 700, 1900, 0,
            archived_days_ago=400),
)

KINDS = (
    Kind("Initial Consultation", "Physiotherapy", "#3A7BD5", 60, 0, 0),
    Kind("Standard Consultation", "Physiotherapy", "#00A86B", 30, 1, 50),
    Kind("Extended Consultation", "Physiotherapy", "#2E8B57", 45, 2, 10),
    Kind("Remedial Massage", "Massage", "#C71585", 60, 3, 12),
    Kind("Telehealth Review", "Physiotherapy", "#FF8C00", 30, 4, 5, telehealth=True),
    Kind("Clinical Pilates", "Pilates", "#8A2BE2", 55, 5, 12),
    Kind("Dry Needling", "Physiotherapy", "#B22222", 30, 6, 8),
    Kind("Hydrotherapy", "Physiotherapy", "#1E90FF", 45, 7, 6, archived_days_ago=1300),
)


def archived_at(now: int, days_ago: int | None) -> int | None:
    return None if days_ago is None else now - days_ago * DAY


def _stamps(created: int, updated: int, archived: int | None = None) -> dict[str, str | None]:
    return {"created_at": iso_instant(created), "updated_at": iso_instant(max(updated, archived or 0)),
            "archived_at": iso_instant(archived) if archived is not None else None}


def catalogue_records(ids: IdMaker, start: int, now: int) -> Iterator[GeneratedRecord]:
    """Taxes, concession types, billable items, products, appointment types (parents first)."""
    for n, tax in enumerate(TAXES):
        rate = money(tax.rate_bp)
        yield GeneratedRecord("taxes", build("taxes", {
            "id": ids("taxes", n), "name": tax.name, "rate": rate, "amount": rate,
            "created_at": iso_instant(start + n * 60), "updated_at": iso_instant(start + n * 60)}))
    for n, concession in enumerate(CONCESSIONS):
        yield GeneratedRecord("concession_types", build("concession_types", {
            "id": ids("concession_types", n), "name": concession.name,
            "created_at": iso_instant(start + DAY + n * 60), "updated_at": iso_instant(start + 40 * DAY)}))
    hydro_retired = archived_at(now, KINDS[-1].archived_days_ago)
    for n, item in enumerate(ITEMS):
        retired = hydro_retired if item.code == "HYD-45" else None
        yield GeneratedRecord("billable_items", build("billable_items", {
            "id": ids("billable_items", n), "name": item.name, "item_code": item.code,
            "item_type": item.kind, "price": money(item.price), "tax_id": ids("taxes", item.tax),
            **_stamps(start + 2 * DAY + n * 60, start + 90 * DAY, retired)}))
    yield from _product_records(ids, start, now)
    for n, kind in enumerate(KINDS):
        yield GeneratedRecord("appointment_types", build("appointment_types", {
            "id": ids("appointment_types", n), "name": kind.name, "category": kind.category,
            "color": kind.color, "description": f"{kind.name} ({kind.minutes} min).",
            "duration_in_minutes": kind.minutes, "max_attendees": 1,
            "show_in_online_bookings": kind.archived_days_ago is None, "telehealth_enabled": kind.telehealth,
            "online_bookings_lead_time_hours": 2, "online_payments_enabled": False,
            "online_payments_mode": None, "deposit_price": None, "add_deposit_to_account_credit": False,
            "appointment_confirmation_template_ids": [], "appointment_reminder_template_ids": [],
            "billable_item_id": ids("billable_items", kind.item),
            **_stamps(start + 3 * DAY + n * 60, start + 120 * DAY,
                      archived_at(now, kind.archived_days_ago))}))


def _product_records(ids: IdMaker, start: int, now: int) -> Iterator[GeneratedRecord]:
    rate = TAXES[GST].rate_bp
    for n, product in enumerate(PRODUCTS):
        yield GeneratedRecord("products", build("products", {
            "id": ids("products", n), "name": product.name, "item_code": product.code,
            "product_supplier_name": product.supplier, "serial_number": None,
            "cost_price": money(product.cost), "price_ex_tax": money(product.price),
            "price_including_tax": money(product.price + (product.price * rate + 5000) // 10000),
            "stock_level": product.stock, "notes": f"Supplied by {product.supplier}.",
            "tax_id": ids("taxes", GST),
            **_stamps(start + 5 * DAY + n * 3600, start + 200 * DAY,
                      archived_at(now, product.archived_days_ago))}))
