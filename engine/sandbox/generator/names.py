"""Invented people: pools of names in Latin and other scripts, with emoji, and an injective
mapping from patient index to (first name, last name, date of birth).

Duplicate patients are planted, so chance must never add more: each script's pool spans a
space of first x last x birth day and patient i takes the point (a*i + b) mod M of it, with
a coprime to M. Distinct indices get distinct points, hence distinct identities.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from enum import Enum

from .ids import NAME_STREAM, mix

LATIN_FIRST = (
    "Olivia", "Liam", "Charlotte", "Noah", "Amelia", "Jack", "Isla", "William", "Mia", "Oliver",
    "Ava", "Leo", "Grace", "Lucas", "Zoë", "Chloé", "Mateo", "Siobhán", "Björn", "Aroha", "Tāne",
    "Ngaio", "José", "François", "Priya", "Aarav", "Mei", "Kenji", "Fatima", "Omar", "Anh",
    "Thi Hoa", "Oluwaseun", "Saoirse", "Zoltán", "Łukasz", "Ingrid", "Rahul", "Tamsin", "Declan",
    "Matilda", "Hamish", "Yasmin", "Ezra", "Bronwyn", "Kiri", "Dmitri", "Ana-Lucía", "Søren",
    "Harriet", "Wiremu", "Imogen", "Rafael", "Agnieszka", "Theo", "Lachlan", "Esperanza", "Niamh",
    "Kwame", "Ruby",
)
LATIN_LAST = (
    "Nguyen", "Smith", "Williams", "Brown", "Wilson", "Taylor", "O'Brien", "McAllister",
    "Okonkwo-Baird", "van der Berg", "Da Silva", "Papadopoulos", "Kowalski", "Ngata", "Te Whare",
    "Singh", "Patel", "Kim", "Wang", "Müller", "Jiménez", "Ó Súilleabháin", "Al-Hashimi", "Bianchi",
    "Achterberg", "Lindqvist", "Haddad", "Solberg", "Fitzgerald", "Tran", "Mahmoud", "Herewini",
    "Castellanos", "Dubois", "Nakamura", "Oyelaran", "Rasmussen", "Walker", "Chowdhury", "Ferreira",
    "Kaur", "MacGregor", "Novak", "Petrović", "Quispe", "Rossi", "Sørensen", "Thompson", "Ueda",
    "Varga", "Whitehorse", "Yilmaz", "Zielińska", "Abernethy", "Blackwood", "Crowhurst", "Delacroix",
    "Eastwood", "Featherstone", "Goldberg",
)
NON_LATIN_FIRST = (
    "美玲", "伟", "さくら", "翔太", "Дмитрий", "Анна", "Γιώργος", "Ελένη", "محمد", "فاطمة",
    "יונתן", "प्रिया", "민준", "สมชาย", "Արամ", "ნინო", "서연", "Ольга",
)
NON_LATIN_LAST = (
    "王", "李", "佐藤", "鈴木", "Иванова", "Παπαδόπουλος", "الهاشمي", "כהן", "शर्मा", "김", "ศรีสุข",
    "Петров", "陳", "박",
)
EMOJI_FIRST = (
    "🌈 Rainbow", "Sunny ☀️", "Jess 💖", "👩‍⚕️ Sam", "Kai 🏄‍♂️", "🦘", "Bea 🐝", "Leo 🦁",
)

# Staff and third parties: plain Latin pools, never checked for duplicates.
STAFF_FIRST = (
    "Ava", "Ben", "Clara", "Dev", "Elif", "Finn", "Georgia", "Hiro", "Isabel", "Jonah", "Keri",
    "Luca", "Maya", "Nikhil", "Orla", "Pita", "Quinn", "Rosa", "Sam", "Tui",
)
STAFF_LAST = (
    "Lindqvist", "Achterberg", "Moreau", "Ranganathan", "O'Connell", "Whaanga", "Kowalczyk",
    "Fairweather", "Ishikawa", "Mbeki", "Halvorsen", "Delgado", "Brightwater", "Castellano",
)


class Script(Enum):
    LATIN = "latin"
    NON_LATIN = "non_latin"
    EMOJI = "emoji"


_POOLS: dict[Script, tuple[tuple[str, ...], tuple[str, ...]]] = {
    Script.LATIN: (LATIN_FIRST, LATIN_LAST),
    Script.NON_LATIN: (NON_LATIN_FIRST, NON_LATIN_LAST),
    Script.EMOJI: (EMOJI_FIRST, LATIN_LAST),
}


@dataclass(frozen=True, slots=True)
class Identity:
    first_name: str
    last_name: str
    date_of_birth: str


class IdentityMaker:
    """identity(i, script): distinct for distinct i within a script (see the module doc)."""

    def __init__(self, seed: int, born_from: date, born_until: date) -> None:
        self._born_from = born_from
        self._days = (born_until - born_from).days + 1
        self._walks: dict[Script, tuple[int, int, int]] = {}
        for number, script in enumerate(Script):
            first, last = _POOLS[script]
            space = len(first) * len(last) * self._days
            step = mix(seed, NAME_STREAM, number) % space | 1
            while math.gcd(step, space) != 1:
                step += 2
            self._walks[script] = (space, step, mix(seed, NAME_STREAM, number, 1) % space)

    def capacity(self) -> int:
        """Patients a script can hold before names would have to repeat."""
        return min(space for space, _, _ in self._walks.values())

    def identity(self, index: int, script: Script) -> Identity:
        space, step, offset = self._walks[script]
        point = (step * index + offset) % space
        firsts, lasts = _POOLS[script]
        point, first = divmod(point, len(firsts))
        day, last = divmod(point, len(lasts))
        born = self._born_from + timedelta(days=day)
        return Identity(firsts[first], lasts[last], born.isoformat())


def slug(text: str) -> str:
    """ASCII letters of a name for an e-mail user part: accents folded, the rest dropped."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return "".join(c for c in folded if "a" <= c <= "z")
