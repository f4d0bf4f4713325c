"""Attachments of Dynamics records as files in SharePoint, through Microsoft Graph (ref §8).

Configured by `DATAVERSE_SHAREPOINT_SITE` (the Graph site id) and optionally
`GRAPH_URL` (https://graph.microsoft.com, or the sandbox's Graph emulator).
Sign-in is the Dataverse client's: the same app registration and msal app ask
for `{GRAPH_URL}/.default` (the app needs Sites.ReadWrite.All or Sites.Selected).

Files go into the site's default document library, one folder per record
under a library folder named after the table ("contact/"), each folder named
as Dynamics' document management names them: `<name>_<GUID without dashes,
upper case>`. Files up to 4 MB are sent in one PUT (the old, safe limit; the
current documentation allows 250 MB), larger ones through an upload session
in fragments of a multiple of 320 KiB read from disk one at a time. A file
whose path already holds an item of the same size is not sent again, so a
re-run uploads nothing.

Calls are retried as the Dataverse client's are: 429 and 503 wait Retry-After,
other 500s and dropped connections back off, a 401 signs in again once. A
fragment answered 416 (the service already had it, its answer lost) resumes
from the session's nextExpectedRanges. Any other refusal is `SharePointRefused`
with Graph's code, for the record's result.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from engine.load.dataverse_client import DataverseClient

GRAPH_URL = "https://graph.microsoft.com"
SITE_VARIABLE = "DATAVERSE_SHAREPOINT_SITE"
GRAPH_VARIABLE = "GRAPH_URL"
SIMPLE_UPLOAD_BYTES = 4 * 1024 * 1024
FRAGMENT_UNIT = 320 * 1024
FRAGMENT_BYTES = 10 * FRAGMENT_UNIT  # 3.2 MiB a PUT, well under the 60 MiB cap
SHAREPOINT_MAX_BYTES = 250 * 1024 ** 3  # SharePoint Online's file size limit
_FORBIDDEN = re.compile(r'["*:<>?/\\|#%]')  # not in SharePoint names (# and % break some clients)


class SharePointRefused(Exception):
    """Graph refused a request about one file or folder."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class DriveItem:
    id: str
    name: str
    size: int
    web_url: str

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> DriveItem:
        return cls(str(body["id"]), str(body["name"]), int(body.get("size") or 0),
                   str(body.get("webUrl") or ""))


def folder_name(name: str | None, record_id: str) -> str:
    """Dynamics' folder for a record: `<name>_<GUID without dashes, upper case>`, the name made safe."""
    safe = _FORBIDDEN.sub("_", (name or "").strip()).strip(". ")
    guid = record_id.replace("-", "").upper()
    return f"{safe}_{guid}" if safe else guid


def file_name(filename: str, key: str) -> str:
    """A file's name in its folder: the source's, with the record's key so two files of one name stay two."""
    safe = _FORBIDDEN.sub("_", filename.strip()).strip(". ") or "file"
    stem, dot, ext = safe.rpartition(".") if "." in safe else (safe, "", "")
    return f"{stem} ({_FORBIDDEN.sub('_', key)}){dot}{ext}"


class SharePointFiles:
    def __init__(self, client: DataverseClient, *, site: str, graph_url: str = GRAPH_URL,
                 library_folder: str = "contact", simple_upload_bytes: int = SIMPLE_UPLOAD_BYTES,
                 fragment_bytes: int = FRAGMENT_BYTES, max_bytes: int = SHAREPOINT_MAX_BYTES) -> None:
        if fragment_bytes <= 0 or fragment_bytes % FRAGMENT_UNIT:
            raise ValueError(f"fragment_bytes must be a positive multiple of {FRAGMENT_UNIT} (320 KiB): "
                             f"{fragment_bytes}")
        self.client = client
        self.site = site
        self.graph_url = graph_url.rstrip("/")
        self.scope = f"{self.graph_url}/.default"
        self.drive_url = f"{self.graph_url}/v1.0/sites/{quote(site, safe=',')}/drive"
        self.library_folder = library_folder
        self.simple_upload_bytes = simple_upload_bytes
        self.fragment_bytes = fragment_bytes
        self.max_bytes = max_bytes
        self._folders: dict[str, str] = {}  # folder path → item id
        self._root: str | None = None
        self.uploads = 0  # files sent (simple or session), for reports and tests

    @classmethod
    def from_environment(cls, client: DataverseClient, environ: Mapping[str, str] | None = None,
                         **options: Any) -> SharePointFiles | None:
        """Configured by DATAVERSE_SHAREPOINT_SITE (and GRAPH_URL); None when no site is named."""
        environ = os.environ if environ is None else environ
        site = (environ.get(SITE_VARIABLE) or "").strip()
        if not site:
            return None
        return cls(client, site=site, graph_url=environ.get(GRAPH_VARIABLE) or GRAPH_URL, **options)

    # -- items -----------------------------------------------------------------------------------------
    def find(self, path: str) -> DriveItem | None:
        """The item at a path below the library's root, or None."""
        response = self._send("GET", f"{self.drive_url}/root:/{_quoted(path)}")
        if response.status_code == 404:
            return None
        return DriveItem.of(self._ok(response, f"find {path}"))

    def folder(self, name: str) -> str:
        """The id of the record folder `<library_folder>/<name>`, made when missing."""
        parent = self._ensure(self._root_id(), self.library_folder, self.library_folder)
        return self._ensure(parent, name, f"{self.library_folder}/{name}")

    def put(self, folder: str, name: str, path: Path) -> tuple[DriveItem, bool]:
        """The file at `path` as `<library_folder>/<folder>/<name>`: (its item, whether the item is new). An
        item there already with the same size is kept as it is; one of another size gets the new content."""
        size = path.stat().st_size
        found = self.find(f"{self.library_folder}/{folder}/{name}")
        if found is not None and found.size == size:
            return found, False
        parent = self.folder(folder)
        self.uploads += 1
        if size <= self.simple_upload_bytes:
            url = f"{self.drive_url}/items/{parent}:/{quote(name, safe='')}:/content"
            response = self._send("PUT", url, content=path.read_bytes(),
                                  headers={"Content-Type": "application/octet-stream"})
            return DriveItem.of(self._ok(response, f"upload {name}")), response.status_code == 201
        return self._session(parent, name, path, size)

    def delete(self, item_id: str) -> None:
        """Delete an item; one already gone counts as deleted."""
        response = self._send("DELETE", f"{self.drive_url}/items/{quote(item_id, safe='')}")
        if response.status_code != 404:
            self._ok(response, f"delete {item_id}")

    # -- helpers -----------------------------------------------------------------------------------------
    def _root_id(self) -> str:
        if self._root is None:
            self._root = str(self._ok(self._send("GET", f"{self.drive_url}/root"), "read the drive")["id"])
        return self._root

    def _ensure(self, parent: str, name: str, path: str) -> str:
        cached = self._folders.get(path)
        if cached is not None:
            return cached
        found = self.find(path)
        if found is None:
            response = self._send("POST", f"{self.drive_url}/items/{parent}/children",
                                  body={"name": name, "folder": {},
                                        "@microsoft.graph.conflictBehavior": "fail"})
            if response.status_code == 409:  # made meanwhile (another run): use it
                found = self.find(path)
            else:
                found = DriveItem.of(self._ok(response, f"create the folder {path}"))
        if found is None:
            raise SharePointRefused(409, "nameAlreadyExists", f"the folder {path} exists but cannot be read")
        self._folders[path] = found.id
        return found.id

    def _session(self, parent: str, name: str, path: Path, size: int) -> tuple[DriveItem, bool]:
        url = f"{self.drive_url}/items/{parent}:/{quote(name, safe='')}:/createUploadSession"
        replace = {"item": {"@microsoft.graph.conflictBehavior": "replace"}}
        opened = self._ok(self._send("POST", url, body=replace), f"open an upload session for {name}")
        upload_url = str(opened["uploadUrl"])
        offset = 0
        with path.open("rb") as source:
            while True:
                source.seek(offset)
                data = source.read(self.fragment_bytes)
                end = offset + len(data) - 1
                response = self._send("PUT", upload_url, content=data, auth=False,
                                      headers={"Content-Range": f"bytes {offset}-{end}/{size}"})
                if response.status_code in (200, 201):
                    return DriveItem.of(response.json()), response.status_code == 201
                if response.status_code == 416:  # the service has this fragment already: ask where it is
                    response = self._send("GET", upload_url, auth=False)
                body = self._ok(response, f"upload {name} (bytes {offset}-{end} of {size})")
                offset = int(str((body.get("nextExpectedRanges") or [f"{end + 1}-"])[0]).split("-")[0])

    def _send(self, method: str, url: str, *, body: Any = None, content: bytes | None = None,
              headers: Mapping[str, str] | None = None, auth: bool = True) -> httpx.Response:
        """One call through the Dataverse client's retry loop, with a token for Graph (an upload
        session's own URL takes none)."""
        sent = {"Accept": "application/json", **(headers or {})}
        if body is not None:
            content = json.dumps(body).encode("utf-8")
            sent["Content-Type"] = "application/json"
        return self.client.request(method, url, headers=sent, content=content, scope=self.scope, auth=auth,
                                   service="Microsoft Graph")

    @staticmethod
    def _ok(response: httpx.Response, what: str) -> dict[str, Any]:
        if response.status_code >= 300:
            code, message = _error(response)
            raise SharePointRefused(response.status_code, code, f"cannot {what}: {message}")
        body = response.json() if response.content else {}
        return body if isinstance(body, dict) else {}


def _quoted(path: str) -> str:
    return "/".join(quote(part, safe="") for part in path.split("/") if part)


def _error(response: httpx.Response) -> tuple[str, str]:
    try:
        inner = response.json().get("error") or {}
        return str(inner.get("code") or f"HTTP{response.status_code}"), str(inner.get("message") or "")
    except (ValueError, AttributeError):
        return f"HTTP{response.status_code}", response.text[:300]


__all__ = ["GRAPH_URL", "DriveItem", "SharePointFiles", "SharePointRefused", "file_name", "folder_name"]
