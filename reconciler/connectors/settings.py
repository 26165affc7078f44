"""What a connector needs from a Connection resource, and the ``sandbox://local`` substitution.

Built from the config package's typed Connection; secrets stay :class:`Secret` references until a
login reveals them, and ``resolve_sandbox`` can swap URLs and CA without touching the config model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..config.model import SANDBOX_URL, ExchangeConnection, SalesforceConnection, SecretRef
from .errors import ConnectorError, ErrorKind
from .http import Verify, verify_for
from .secrets import Secret

DEFAULT_SALESFORCE_LOGIN_URL = "https://login.salesforce.com"
DEFAULT_MICROSOFT_AUTHORITY = "https://login.microsoftonline.com"


def _secret(ref: SecretRef | None) -> Secret | None:
    return Secret.from_ref(ref) if ref is not None else None


@dataclass(frozen=True)
class SalesforceAuth:
    type: str  # jwt_bearer | client_credentials | password
    client_id: str
    username: str | None = None
    private_key: Secret | None = None
    client_secret: Secret | None = None
    password: Secret | None = None
    security_token: Secret | None = None


@dataclass(frozen=True)
class SalesforceSettings:
    instance_url: str
    login_url: str
    api_version: str
    auth: SalesforceAuth
    ca_file: Path | None = None

    @classmethod
    def from_connection(cls, conn: SalesforceConnection) -> "SalesforceSettings":
        """From the config package's typed ``Connection.salesforce`` (paths already absolute)."""
        auth = conn.auth
        return cls(
            instance_url=conn.instance_url.rstrip("/"),
            login_url=(conn.login_url or DEFAULT_SALESFORCE_LOGIN_URL).rstrip("/"),
            api_version=conn.api_version,
            ca_file=Path(conn.ca_file) if conn.ca_file else None,
            auth=SalesforceAuth(
                type=auth.type, client_id=auth.client_id, username=auth.username,
                private_key=_secret(auth.private_key), client_secret=_secret(auth.client_secret),
                password=_secret(auth.password), security_token=_secret(auth.security_token)),
        )

    @property
    def verify(self) -> Verify:
        return verify_for(self.ca_file)

    @property
    def targets_sandbox(self) -> bool:
        return self.instance_url == SANDBOX_URL


@dataclass(frozen=True)
class ExchangeAuth:
    type: str  # service_account | oauth_client_credentials
    username: str | None = None
    password: Secret | None = None
    impersonation: bool = True
    tenant_id: str | None = None
    client_id: str | None = None
    authority: str = DEFAULT_MICROSOFT_AUTHORITY
    client_secret: Secret | None = None
    certificate_key: Secret | None = None
    certificate_thumbprint: str | None = None


@dataclass(frozen=True)
class ExchangeSettings:
    ews_url: str | None
    auth: ExchangeAuth
    domains: tuple[str, ...] = ()
    autodiscover: bool = False
    ca_file: Path | None = None

    @classmethod
    def from_connection(cls, conn: ExchangeConnection) -> "ExchangeSettings":
        """From the config package's typed ``Connection.exchange`` (paths already absolute)."""
        auth = conn.auth
        certificate = auth.certificate
        return cls(
            ews_url=conn.ews_url,
            autodiscover=conn.autodiscover,
            domains=tuple(d.lower() for d in conn.domains),
            ca_file=Path(conn.ca_file) if conn.ca_file else None,
            auth=ExchangeAuth(
                type=auth.type, username=auth.username, password=_secret(auth.password),
                impersonation=auth.impersonation if auth.impersonation is not None else True,
                tenant_id=auth.tenant_id, client_id=auth.client_id,
                authority=(auth.authority or DEFAULT_MICROSOFT_AUTHORITY).rstrip("/"),
                client_secret=_secret(auth.client_secret),
                certificate_key=_secret(certificate.private_key) if certificate else None,
                certificate_thumbprint=certificate.thumbprint if certificate else None),
        )

    @property
    def verify(self) -> Verify:
        return verify_for(self.ca_file)

    @property
    def targets_sandbox(self) -> bool:
        return self.ews_url == SANDBOX_URL or self.auth.authority == SANDBOX_URL


ConnectionSettings = SalesforceSettings | ExchangeSettings


@dataclass(frozen=True)
class SandboxEndpoints:
    """The parts of the sandbox's ``endpoints.json`` a connector needs."""

    ca_file: Path
    salesforce_instance_url: str
    salesforce_login_url: str
    ews_url: str
    identity_authority: str

    @classmethod
    def from_document(cls, endpoints: Mapping[str, Any]) -> "SandboxEndpoints":
        try:
            salesforce, exchange, identity = endpoints["salesforce"], endpoints["exchange"], endpoints["identity"]
            return cls(
                ca_file=Path(endpoints["caFile"]),
                salesforce_instance_url=str(salesforce["instanceUrl"]).rstrip("/"),
                salesforce_login_url=str(salesforce.get("loginUrl") or salesforce["instanceUrl"]).rstrip("/"),
                ews_url=str(exchange["ewsUrl"]),
                identity_authority=_authority_host(str(identity["authority"]), identity.get("tenantId")),
            )
        except (KeyError, TypeError) as exc:
            raise ConnectorError(ErrorKind.CONFIGURATION, f"the sandbox endpoints document lacks {exc}",
                                 fix="restart the sandbox (reconcile sandbox serve) to rewrite endpoints.json") from None


def _authority_host(authority: str, tenant_id: str | None) -> str:
    """The identity host without a tenant segment: connections name their tenant themselves."""
    authority = authority.rstrip("/")
    if tenant_id and authority.endswith(f"/{tenant_id}"):
        authority = authority[: -len(tenant_id) - 1]
    return authority


def resolve_sandbox(settings: ConnectionSettings, endpoints: Mapping[str, Any]) -> ConnectionSettings:
    """Point a ``sandbox://local`` connection at the running sandbox: its URLs and its CA.

    Connections that do not target the sandbox come back unchanged. Credentials are not touched:
    configurations reference the sandbox's secrets like any others (``secrets/<service>.<key>``)."""
    if not settings.targets_sandbox:
        return settings
    sandbox = SandboxEndpoints.from_document(endpoints)
    if isinstance(settings, SalesforceSettings):
        return replace(settings, instance_url=sandbox.salesforce_instance_url,
                       login_url=sandbox.salesforce_login_url, ca_file=sandbox.ca_file)
    auth = settings.auth
    if auth.authority == SANDBOX_URL:
        auth = replace(auth, authority=sandbox.identity_authority)
    ews_url = sandbox.ews_url if settings.ews_url == SANDBOX_URL else settings.ews_url
    return replace(settings, ews_url=ews_url, auth=auth, ca_file=sandbox.ca_file, autodiscover=False)
