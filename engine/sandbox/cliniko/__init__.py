"""A faithful local emulator of the Cliniko REST API (v1), for the sandbox.

The real connector (httpx) and any other Cliniko client run against it
unchanged: HTTPS, Basic auth with API keys and shards, the User-Agent rule,
the list envelope and paging links, `q[]` filters and `sort`, link-object
relations, 200 requests/minute per user with 429 + X-RateLimit-Reset, and the
few writes the migration demo needs.

    api.py        routes and the request pipeline      store.py    SQLite + attachment files
    auth.py       keys, shards, headers                filters.py  the q[] language
    ratelimit.py  rolling per-user window              listing.py  paging, sort, envelope
    render.py     storage form → API JSON              writes.py   patient bodies, 422s
    errors.py     Cliniko's error answers              schema.py   what the catalog says per resource
    factory.py    start_cliniko_sandbox                clock.py    injectable time
"""

from engine.sandbox.cliniko.api import ClinikoApp
from engine.sandbox.cliniko.clock import ManualClock
from engine.sandbox.cliniko.factory import (
    DEFAULT_API_KEY,
    URL_TEMPLATE,
    api_base_url,
    default_api_keys,
    start_cliniko_sandbox,
)
from engine.sandbox.cliniko.store import ClinikoStore, LoadableRecord

__all__ = [
    "DEFAULT_API_KEY",
    "URL_TEMPLATE",
    "ClinikoApp",
    "ClinikoStore",
    "LoadableRecord",
    "ManualClock",
    "api_base_url",
    "default_api_keys",
    "start_cliniko_sandbox",
]
