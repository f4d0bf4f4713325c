"""A patient: first the plan (identity, planted problems, timeline, visits, cases, files),
drawn from the patient's own random stream, then the patient record from the same stream."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from . import problems as p
from .clock import DAY
from .ids import PATIENT_STREAM, rng_for
from .names import Identity, Script, slug
from .schedule import VISIT_COUNTS, Bill, Visit, Window, plan_sale, plan_visits
from .setup import Setup
from .sites import SITES, SYDNEY

SEASONED_DAYS = 800  # patients carrying history-dependent problems registered at least this long ago
# Mostly Male/Female; every other value is a key of the gender maps in some spelling, or empty.
MAPPED_SEXES = ("Male", "Female") * 30 + (None,) * 8 + (
    "male", "female", "M", "F", "f", "Woman", "Man", "Non-binary", "nonbinary", "Intersex",
    "Prefer not to say", "Unknown", "Not stated", "", "")
LONG_SURNAME_TAIL = "-Featherstonehaugh-Cholmondeley-Marjoribanks-Wolfeschlegelsteinhausenbergerdorff"
DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com")


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    referral_type: str | None
    issued: int
    expires: int
    max_sessions: int | None


@dataclass(frozen=True, slots=True)
class File:
    kind: str  # pdf | txt | jpg
    size: int
    created: int


@dataclass(slots=True)
class PatientPlan:
    index: int
    script: Script
    identity: Identity
    email: str | None
    email_copied: bool
    sex: str | None
    long_address: bool
    created: int
    archived: int | None
    home: int
    visits: list[Visit]
    cases: list[Case]
    sales: list[tuple[int, Bill]]
    files: list[File]
    rng: random.Random = field(repr=False)


def script_of(index: int) -> Script:
    return Script.NON_LATIN if p.NON_LATIN(index) else Script.EMOJI if p.EMOJI(index) else Script.LATIN


def identity_of(setup: Setup, index: int) -> Identity:
    base = setup.people.identity(index, script_of(index))
    if p.LONG_LAST_NAME(index):  # injective (a fixed tail), so still unique
        return Identity(base.first_name, base.last_name + LONG_SURNAME_TAIL, base.date_of_birth)
    return base


def own_email(setup: Setup, index: int) -> str:
    """Unique by construction: letters from the name, then the index, then the domain."""
    person = identity_of(setup, index)
    user = ".".join(s for s in (slug(person.first_name)[:16], slug(person.last_name)[:16]) if s)
    return f"{user or 'patient'}{index}@{DOMAINS[index % len(DOMAINS)]}"


def _email(setup: Setup, index: int) -> tuple[str | None, bool]:
    if p.NO_EMAIL(index):
        return (None if index % 2 else ""), False
    if p.SAME_EMAIL(index):  # a family sharing one mailbox, typed with different capitals
        shared = own_email(setup, p.email_source(setup.seed, index))
        return (shared.upper() if index % 2 else shared.capitalize()), True
    return own_email(setup, index), False


def plan_patient(setup: Setup, index: int) -> PatientPlan:
    rng = rng_for(setup.seed, PATIENT_STREAM, index)
    source = p.name_source(setup.seed, index) if p.SAME_NAME_DOB(index) else index
    email, copied = _email(setup, index)
    unmapped = p.UNMAPPED_SEXES[(index // p.UNMAPPED_SEX.step) % len(p.UNMAPPED_SEXES)]
    sex = unmapped if p.UNMAPPED_SEX(index) else MAPPED_SEXES[rng.randrange(len(MAPPED_SEXES))]
    dst, odd_invoice = p.DST_VISIT(index), p.UNMAPPED_INVOICE(index)
    long_note = p.long_note(index, setup.patients)
    archived_flag = p.ARCHIVED(index)
    seasoned = archived_flag or dst or odd_invoice or long_note
    latest = setup.now - (SEASONED_DAYS if seasoned else 14) * DAY
    created = setup.start + DAY + rng.randrange(latest - setup.start - DAY)
    archived = None
    if archived_flag:  # long enough after registration for a DST change to fall in between
        earliest = created + 400 * DAY
        archived = earliest + rng.randrange(setup.now - 7 * DAY - earliest)
    window = Window(created, archived or setup.now + 56 * DAY, _home(setup, rng, created))
    # Planted visit problems need visits, so they win over NO_APPOINTMENT.
    without = p.NO_APPOINTMENT(index) and not (dst or odd_invoice or long_note)
    count = 0 if without else VISIT_COUNTS[rng.randrange(len(VISIT_COUNTS))]
    visits = plan_visits(setup, rng, window, count, dst=dst, first_treated=odd_invoice or long_note,
                         long_note=long_note) if count else []
    cases = _cases(setup, rng, visits)
    odd_status = p.UNMAPPED_INVOICE_STATUSES[(index // p.UNMAPPED_INVOICE.step) % 3] if odd_invoice else None
    sale = plan_sale(setup, rng, visits, odd_status) if visits else None
    return PatientPlan(
        index=index, script=script_of(source), identity=identity_of(setup, source), email=email,
        email_copied=copied, sex=sex, long_address=p.LONG_ADDRESS(index), created=created,
        archived=archived, home=window.home, visits=visits, cases=cases, sales=[sale] if sale else [],
        files=_files(setup, rng, created, archived, p.oversized(index, setup.patients)), rng=rng)


def _home(setup: Setup, rng: random.Random, created: int) -> int:
    roll = rng.randrange(sum(site.weight for site in SITES))
    for b, site in enumerate(SITES):
        roll -= site.weight
        if roll < 0:
            closes = setup.site_closes[b]
            return SYDNEY if closes is not None and closes < created + 60 * DAY else b
    raise AssertionError("weights exhausted")


CASE_NAMES = (("EPC - Chronic disease management", "medicare"), ("Team Care Arrangement", "medicare"),
              ("DVA referral", None), ("WorkCover claim", None), ("CTP - motor vehicle accident", None),
              ("NDIS plan", None))


def _cases(setup: Setup, rng: random.Random, visits: list[Visit]) -> list[Case]:
    """About 0.3 cases per patient; later visits inside a case's dates mostly belong to it."""
    if not visits:
        return []
    roll = rng.random()
    cases: list[Case] = []
    for _ in range(2 if roll < 0.05 else 1 if roll < 0.3 else 0):
        opened = visits[rng.randrange(len(visits))].booked
        name, referral = CASE_NAMES[rng.randrange(len(CASE_NAMES))]
        cases.append(Case(name, referral, opened, opened + 365 * DAY, 5 if referral else None))
    for visit in visits:
        for c, case in enumerate(cases):
            if case.issued <= visit.start < case.expires and rng.random() < 0.8:
                visit.case = c
                break
    return cases


def _files(setup: Setup, rng: random.Random, created: int, archived: int | None, big: bool) -> list[File]:
    latest = archived or setup.now
    roll = rng.random()
    files = []
    for _ in range(2 if roll < 0.04 else 1 if roll < 0.26 else 0):
        kind = ("pdf", "pdf", "txt", "jpg")[rng.randrange(4)]
        size = {"pdf": rng.randrange(20_000, 900_000), "txt": rng.randrange(300, 8_000),
                "jpg": rng.randrange(40_000, 2_500_000)}[kind]
        files.append(File(kind, size, created + rng.randrange(latest - created)))
    if big:
        files.append(File("pdf", p.OVERSIZED_BYTES, created + rng.randrange(latest - created)))
    return files
