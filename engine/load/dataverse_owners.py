"""Record owners in Dataverse: practitioners matched to systemusers by e-mail (ref/dataverse.md §6).

A practitioner resolves to exactly one *enabled* systemuser whose `internalemailaddress`
is theirs (compared without case); anything else — no e-mail, no user, only disabled
users, several — is unresolved with its reason. The fallback owner named by the spec
is found by e-mail or by `domainname` (the sign-in name) and must be exactly one enabled
user, or the load stops: records must not go to an owner nobody chose.

No record is written without an owner the migration chose (design §1, issue 6): when
the spec names no fallback, the fallback is the user the loader signs in as (WhoAmI),
given explicitly, so an unresolved practitioner's records are owned by the migration's
application user, never by whatever the platform would default to.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.load.dataverse_client import DataverseClient, key_literal
from engine.load.dataverse_upsert import chunks, in_filter
from engine.load.target import LoadStopped, OwnerMatch

EMAILS_PER_QUERY = 100
_USER_COLUMNS = ["systemuserid", "internalemailaddress", "domainname", "isdisabled"]


def match_owners(client: DataverseClient, people: Mapping[str, str | None],
                 fallback: str | None) -> tuple[list[OwnerMatch], str]:
    """Each practitioner's user (or the reason there is none), and the owner of the rest."""
    emails = sorted({e.strip() for e in people.values() if e and e.strip()})
    by_email: dict[str, list[dict[str, Any]]] = {}
    for chunk in chunks(sorted({*emails, *(e.lower() for e in emails)}), EMAILS_PER_QUERY):
        for user in client.query("systemusers", select=_USER_COLUMNS,
                                 filter=in_filter("internalemailaddress", chunk)):
            by_email.setdefault(str(user.get("internalemailaddress") or "").lower(), []).append(user)
    matches = []
    for source_id, email in people.items():
        if not email or not email.strip():
            matches.append(OwnerMatch(source_id, email, None, "the practitioner has no e-mail"))
            continue
        candidates = {u["systemuserid"]: u for u in by_email.get(email.strip().lower(), [])}.values()
        enabled = [u for u in candidates if not u.get("isdisabled")]
        if len(enabled) == 1:
            matches.append(OwnerMatch(source_id, email, str(enabled[0]["systemuserid"]), None))
        elif not candidates:
            matches.append(OwnerMatch(source_id, email, None, "no Dataverse user has this e-mail"))
        elif not enabled:
            matches.append(OwnerMatch(source_id, email, None,
                                      "the Dataverse user with this e-mail is disabled"))
        else:
            matches.append(OwnerMatch(source_id, email, None,
                                      f"{len(enabled)} enabled Dataverse users share this e-mail"))
    return matches, fallback_user(client, fallback) if fallback else client.whoami()


def fallback_user(client: DataverseClient, wanted: str) -> str:
    """The spec's fallback owner, by e-mail or sign-in name: exactly one enabled user, else LoadStopped."""
    text = key_literal(wanted.strip())
    found = {str(u["systemuserid"]): u for u in client.query(
        "systemusers", select=_USER_COLUMNS,
        filter=f"internalemailaddress eq {text} or domainname eq {text}")}
    enabled = [u for u in found.values() if not u.get("isdisabled")]
    if len(enabled) != 1:
        state = f"{len(found)} users found, {len(enabled)} enabled" if found else \
            "no user has this e-mail or sign-in name"
        raise LoadStopped(f"the spec's fallback owner {wanted!r} is not one enabled Dataverse user "
                          f"({state}); name another in owners.fallback")
    return str(enabled[0]["systemuserid"])
