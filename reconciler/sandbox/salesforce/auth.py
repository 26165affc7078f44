"""Logins of the emulated org: the connected app, OAuth grants, SOAP partner login, sessions.

The sandbox makes its own credentials per data directory (random client id/secret, integration
password and security token, an RSA key pair with a self-signed certificate for the JWT bearer
flow) and keeps them in the snapshot, so a configuration written against one sandbox keeps working
after a restart and can never work against a real org.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import secrets
import string
import time
from dataclasses import asdict, dataclass
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

# Audiences a JWT bearer assertion may name: the real login hosts, or the sandbox itself.
LOGIN_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")


class OAuthError(Exception):
    """A token endpoint refusal: ``{"error", "error_description"}`` with HTTP 400."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


def _random_text(length: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


@dataclass
class Credentials:
    """The connected app and the integration user's secrets (sandbox-only values)."""

    org_id: str
    client_id: str
    client_secret: str
    password: str
    security_token: str
    jwt_private_key: str   # PEM (PKCS#8)
    jwt_certificate: str   # PEM

    @classmethod
    def generate(cls) -> "Credentials":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "reconciler sandbox"),
                          x509.NameAttribute(NameOID.COMMON_NAME, "reconciler sandbox connected app")])
        now = dt.datetime.now(dt.timezone.utc)
        certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                       .public_key(key.public_key()).serial_number(x509.random_serial_number())
                       .not_valid_before(now - dt.timedelta(days=1))
                       .not_valid_after(now + dt.timedelta(days=3650))
                       .sign(key, hashes.SHA256()))
        return cls(
            org_id="00D" + _random_text(12),
            client_id="3MVG9" + _random_text(80, string.ascii_letters + string.digits + "._"),
            client_secret=_random_text(64, string.hexdigits.upper()[:16]),
            password=_random_text(20),
            security_token=_random_text(24),
            jwt_private_key=key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()).decode("ascii"),
            jwt_certificate=certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        )

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass
class Session:
    user_id: str
    issued_ms: int


class Sessions:
    """Access tokens (session ids) and the users they act for."""

    def __init__(self) -> None:
        self.by_token: dict[str, Session] = {}

    def issue(self, org_id: str, user_id: str) -> tuple[str, Session]:
        # Shaped like a Salesforce session id: "<15-char org id>!<opaque>".
        token = f"{org_id[:15]}!{_random_text(96, string.ascii_letters + string.digits + '._')}"
        session = Session(user_id, int(time.time() * 1000))
        self.by_token[token] = session
        return token, session

    def user_for(self, token: str) -> str | None:
        session = self.by_token.get(token)
        return None if session is None else session.user_id

    def revoke_all(self) -> None:
        self.by_token.clear()

    def snapshot(self) -> dict[str, Any]:
        return {token: asdict(s) for token, s in self.by_token.items()}

    def restore(self, data: dict[str, Any]) -> None:
        self.by_token = {token: Session(**s) for token, s in data.items()}


def response_signature(client_secret: str, identity_url: str, issued_at: str) -> str:
    """What Salesforce puts in ``signature``: base64 HMAC-SHA256 of id + issued_at, keyed by the
    client secret, so a client can check the reply was not altered."""
    digest = hmac.new(client_secret.encode(), (identity_url + issued_at).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def client_from_basic(header: str | None) -> tuple[str, str] | None:
    """(client id, secret) from an ``Authorization: Basic`` header, if there is one."""
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, colon, secret = decoded.partition(":")
    return (client_id, secret) if colon else None


def verify_assertion(assertion: str, credentials: Credentials, base_url: str) -> dict[str, Any]:
    """Check a JWT bearer assertion: RS256 signed by the sandbox certificate's key, issued by the
    connected app, addressed to a login host (or the sandbox), not expired. Returns the claims."""
    certificate = x509.load_pem_x509_certificate(credentials.jwt_certificate.encode("ascii"))
    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError as exc:
        raise OAuthError("invalid_grant", "invalid assertion") from exc
    if header.get("alg") != "RS256":
        raise OAuthError("invalid_grant", "invalid assertion")
    try:
        claims = jwt.decode(assertion, certificate.public_key(), algorithms=["RS256"],  # type: ignore[arg-type]
                            audience=[*LOGIN_AUDIENCES, base_url], leeway=5,
                            options={"require": ["iss", "sub", "aud", "exp"]})
    except jwt.ExpiredSignatureError as exc:
        raise OAuthError("invalid_grant", "expired authorization code") from exc
    except jwt.InvalidAudienceError as exc:
        raise OAuthError("invalid_grant", "audience is invalid") from exc
    except jwt.PyJWTError as exc:
        raise OAuthError("invalid_grant", "invalid assertion") from exc
    if claims["iss"] != credentials.client_id:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    return claims
