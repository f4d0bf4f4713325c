"""Record owners: practitioners matched to Salesforce Users by e-mail (ref §7).

E-mail is not unique on User (Username is), so a practitioner resolves only to
exactly one *active standard* User with that address. Anything else — no
e-mail, no User, only inactive or non-standard Users, several candidates — is
listed as unresolved with its reason, and gets the fallback owner from
configuration when there is one (an inactive owner would fail the record with
INACTIVE_OWNER_OR_USER).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from simple_salesforce.api import Salesforce

from engine.load.salesforce_calls import SalesforceCalls

EMAILS_PER_QUERY = 100


@dataclass(frozen=True)
class UnresolvedOwner:
    source_id: str
    email: str | None
    reason: str


@dataclass
class OwnerResolution:
    owners: dict[str, str] = field(default_factory=dict)  # practitioner source id → User Id
    unresolved: list[UnresolvedOwner] = field(default_factory=list)


def _soql_text(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _calls(sf: Salesforce | SalesforceCalls) -> SalesforceCalls:
    return sf if isinstance(sf, SalesforceCalls) else SalesforceCalls(sf)


def find_users(sf: Salesforce | SalesforceCalls, emails: Sequence[str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    unique = sorted({e.strip().lower() for e in emails if e and e.strip()})
    for start in range(0, len(unique), EMAILS_PER_QUERY):
        chunk = unique[start:start + EMAILS_PER_QUERY]
        soql = ("SELECT Id, Email, IsActive, UserType FROM User WHERE Email IN ("
                + ", ".join(_soql_text(e) for e in chunk) + ")")
        found.extend(_calls(sf).query_all(soql))
    return found


def resolve_owners(sf: Salesforce | SalesforceCalls, practitioners: Mapping[str, str | None], *,
                   fallback_owner: str | None = None) -> OwnerResolution:
    """`practitioners`: source id → e-mail. Unresolved ones get `fallback_owner` when given."""
    users = find_users(sf, [e for e in practitioners.values() if e])
    by_email: dict[str, list[dict[str, Any]]] = {}
    for user in users:
        by_email.setdefault(str(user.get("Email") or "").lower(), []).append(user)
    result = OwnerResolution()
    for source_id, email in practitioners.items():
        reason: str | None = None
        if not email or not email.strip():
            reason = "the practitioner has no e-mail"
        else:
            candidates = by_email.get(email.strip().lower(), [])
            usable = [u for u in candidates if u.get("IsActive") and u.get("UserType") == "Standard"]
            if len(usable) == 1:
                result.owners[source_id] = str(usable[0]["Id"])
                continue
            if not candidates:
                reason = "no Salesforce user has this e-mail"
            elif not usable:
                reason = "the Salesforce user with this e-mail is inactive or not a standard user"
            else:
                reason = f"{len(usable)} active Salesforce users share this e-mail"
        result.unresolved.append(UnresolvedOwner(source_id, email, reason))
        if fallback_owner:
            result.owners[source_id] = fallback_owner
    return result
