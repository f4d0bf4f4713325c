"""Salesforce record ids: 15 case-sensitive characters plus a 3-character case-safe suffix.

An id is `<key prefix (3)><pod (2)><reserved (1)><counter (9, base 62)>`, 15
characters that differ only by case for different records. The 18-character
form appends one character per 5-character chunk: bit i of the chunk's value is
set when character i is an upper-case A-Z, and the 5-bit value indexes
`ABCDEFGHIJKLMNOPQRSTUVWXYZ012345`. That is the platform's own algorithm, so
ids made here pass every client-side check (jsforce, simple-salesforce users'
`to18` helpers), and a real 18-character id with a wrong suffix is refused as
malformed, as the platform refuses it.

Custom objects get key prefixes `a00`, `a01`, ... `a0z`, `a10`, ... in order,
skipping any already taken, as a new org allocates them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_SHAPE = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")
POD = "8d"  # the "instance" characters every sandbox id carries
RESERVED = "0"
COUNTER_WIDTH = 9


def case_suffix(id15: str) -> str:
    """The 3 characters that make a 15-character id case-safe."""
    suffix = []
    for start in (0, 5, 10):
        bits = 0
        for offset, char in enumerate(id15[start:start + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << offset
        suffix.append(_SUFFIX_ALPHABET[bits])
    return "".join(suffix)


def to18(value: str) -> str | None:
    """The 18-character form of a 15- or 18-character id, or None when `value` is not a well-formed id.

    An 18-character id whose suffix does not match its first 15 characters is malformed; the
    suffix is compared case-insensitively, as the platform does.
    """
    if not isinstance(value, str) or not _SHAPE.match(value):
        return None
    head = value[:15]
    suffix = case_suffix(head)
    if len(value) == 18 and value[15:].upper() != suffix:
        return None
    return head + suffix


def is_id(value: object) -> bool:
    return isinstance(value, str) and to18(value) is not None


def base62(number: int, width: int) -> str:
    if number < 0:
        raise ValueError("ids count from zero")
    digits = []
    while number:
        number, remainder = divmod(number, 62)
        digits.append(BASE62[remainder])
    text = "".join(reversed(digits)) or "0"
    if len(text) > width:
        raise ValueError(f"counter {number} does not fit in {width} base-62 characters")
    return text.rjust(width, "0")


def make_id(prefix: str, counter: int) -> str:
    """The 18-character id of the `counter`-th record with key prefix `prefix`."""
    if len(prefix) != 3:
        raise ValueError(f"a key prefix has 3 characters, not {prefix!r}")
    head = f"{prefix}{POD}{RESERVED}{base62(counter, COUNTER_WIDTH)}"
    return head + case_suffix(head)


def next_custom_prefix(taken: Iterable[str]) -> str:
    """The first free custom-object key prefix (`a00`, `a01`, ...) not in `taken`."""
    used = set(taken)
    for second in BASE62:
        for third in BASE62:
            prefix = f"a{second}{third}"
            if prefix not in used:
                return prefix
    raise ValueError("no custom-object key prefix left")
