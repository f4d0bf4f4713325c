"""Attachment bodies: deterministic, streamed in chunks of at most 1 MiB, exactly `size`
bytes, shaped like the file type (PDF, JPEG or plain text) without being built whole."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

CHUNK = 1 << 20
_BLOCK = 1 << 16
_LINES = ("Referral letter - please see the patient for assessment and management.\n",
          "Thank you for seeing this patient. Relevant history follows.\n",
          "Imaging: no fracture seen. Soft tissue swelling noted.\n",
          "Patient consents to share this report with their GP.\n")

CONTENT_TYPES = {"pdf": "application/pdf", "jpg": "image/jpeg", "txt": "text/plain"}


def _frame(kind: str, title: str) -> tuple[bytes, bytes]:
    label = title.encode("utf-8", "replace")[:200]
    if kind == "pdf":
        head = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Title (" + label + b") >>\nendobj\n"
        return head + b"2 0 obj\nstream\n", b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
    if kind == "jpg":
        return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00", b"\xff\xd9"
    return label + b"\n\n", b"\n-- end of document --\n"


def _block(kind: str, key: int) -> bytes:
    rng = random.Random(key)
    if kind != "txt":
        return rng.randbytes(_BLOCK)
    text = bytearray()
    while len(text) < _BLOCK:
        text += _LINES[rng.randrange(len(_LINES))].encode()
    return bytes(text[:_BLOCK])


def body(kind: str, size: int, key: int, title: str) -> Callable[[], Iterator[bytes]]:
    """A re-callable stream of exactly `size` bytes (size must exceed the frame, ~150 bytes)."""

    def stream() -> Iterator[bytes]:
        head, tail = _frame(kind, title)
        middle = size - len(head) - len(tail)
        if middle < 0:
            raise ValueError(f"{size} bytes cannot hold a {kind} frame")
        yield head
        chunk = _block(kind, key) * (CHUNK // _BLOCK)
        while middle > 0:
            part = chunk if middle >= CHUNK else chunk[:middle]
            middle -= len(part)
            yield part
        yield tail

    return stream
