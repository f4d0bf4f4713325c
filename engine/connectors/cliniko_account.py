"""Where a Cliniko account lives and how we must introduce ourselves to it.

- Shard: newer API keys end in `-<shard>` (`…-au2`); the tail after the last `-` is
  the shard when it looks like one (`^[a-z]{2}\\d{1,2}$`, any case), else `au1`.
- Base URL: `https://api.{shard}.cliniko.com/v1`, or a given template that may contain
  `{shard}` (the sandbox serves `https://127.0.0.1:PORT/shards/{shard}/v1`). HTTPS only,
  except on a loopback host, since Basic auth sends the key with every request.
- User-Agent: Cliniko asks for `Vendor name (contact@email)` and may block anything else.
"""

from __future__ import annotations

import re

import httpx

from engine.connectors.errors import SourceConfigError

KEY_ENV = "CLINIKO_API_KEY"
DEFAULT_SHARD = "au1"
KNOWN_SHARDS = ("au1", "au2", "au3", "au4", "ca1", "uk1", "uk2", "eu1", "us1")
DEFAULT_BASE_URL = "https://api.{shard}.cliniko.com/v1"

_SHARD = re.compile(r"^[a-z]{2}\d{1,2}$", re.IGNORECASE)
_USER_AGENT = re.compile(r"^\s*(?P<name>\S.*?)\s*\(\s*(?P<email>[^\s()@]+@[^\s()@]+\.[^\s()@]+)\s*\)\s*$")
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def shard_from_key(api_key: str) -> str:
    """The shard an API key belongs to (lower case); `au1` for keys without a suffix."""
    if "-" in api_key:
        tail = api_key.rsplit("-", 1)[1]
        if _SHARD.match(tail):
            return tail.lower()
    return DEFAULT_SHARD


def api_base_url(shard: str, template: str | None = None) -> str:
    """The API root for `shard` (no trailing slash), from the default or a `{shard}` template."""
    url = (template or DEFAULT_BASE_URL).replace("{shard}", shard).rstrip("/")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise SourceConfigError(f"base URL {url!r} is not a URL: {exc}") from None
    if parsed.scheme not in ("https", "http") or not parsed.host:
        raise SourceConfigError(f"base URL {url!r} must be an absolute https:// URL, "
                                "e.g. https://api.{shard}.cliniko.com/v1")
    if parsed.scheme == "http" and parsed.host not in _LOOPBACK:
        raise SourceConfigError(f"base URL {url!r} is plain http: the API key would travel unencrypted; "
                                "use https://")
    if parsed.query or parsed.fragment:
        raise SourceConfigError(f"base URL {url!r} must not carry a query or fragment")
    return url


def check_user_agent(user_agent: str) -> str:
    """`user_agent` if it has the form Cliniko requires, else SourceConfigError saying how to fix it."""
    if not _USER_AGENT.match(user_agent or ""):
        raise SourceConfigError(
            f"User-Agent {user_agent!r} lacks a contact e-mail: Cliniko requires "
            "'Vendor name (contact@email)', e.g. 'Acme Migrations (devs@acme.example)', and may block "
            "requests without one")
    return user_agent.strip()
