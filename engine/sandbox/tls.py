"""The sandbox's own certificate authority, so clients keep TLS verification on.

A CA is made once per sandbox folder (trustme), with a server certificate for
127.0.0.1 and localhost. Clients that read a CA bundle from the environment
(requests honours REQUESTS_CA_BUNDLE over its own `verify`) must trust the
sandbox *in addition to* the system's CAs, so we write a combined bundle: the
system bundle followed by the sandbox CA. Nothing here ever replaces the
system bundle.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass(frozen=True)
class SandboxTLS:
    folder: Path

    @property
    def ca_cert(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def bundle(self) -> Path:
        """System CAs plus the sandbox CA: what clients should point REQUESTS_CA_BUNDLE etc. at."""
        return self.folder / "ca-bundle.pem"

    @property
    def server_cert(self) -> Path:
        return self.folder / "server-chain.pem"

    @property
    def server_key(self) -> Path:
        return self.folder / "server-key.pem"

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.server_cert, self.server_key)
        return context

    def client_environment(self) -> dict[str, str]:
        """Variables that make requests, httpx, curl, Node and OpenSSL-based clients trust the sandbox."""
        bundle = str(self.bundle)
        return {
            "REQUESTS_CA_BUNDLE": bundle,
            "SSL_CERT_FILE": bundle,
            "CURL_CA_BUNDLE": bundle,
            "NODE_EXTRA_CA_CERTS": str(self.ca_cert),
        }


def _system_bundle() -> str:
    """The CA bundle this machine's clients already trust (before the sandbox touched anything)."""
    for variable in ("FLITSTACK_SYSTEM_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        candidate = os.environ.get(variable)
        if candidate and Path(candidate).is_file() and "flitstack" not in candidate:
            return Path(candidate).read_text(encoding="utf-8")
    default = ssl.get_default_verify_paths().cafile
    if default and Path(default).is_file():
        return Path(default).read_text(encoding="utf-8")
    return ""


def ensure_tls(folder: Path) -> SandboxTLS:
    """The sandbox CA in `folder`, made on first use and reused afterwards."""
    tls = SandboxTLS(folder)
    if all(p.is_file() for p in (tls.ca_cert, tls.bundle, tls.server_cert, tls.server_key)):
        return tls
    folder.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="flitstack sandbox")
    server = ca.issue_cert("127.0.0.1", "localhost", "::1")
    ca.cert_pem.write_to_path(str(tls.ca_cert))
    server.private_key_pem.write_to_path(str(tls.server_key))
    os.chmod(tls.server_key, 0o600)
    with tls.server_cert.open("wb") as chain:
        for blob in server.cert_chain_pems:
            chain.write(blob.bytes())
    system = _system_bundle()
    separator = "" if not system or system.endswith("\n") else "\n"
    tls.bundle.write_text(system + separator + tls.ca_cert.read_text(encoding="utf-8"), encoding="utf-8")
    return tls
