"""The Dataverse Web API v9.2 over httpx, signed in with msal (client credentials): one place for
sign-in, retries, `$batch`, paging and the table metadata the loader needs (ref/dataverse.md).

    client = DataverseClient("https://org.crm6.dynamics.com", client_id=..., client_secret=...,
                             authority="https://login.microsoftonline.com/<tenant>")
    client.send("PATCH", "contacts(fs_clinikoid='42')", body={...})   # → httpx.Response
    client.batch([BatchRequest("PATCH", client.url("contacts(fs_clinikoid='42')"), {...})])
    for row in client.query("contacts", select=["contactid"], filter="..."): ...
    client.table("contact").entity_set                                   # "contacts", from metadata

Sign-in: the msal app is built on first use (its constructor does network I/O:
tenant discovery) and caches the token; `instance_discovery=False` only for an
authority outside login.microsoftonline.com (a sandbox), where msal's
instance-discovery call could not work. A `verify` bundle other than the
system's goes to msal through its own requests session, because a session that
trusts the environment would take REQUESTS_CA_BUNDLE over it.

Retries, for every call (all the loader's writes are keyed, so sending one again
never duplicates a record):
- 429 (service protection) waits Retry-After, as the platform asks;
- 500-class answers and dropped connections back off exponentially (Retry-After
  when the answer has one);
- 401 signs in again once (a token revoked or expired early); a second 401 stops.
When the attempts run out, or sign-in fails, the load stops with `LoadStopped`.
Any other answer (400, 404, 412 …) is the caller's to read: it is about the record.

Names come from metadata, never from guessing: EntitySetName and the primary
key per table, and the navigation property of each lookup per target table
(`ManyToOneRelationships.ReferencingEntityNavigationPropertyName`).
"""

from __future__ import annotations

import json
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import httpx
import msal  # type: ignore[import-untyped]  # msal ships no type information
import requests

from engine.load.dataverse_batch import MAX_REQUESTS, BatchAnswer, BatchRequest, decode, encode
from engine.load.target import LoadStopped

API_PATH = "/api/data/v9.2/"
MICROSOFT_HOSTS = ("login.microsoftonline.com", "login.microsoftonline.us", "login.chinacloudapi.cn",
                   "login.partner.microsoftonline.cn")
LOOKUP_TYPES = frozenset({"Lookup", "Customer", "Owner"})
_DECIMAL = "\u0000decimal:"  # a NUL never starts a real value
_MARKED = re.compile(r'"\\u0000decimal:(-?[0-9]+(?:\.[0-9]+)?)"')


def dumps(body: Any) -> bytes:
    """JSON with Decimals written as exact numbers (a float keeps only ~15 significant digits)."""
    def default(value: Any) -> Any:
        if isinstance(value, Decimal):
            return _DECIMAL + format(value, "f")
        raise TypeError(f"cannot send a {type(value).__name__} to Dataverse: {value!r}")
    text = json.dumps(body, default=default, ensure_ascii=False)
    return _MARKED.sub(r"\1", text).encode("utf-8")


@dataclass(frozen=True)
class TableInfo:
    """What the metadata says about one table."""

    logical_name: str
    entity_set: str
    primary_id: str
    columns: Mapping[str, str]  # logical name → AttributeType
    updateable: frozenset[str]
    navigation: Mapping[tuple[str, str], str]  # (lookup column, target table) → navigation property
    lookup_targets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def nav(self, column: str, target: str) -> str:
        found = self.navigation.get((column, target))
        if found is None:
            raise LoadStopped(f"{self.logical_name}.{column} has no relationship to {target} in the "
                              "environment's metadata: provision the spec (flitstack provision --apply)")
        return found

    def is_lookup(self, column: str) -> bool:
        return self.columns.get(column) in LOOKUP_TYPES


class DataverseClient:
    def __init__(self, url: str, *, client_id: str, client_secret: str, authority: str,
                 verify: str | bool = True, scope: str | None = None, retries: int = 5,
                 backoff_seconds: float = 0.5, max_wait_seconds: float = 300.0,
                 sleep: Callable[[float], None] = time.sleep, timeout: float = 120.0) -> None:
        self.base_url = url.rstrip("/")
        self.api_root = self.base_url + API_PATH
        self.client_id = client_id
        self.client_secret = client_secret
        self.authority = authority.rstrip("/")
        self.verify = verify
        self.scope = scope or f"{self.base_url}/.default"
        self.retries = retries
        self.backoff_seconds = backoff_seconds
        self.max_wait_seconds = max_wait_seconds
        self.sleep = sleep
        context: ssl.SSLContext | bool = ssl.create_default_context(cafile=verify) \
            if isinstance(verify, str) else verify
        self.http = httpx.Client(verify=context, timeout=timeout)
        self._app: msal.ConfidentialClientApplication | None = None
        self._session: requests.Session | None = None
        self._lock = threading.Lock()
        self._tables: dict[str, TableInfo] = {}
        self._whoami: str | None = None
        self.calls = 0

    def close(self) -> None:
        self.http.close()
        if self._session is not None:
            self._session.close()

    def url(self, path: str) -> str:
        return path if path.startswith(("https://", "http://")) else self.api_root + path.lstrip("/")

    # -- sign-in -----------------------------------------------------------------------------------
    def _token(self, scope: str | None = None) -> str:
        with self._lock:
            if self._app is None:
                host = urlsplit(self.authority).hostname or ""
                if self.verify is not True and self._session is None:
                    self._session = requests.Session()
                    self._session.trust_env = False  # or REQUESTS_CA_BUNDLE would win over `verify`
                    self._session.verify = self.verify
                try:
                    self._app = msal.ConfidentialClientApplication(
                        self.client_id, client_credential=self.client_secret, authority=self.authority,
                        instance_discovery=False if host not in MICROSOFT_HOSTS else None,
                        http_client=self._session)
                except (ValueError, requests.RequestException) as error:
                    raise LoadStopped(f"cannot reach the sign-in authority {self.authority}: {error}") \
                        from error
            result = self._app.acquire_token_for_client(scopes=[scope or self.scope])
        token = result.get("access_token") if isinstance(result, dict) else None
        if not token:
            detail = f"{result.get('error')}: {result.get('error_description')}" \
                if isinstance(result, dict) else str(result)
            raise LoadStopped(f"sign-in refused for client {self.client_id} (scope {scope or self.scope}): "
                              f"{detail}",
                              code=str(result.get("error")) if isinstance(result, dict) else None)
        return str(token)

    def _forget_token(self) -> None:
        with self._lock:
            self._app = None  # a new app has an empty cache: the next call asks for a new token

    # -- one call ----------------------------------------------------------------------------------
    def send(self, method: str, path: str, *, body: Any = None, params: Mapping[str, str] | None = None,
             headers: Mapping[str, str] | None = None, content: bytes | None = None) -> httpx.Response:
        """One Web API request with the retries of the module docstring; any answer not retried returns."""
        url = self.url(path)
        data = content if content is not None else (dumps(body) if body is not None else None)
        sent = {"Accept": "application/json", "OData-MaxVersion": "4.0", "OData-Version": "4.0",
                "If-None-Match": "null"}
        if data is not None:
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        return self.request(method, url, headers=sent, content=data, params=params,
                            what=f"{method} {url.removeprefix(self.api_root)}")

    def request(self, method: str, url: str, *, headers: Mapping[str, str], content: bytes | None = None,
                params: Mapping[str, str] | None = None, scope: str | None = None, auth: bool = True,
                what: str = "", service: str = "Dataverse") -> httpx.Response:
        """The retry loop every call of this app registration goes through (Web API and Microsoft Graph):
        429 waits Retry-After, 5xx and dropped connections back off, a 401 signs in again once."""
        what = what or f"{method} {url}"
        reason = ""
        signed_in_again = False
        attempt = 0
        while True:
            wait: float | None = None
            sent = dict(headers)
            if auth:
                sent["Authorization"] = f"Bearer {self._token(scope)}"
            try:
                self.calls += 1
                response = self.http.request(method, url, content=content, params=params, headers=sent)
            except httpx.TransportError as error:
                reason = f"connection error: {error!r}"
            else:
                status = response.status_code
                if status == 401 and auth and not signed_in_again:
                    signed_in_again = True
                    self._forget_token()
                    continue
                if status == 401:
                    raise LoadStopped(f"{service} refused the token again after a new sign-in ({what}): "
                                      f"{error_text(response)}", code="401")
                if status != 429 and status < 500:
                    return response
                reason = f"HTTP {status} {error_text(response)}"
                wait = _retry_after(response)
            if attempt >= self.retries:
                raise LoadStopped(f"{what} still failing after {attempt + 1} attempts: {reason}")
            self.sleep(min(self.max_wait_seconds,
                           wait if wait is not None else self.backoff_seconds * 2 ** attempt))
            attempt += 1

    def json(self, method: str, path: str, **options: Any) -> Any:
        """A call that must succeed (a query, metadata): its JSON, or LoadStopped naming the refusal."""
        response = self.send(method, path, **options)
        if response.status_code >= 300:
            raise LoadStopped(f"Dataverse refused {method} {path}: HTTP {response.status_code} "
                              f"{error_text(response)}")
        return response.json() if response.content else None

    def query(self, entity_set: str, *, select: Sequence[str], filter: str | None = None,
              page_size: int = 5000, annotations: bool = False) -> Iterator[dict[str, Any]]:
        """Every row of a query, page by page (@odata.nextLink followed unchanged; no $top with paging)."""
        params: dict[str, str] | None = {"$select": ",".join(select)}
        if filter and params is not None:
            params["$filter"] = filter
        prefer = f"odata.maxpagesize={page_size}"
        if annotations:
            prefer += ',odata.include-annotations="Microsoft.Dynamics.CRM.lookuplogicalname"'
        path: str | None = entity_set
        while path is not None:
            page = self.json("GET", path, params=params, headers={"Prefer": prefer})
            yield from page.get("value") or []
            path, params = page.get("@odata.nextLink"), None

    # -- $batch --------------------------------------------------------------------------------------
    def batch(self, requests_: Sequence[BatchRequest], *,
              continue_on_error: bool = True) -> list[BatchAnswer]:
        """Answers to the requests in order, sent in batches of at most 1000; the batch POST is retried
        as any call is (its requests must be safe to repeat: keyed upserts, PATCH/DELETE by id)."""
        answers: list[BatchAnswer] = []
        start = 0
        while start < len(requests_):
            chunk = list(requests_[start:start + MAX_REQUESTS])
            # a change set never straddles two batches
            while start + len(chunk) < len(requests_) and chunk[-1].change_set is not None \
                    and requests_[start + len(chunk)].change_set == chunk[-1].change_set:
                chunk.pop()
            content_type, body = encode(chunk, dumps)
            headers = {"Content-Type": content_type, "Accept": "application/json"}
            if continue_on_error:
                headers["Prefer"] = "odata.continue-on-error"
            response = self.send("POST", "$batch", content=body, headers=headers)
            answer_type = response.headers.get("content-type", "")
            if not answer_type.lower().startswith("multipart/"):
                raise LoadStopped(f"Dataverse refused a $batch of {len(chunk)} requests: HTTP "
                                  f"{response.status_code} {error_text(response)}")
            answers.extend(decode(answer_type, response.content, chunk))
            start += len(chunk)
        return answers

    # -- metadata ----------------------------------------------------------------------------------
    def table(self, logical_name: str) -> TableInfo:
        """EntitySetName, primary key, columns and lookups' navigation properties of a table (cached)."""
        cached = self._tables.get(logical_name)
        if cached is not None:
            return cached
        path = f"EntityDefinitions(LogicalName='{logical_name}')"
        response = self.send("GET", path, params={
            "$select": "LogicalName,EntitySetName,PrimaryIdAttribute",
            "$expand": "Attributes($select=LogicalName,AttributeType,IsValidForUpdate),"
                       "ManyToOneRelationships($select=ReferencingAttribute,ReferencedEntity,"
                       "ReferencingEntityNavigationPropertyName)"})
        if response.status_code == 404:
            raise LoadStopped(f"the Dataverse environment has no table {logical_name!r}: provision the "
                              "spec first (flitstack provision --apply)")
        if response.status_code >= 300:
            raise LoadStopped(f"cannot read the definition of {logical_name}: HTTP {response.status_code} "
                              f"{error_text(response)}")
        meta = response.json()
        navigation: dict[tuple[str, str], str] = {}
        targets: dict[str, list[str]] = {}
        for rel in meta.get("ManyToOneRelationships") or []:
            column, target = str(rel["ReferencingAttribute"]), str(rel["ReferencedEntity"])
            navigation[(column, target)] = str(rel["ReferencingEntityNavigationPropertyName"])
            targets.setdefault(column, []).append(target)
        attributes = meta.get("Attributes") or []
        info = TableInfo(
            logical_name, str(meta["EntitySetName"]), str(meta["PrimaryIdAttribute"]),
            {str(a["LogicalName"]): str(a.get("AttributeType")) for a in attributes},
            frozenset(str(a["LogicalName"]) for a in attributes if a.get("IsValidForUpdate")),
            navigation, {k: tuple(v) for k, v in targets.items()})
        self._tables[logical_name] = info
        return info

    def whoami(self) -> str:
        """The UserId the client signs in as (the application user)."""
        if self._whoami is None:
            self._whoami = str(self.json("GET", "WhoAmI")["UserId"])
        return self._whoami


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def error_text(response: httpx.Response) -> str:
    """`code: message` of a Web API or Graph error body (both use {"error": {code, message}})."""
    try:
        inner = response.json().get("error") or {}
        return f"{inner.get('code') or ''}: {inner.get('message') or ''}".strip(": ")
    except (ValueError, AttributeError):
        return response.text[:300]


def key_literal(value: str) -> str:
    """A string alternate-key value inside `(...)`: quoted, quotes doubled (ref §2)."""
    return "'" + str(value).replace("'", "''") + "'"

