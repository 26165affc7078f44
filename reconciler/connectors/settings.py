"""What a connector needs from a Connection resource, and the ``sandbox://local`` substitution.

Built from the normalised Connection spec (the plain dict of the shared contract, camelCase keys,
secret references kept as references), so connectors depend on the documented YAML shape rather
than on one Python model of it. Secrets stay :class:`Secret` references until a login reveals them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .errors import ConnectorError, ErrorKind
from .http import Verify, verify_for
from .secrets import Secret

SANDBOX_URL = "sandbox://local"
DEFAULT_SALESFORCE_LOGIN_URL = "https://login.salesforce.com"
DEFAULT_MICROSOFT_AUTHORITY = "https://login.microsoftonline.com"


def _secret(spec: Mapping[str, Any], key: str, base_dir: Path | None) -> Secret | None:
    ref = spec.get(key)
    return Secret.from_ref(ref, base_dir) if ref is not None else None


def _ca(spec: Mapping[str, Any], base_dir: Path | None) -> Path | None:
    ca = spec.get("caFile")
    if not ca:
        return None
    path = Path(str(ca)).expanduser()
    return path if path.is_absolute() or base_dir is None else base_dir / path


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
    def from_spec(cls, spec: Mapping[str, Any], base_dir: Path | None = None) -> "SalesforceSettings":
        """``spec`` is a Connection's ``spec.salesforce`` (or the whole ``spec``)."""
        spec = spec.get("salesforce", spec)
        auth = spec["auth"]
        return cls(
            instance_url=str(spec["instanceUrl"]).rstrip("/"),
            login_url=str(spec.get("loginUrl") or DEFAULT_SALESFORCE_LOGIN_URL).rstrip("/"),
            api_version=str(spec.get("apiVersion") or "61.0"),
            ca_file=_ca(spec, base_dir),
            auth=SalesforceAuth(
                type=str(auth["type"]), client_id=str(auth["clientId"]), username=auth.get("username"),
                private_key=_secret(auth, "privateKey", base_dir),
                client_secret=_secret(auth, "clientSecret", base_dir),
                password=_secret(auth, "password", base_dir),
                security_token=_secret(auth, "securityToken", base_dir)),
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
    def from_spec(cls, spec: Mapping[str, Any], base_dir: Path | None = None) -> "ExchangeSettings":
        """``spec`` is a Connection's ``spec.exchange`` (or the whole ``spec``)."""
        spec = spec.get("exchange", spec)
        auth = spec["auth"]
        certificate = auth.get("certificate") or {}
        return cls(
            ews_url=spec.get("ewsUrl"),
            autodiscover=bool(spec.get("autodiscover", False)),
            domains=tuple(str(d).lower() for d in spec.get("domains") or ()),
            ca_file=_ca(spec, base_dir),
            auth=ExchangeAuth(
                type=str(auth["type"]), username=auth.get("username"),
                password=_secret(auth, "password", base_dir),
                impersonation=bool(auth.get("impersonation", True)),
                tenant_id=auth.get("tenantId"), client_id=auth.get("clientId"),
                authority=str(auth.get("authority") or DEFAULT_MICROSOFT_AUTHORITY).rstrip("/"),
                client_secret=_secret(auth, "clientSecret", base_dir),
                certificate_key=_secret(certificate, "privateKey", base_dir) if certificate else None,
                certificate_thumbprint=certificate.get("thumbprint")),
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
                identity_authority=str(identity["authority"]).rstrip("/"),
            )
        except (KeyError, TypeError) as exc:
            raise ConnectorError(ErrorKind.CONFIGURATION, f"the sandbox endpoints document lacks {exc}",
                                 fix="restart the sandbox (reconcile sandbox serve) to rewrite endpoints.json") from None


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
