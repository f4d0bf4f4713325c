"""The Web API `$batch` body, both ways: requests into multipart/mixed, the answer back into one per request.

A batch (ref/dataverse.md §3) is `multipart/mixed; boundary=batch_<id>` with CRLF line
endings; each part is `application/http` holding one request line, its headers and its
JSON body. Requests that share a `change_set` name (and follow one another) go into one
`changeset_<id>` part and are applied all or nothing; each carries a `Content-ID`, unique
in the batch, so the answers can be matched even when the server reorders them.

The answer has one part per top-level request and one nested multipart per change set.
A failed change set is answered with its failing request only: every request of that
change set then gets that failure. With `odata.continue-on-error` every part is answered;
without it the server stops at the first failure, and the requests it never ran get
status 0 (`NOT_RUN`) so the caller can tell them from refusals.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

CRLF = b"\r\n"
MAX_REQUESTS = 1000  # limits.yaml batch_max_requests
_BOUNDARY = re.compile(r'boundary="?(?P<b>[^";]+)"?', re.IGNORECASE)
_STATUS = re.compile(rb"^HTTP/1\.[01] (?P<status>\d{3})")
NOT_RUN = 0


@dataclass(frozen=True)
class BatchRequest:
    method: str
    url: str  # absolute, or starting with /api/data/v9.2/
    body: Any = None  # JSON-ready, or bytes already encoded
    headers: Mapping[str, str] = field(default_factory=dict)
    change_set: str | None = None


@dataclass(frozen=True)
class BatchAnswer:
    status: int
    headers: dict[str, str]  # lower-cased names
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8")) if self.body.strip() else None

    def error(self) -> tuple[str, str]:
        """(code, message) of a refusal, from Dataverse's {"error": {...}} body."""
        if self.status == NOT_RUN:
            return "NOT_RUN", "the batch stopped before this request ran"
        try:
            payload = self.json()
        except (ValueError, UnicodeDecodeError):
            payload = None
        inner = payload.get("error") if isinstance(payload, dict) else None
        if isinstance(inner, dict):
            code = str(inner.get("code") or f"HTTP{self.status}")
            return code, str(inner.get("message") or "")
        return f"HTTP{self.status}", self.body.decode("utf-8", "replace")[:300]


def encode(requests: Sequence[BatchRequest], encode_body: Any = None) -> tuple[str, bytes]:
    """(Content-Type header, body) of a batch. `encode_body(obj) -> bytes` serialises JSON bodies."""
    if len(requests) > MAX_REQUESTS:
        raise ValueError(f"a $batch carries at most {MAX_REQUESTS} requests, not {len(requests)}")
    boundary = f"batch_{uuid.uuid4()}"
    out: list[bytes] = []
    index = 0
    while index < len(requests):
        name = requests[index].change_set
        group = [requests[index]]
        while name is not None and index + len(group) < len(requests) \
                and requests[index + len(group)].change_set == name:
            group.append(requests[index + len(group)])
        out.append(b"--" + boundary.encode() + CRLF)
        if name is None:
            out.append(_part(group[0], None, encode_body))
        else:
            change = f"changeset_{uuid.uuid4()}"
            out.append(f"Content-Type: multipart/mixed; boundary={change}".encode() + CRLF + CRLF)
            for offset, request in enumerate(group):
                out.append(b"--" + change.encode() + CRLF)
                out.append(_part(request, str(index + offset + 1), encode_body))
            out.append(b"--" + change.encode() + b"--" + CRLF)
        index += len(group)
    out.append(b"--" + boundary.encode() + b"--" + CRLF)
    return f"multipart/mixed; boundary={boundary}", b"".join(out)


def _part(request: BatchRequest, content_id: str | None, encode_body: Any) -> bytes:
    lines = [b"Content-Type: application/http", b"Content-Transfer-Encoding: binary"]
    if content_id is not None:
        lines.append(f"Content-ID: {content_id}".encode())
    lines += [b"", f"{request.method} {request.url} HTTP/1.1".encode()]
    body = request.body
    if body is not None and not isinstance(body, bytes):
        body = encode_body(body) if encode_body else json.dumps(body).encode()
    headers = dict(request.headers)
    if body is not None:
        headers.setdefault("Content-Type", "application/json;type=entry")
    lines += [f"{k}: {v}".encode() for k, v in headers.items()]
    lines.append(b"")
    return CRLF.join(lines) + CRLF + (body or b"") + CRLF


def decode(content_type: str, body: bytes, requests: Sequence[BatchRequest]) -> list[BatchAnswer]:
    """One answer per request, in the requests' order (see the module docstring)."""
    units: list[list[BatchAnswer]] = []
    for part in _parts(content_type, body):
        headers, payload = _split_headers(part)
        inner_type = headers.get("content-type", "")
        if inner_type.lower().startswith("multipart/mixed"):
            units.append(_change_set(inner_type, payload))
        else:
            units.append([_http(payload)])
    out: list[BatchAnswer] = []
    for group in _groups(requests):
        unit = units.pop(0) if units else []
        if len(unit) < group and unit and not unit[0].ok:
            unit = [unit[0]] * group  # a failed change set answers with its failing request only
        out.extend(unit[:group])
        out.extend(BatchAnswer(NOT_RUN, {}, b"") for _ in range(group - len(unit[:group])))
    return out


def _groups(requests: Sequence[BatchRequest]) -> list[int]:
    """Sizes of the batch's parts: 1 for a lone request, n for a change set of n."""
    sizes: list[int] = []
    previous: str | None = None
    for request in requests:
        if request.change_set is not None and request.change_set == previous:
            sizes[-1] += 1
        else:
            sizes.append(1)
        previous = request.change_set
    return sizes


def _change_set(content_type: str, body: bytes) -> list[BatchAnswer]:
    out = []
    for part in _parts(content_type, body):
        headers, payload = _split_headers(part)
        answer = _http(payload)
        if "content-id" in headers:
            answer.headers.setdefault("content-id", headers["content-id"])
        out.append(answer)
    return sorted(out, key=lambda a: int(a.headers.get("content-id") or 0))


def _parts(content_type: str, body: bytes) -> list[bytes]:
    found = _BOUNDARY.search(content_type)
    if found is None:
        raise ValueError(f"the $batch answer has no multipart boundary (Content-Type {content_type!r})")
    delimiter = b"--" + found["b"].encode()
    parts = []
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        parts.append(chunk.strip(b"\r\n"))
    return parts


def _split_headers(block: bytes) -> tuple[dict[str, str], bytes]:
    head, _, rest = block.replace(b"\r\n", b"\n").partition(b"\n\n") if b"\r\n\r\n" not in block \
        else block.partition(b"\r\n\r\n")
    headers: dict[str, str] = {}
    for line in head.splitlines():
        name, sep, value = line.decode("latin-1").partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return headers, rest


def _http(payload: bytes) -> BatchAnswer:
    """An `application/http` part: status line, headers, body."""
    status_line, _, rest = payload.partition(b"\n")
    match = _STATUS.match(status_line.strip())
    if match is None:
        raise ValueError(f"unreadable $batch answer part: {payload[:120]!r}")
    headers, body = _split_headers(rest)
    return BatchAnswer(int(match["status"]), headers, body.strip(b"\r\n"))
