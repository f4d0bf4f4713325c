"""The org's people: the API user, other Users (some inactive), their profiles, and the org itself.

The first seed is the API user: an active System Administrator whom every
token authenticates as (unless a token names another user), the default
OwnerId and the CreatedById of everything the API writes. The others exist so
a loader can match practitioners to Users by e-mail (ref §7): standard users,
one inactive user (owning a record with it fails INACTIVE_OWNER_OR_USER), and
two users sharing an address (Email is not unique; Username is).

Seeds are applied every time the org opens: a seed whose Username exists is
brought up to date (e-mail, names, active flag), a new one is added, and
users the seeds no longer name are left alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.sandbox.salesforce.ids import make_id

if TYPE_CHECKING:
    from engine.sandbox.salesforce.org import Org

SYSTEM_ADMINISTRATOR = "System Administrator"
STANDARD_USER = "Standard User"
PROFILES = (SYSTEM_ADMINISTRATOR, STANDARD_USER)


@dataclass(frozen=True)
class UserSeed:
    username: str
    email: str
    first_name: str
    last_name: str
    active: bool = True
    user_type: str = "Standard"
    profile: str = STANDARD_USER


DEFAULT_USERS: tuple[UserSeed, ...] = (
    UserSeed("admin@flitstack.sandbox", "admin@flitstack.example", "Sandbox", "Admin",
             profile=SYSTEM_ADMINISTRATOR),
    UserSeed("practice.manager@flitstack.sandbox", "manager@clinic.example", "Pat", "Manager"),
    UserSeed("front.desk@flitstack.sandbox", "reception@clinic.example", "Robin", "Desk"),
    UserSeed("shared.one@flitstack.sandbox", "shared@clinic.example", "Sam", "Shared"),
    UserSeed("shared.two@flitstack.sandbox", "shared@clinic.example", "Sasha", "Shared"),
    UserSeed("former.staff@flitstack.sandbox", "former@clinic.example", "Fran", "Former", active=False),
)


def user_fields(seed: UserSeed, profile_id: str) -> dict[str, Any]:
    """A User record's fields (system fields aside) for `seed`."""
    alias = (seed.first_name[:1] + seed.last_name)[:8].lower() or "user"
    return {
        "Username": seed.username, "Email": seed.email, "FirstName": seed.first_name,
        "LastName": seed.last_name,
        "Name": f"{seed.first_name} {seed.last_name}".strip(), "Alias": alias,
        "CommunityNickname": seed.username.split("@", 1)[0][:40], "IsActive": seed.active,
        "UserType": seed.user_type, "ProfileId": profile_id, "TimeZoneSidKey": "Australia/Sydney",
        "LocaleSidKey": "en_AU", "EmailEncodingKey": "UTF-8", "LanguageLocaleKey": "en_US",
    }


def seed(org: Org, org_name: str, seeds: Sequence[UserSeed]) -> dict[str, str]:
    """The Organization record, the profiles and the seeded Users; returns username → id, API user first.

    On a new org the ids are fixed by creation order: the Organization is `make_id("00D", 1)`
    (= `org.org_id`) and the API user `make_id("005", 1)`.
    """
    if not seeds or not seeds[0].active:
        raise ValueError("the first user seed is the API user and must be active")
    api_user = make_id("005", 1)  # who creates the seeded records: the API user, before it exists
    with org.transaction():
        if org.get(org.org_id) is None:
            created = org.system_insert("Organization", {
                "Name": org_name, "InstanceName": "FS1", "IsSandbox": True,
                "OrganizationType": "Developer Edition"}, as_user=api_user)
            assert created == org.org_id, "the Organization record must be the org's first"
        profiles: dict[str, str] = {}
        for name in PROFILES:
            found = org.find_by("Profile", "Name", name)
            profiles[name] = found[0] if found else \
                org.system_insert("Profile", {"Name": name}, as_user=api_user)
        ids: dict[str, str] = {}
        for user in seeds:
            values = user_fields(user, profiles.get(user.profile, profiles[STANDARD_USER]))
            existing = org.find_by("User", "Username", user.username)
            if existing:
                org.system_update(existing[0], values)
                ids[user.username] = existing[0]
            else:
                ids[user.username] = org.system_insert("User", values, as_user=api_user)
        return ids
