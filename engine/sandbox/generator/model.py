"""What the generator hands out: storage-form records and the manifest of what it planted."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class GeneratedRecord:
    """One Cliniko record in storage form (plain `<relation>_id` fields, no link objects).

    `content` is set on patient_attachments only: each call starts a fresh stream of the
    file body in chunks of at most 1 MiB, so a 25 MB file never sits in memory whole.
    """

    resource: str
    record: dict[str, Any]
    content: Callable[[], Iterator[bytes]] | None = None


@dataclass
class Manifest:
    """Exact counts: records per resource (archived included) and planted problems."""

    counts: dict[str, int]
    problems: dict[str, int]

    def to_json(self) -> str:
        return json.dumps({"counts": self.counts, "problems": self.problems}, indent=2)
