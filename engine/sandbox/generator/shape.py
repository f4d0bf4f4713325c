"""The storage form of each resource: the catalog's fields minus what the API renders itself.

Link objects (`patient`, `invoices`, `links`...) are the emulator's job and `content_url` is
the connector's, so a stored record holds every other catalog field, null when unset, in
catalog order. Records are built by copying a blank template and filling the set fields.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import yaml

from engine.paths import SOURCES_DIR

CONNECTOR_ONLY = {("patient_attachments", "content_url")}


def _is_link(spec: dict[str, Any]) -> bool:
    description = str(spec.get("description", ""))
    return spec.get("type") == "object" and description.startswith(("link", "self link"))


@cache
def storage_fields() -> dict[str, tuple[str, ...]]:
    """resource -> the fields a stored record has, in catalog order."""
    text = (SOURCES_DIR / "cliniko" / "catalog.yaml").read_text(encoding="utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    objects: dict[str, Any] = yaml.load(text, Loader=loader)["objects"]
    return {
        resource: tuple(
            name for name, spec in body["fields"].items()
            if not _is_link(spec) and (resource, name) not in CONNECTOR_ONLY
        )
        for resource, body in objects.items()
    }


@cache
def blank(resource: str) -> dict[str, Any]:
    """A record of `resource` with every stored field null (copy it, never mutate it)."""
    return dict.fromkeys(storage_fields()[resource])


def build(resource: str, values: dict[str, Any]) -> dict[str, Any]:
    record = blank(resource).copy()
    record.update(values)
    return record


def money(cents: int) -> str:
    """Cliniko's decimal strings: 5000 -> "50.0", 4550 -> "45.5", 8182 -> "81.82"."""
    whole, frac = divmod(cents, 100)
    if frac == 0:
        return f"{whole}.0"
    if frac % 10 == 0:
        return f"{whole}.{frac // 10}"
    return f"{whole}.{frac:02d}"
