"""Microsoft Entra ID, as far as a client-credentials sign-in needs it (ref §1).

    GET  /{tenant}/v2.0/.well-known/openid-configuration   the discovery document msal reads at once
    POST /{tenant}/oauth2/v2.0/token                       client_credentials → an opaque bearer token

msal is used unmodified: authority `{base}/{tenant}`, `instance_discovery=False`,
`verify=<sandbox CA bundle>`, scope `{base}/.default`. Errors come back as
Entra's JSON ({"error", "error_description": "AADSTS…", "error_codes", …}),
which msal hands to the caller as a dict: a wrong secret is 401
invalid_client, an unknown client 400 unauthorized_client, a scope for another
resource 400 invalid_scope. Tokens last an hour and are kept in the
environment's database, so they survive a restart of the sandbox.

As in Entra, one app registration signs in for more than one resource: an
emulator of another Microsoft API (the Graph drive, engine/sandbox/graph)
registers its base URL with `trust_resource`; tokens issued for its `/.default`
scope are kept in the same table, which that emulator checks bearer tokens
against. The audience is not recorded: either API accepts the other's token.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from engine.sandbox.dataverse.seed import APPLICATION_USER_ID
from engine.sandbox.dataverse.store import Environment
from engine.sandbox.server import Request, Response

TENANT_ID = "7d2f6a1c-3b4e-4f5a-8c9d-0e1f2a3b4c5d"
CLIENT_ID = "51f81489-12ee-4a9e-aaae-a2591f45987d"
CLIENT_SECRET = "flitstack-sandbox-secret"
TOKEN_LIFETIME = 3600


class Directory:
    """The tenant, the one app registration it knows, and the tokens it issued."""

    def __init__(self, env: Environment, *, tenant_id: str = TENANT_ID, client_id: str = CLIENT_ID,
                 client_secret: str = CLIENT_SECRET) -> None:
        self.env = env
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.resources: set[str] = set()  # other APIs' base URLs this tenant issues tokens for

    def trust_resource(self, base_url: str) -> None:
        """Issue tokens for `{base_url}/.default` too (another emulated API of the same tenant)."""
        self.resources.add(base_url.rstrip("/"))

    def handles(self, path: str) -> bool:
        return path.lower().startswith(f"/{self.tenant_id}/") or path.lower().startswith("/common/")

    def __call__(self, request: Request) -> Response:
        tenant, _, rest = request.path.strip("/").partition("/")
        if tenant.lower() != self.tenant_id:
            return _error(400, "invalid_tenant", 90002, f"Tenant '{tenant}' not found. Check to make "
                          "sure you have the correct tenant ID and are signing into the correct cloud.")
        if request.method == "GET" and rest == "v2.0/.well-known/openid-configuration":
            return Response.json(200, self.discovery(request.base_url))
        if request.method == "POST" and rest == "oauth2/v2.0/token":
            return self.token(request)
        return _error(404, "invalid_request", 90009, f"The endpoint '{request.path}' does not exist.")

    def discovery(self, base: str) -> dict[str, Any]:
        root = f"{base}/{self.tenant_id}"
        return {
            "token_endpoint": f"{root}/oauth2/v2.0/token",
            "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
            "issuer": f"{root}/v2.0",
            "jwks_uri": f"{root}/discovery/v2.0/keys",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                      "client_secret_basic"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "grant_types_supported": ["client_credentials", "authorization_code", "refresh_token"],
            "tenant_region_scope": "OC",
        }

    def token(self, request: Request) -> Response:
        form = {k: v[-1] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
        if form.get("grant_type") != "client_credentials":
            return _error(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type "
                          f"'{form.get('grant_type')}'; this sandbox issues client_credentials tokens only.")
        if form.get("client_id") != self.client_id:
            return _error(400, "unauthorized_client", 700016, f"Application with identifier "
                          f"'{form.get('client_id')}' was not found in the directory '{self.tenant_id}'.")
        if form.get("client_secret") != self.client_secret:
            return _error(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret "
                          f"being sent in the request is the client secret value, not the client secret ID, "
                          f"for a secret added to app '{self.client_id}'.")
        resource = request.base_url.rstrip("/")
        scopes = (form.get("scope") or "").split()
        asked = {s.rstrip("/").removesuffix("/.default").rstrip("/") for s in scopes}
        if len(asked) != 1 or not asked <= {resource, *self.resources}:
            return _error(400, "invalid_scope", 1002012, f"The provided value for scope "
                          f"'{form.get('scope')}' is not valid. Client credential flows must have a scope "
                          f"value with /.default suffixed to the resource identifier ({resource}/.default).")
        token = secrets.token_urlsafe(48)
        self.env.save_token(token, APPLICATION_USER_ID, self.env.clock() + TOKEN_LIFETIME)
        return Response.json(200, {"token_type": "Bearer", "expires_in": TOKEN_LIFETIME,
                                   "ext_expires_in": TOKEN_LIFETIME, "access_token": token})


def _error(status: int, error: str, code: int, description: str) -> Response:
    trace = str(uuid.uuid4())
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    return Response.json(status, {"error": error, "error_description": f"AADSTS{code}: {description} "
                                  f"Trace ID: {trace} Correlation ID: {trace} Timestamp: {now}",
                                  "error_codes": [code], "timestamp": now, "trace_id": trace,
                                  "correlation_id": trace})
