"""The clinic's businesses: a three-location group sharing one ABN (its Melbourne site closed
and archived) and two standalone clinics, spread over zones with and without DST."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .catalogue import KINDS
from .clock import DAY, iso_instant
from .ids import IdMaker
from .model import GeneratedRecord
from .shape import build


@dataclass(frozen=True, slots=True)
class Site:
    name: str
    display: str
    zone: str  # IANA
    zone_label: str  # Rails-style, as Cliniko shows it
    street: str
    city: str
    state: str
    post_code: str
    country: str
    country_code: str
    registration: tuple[str, str]
    mailbox: str  # user part of the reply-to address
    weight: int  # share of patients who call it home
    closed_days_ago: int | None = None


SYDNEY = 0  # the fallback: never closes, so any visit can move here
GROUP_ABN = ("ABN", "98 765 432 109")
SITES = (
    Site("Harbourside Physio Sydney CBD", "Harbourside Sydney", "Australia/Sydney", "Sydney",
         "Level 3, 88 Example Street", "Sydney", "NSW", "2000", "Australia", "AU", GROUP_ABN,
         "sydney.harbourside", 30),
    Site("Harbourside Physio Melbourne", "Harbourside Melbourne", "Australia/Melbourne", "Melbourne",
         "12 Sample Lane", "Melbourne", "VIC", "3000", "Australia", "AU", GROUP_ABN,
         "melbourne.harbourside", 15, closed_days_ago=910),
    Site("Harbourside Physio Perth", "Harbourside Perth", "Australia/Perth", "Perth",
         "5/140 Placeholder Terrace", "Perth", "WA", "6000", "Australia", "AU", GROUP_ABN,
         "perth.harbourside", 20),
    Site("Kōwhai Health Auckland", "Kōwhai Health", "Pacific/Auckland", "Auckland",
         "27 Fictional Road", "Auckland", "Auckland", "1010", "New Zealand", "NZ",
         ("NZBN", "9429000000000"), "kia.ora.kowhai", 20),
    Site("Pacific Motion Physical Therapy", "Pacific Motion PT", "America/Los_Angeles",
         "Pacific Time (US & Canada)", "1200 Demo Boulevard, Suite 4", "Los Angeles", "CA", "90012",
         "United States", "US", ("EIN", "95-0000000"), "frontdesk.pacificmotion", 15),
)
PHONE = {"AU": "(02) 5550 {:04d}", "NZ": "(09) 555 {:04d}", "US": "(213) 555-{:04d}"}


def closed_at(site: Site, now: int) -> int | None:
    return None if site.closed_days_ago is None else now - site.closed_days_ago * DAY


def site_records(ids: IdMaker, start: int, now: int) -> Iterator[GeneratedRecord]:
    offered = [ids("appointment_types", n) for n, kind in enumerate(KINDS) if kind.archived_days_ago is None]
    for n, site in enumerate(SITES):
        closed = closed_at(site, now)
        created = start + n * DAY
        yield GeneratedRecord("businesses", build("businesses", {
            "id": ids("businesses", n), "business_name": site.name, "display_name": site.display,
            "label": site.display, "address_1": site.street, "address_2": None, "city": site.city,
            "state": site.state, "post_code": site.post_code, "country": site.country,
            "country_code": site.country_code, "time_zone": site.zone_label,
            "time_zone_identifier": site.zone,
            "contact_information": f"Phone {PHONE[site.country_code].format(100 + n)}\nOpen 8am-6pm",
            "email_reply_to": f"{site.mailbox}@example.com",
            "website_address": f"https://{site.mailbox.split('.')[-1]}.example.com",
            "business_registration_name": site.registration[0],
            "business_registration_value": site.registration[1],
            "additional_information": "Free parking behind the building. Wheelchair access via the lift.",
            "additional_invoice_information": f"{site.registration[0]} {site.registration[1]}",
            "appointment_reminders_enabled": True, "appointment_type_ids": offered,
            "show_in_online_bookings": closed is None,
            "created_at": iso_instant(created), "updated_at": iso_instant(closed or created + 300 * DAY),
            "archived_at": iso_instant(closed) if closed is not None else None}))
