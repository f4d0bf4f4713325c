"""Benchmark: the compiled `patient` object of the Salesforce pair spec versus the same
mapping written by hand in Python.

Both sides get the same completed Cliniko records and the same prebuilt join indexes.
Before anything is timed their outputs are compared on every record, so the ratio can
never be a comparison of two different mappings. The last line is `ratio: X`
(interpreter records/s ÷ hand-written records/s): what the spec language costs over
code an engineer would write for this one migration.

    .venv/bin/python bench/transform.py [--records N] [--seed S] [--rounds R]
"""

from __future__ import annotations

import argparse
import gc
import itertools
import math
import platform
import random
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from enum import Enum
from pathlib import Path
from typing import Any

from engine.compile.coerce import CoercionError, datetime_coercer, to_date, to_email
from engine.compile.compiler import CompiledSpec, compile_spec
from engine.compile.joins import JoinIndex
from engine.extract.normalise import complete_record
from engine.records import Filtered, Outcome, Quarantined, Ref, TargetRecord
from engine.spec.loader import load_spec

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "specs" / "cliniko-to-salesforce.yaml"
OBJECT = "patient"
API = "https://api.au1.cliniko.com/v1"
EPOCH = datetime(2014, 1, 1, tzinfo=UTC)
AEST = timezone(timedelta(hours=10))

# ------------------------------------------------------------------ synthetic Cliniko data
# Pools are weighted by repetition; rare values model the mess real practice data has
# (unmapped sexes, bad dates and e-mails, overlong text) so every rule branch runs.

FIRST_NAMES = [
    "Olivia", "Liam", "Charlotte", "Noah", "Amelia", "Jack", "Isla", "William", "Mia", "Oliver",
    "Ava", "Leo", "Grace", "Lucas", "Zoë", "Chloé", "Mateo", "Siobhán", "Björn", "Aroha", "Tāne",
    "Ngaio", "José", "François", "Priya", "Aarav", "Mei", "Kenji", "Fatima", "Omar", "Anh",
    "Thi Hoa", "Oluwaseun", "Saoirse", "Zoltán", "Łukasz",
]
NON_LATIN_FIRST = ["美玲", "伟", "さくら", "翔太", "Дмитрий", "Анна", "Γιώργος", "Ελένη", "محمد",
                   "فاطمة", "יונתן", "प्रिया", "민준", "สมชาย", "Արամ", "ნინო"]
EMOJI_FIRST = ["🌈 Rainbow", "Sunny ☀️", "Jess 💖", "👩‍⚕️ Sam", "Kai 🏄‍♂️", "🦘"]
LAST_NAMES = [
    "Nguyen", "Smith", "Williams", "Brown", "Wilson", "Taylor", "O'Brien", "McAllister",
    "Okonkwo-Baird", "van der Berg", "Da Silva", "Papadopoulos", "Kowalski", "Ngata", "Te Whare",
    "Singh", "Patel", "Kim", "Wang", "Müller", "Jiménez", "Ó Súilleabháin", "Al-Hashimi", "Bianchi",
]
NON_LATIN_LAST = ["王", "李", "佐藤", "鈴木", "Иванова", "Παπαδόπουλος", "الهاشمي", "כהן", "शर्मा",
                  "김", "ศรีสุข"]
EMOJI_LAST = ["Smith 🙂", "🌟", "Nguyễn 🌸"]
TITLES = [None] * 12 + ["Mr", "Mrs", "Ms", "Miss", "Dr", "dr.", "MX", "Prof.", "Mr.", "Ms.", "Rev",
                        "Sir", "Capt", ""]
SEXES = ["Male", "Female"] * 8 + ["male", "female", "M", "F", "f", "Non-binary", "nonbinary",
                                  "Intersex", "Prefer not to say", "Unknown", "Not stated", "",
                                  "Agender", "Two-Spirit", "X", "Woman"] + [None] * 6
GENDERS = ["Male", "Female", "f", "m", "Other", None]
IDENTITIES = [None] * 20 + ["Woman", "Man", "Non-binary", "Trans woman", "Genderqueer", ""]
DOMAINS = ["gmail.com", "outlook.com", "bigpond.com", "Example.ORG", "yahoo.com.au", "iCloud.com",
           "xtra.co.nz", "internode.on.net"]
BAD_EMAILS = ["none", "n/a", "{u} at gmail.com", "{u}@gmail", "{u}@@gmail.com", "{u}@gmail.com.",
              "refused"]
BAD_DATES = ["1984-02-30", "31/12/1980", "unknown", "1990-13-01"]
PHONE_TYPES = ["Mobile"] * 6 + ["Home"] * 3 + ["Work", "Work", "Fax", "Other", "Pager"]
STREETS = ["Banksia Crescent", "George Street", "Wattle Avenue", "Queen St", "Ocean Parade",
           "Rua Kōwhai", "Harbour View Rd"]
PLACES = [("Port Wattle", "NSW", "2999"), ("Fitzroy", "VIC", "3065"), ("West End", "QLD", "4101"),
          ("Fremantle", "WA", "6160"), ("Ponsonby", "Auckland", "1011"), ("Hobart", "TAS", "7000")]
COUNTRIES = [(None, "AU")] * 8 + [(None, "NZ"), ("Australia", None), ("Australia", "AU"), ("", "GB"),
                                  (None, None), ("New Zealand", "")]
OCCUPATIONS = [None] * 6 + ["Nurse", "Teacher", "Retired", "Software engineer", "Marine biologist",
                            "Electrician", "Student", ""]
NOTES = [None] * 5 + ["Prefers morning appointments.", "Hard of hearing; speak clearly.",
                      "Interpreter needed (Mandarin).", "Pays cash.\nNo SMS after 8pm.", ""]
REFERRALS = [None] * 6 + ["Google", "Walked past the clinic", "Friend: Maria S.", "Instagram 📸"]
REMINDERS = ["SMS & Email", "SMS", "Email", "None", "sms", "SMS & EMAIL", "Push", None, None, ""]
FUNDS = [*["Bupa", "Medibank", "HCF", "nib", "Bluegum Health", "ahm", "", None, "Teachers Health"] * 4,
         "Australian Unity Health Limited, Extras Top Cover incl. physio, chiro and remedial massage"]
CONCESSIONS = ["Pensioner", "Student", "Health Care Card", "Child (under 16)", "DVA",
               "Seniors Card with the extended after-hours and weekend surcharge waiver (legacy plan)"]
CASE_NAMES = [("EPC - Chronic disease management", "medicare"), ("EPC 2024", "medicare"),
              ("Team Care Arrangement", "medicare"), ("DVA Gold Card", None), ("WorkCover claim", None),
              ("CTP - motor vehicle accident", None), ("NDIS plan", None), (None, None)]
BUSINESS_IDS = ["1001", "1002", "1003", "1004", "1005"] * 6 + [None, ""]
APPOINTMENTS_PER_PATIENT = [0, 0, 1, 1, 2, 3, 4, 6, 10]
CASES_PER_PATIENT = [0] * 6 + [1, 1, 2, 3]
HUGE_NOTE = "Long clinical history pasted from the old system. " * 700  # > 32,000: truncated


def patient_id(number: int) -> str:
    return str(1_000_000 + number)


def concession_id(number: int) -> str:
    return str(71 + number)


def instant(rng: random.Random, start: datetime = EPOCH, span_days: int = 3650) -> datetime:
    return start + timedelta(seconds=rng.randrange(span_days * 86_400))


def link(path: str) -> dict[str, Any]:
    """A Cliniko relation as the API gives it: only a link (the connector adds `<relation>_id`)."""
    return {"links": {"self": f"{API}/{path}"}}


def zulu(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class PatientFaker:
    """Cliniko `patients` as the API returns them (before the connector completes them)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def patient(self, number: int) -> dict[str, Any]:
        rng = self.rng
        pid = patient_id(number)
        first, last = self._names()
        record: dict[str, Any] = {
            "id": pid, "links": {"self": f"{API}/patients/{pid}"}, "title": rng.choice(TITLES),
            "first_name": first, "last_name": last, "label": f"{first} {last or ''}".strip(),
            "preferred_first_name": first.split(" ")[0] if rng.random() < 0.1 else None,
            "date_of_birth": self._birth_date(), "email": self._email(first, last, number),
            "patient_phone_numbers": self._phones(), "custom_fields": self._custom_fields(),
            "sex": rng.choice(SEXES), "gender_identity": rng.choice(IDENTITIES),
            "occupation": rng.choice(OCCUPATIONS), "notes": self._notes(),
            "emergency_contact": rng.choice([None, None, "Sam (partner) 0412 000 111"]),
            "referral_source": rng.choice(REFERRALS), "reminder_type": rng.choice(REMINDERS),
            "old_reference_id": rng.choice([None, f"PX-{number}"]),
            "accepted_email_marketing": rng.choice([True, False, None]),
            "accepted_sms_marketing": rng.choice([True, False, None]),
            **self._address(), **self._insurance(), **self._relations(), **self._lifecycle(),
        }
        if record["sex"] is None and rng.random() < 0.5:  # older records: the deprecated gender
            record["gender"] = rng.choice(GENDERS)
        # The API leaves some optional keys out; the connector's completion brings them back as null.
        return {key: value for key, value in record.items() if value is not None or rng.random() < 0.5}

    def _names(self) -> tuple[str, str | None]:
        rng, roll = self.rng, self.rng.random()
        if roll < 0.08:
            first, last = rng.choice(NON_LATIN_FIRST), rng.choice(NON_LATIN_LAST)
        elif roll < 0.10:
            first, last = rng.choice(EMOJI_FIRST), rng.choice(EMOJI_LAST + LAST_NAMES)
        else:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        roll = rng.random()
        last_name: str | None = last
        if roll < 0.003:
            last_name = rng.choice([None, ""])  # required: quarantined
        elif roll < 0.005:
            last_name = "-".join(rng.sample(LAST_NAMES, 9))  # usually over 80: rejected
        elif roll < 0.01:
            first = " ".join(rng.sample(FIRST_NAMES, 6))  # often over 40: truncated
        return first, last_name

    def _birth_date(self) -> str | None:
        roll = self.rng.random()
        if roll < 0.05:
            return None
        if roll < 0.053:
            return self.rng.choice(BAD_DATES)  # quarantined
        return (date(1925, 1, 1) + timedelta(days=self.rng.randrange(36_500))).isoformat()

    def _email(self, first: str, last: str | None, number: int) -> str | None:
        rng, roll = self.rng, self.rng.random()
        user = ascii_slug(f"{first}.{last or ''}") or f"patient{number}"
        if roll < 0.15:
            return None
        if roll < 0.16:
            return rng.choice(BAD_EMAILS).format(u=user)  # quarantined
        if roll < 0.165:
            return f"{first}@例え.jp"  # non-ASCII addresses are valid to the coercion
        if roll < 0.1652:
            return f"{user}.{'x' * 80}@gmail.com"  # over Contact.Email's 80: rejected
        spaced = " " if roll > 0.98 else ""
        return f"{spaced}{user}{rng.randrange(100)}@{rng.choice(DOMAINS)}{spaced}"

    def _phones(self) -> list[dict[str, Any]] | None:
        rng = self.rng
        if rng.random() < 0.05:
            return None
        kinds = [rng.choice(PHONE_TYPES) for _ in range(rng.choice([0, 1, 1, 2, 2, 3]))]
        return [{"phone_type": kind, "number": self._number(kind)} for kind in kinds]

    def _number(self, kind: str) -> str | None:
        rng, roll = self.rng, self.rng.random()
        if roll < 0.03:
            return rng.choice([None, ""])  # the next number of that type is used
        mobile = f"{rng.randrange(10, 100)} {rng.randrange(100, 1000)} {rng.randrange(100, 1000)}"
        if kind in ("Mobile", "Pager"):
            if roll < 0.04:
                return f"04{mobile} (ask for Mum, weekdays after 5pm)"  # over 40: truncated
            return rng.choice([f"04{mobile}", f"+61 4{mobile}", f"+64 2{mobile}"])
        line = f"{rng.randrange(100, 1000)} {rng.randrange(1000, 10000)}"
        return rng.choice([f"(0{rng.choice('2378')}) 9{line}", f"+64 9 {line}"])

    def _address(self) -> dict[str, Any]:
        rng = self.rng
        city, state, post_code = rng.choice(PLACES)
        country, country_code = rng.choice(COUNTRIES)
        has_address = rng.random() < 0.85
        return {
            "address_1": f"{rng.randrange(1, 400)} {rng.choice(STREETS)}" if has_address else None,
            "address_2": rng.choice([None, "", "", f"Unit {rng.randrange(1, 40)}"]),
            "address_3": rng.choice([None] * 8 + ["Flat 3", "c/o Mrs Kaur"]),
            "city": city if has_address else rng.choice([None, ""]), "state": state,
            "post_code": post_code, "country": country, "country_code": country_code,
        }

    def _notes(self) -> str | None:
        return HUGE_NOTE if self.rng.random() < 0.0002 else self.rng.choice(NOTES)

    def _insurance(self) -> dict[str, Any]:
        rng, roll = self.rng, self.rng.random()
        medicare = f"{rng.randrange(2, 7)}{rng.randrange(10**8, 10**9)}" if roll < 0.6 else None
        reference = str(rng.randrange(1, 6)) if medicare else None
        if roll < 0.001:
            reference = "123456"  # over the target's 5 characters: rejected
        dva = f"NX{rng.randrange(10**5, 10**6)}" if roll > 0.95 else None
        if roll > 0.9995:
            dva = "QX123456 (Gold card, renewed 2023)"  # over 20: rejected
        return {"medicare": medicare, "medicare_reference_number": reference, "dva_card_number": dva}

    def _custom_fields(self) -> dict[str, Any] | None:
        rng = self.rng
        if rng.random() < 0.4:
            return None
        fund: dict[str, Any] = {"name": "Health fund", "token": "f1", "type": "single_line_text"}
        value = rng.choice(FUNDS)
        if value is not None:
            fund["value"] = value
        member = {"name": "Member number", "token": "f2", "type": "single_line_text",
                  "value": str(rng.randrange(10**7))}
        heard = {"name": "How did you hear about us?", "token": "f3", "type": "radiobuttons",
                 "options": [{"name": "Google", "selected": rng.random() < 0.5}]}
        insurance = {"name": "Insurance", "token": "s1", "fields": [member, fund]}
        sections = [{"name": "Intake", "token": "s2", "fields": [heard]}, {"name": "Legacy", "token": "s3"}]
        if rng.random() < 0.8:
            sections.insert(rng.randrange(3), insurance)
        return {"sections": sections}

    def _relations(self) -> dict[str, Any]:
        rng = self.rng
        concession = concession_id(rng.randrange(len(CONCESSIONS) + 1)) if rng.random() < 0.2 else None
        doctor = str(rng.randrange(500, 900)) if rng.random() < 0.15 else None
        return {
            "concession_type_id": concession, "referring_doctor_id": doctor,
            "concession_type": link(f"concession_types/{concession}") if concession else None,
            "referring_doctor": link(f"contacts/{doctor}") if doctor else None,
        }

    def _lifecycle(self) -> dict[str, Any]:
        rng = self.rng
        created = instant(rng)
        later = instant(rng, created, 900)
        stamps: dict[str, Any] = {"created_at": zulu(created), "updated_at": zulu(later)}
        roll = rng.random()
        if roll < 0.03:
            stamps["updated_at"] = later.astimezone(AEST).isoformat()  # an offset, not Z
        elif roll < 0.031:
            stamps["created_at"] = "2021-02-30T10:00:00Z"  # quarantined
        roll = rng.random()
        if roll < 0.03:
            stamps["archived_at"] = zulu(later)
        elif roll < 0.038:
            stamps["deleted_at"] = zulu(later)  # filtered
        elif roll < 0.045:  # a merged-away duplicate: archived and filtered
            stamps.update(archived_at=zulu(later), merged_at=zulu(later),
                          merged_with_patient_id=patient_id(rng.randrange(1000)))
        return stamps


def ascii_slug(name: str) -> str:
    """An e-mail user part from a name: accents folded, anything else dropped."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return "".join(c for c in folded if c.isalnum() or c == ".").strip(".")


def appointments(rng: random.Random, patients: int) -> Iterator[dict[str, Any]]:
    """Bookings in no particular order (the join must find the latest); some for other patients."""
    ids = itertools.count(5_000_000)
    for number in range(patients + patients // 100):
        pid = patient_id(number)
        for _ in range(rng.choice(APPOINTMENTS_PER_PATIENT)):
            starts = None if rng.random() < 0.02 else zulu(instant(rng))
            yield {"id": str(next(ids)), "patient_id": pid, "business_id": rng.choice(BUSINESS_IDS),
                   "starts_at": starts, "patient": link(f"patients/{pid}")}


def patient_cases(rng: random.Random, patients: int) -> Iterator[dict[str, Any]]:
    ids = itertools.count(8_000_000)
    for number in range(patients):
        for _ in range(rng.choice(CASES_PER_PATIENT)):
            name, referral_type = rng.choice(CASE_NAMES)
            expiry: str | None = (date(2022, 1, 1) + timedelta(days=rng.randrange(1200))).isoformat()
            if referral_type is None or rng.random() < 0.1:
                expiry = rng.choice([None, expiry])
            elif rng.random() < 0.005:
                expiry = "31/12/2024"  # sorts above ISO dates, so it wins max(): quarantined
            yield {"id": str(next(ids)), "patient_id": patient_id(number), "name": name,
                   "referral_type": referral_type, "expiry_date": expiry,
                   "closed": rng.choice([False, False, True, None]), "referral": referral_type is not None}


def concession_types() -> Iterator[dict[str, Any]]:
    for number, name in enumerate(CONCESSIONS):
        yield {"id": concession_id(number), "name": name, "created_at": "2019-05-06T07:08:09Z"}


def completed(compiled: CompiledSpec, resource: str,
              records: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Records as the connector delivers them: every field of the source catalog present."""
    source = compiled.loaded.source
    assert source is not None, "the pair spec names the cliniko source catalog"
    fields = list(source.objects[resource].fields)
    return (complete_record(record, fields) for record in records)


def build_indexes(compiled: CompiledSpec, patients: int,
                  seed: int) -> tuple[dict[str, JoinIndex], Counter[str]]:
    """The patient object's join indexes, filled once (outside any timing) from streamed records."""
    streams: dict[str, Iterable[dict[str, Any]]] = {
        "individual_appointments": appointments(random.Random(f"{seed}:appointments"), patients),
        "patient_cases": patient_cases(random.Random(f"{seed}:cases"), patients),
        "concession_types": concession_types(),
    }
    sizes: Counter[str] = Counter()

    def counted(resource: str) -> Iterator[dict[str, Any]]:
        for record in completed(compiled, resource, streams[resource]):
            sizes[resource] += 1
            yield record

    indexes = compiled.join_indexes(OBJECT)
    for index in indexes.values():
        index.add_all(counted(index.join.resource))
    return indexes, sizes


def make_patients(compiled: CompiledSpec, count: int, seed: int) -> list[dict[str, Any]]:
    faker = PatientFaker(random.Random(f"{seed}:patients"))
    return list(completed(compiled, "patients", (faker.patient(n) for n in range(count))))


# ------------------------------------------------------------------ the hand-written mapping
# The spec's value maps as dictionaries, keys casefolded (all three have ignore_case). Their
# values are shorter than any target length, so mapped fields need no length check.

GENDER = {"male": "Male", "m": "Male", "man": "Male", "female": "Female", "f": "Female",
          "woman": "Female", "intersex": "Intersex", "non-binary": "Non-binary",
          "nonbinary": "Non-binary", "prefer not to say": None, "not stated": None, "unknown": None}
SALUTATION = {"mr": "Mr.", "mr.": "Mr.", "mrs": "Mrs.", "mrs.": "Mrs.", "ms": "Ms.", "ms.": "Ms.",
              "miss": "Miss", "mx": "Mx.", "mx.": "Mx.", "dr": "Dr.", "dr.": "Dr.", "prof": "Prof.",
              "prof.": "Prof."}
REMINDER = {"sms & email": "SMS & Email", "sms": "SMS", "email": "Email", "none": "No Reminders"}
to_utc = datetime_coercer(None)


class Skip(Enum):
    """The where clause dropped the record: counted as filtered, not an error."""

    FILTERED = "filtered"


@dataclass(frozen=True, slots=True)
class Rejected:
    """The record goes to quarantine; `fields` are the target fields that failed, in spec order."""

    fields: tuple[str, ...]


HandResult = dict[str, Any] | Rejected | Skip


# Source text fields are str or null (catalog types), so `if value` is "neither null nor empty":
# the spec language treats empty text as no value before any modifier runs.

def clip(value: str | None, limit: int) -> str | None:
    """max_length with on_overflow: truncate."""
    return value[:limit] if value else None


def fit(value: str | None, limit: int, field: str, problems: list[str], required: bool = False) -> str | None:
    """A length that rejects (on_overflow: reject, or the target field's own length)."""
    if not value:
        if required:
            problems.append(field)
        return None
    if len(value) > limit:
        problems.append(field)
        return None
    return value


def convert(value: Any, coerce: Callable[[Any], str], field: str, problems: list[str]) -> str | None:
    """A `type:` coercion; a value it refuses quarantines the record."""
    if not value:
        return None
    try:
        return coerce(value)
    except CoercionError:
        problems.append(field)
        return None


def translate(value: str | None, table: Mapping[str, str | None], fallback: str | None) -> str | None:
    """An ignore_case value map with an unmapped fallback."""
    return table.get(value.casefold(), fallback) if value else None


def first_numbers(phones: list[dict[str, Any]] | None) -> dict[Any, str]:
    """First non-null number per phone type: `patient_phone_numbers[?phone_type == T].number | [0]`."""
    first: dict[Any, str] = {}
    for phone in phones or ():
        number = phone.get("number")
        if number is not None:
            first.setdefault(phone.get("phone_type"), number)
    return first


def custom_field(custom_fields: dict[str, Any] | None, name: str) -> Any:
    """First non-null value of the custom field `name` in any section."""
    for section in (custom_fields or {}).get("sections") or ():
        for field in section.get("fields") or ():
            if field.get("name") == name and field.get("value") is not None:
                return field["value"]
    return None


def street(record: dict[str, Any]) -> str | None:
    lines = [line for line in (record["address_1"], record["address_2"], record["address_3"]) if line]
    return clip("\n".join(lines), 255)


def insurers(cases: list[dict[str, Any]]) -> str | None:
    """Names of the open cases, '; '-joined (JMESPath projections drop null names)."""
    names = [c["name"] for c in cases if c["closed"] is not True and c["name"] is not None]
    return clip("; ".join(names), 255)


def epc_expiry(cases: list[dict[str, Any]], problems: list[str]) -> str | None:
    expiries = [c["expiry_date"] for c in cases if c["referral_type"] == "medicare" and c["expiry_date"]]
    return convert(max(expiries) if expiries else None, to_date, "EPC_Expiry__c", problems)


def make_hand_written(indexes: dict[str, JoinIndex]) -> Callable[[dict[str, Any]], HandResult]:
    """The patient → Contact mapping as an engineer would code it for this one migration."""
    latest_appointment = indexes["last_appointment"].lookup
    concession_of = indexes["concession"].lookup
    cases_of = indexes["cases"].lookup

    def hand_written(r: dict[str, Any]) -> HandResult:
        if r["deleted_at"] is not None or r["merged_at"] is not None:
            return Skip.FILTERED
        if not r["id"]:
            return Rejected(("Cliniko_Id__c",))
        problems: list[str] = []
        phones = first_numbers(r["patient_phone_numbers"])
        appointment, concession, cases = latest_appointment(r), concession_of(r), cases_of(r)
        business = (appointment["business_id"] if appointment else None) or "unassigned"
        doctor = r["referring_doctor_id"]
        values = {  # in the spec's field order, so problems come out in the same order
            "Salutation": translate(r["title"], SALUTATION, None),
            "FirstName": clip(r["first_name"], 40),
            "LastName": fit(r["last_name"], 80, "LastName", problems, required=True),
            "Preferred_Name__c": clip(r["preferred_first_name"], 40),
            "Birthdate": convert(r["date_of_birth"], to_date, "Birthdate", problems),
            "Email": fit(convert(r["email"], to_email, "Email", problems), 80, "Email", problems),
            "MobilePhone": clip(phones.get("Mobile"), 40),
            "HomePhone": clip(phones.get("Home"), 40),
            "Phone": clip(phones.get("Work"), 40),
            "Fax": clip(phones.get("Fax"), 40),
            "OtherPhone": clip(phones.get("Other"), 40),
            "MailingStreet": street(r),
            "MailingCity": clip(r["city"], 40),
            "MailingState": clip(r["state"], 80),
            "MailingPostalCode": clip(r["post_code"], 20),
            "MailingCountry": clip(r["country"] or r["country_code"], 80),
            "Title": clip(r["occupation"], 128),
            "Description": clip(r["notes"], 32000),
            "Gender__c": translate(r["sex"] or r["gender"], GENDER, "Other"),
            "Gender_Identity__c": clip(r["gender_identity"], 80),
            "AccountId": Ref("business", business, business),
            "Referring_Doctor__c": Ref("referral_contact", doctor, "contact-" + doctor) if doctor else None,
            "Medicare_Number__c": fit(r["medicare"], 20, "Medicare_Number__c", problems),
            "Medicare_Reference__c": fit(r["medicare_reference_number"], 5, "Medicare_Reference__c",
                                         problems),
            "DVA_Number__c": fit(r["dva_card_number"], 20, "DVA_Number__c", problems),
            "Health_Fund__c": clip(custom_field(r["custom_fields"], "Health fund"), 80),
            "Insurance_Provider__c": insurers(cases),
            "EPC_Expiry__c": epc_expiry(cases, problems),
            "Concession_Type__c": clip(concession["name"] if concession else None, 80),
            "Reminder_Preference__c": translate(r["reminder_type"], REMINDER, None),
            "Referral_Source__c": clip(r["referral_source"], 255),
            "Emergency_Contact__c": clip(r["emergency_contact"], 255),
            "Legacy_Reference__c": clip(r["old_reference_id"], 80),
            "Email_Marketing_Opt_In__c": r["accepted_email_marketing"] is True,
            "SMS_Marketing_Opt_In__c": r["accepted_sms_marketing"] is True,
            "Archived__c": r["archived_at"] is not None,
            "Source_Created__c": convert(r["created_at"], to_utc, "Source_Created__c", problems),
            "Source_Updated__c": convert(r["updated_at"], to_utc, "Source_Updated__c", problems),
        }
        return Rejected(tuple(problems)) if problems else values

    return hand_written


# ------------------------------------------------------------------ equality guard

Summary = tuple[str, str, Any]  # (outcome, source id, values or failed fields)


def from_interpreter(outcomes: list[Outcome]) -> list[Summary]:
    summaries: list[Summary] = []
    for outcome in outcomes:
        if isinstance(outcome, TargetRecord):
            key_ok = outcome.key == outcome.source_id  # patient keys carry no prefix
            summaries.append(("loaded" if key_ok else f"loaded, key {outcome.key!r}",
                              outcome.source_id, outcome.values))
        elif isinstance(outcome, Quarantined):
            summaries.append(("quarantined", outcome.source_id, tuple(p.field for p in outcome.problems)))
        elif isinstance(outcome, Filtered):
            summaries.append(("filtered", outcome.source_id, None))
    return summaries


def from_hand(record: dict[str, Any], result: HandResult) -> list[Summary]:
    if isinstance(result, Skip):
        return [("filtered", record["id"], None)]
    if isinstance(result, Rejected):
        return [("quarantined", record["id"], result.fields)]
    return [("loaded", record["id"], result)]


def same(a: Any, b: Any) -> bool:
    """Equal and of the same type (True is not 1, "1" is not 1)."""
    return type(a) is type(b) and bool(a == b)


def brief(summaries: list[Summary]) -> str:
    """An outcome without its values: 'loaded', 'filtered', 'quarantined (Email, LastName)'."""
    return "; ".join(kind + (f" ({', '.join(detail)})" if kind == "quarantined" else "")
                     for kind, _, detail in summaries) or "no outcome"


def differences(record_id: str, engine: list[Summary], hand: list[Summary]) -> list[str]:
    """How the two sides differ on one record, field by field when both load it (empty: they agree)."""
    both_loaded = (len(engine) == len(hand) == 1 and engine[0][0] == hand[0][0] == "loaded"
                   and engine[0][1] == hand[0][1])
    if not both_loaded:
        return [] if engine == hand else [
            f"{record_id}: interpreter {brief(engine)}, hand-written {brief(hand)}"]
    got, want = engine[0][2], hand[0][2]
    fields = dict.fromkeys([*got, *want])  # every field either side wrote, in spec order
    return [f"{record_id} {field}: interpreter {got.get(field, '(absent)')!r}, "
            f"hand-written {want.get(field, '(absent)')!r}"
            for field in fields if field not in got or field not in want or not same(got[field], want[field])]


def check_equal(records: list[dict[str, Any]], interpreter: Callable[[dict[str, Any]], list[Outcome]],
                hand_written: Callable[[dict[str, Any]], HandResult]) -> tuple[Counter[str], Counter[str]]:
    """Both mappings on every record; exit 1 at any difference.

    Returns the outcome counts and, for quarantined records, the count of each failing field.
    """
    found: list[str] = []
    wrong = 0
    outcomes: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    for record in records:
        engine = from_interpreter(interpreter(record))
        diff = differences(record["id"], engine, from_hand(record, hand_written(record)))
        wrong += bool(diff)
        found.extend(diff[: 10 - len(found)])
        for kind, _, detail in engine:
            outcomes[kind] += 1
            if kind == "quarantined":
                failed.update(detail)
    if wrong:
        print(f"MISMATCH: {wrong} of {len(records)} records differ; first differences:", *found, sep="\n  ")
        sys.exit(1)
    return outcomes, failed


# ------------------------------------------------------------------ timing

def timed_pass(run: Callable[[dict[str, Any]], object], records: list[dict[str, Any]]) -> float:
    gc.collect()  # no garbage left over from the other side's pass
    start = time.perf_counter()
    for record in records:
        run(record)
    return time.perf_counter() - start


def best_times(runs: dict[str, Callable[[dict[str, Any]], object]], records: list[dict[str, Any]],
               rounds: int) -> dict[str, float]:
    """Alternating order each round (caches and CPU boost favour neither side); best round kept."""
    best = dict.fromkeys(runs, math.inf)
    for round_number in range(rounds):
        order = list(runs) if round_number % 2 == 0 else list(reversed(runs))
        seconds = {name: timed_pass(runs[name], records) for name in order}
        print(f"round {round_number + 1}: " + ", ".join(f"{name} {seconds[name]:.3f} s" for name in runs))
        for name, taken in seconds.items():
            best[name] = min(best[name], taken)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=100_000, help="patients to generate")
    parser.add_argument("--seed", type=int, default=20240501)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    compiled = compile_spec(load_spec(SPEC))
    patient = compiled.objects[OBJECT]
    indexes, sizes = build_indexes(compiled, args.records, args.seed)
    records = make_patients(compiled, args.records, args.seed)
    interpreter = patient.bind(indexes)
    hand_written = make_hand_written(indexes)

    print(f"python: {platform.python_implementation()} {platform.python_version()}")
    print(f"records: {len(records)} patients; joined: "
          + ", ".join(f"{count} {resource}" for resource, count in sizes.items()))
    outcomes, failed = check_equal(records, interpreter, hand_written)
    print("outcomes (identical on both sides): "
          + ", ".join(f"{outcomes[kind]} {kind}" for kind in ("loaded", "quarantined", "filtered")))
    print("quarantined for: " + ", ".join(f"{field} {n}" for field, n in sorted(failed.items())))

    best = best_times({"interpreter": interpreter, "hand-written": hand_written}, records, args.rounds)
    rates = {name: len(records) / seconds for name, seconds in best.items()}
    for name, rate in rates.items():
        print(f"{name}: {rate:,.0f} records/s (best of {args.rounds} rounds)")
    print(f"ratio: {rates['interpreter'] / rates['hand-written']:.2f}")


if __name__ == "__main__":
    main()
