"""The Cliniko API as a source: paged, filtered, rate-limited, retried reads, and attachment downloads.

Every HTTP request (list pages and downloads alike) waits for the account's shared
RateLimiter, then runs under the RetryPolicy (engine.connectors.retry). `read()`
follows `links.next` until it is absent and yields each record once (a set of ids
is kept per read; pages can shift while the clinic keeps working). When the last
page's `total_entries` says more records match than were read — a record slid
across a page boundary — the list is read again, yielding only unseen ids, up to
`max_passes` times.

The API key is held in a Secret: it is sent only as Basic auth to the API's own
origin and never appears in reprs, logs or error messages.
"""

from __future__ import annotations

import json
import logging
import random
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from engine.connectors import attachments
from engine.connectors.cliniko_account import (
    KEY_ENV,
    api_base_url,
    check_user_agent,
    shard_from_key,
)
from engine.connectors.errors import (
    SourceAuthError,
    SourceConfigError,
    SourceProtocolError,
    SourceRequestError,
)
from engine.connectors.listing import DEFAULT_SORT, follow, list_params, parse_page
from engine.connectors.normalise import link_url, normalise_record
from engine.connectors.parallel import read_concurrently
from engine.connectors.ratelimit import RateLimiter
from engine.connectors.retry import RateLimited, Retrier, RetryPolicy, TransientFailure
from engine.connectors.secret import Secret
from engine.spec.catalog import Catalog, load_catalog

log = logging.getLogger(__name__)

RATE_WINDOW = 61.0  # one second of slack over Cliniko's minute absorbs network jitter


class ClinikoConnector:
    """Reads one Cliniko account through its REST API (v1)."""

    system = "cliniko"

    def __init__(self, api_key: str, *, user_agent: str, base_url: str | None = None,
                 requests_per_minute: int = 200, limiter: RateLimiter | None = None,
                 transport: httpx.BaseTransport | None = None, verify: str | bool | ssl.SSLContext = True,
                 timeout: float = 30.0, retry: RetryPolicy | None = None, sort: str = DEFAULT_SORT,
                 max_passes: int = 3, key_env: str = KEY_ENV, catalog: Catalog | None = None,
                 wall: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep,
                 rng: random.Random | None = None) -> None:
        self._key = Secret(api_key.strip() if api_key else "")
        self.key_env = key_env
        if not self._key:
            raise SourceConfigError(f"no Cliniko API key: set the {key_env} environment variable")
        self.user_agent = check_user_agent(user_agent)
        self.shard = shard_from_key(self._key.reveal())
        self.base_url = api_base_url(self.shard, base_url)
        self._root = httpx.URL(self.base_url)
        self.sort = sort
        self.max_passes = max_passes
        self._catalog = catalog
        self.limiter = limiter or RateLimiter(requests_per_minute, RATE_WINDOW, wall=wall, sleep=sleep)
        self._count_lock = threading.Lock()
        self._requests = 0
        self._retrier = Retrier(retry or RetryPolicy(), self.limiter, source=self.describe(), wall=wall,
                                sleep=sleep, rng=rng, on_request=self._counted)
        self._client = httpx.Client(
            auth=(self._key.reveal(), ""),
            headers={"Accept": "application/json", "User-Agent": self.user_agent},
            timeout=timeout, transport=transport, verify=_tls(verify), follow_redirects=False)

    # -- bookkeeping ---------------------------------------------------------------------------

    def _counted(self) -> None:
        with self._count_lock:
            self._requests += 1

    @property
    def requests_made(self) -> int:
        """HTTP requests sent so far, retries included (compare with ceil(records / 100))."""
        return self._requests

    def describe(self) -> str:
        return f"Cliniko API at {self.base_url}, shard {self.shard}"

    def __repr__(self) -> str:
        return f"ClinikoConnector(base_url={self.base_url!r}, shard={self.shard!r}, api_key='***')"

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ClinikoConnector:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- reading -------------------------------------------------------------------------------

    def fields(self, resource: str) -> list[str]:
        """The catalogued fields of `resource`; SourceConfigError for a resource not in the catalog."""
        catalog = self._catalog or load_catalog("source", self.system)
        obj = catalog.objects.get(resource)
        if obj is None:
            raise SourceConfigError(f"unknown Cliniko resource {resource!r}; the catalog has: "
                                    f"{', '.join(sorted(catalog.objects))}")
        return list(obj.fields)

    def _id_fields(self, resource: str) -> set[str]:
        catalog = self._catalog or load_catalog("source", self.system)
        return {f.name for f in catalog.objects[resource].fields.values() if f.type == "id"}

    def read(self, resource: str, *, since: datetime | None = None,
             include_archived: bool = True) -> Iterator[dict[str, Any]]:
        fields = self.fields(resource)
        id_fields = self._id_fields(resource)
        params = list_params(fields, since=since, include_archived=include_archived, sort=self.sort)
        array_key = resource.rstrip("/").rsplit("/", 1)[-1]
        seen: set[str] = set()
        for attempt in range(1, self.max_passes + 1):
            total: int | None = None
            url: str | None = str(httpx.URL(f"{self.base_url}/{resource}", params=params))
            visited: set[str] = set()
            while url is not None:
                page_url = url
                payload = self._get_json(page_url)
                page = parse_page(payload, array_key, page_url)
                total = page.total if page.total is not None else total
                for index, raw in enumerate(page.rows):
                    where = f"GET {page_url} {array_key}[{index}]"
                    record = normalise_record(raw, fields, id_fields=id_fields, where=where)
                    record_id = record.get("id")
                    if not isinstance(record_id, str) or not record_id:
                        raise SourceProtocolError(f"{where}: record has no id")
                    if record_id in seen:
                        continue
                    seen.add(record_id)
                    self._relative_content(record)
                    yield record
                visited.add(page_url)
                url = follow(page.next_url, page_url, self._root) if page.next_url else None
                if url is not None and url in visited:
                    raise SourceProtocolError(f"GET {page_url}: links.next leads back to {url}")
            if total is None or len(seen) >= total:
                return
            if attempt < self.max_passes:
                log.warning("%s: the list reports %d records but %d were read (pages shifted while "
                            "reading); reading it again for the missing ones", resource, total, len(seen))
        log.warning("%s: %d records listed, %d read after %d passes; records may have been deleted "
                    "meanwhile — reconcile counts after loading", resource, total, len(seen), self.max_passes)

    def _relative_content(self, record: dict[str, Any]) -> None:
        """An attachment's address on the API's own host, as a path: the same file has the same record
        wherever the API is reached from (content hashes stay put; `download` resolves it)."""
        url = record.get("content_url")
        if isinstance(url, str) and url.startswith(("https://", "http://")):
            absolute = httpx.URL(url)
            if (absolute.scheme, absolute.host, absolute.port) == \
                    (self._root.scheme, self._root.host, self._root.port):
                record["content_url"] = absolute.raw_path.decode("ascii")

    def count(self, resource: str, *, since: datetime | None = None) -> int | None:
        """How many records `read` will give, from one single-record page (its `total_entries`)."""
        params = [(k, "1" if k == "per_page" else v)
                  for k, v in list_params(self.fields(resource), since=since, include_archived=True,
                                          sort=self.sort)]
        url = str(httpx.URL(f"{self.base_url}/{resource}", params=params))
        return parse_page(self._get_json(url), resource.rstrip("/").rsplit("/", 1)[-1], url).total

    def read_many(self, resources: Sequence[str], since: datetime | None = None, workers: int = 4, *,
                  include_archived: bool = True) -> Iterator[tuple[str, dict[str, Any]]]:
        """Read several resources on `workers` threads sharing this account's limiter."""
        for resource in resources:
            self.fields(resource)  # unknown names fail before any thread starts
        return read_concurrently(lambda r: self.read(r, since=since, include_archived=include_archived),
                                 resources, workers=workers)

    def _get_json(self, url: str) -> object:
        what = f"GET {_path(url)}"

        def attempt() -> object:
            response = self._client.get(url)
            self._check(response, what)
            try:
                return json.loads(response.content)
            except (ValueError, UnicodeDecodeError) as exc:
                snippet = self._key.redact(response.text[:120])
                raise SourceProtocolError(f"{what}: the response is not JSON ({exc}); it starts "
                                          f"with {snippet!r}") from None

        return self._retrier.call(attempt, what)

    def _check(self, response: httpx.Response, what: str) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        response.read()
        detail = self._key.redact(_message(response))
        if status == 429:
            raise RateLimited(response.headers)
        if status == 401:
            raise SourceAuthError(
                f"{what}: Cliniko rejected the API key (HTTP 401{detail}). Check the key in the "
                f"{self.key_env} environment variable: it must be a current key of a user of this "
                f"clinic's account (shard {self.shard}).")
        if status == 403:
            raise SourceAuthError(
                f"{what}: the user owning the API key in {self.key_env} may not read this (HTTP 403"
                f"{detail}). Use a key of a user whose role can see it (listing users needs an "
                "administrator), or leave the resource out of the spec.")
        if status >= 500 or status == 408:
            raise TransientFailure(f"HTTP {status} {response.reason_phrase}".rstrip())
        if 300 <= status < 400:
            raise SourceProtocolError(f"{what}: unexpected redirect (HTTP {status}) to "
                                      f"{response.headers.get('Location', '?')}; check the base URL")
        hint = ""
        if "not searchable" in detail:
            hint = " The resource does not support a filter the connector sent (updated_at, archived_at " \
                   "or cancelled_at); correct its fields in sources/cliniko/catalog.yaml."
        raise SourceRequestError(f"{what}: Cliniko refused the request (HTTP {status}{detail}).{hint}",
                                 status)

    # -- attachments ---------------------------------------------------------------------------

    def download(self, record: dict[str, Any], dest: Path, *, max_bytes: int | None = None) -> Path:
        record_id = str(record.get("id") or "")
        url = record.get("content_url") or link_url(record.get("content"))
        if not record_id or not isinstance(url, str):
            raise SourceProtocolError(f"attachment {record_id or '(no id)'} has no content link "
                                      "(content.links.self or content_url) to download")
        attachments.check_size(record_id, attachments.declared_size(record), max_bytes)
        target = attachments.attachment_path(dest, record_id, record.get("filename"))
        absolute = httpx.URL(self.base_url + "/").join(url)
        own_origin = (absolute.scheme, absolute.host, absolute.port) == \
            (self._root.scheme, self._root.host, self._root.port)
        what = f"GET {_path(str(absolute))}"

        def attempt() -> Path:
            # The key goes only to the API itself; httpx drops it on redirects to S3.
            auth: Any = httpx.USE_CLIENT_DEFAULT if own_origin else None
            with self._client.stream("GET", absolute, auth=auth, follow_redirects=True) as response:
                self._check(response, what)
                length = response.headers.get("Content-Length")
                if length and length.isdigit():
                    attachments.check_size(record_id, int(length), max_bytes)
                return attachments.write_stream(response.iter_bytes(attachments.CHUNK_BYTES), target,
                                                record_id=record_id, max_bytes=max_bytes)

        return self._retrier.call(attempt, what)


def _tls(verify: str | bool | ssl.SSLContext) -> ssl.SSLContext | bool:
    if not isinstance(verify, str):
        return verify
    path = Path(verify)
    try:
        if path.is_dir():
            return ssl.create_default_context(capath=str(path))
        return ssl.create_default_context(cafile=str(path))
    except (OSError, ssl.SSLError) as exc:
        raise SourceConfigError(f"cannot use CA bundle {verify!r}: {exc}") from None


def _path(url: str) -> str:
    parsed = httpx.URL(url)
    query = parsed.query.decode("ascii", "replace")
    return parsed.path + (f"?{query}" if query else "")


def _message(response: httpx.Response) -> str:
    """`: <server message>` from a JSON `message` or a short text body, else empty."""
    text = response.text.strip()
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        text = body["message"]
        errors = body.get("errors")
        if isinstance(errors, dict):
            text += " (" + "; ".join(f"{k}: {v}" for k, v in errors.items()) + ")"
    return f": {text[:200]}" if text else ""
