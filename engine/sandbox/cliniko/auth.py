"""Who is calling: HTTP Basic API keys, shards, and the headers Cliniko insists on.

- Keys: the username of HTTP Basic is the API key, the password is ignored
  (Cliniko asks for none). A key ending in `-<shard>` (`-au1`, `-uk2`)
  belongs to that shard, a key without one to `au1`; both the full key and
  the key without its suffix are accepted. A key used on another shard's URL
  is rejected with 401, as the real shard would not know it.
- `User-Agent` must read `Name (contact@email)`; Cliniko says requests without
  a name and valid contact e-mail "may be blocked" and has answered `Requires
  a user agent`. The emulator blocks them always, with 400, so a client that
  forgets the header fails here first (the real status is unconfirmed).
- `Accept`: JSON routes answer 406 unless the header allows
  `application/json` (absent, `*/*` and `application/*` do).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass

from engine.sandbox.cliniko.errors import not_acceptable, unauthorized, user_agent_required

DEFAULT_SHARD = "au1"
SHARD_PATTERN = re.compile(r"^[a-z]{2}\d{1,2}$", re.IGNORECASE)
_USER_AGENT = re.compile(r"^\s*[^\s(][^(]*\(\s*[^\s()@]+@[^\s()@]+\.[^\s()@]+\s*\)")


def key_shard(key: str) -> tuple[str, str]:
    """(key without its shard suffix, shard): `abc-uk1` → (`abc`, `uk1`), `abc` → (`abc`, `au1`)."""
    head, dash, tail = key.rpartition("-")
    if dash and head and SHARD_PATTERN.match(tail):
        return head, tail.lower()
    return key, DEFAULT_SHARD


@dataclass(frozen=True)
class Principal:
    key: str  # the key as configured
    user_id: str | None  # the user owning the key; None = the account's first user
    shard: str


class KeyRing:
    """The API keys the emulated account knows, each mapped to its user."""

    def __init__(self, keys: Mapping[str, str | None]) -> None:
        self._keys: dict[str, Principal] = {}
        for key, user in keys.items():
            bare, shard = key_shard(key)
            principal = Principal(key, None if user is None else str(user), shard)
            self._keys[key] = principal
            self._keys.setdefault(bare, principal)

    def authenticate(self, authorization: str | None, shard: str) -> Principal:
        """The caller of a request on `shard`, or the 401 answer."""
        scheme, _, encoded = (authorization or "").strip().partition(" ")
        if scheme.lower() != "basic":
            raise unauthorized()
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise unauthorized() from None
        username = decoded.partition(":")[0]
        principal = self._keys.get(username)
        if principal is None or principal.shard != shard:
            raise unauthorized()
        return principal


def check_user_agent(user_agent: str | None) -> None:
    if not user_agent or not _USER_AGENT.match(user_agent):
        raise user_agent_required()


def accepts_json(accept: str | None) -> bool:
    if not accept or not accept.strip():
        return True
    for part in accept.split(","):
        media, *parameters = part.split(";")
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0 and media.strip().lower() in ("application/json", "application/*", "*/*", "*"):
            return True
    return False


def check_accept(accept: str | None) -> None:
    if not accepts_json(accept):
        raise not_acceptable()
