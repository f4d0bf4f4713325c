"""Which source (and later target) a command talks to: real credentials, or the sandbox.

Credentials come only from the environment. With none, the workspace's sandbox
is started for the length of the command, and the first line of output says
so — an analyst must never mistake a sandbox run for the real thing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import requests
from simple_salesforce.api import Salesforce

from engine.connectors import ClinikoConnector
from engine.errors import UsageError
from engine.load.dataverse_client import DataverseClient
from engine.load.dataverse_sharepoint import SharePointFiles
from engine.profiles import Profile, read_profiles, require
from engine.sandbox.runtime import SANDBOX_USER_AGENT, Sandbox, SandboxOptions
from engine.workspace import Workspace

CLINIKO_KEY = "CLINIKO_API_KEY"
CLINIKO_BASE = "CLINIKO_API_BASE"
CONTACT_EMAIL = "FLITSTACK_CONTACT_EMAIL"
SALESFORCE_API_VERSION = "62.0"


@dataclass
class SourceConnection:
    connector: ClinikoConnector
    label: str  # one line for the first line of output and for reports
    sandbox: Sandbox | None


def _forced_sandbox() -> bool:
    return bool(os.environ.get("FLITSTACK_FORCE_SANDBOX"))


def _real_cliniko(profile: Profile) -> SourceConnection:
    email = profile.get(CONTACT_EMAIL)
    if not email:
        raise UsageError(f"Cliniko asks every API client to name itself with a contact e-mail: "
                         f"set {profile.variable(CONTACT_EMAIL)} (it goes into the User-Agent header)")
    connector = ClinikoConnector(profile.get(CLINIKO_KEY), user_agent=f"flitstack ({email})",
                                 base_url=profile.get(CLINIKO_BASE) or None)
    named = f" ({profile.describe()})" if profile.name else ""
    return SourceConnection(connector, f"Cliniko API: {connector.describe()}{named}", None)


@contextmanager
def cliniko_source(workspace: Workspace, options: SandboxOptions | None = None) -> Iterator[SourceConnection]:
    profile = read_profiles(workspace.root)["source"]
    if not _forced_sandbox():
        require(profile, (CLINIKO_KEY,))
    if profile.get(CLINIKO_KEY) and not _forced_sandbox():
        connection = _real_cliniko(profile)
        with connection.connector:
            yield connection
        return
    workspace.ensure()
    options = options or SandboxOptions()
    with Sandbox(workspace.sandbox, options, with_salesforce=False) as sandbox:
        assert sandbox.tls is not None
        label = f"{sandbox.describe_cliniko()} — no {CLINIKO_KEY} set, so the sandbox is used"
        with ClinikoConnector(sandbox.cliniko_api_key, user_agent=SANDBOX_USER_AGENT,
                              base_url=sandbox.cliniko_base_template, verify=str(sandbox.tls.bundle),
                              requests_per_minute=options.cliniko_requests_per_minute) as connector:
            yield SourceConnection(connector, label, sandbox)


SALESFORCE_URL = "SALESFORCE_INSTANCE_URL"
SALESFORCE_TOKEN = "SALESFORCE_ACCESS_TOKEN"


@dataclass
class TargetConnection:
    sf: Salesforce
    label: str


def _salesforce_client(instance_url: str, token: str, bundle: str | None) -> Salesforce:
    session = requests.Session()
    if bundle is not None:
        # requests lets REQUESTS_CA_BUNDLE override `verify`; the sandbox's own session ignores the
        # environment so its CA is used whatever the shell exports.
        session.trust_env = False
        session.verify = bundle
    return Salesforce(instance_url=instance_url, session_id=token, version=SALESFORCE_API_VERSION,
                      session=session)


@contextmanager
def salesforce_target(workspace: Workspace) -> Iterator[TargetConnection]:
    profile = read_profiles(workspace.root)["target"]
    if not _forced_sandbox():
        require(profile, (SALESFORCE_URL, SALESFORCE_TOKEN))
    url, token = profile.get(SALESFORCE_URL), profile.get(SALESFORCE_TOKEN)
    if url and token and not _forced_sandbox():
        named = f" ({profile.describe()})" if profile.name else ""
        yield TargetConnection(_salesforce_client(url, token, None), f"Salesforce org at {url}{named}")
        return
    workspace.ensure()
    with Sandbox(workspace.sandbox, with_cliniko=False) as sandbox:
        assert sandbox.tls is not None and sandbox.salesforce is not None
        label = f"{sandbox.describe_salesforce()} — no {SALESFORCE_URL}/{SALESFORCE_TOKEN} set, " \
                "so the sandbox is used"
        yield TargetConnection(_salesforce_client(sandbox.salesforce.base_url, sandbox.salesforce_token,
                                                  str(sandbox.tls.bundle)), label)


DATAVERSE_URL = "DATAVERSE_URL"
DATAVERSE_VARIABLES = (DATAVERSE_URL, "DATAVERSE_TENANT_ID", "DATAVERSE_CLIENT_ID", "DATAVERSE_CLIENT_SECRET")
MICROSOFT_LOGIN = "https://login.microsoftonline.com"


@dataclass
class DataverseConnection:
    client: DataverseClient
    label: str
    sharepoint: SharePointFiles | None = None  # attachments go to SharePoint when a site is configured


SHAREPOINT_SITE = "DATAVERSE_SHAREPOINT_SITE"


@contextmanager
def dataverse_target(workspace: Workspace) -> Iterator[DataverseConnection]:
    """A Dataverse environment signed in with client credentials (an app registration + secret)."""
    profile = read_profiles(workspace.root)["target"]
    if not _forced_sandbox():
        require(profile, DATAVERSE_VARIABLES)
    if all(profile.get(name) for name in DATAVERSE_VARIABLES) and not _forced_sandbox():
        url = profile.get(DATAVERSE_URL)
        host = profile.get("DATAVERSE_AUTHORITY_HOST") or MICROSOFT_LOGIN
        authority = f"{host}/{profile.get('DATAVERSE_TENANT_ID')}"
        client = DataverseClient(url, client_id=profile.get("DATAVERSE_CLIENT_ID"),
                                 client_secret=profile.get("DATAVERSE_CLIENT_SECRET"), authority=authority)
        named = f" ({profile.describe()})" if profile.name else ""
        sharepoint = SharePointFiles.from_environment(
            client, {SHAREPOINT_SITE: profile.get(SHAREPOINT_SITE), "GRAPH_URL": profile.get("GRAPH_URL")})
        try:
            yield DataverseConnection(client, f"Dataverse environment at {url}{named}", sharepoint)
        finally:
            client.close()
        return
    workspace.ensure()
    sandbox = Sandbox(workspace.sandbox, with_cliniko=False, with_salesforce=False, with_dataverse=True)
    with sandbox:
        assert sandbox.tls is not None
        credentials = sandbox.dataverse_credentials
        client = DataverseClient(
            credentials[DATAVERSE_URL], client_id=credentials["DATAVERSE_CLIENT_ID"],
            client_secret=credentials["DATAVERSE_CLIENT_SECRET"],
            authority=f"{credentials['DATAVERSE_AUTHORITY_HOST']}/{credentials['DATAVERSE_TENANT_ID']}",
            verify=str(sandbox.tls.bundle))
        # The sandbox's own SharePoint site, when the analyst asks for SharePoint (any site value).
        sharepoint = SharePointFiles.from_environment(client, credentials) if profile.get(SHAREPOINT_SITE) \
            else None
        try:
            yield DataverseConnection(client, f"{sandbox.describe_dataverse()} — no {DATAVERSE_URL} "
                                              "and its credentials set, so the sandbox is used", sharepoint)
        finally:
            client.close()
