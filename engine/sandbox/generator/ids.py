"""Deterministic randomness and Cliniko-like ids.

Every stream of random draws is seeded from (seed, stream, index) through splitmix64, so a
patient's data depends only on the seed and its own index: the manifest pass and the record
pass draw exactly the same values without keeping anything between them.
"""

from __future__ import annotations

import random

_MASK = (1 << 64) - 1

# Streams of draws; distinct so that, say, contact 3 and patient 3 never share draws.
PATIENT_STREAM = 1
CONTACT_STREAM = 2
STAFF_STREAM = 3
CATALOGUE_STREAM = 4
NAME_STREAM = 5

# Ids are 19 digits: a fixed lead, a two-digit slot per resource, then the sequence number
# times _SEQ plus scrambled low digits. Unique per resource and rising with the sequence (as
# Cliniko's time-ordered ids do) by construction, and never past int64.
_ID_BASE = 1_000_000_000_000_000_000
_SLOT = 10**16
_SEQ = 10**8
_SCRAMBLE = 48_271  # odd, not a multiple of 5: seq -> seq * _SCRAMBLE mod _SEQ is a bijection
_SLOTS = {
    "taxes": 11, "concession_types": 12, "billable_items": 13, "products": 14,
    "appointment_types": 15, "businesses": 16, "users": 17, "practitioners": 18,
    "practitioner_reference_numbers": 19, "contacts": 20, "patients": 21, "patient_cases": 22,
    "individual_appointments": 23, "treatment_notes": 24, "invoices": 25, "invoice_items": 26,
    "patient_attachments": 27,
}
RESOURCES = tuple(_SLOTS)


def _splitmix(value: int) -> int:
    value = (value + 0x9E3779B97F4A7C15) & _MASK
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK
    return value ^ (value >> 31)


def mix(*parts: int) -> int:
    """A 64-bit hash of small integers (order matters)."""
    value = 0x243F6A8885A308D3
    for part in parts:
        value = _splitmix(value ^ (part & _MASK))
    return value


class Draws(random.Random):
    """random.Random with a cheap randrange: the stdlib's checks cost more than the draw, and
    a clinic of 20,000 patients makes millions of them. (Bias is below 2**-20 for our ranges.)"""

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:
        if step != 1:
            return super().randrange(start, stop, step)
        low, width = (0, start) if stop is None else (start, stop - start)
        if width <= 0:
            raise ValueError(f"empty range for randrange({start}, {stop})")
        return low + int(self.random() * width)


def rng_for(*parts: int) -> Draws:
    return Draws(mix(*parts))


class IdMaker:
    """`ids("patients", 7)` -> the 19-digit id of the eighth patient of this seed."""

    def __init__(self, seed: int) -> None:
        self._salt = mix(seed, 0x1D) % _SEQ
        self._base = {resource: _ID_BASE + slot * _SLOT for resource, slot in _SLOTS.items()}

    def __call__(self, resource: str, sequence: int) -> str:
        if sequence >= _SLOT // _SEQ:
            raise ValueError(f"sequence {sequence} out of range for {resource} ids")
        low = (sequence * _SCRAMBLE + self._salt) % _SEQ
        return str(self._base[resource] + sequence * _SEQ + low)


class Sequences:
    """Running id sequences of the per-patient resources, in stream order."""

    def __init__(self, ids: IdMaker) -> None:
        self._ids = ids
        self._next = dict.fromkeys(RESOURCES, 0)

    def take(self, resource: str) -> str:
        sequence = self._next[resource]
        self._next[resource] = sequence + 1
        return self._ids(resource, sequence)

    def taken(self, resource: str) -> int:
        return self._next[resource]
