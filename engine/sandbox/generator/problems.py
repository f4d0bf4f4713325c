"""The planted-problem plan: which patients, contacts and visits carry which data problem.

Problems sit at fixed strides of the index (`Every(33, 5)`: patients 5, 38, 71...), so the
count for any size is exact and every problem shows up by 50 patients; random data is drawn
from pools that cannot produce them (see names.py for duplicates). Definitions, as counted
by the manifest:

- patients_without_email: email null or "".
- duplicate_patients_name_dob: patients whose first_name, last_name and date_of_birth equal
  those of an earlier patient (exact strings).
- duplicate_patients_email: patients whose non-empty email equals an earlier patient's,
  ignoring case.
- patients_without_appointment: no individual appointment at all.
- patients_without_business: equal to the previous by construction: a patient reaches a
  business only through appointments (such patients get no invoices either).
- unmapped_sex_values: `sex` neither null/empty nor a key (any case) of the Salesforce
  spec's `gender` map.
- unmapped_invoice_status / unmapped_contact_type: invoice status / contact type not in the
  `invoice_status` / `contact_type` maps.
- oversized_attachments: size > 25 MiB (26,214,400 bytes); exactly one per clinic.
- long_treatment_notes: a note whose strings, concatenated, exceed 100,000 characters.
- non_latin_names / emoji_names: patients whose first or last name has a letter outside
  the Latin script / an emoji.
- dst_appointments: starts_at within 24 h of a UTC-offset change of the business's zone.
- archived_<resource>: archived_at set (practitioners: active false).
- overlong_fields: patient values longer than the Salesforce pair spec allows: last_name
  over 80, the mailing street (address_1..3 joined by newlines) over 255.
"""

from __future__ import annotations

from dataclasses import dataclass

from .ids import mix


@dataclass(frozen=True, slots=True)
class Every:
    """Indices i with i % step == offset."""

    step: int
    offset: int

    def __call__(self, index: int) -> bool:
        return index % self.step == self.offset

    def count(self, size: int) -> int:
        return 0 if size <= self.offset else (size - 1 - self.offset) // self.step + 1


# Patients
NO_EMAIL = Every(33, 5)
SAME_NAME_DOB = Every(50, 49)  # copies one of the 49 patients before it
SAME_EMAIL = Every(67, 40)  # copies one of the 31 patients before it
NO_APPOINTMENT = Every(25, 13)
UNMAPPED_SEX = Every(47, 11)
NON_LATIN = Every(17, 3)
EMOJI = Every(41, 7)  # NON_LATIN wins where both hit
ARCHIVED = Every(53, 17)
LONG_LAST_NAME = Every(97, 29)
LONG_ADDRESS = Every(89, 37)
DST_VISIT = Every(20, 6)
UNMAPPED_INVOICE = Every(40, 9)
LONG_NOTE = Every(5000, 1)
OVERSIZED_PATIENT = 2  # the one patient with a file over 25 MiB (or the last, in tiny clinics)
# Contacts
UNMAPPED_CONTACT = Every(12, 4)
ARCHIVED_CONTACT = Every(9, 2)

# Values no pair-spec value map knows (the gender map's fallback word "Other" is not a key).
UNMAPPED_SEXES = ("Agender", "Two-Spirit", "X", "Other", "Genderfluid", "Unspecified")
UNMAPPED_INVOICE_STATUSES = (50, 70, 25)
UNMAPPED_CONTACT_TYPES = (("Case Manager", 3), ("Employer", 4), ("Lawyer", 5))

LONG_NOTE_CHARS = 100_000
OVERSIZED_BYTES = 26_500_000
ATTACHMENT_LIMIT = 25 * 1024 * 1024
LAST_NAME_LIMIT = 80
STREET_LIMIT = 255

PROBLEM_KEYS = (
    "patients_without_email", "duplicate_patients_name_dob", "duplicate_patients_email",
    "patients_without_appointment", "patients_without_business", "unmapped_sex_values",
    "unmapped_invoice_status", "unmapped_contact_type", "oversized_attachments",
    "long_treatment_notes", "non_latin_names", "emoji_names", "dst_appointments",
    "archived_patients", "archived_businesses", "archived_appointment_types",
    "archived_practitioners", "archived_contacts", "archived_products", "overlong_fields",
)


def long_note(index: int, patients: int) -> bool:
    return index % LONG_NOTE.step == (LONG_NOTE.offset if patients > 1 else 0)


def oversized(index: int, patients: int) -> bool:
    return index == min(OVERSIZED_PATIENT, patients - 1)


def name_source(seed: int, index: int) -> int:
    """The earlier patient a SAME_NAME_DOB patient copies (never itself a copy)."""
    return index - 1 - mix(seed, index, 0xD0) % (SAME_NAME_DOB.step - 1)


def email_source(seed: int, index: int) -> int:
    """The earlier patient whose e-mail a SAME_EMAIL patient shares (one that has an e-mail)."""
    source = index - 1 - mix(seed, index, 0xE0) % 30
    return source - 1 if NO_EMAIL(source) else source
