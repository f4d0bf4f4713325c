"""`POST /$batch`: many requests in one multipart/mixed body, change sets applied all or nothing (ref §3).

A part is one request (`Content-Type: application/http`) or a change set
(`multipart/mixed; boundary=changeset_…`) of writes. Inside a change set,
`Content-ID: N` makes `$N` stand for the row that request wrote, in later
URLs (`PATCH $1`) and bind values (`"…@odata.bind": "$1"`); a reference to a
Content-ID not seen yet is refused. Lines must end in CRLF; at most 1000
requests; no GET inside a change set.

Processing stops at the first failure, and the batch answers with that
failure's status and the parts so far plus the failing one; with
`Prefer: odata.continue-on-error` every part runs and the batch answers 200.
A failed change set is rolled back and answers with the failing request only.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

from engine.sandbox.dataverse.app import API_PREFIX, Call, Route
from engine.sandbox.dataverse.errors import UNDECLARED_PROPERTY, DataverseError, invalid_argument
from engine.sandbox.server import Response

MAX_REQUESTS = 1000
_BOUNDARY = re.compile(r'boundary="?(?P<b>[^";]+)"?', re.IGNORECASE)
_CONTENT_ID_REF = re.compile(r"^\$(\d+)")


class _Failed(Exception):
    def __init__(self, part: bytes, status: int) -> None:
        super().__init__(status)
        self.part = part
        self.status = status


@dataclass
class Part:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    content_id: str | None = None


@dataclass
class ChangeSet:
    parts: list[Part] = field(default_factory=list)


def routes() -> list[Route]:
    return [Route("POST", r"/\$batch", run_batch)]


def run_batch(call: Call) -> Response:
    boundary = _boundary(call.headers.get("content-type", ""))
    items = parse_batch(call.body, boundary)
    total = sum(len(i.parts) if isinstance(i, ChangeSet) else 1 for i in items)
    if total > MAX_REQUESTS:
        raise invalid_argument(f"The batch holds {total} requests; a batch takes at most {MAX_REQUESTS}.")
    keep_going = "odata.continue-on-error" in call.prefer()
    out_boundary = f"batchresponse_{uuid.uuid4()}"
    chunks: list[bytes] = []
    status = 200
    for item in items:
        if isinstance(item, ChangeSet):
            try:
                chunks.append(_change_set(call, item))
                continue
            except _Failed as failure:
                chunks.append(failure.part)
                failed_status = failure.status
        else:
            response = _run(call, item, None)
            chunks.append(_http_part(response, None))
            if response.status < 400:
                continue
            failed_status = response.status
        if not keep_going:
            status = failed_status
            break
    body = b"".join(b"--" + out_boundary.encode() + b"\r\n" + c for c in chunks)
    body += b"--" + out_boundary.encode() + b"--\r\n"
    return Response(status, body, {"Content-Type": f"multipart/mixed; boundary={out_boundary}"})


def _change_set(call: Call, change_set: ChangeSet) -> bytes:
    refs: dict[str, tuple[str, str]] = {}
    inner = f"changesetresponse_{uuid.uuid4()}"
    parts: list[bytes] = []
    with call.env.transaction():  # a _Failed raised inside rolls the whole change set back
        for part in change_set.parts:
            if part.method == "GET":
                refusal = invalid_argument("A change set cannot contain a GET request; send it outside the "
                                           "change set.")
                raise _Failed(_http_part(refusal.response(), part.content_id), 400)
            response = _run(call, part, refs)
            if response.status >= 400:
                raise _Failed(_http_part(response, part.content_id), response.status)
            parts.append(_http_part(response, part.content_id))
    body = b"".join(b"--" + inner.encode() + b"\r\n" + p for p in parts) + b"--" + inner.encode() + b"--\r\n"
    return f"Content-Type: multipart/mixed; boundary={inner}\r\n\r\n".encode() + body


def _run(call: Call, part: Part, refs: dict[str, tuple[str, str]] | None) -> Response:
    try:
        path, query = _target(call, part.url, refs)
    except DataverseError as error:
        return error.response()
    inner = Call(call.app, part.method, path, query, part.headers, part.body, call.base_url, call.user_id,
                 refs=refs)
    response = call.app.dispatch(inner, counted_as="$batch ")
    if refs is not None and part.content_id and inner.result is not None:
        refs[f"${part.content_id}"] = inner.result
    return response


def _target(call: Call, url: str,
            refs: dict[str, tuple[str, str]] | None) -> tuple[str, dict[str, list[str]]]:
    """The path after /api/data/v9.2 and the query of a part's URL (absolute, rooted, relative or `$N…`)."""
    split = urlsplit(url)
    path = split.path
    reference = _CONTENT_ID_REF.match(path)
    if reference is not None:
        name = f"${reference[1]}"
        if refs is None or name not in refs:
            raise invalid_argument(f"Content-ID Reference: '{name}' does not exist in the batch context.")
        table, row_id = refs[name]  # the referenced row's own URL, then whatever followed `$N`
        path = f"/{call.env.schema.table(table).entity_set}({row_id}){path[reference.end():]}"
    elif path.lower().startswith(API_PREFIX.lower()):
        path = path[len(API_PREFIX):]
    elif not path.startswith("/"):
        path = "/" + path
    return path, parse_qs(split.query, keep_blank_values=True)


def _http_part(response: Response, content_id: str | None) -> bytes:
    head = "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
    if content_id is not None:
        head += f"Content-ID: {content_id}\r\n"
    reason = HTTPStatus(response.status).phrase if response.status in HTTPStatus._value2member_map_ else ""
    lines = [f"HTTP/1.1 {response.status} {reason}"]
    lines += [f"{k}: {v}" for k, v in response.headers.items()]
    body = response.body if isinstance(response.body, bytes) else b"".join(response.body)
    return (head + "\r\n" + "\r\n".join(lines) + "\r\n\r\n").encode() + body + b"\r\n"


def _boundary(content_type: str) -> str:
    if not content_type.lower().startswith("multipart/mixed"):
        raise DataverseError(400, UNDECLARED_PROPERTY,
                             "A $batch request must be multipart/mixed with a boundary.")
    match = _BOUNDARY.search(content_type)
    if match is None:
        raise DataverseError(400, UNDECLARED_PROPERTY, "The multipart/mixed Content-Type has no boundary.")
    return match["b"]


def parse_batch(body: bytes, boundary: str) -> list[Part | ChangeSet]:
    if re.search(rb"(?<!\r)\n", body):
        raise DataverseError(400, UNDECLARED_PROPERTY,
                             "Stream was not readable. (A $batch body must use CRLF line endings.)")
    items: list[Part | ChangeSet] = []
    for chunk in _split(body, boundary):
        headers, content = _headers(chunk)
        content_type = headers.get("content-type", "")
        if content_type.lower().startswith("multipart/mixed"):
            inner = _BOUNDARY.search(content_type)
            if inner is None:
                raise DataverseError(400, UNDECLARED_PROPERTY, "A change set has no boundary.")
            change_set = ChangeSet()
            for sub in _split(content, inner["b"]):
                sub_headers, sub_content = _headers(sub)
                if sub_headers.get("content-type", "").lower().startswith("multipart/"):
                    raise invalid_argument("Change sets cannot be nested.")
                part = _request(sub_content)
                part.content_id = sub_headers.get("content-id")
                change_set.parts.append(part)
            items.append(change_set)
        else:
            part = _request(content)
            part.content_id = headers.get("content-id")
            items.append(part)
    return items


def _split(body: bytes, boundary: str) -> list[bytes]:
    marker = b"--" + boundary.encode()
    pieces = body.split(marker)
    if len(pieces) < 2 or not pieces[-1].startswith(b"--"):
        raise DataverseError(400, UNDECLARED_PROPERTY, "Stream was not readable. (The multipart body "
                             f"does not end with the closing boundary --{boundary}--.)")
    return [p[2:] if p.startswith(b"\r\n") else p for p in pieces[1:-1]]


def _headers(chunk: bytes) -> tuple[dict[str, str], bytes]:
    head, _, rest = chunk.partition(b"\r\n\r\n")
    headers: dict[str, str] = {}
    for line in head.decode("utf-8", "replace").split("\r\n"):
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return headers, rest


def _request(content: bytes) -> Part:
    head, _, body = content.partition(b"\r\n\r\n")
    lines = head.decode("utf-8", "replace").split("\r\n")
    words = lines[0].split(" ")
    if len(words) < 2 or words[0] not in ("GET", "POST", "PATCH", "PUT", "DELETE"):
        raise invalid_argument(f"A $batch part must start with a request line 'METHOD URL HTTP/1.1', "
                               f"not '{lines[0]}'.")
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    if body.endswith(b"\r\n"):
        body = body[:-2]
    return Part(words[0], words[1], headers, body.strip())
