"""A small org for the Salesforce emulator tests, and clients that reach it over real HTTPS.

The org carries the pair spec's kind of customisation: `Cliniko_Id__c`
(external id, unique) on Account and Contact, a restricted picklist, typed
fields (date, date-time, boolean, currency, number(10,0)), an external id that
is not unique (`Legacy_Key__c`, for 300 / DUPLICATE_EXTERNAL_ID), a custom
object `Practitioner__c` with its own external id and a lookup to Account, a
custom lookup from Contact to it, and a field hidden by field-level security.

simple-salesforce is used unmodified: `Salesforce(instance_url=..., session_id=...)`
with REQUESTS_CA_BUNDLE pointing at the sandbox's combined bundle (ref §0.2),
which the `ca_bundle` helper sets for the length of a test module.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce

from engine.compile.compiler import CompiledSpec
from engine.sandbox.salesforce import DEFAULT_TOKEN, Org, custom_field, start_salesforce_sandbox
from engine.sandbox.server import EmulatorServer
from engine.sandbox.tls import SandboxTLS, ensure_tls
from engine.spec.target_view import target_objects

VERSION = "62.0"


def provision(org: Org) -> None:
    """The customisations the tests rely on (see the module docstring)."""
    for name in ("Account", "Contact"):
        org.add_custom_field(name, custom_field("Cliniko_Id__c", "string", length=40, external_id=True,
                                                unique=True, label="Cliniko ID"))
    contact = [
        custom_field("Gender__c", "picklist", label="Sex / Gender", picklist=["Female", "Male", "Other"],
                     restricted=True),
        custom_field("Medicare_Number__c", "string", length=20, label="Medicare Number"),
        custom_field("EPC_Expiry__c", "date", label="EPC Referral Expiry"),
        custom_field("Source_Created__c", "datetime", label="Created in Cliniko"),
        custom_field("Archived__c", "boolean", label="Archived in Cliniko"),
        custom_field("Visits__c", "double", precision=4, scale=1, label="Visits"),
        custom_field("Legacy_Key__c", "string", length=20, external_id=True, label="Legacy Key"),
        custom_field("Hidden__c", "string", length=10, label="Hidden", accessible=False),
    ]
    for field in contact:
        org.add_custom_field("Contact", field)
    org.add_custom_field("Product2", custom_field("Stock_Level__c", "double", precision=10, scale=0,
                                                  label="Stock Level"))
    org.add_custom_field("Product2", custom_field("Cost_Price__c", "currency", label="Cost Price"))
    org.add_custom_object("Practitioner__c", label="Practitioner", fields=[
        custom_field("Ext__c", "string", length=40, external_id=True, unique=True, label="Cliniko ID"),
        custom_field("Email__c", "email", label="Email"),
        custom_field("Account__c", "reference", reference_to=["Account"], label="Business"),
    ])
    org.add_custom_field("Contact", custom_field("Practitioner__c", "reference", reference_to=["Practitioner__c"],
                                                 label="Practitioner"))


def start(folder: Path, tls: SandboxTLS, **options: Any) -> tuple[EmulatorServer, Org]:
    server, org = start_salesforce_sandbox(folder, tls=tls, **options)
    provision(org)
    return server, org


@contextmanager
def serving(started: tuple[EmulatorServer, Org]) -> Iterator[tuple[EmulatorServer, Org]]:
    """A started sandbox for the length of a block (a module's fixture): stopped and closed after."""
    server, org = started
    try:
        yield server, org
    finally:
        server.stop()
        org.close()


def salesforce(server: EmulatorServer, *, version: str = VERSION, token: str = DEFAULT_TOKEN) -> Salesforce:
    """The unmodified simple-salesforce client, as a loader builds it from a session id."""
    return Salesforce(instance_url=server.base_url, session_id=token, version=version)


@contextmanager
def ca_bundle(tls: SandboxTLS) -> Iterator[None]:
    """REQUESTS_CA_BUNDLE → the sandbox bundle (requests prefers it over a session's `verify`)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REQUESTS_CA_BUNDLE", str(tls.bundle))
        patch.delenv("CURL_CA_BUNDLE", raising=False)
        yield


def raw(server: EmulatorServer, method: str, path: str, *, token: str | None = DEFAULT_TOKEN,
        headers: dict[str, str] | None = None, **kwargs: Any) -> requests.Response:
    """A plain HTTPS request (for status codes, headers and bodies simple-salesforce hides)."""
    sent = {**({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})}
    return requests.request(method, server.base_url + path, headers=sent, timeout=10, **kwargs)


def data(path: str, version: str = VERSION) -> str:
    return f"/services/data/v{version}{path}"


def provision_from_spec(org: Org, compiled: CompiledSpec,
                        objects: tuple[str, ...] = ("Account", "Contact")) -> None:
    """The spec's provisioned fields on standard objects, created in the org as the provisioner would."""
    loaded = compiled.loaded
    views = target_objects(loaded.spec, loaded.target)
    for object_name in objects:
        view = views[object_name]
        for name in sorted(view.provisioned):
            f = view.fields[name]
            org.add_custom_field(object_name, custom_field(
                name, f.type, label=f.label or None, length=f.length if f.type != "reference" else None,
                required=f.required, unique=f.unique, external_id=f.external_id,
                picklist=[str(v) for v in f.picklist_values], restricted=f.restricted,
                reference_to=f.reference_to))


@pytest.fixture(scope="module", name="tls")
def salesforce_tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxTLS]:
    """The sandbox CA, exported as REQUESTS_CA_BUNDLE for the module (requests prefers it to `verify`).
    Import it by this name into a test module; it serves there as `tls`."""
    tls = ensure_tls(tmp_path_factory.mktemp("tls"))
    with ca_bundle(tls):
        yield tls
