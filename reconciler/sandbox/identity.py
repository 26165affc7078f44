"""The Microsoft identity platform emulator: OpenID discovery and the v2.0 token endpoint.

msal's ``ConfidentialClientApplication`` reads ``/<tenant>/v2.0/.well-known/openid-configuration`` and
posts ``client_credentials`` to ``/<tenant>/oauth2/v2.0/token`` with a client secret or a certificate
assertion (an RS256 JWT whose ``x5t`` header names the registered certificate). Tokens are RS256 JWTs
signed with the sandbox's own key; the EWS emulator checks them with ``verify_token``. Errors carry
AADSTS codes in the shape msal hands back to callers as a dict.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
import time
import uuid
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from werkzeug.wrappers import Request, Response

from .service import Service

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TOKEN_LIFETIME = 3600


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _key_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _certificate(key: rsa.RSAPrivateKey, common_name: str) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.timezone.utc)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=3650)).sign(key, hashes.SHA256()))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class IdentityService(Service):
    name = "identity"

    def __init__(self) -> None:
        super().__init__()
        self.tenants: dict[str, dict[str, Any]] = {}  # tenant id -> {"apps": {client id: app}}
        self.signing_key_pem = ""
        self.key_id = ""
        self._signing_key: Any = None
        self._public_key: Any = None

    # -- routing -------------------------------------------------------------------------------

    def claims(self, path: str) -> bool:
        parts = path.strip("/").split("/")
        return len(parts) >= 3 and (parts[1:3] == ["v2.0", ".well-known"] or parts[1:3] == ["oauth2", "v2.0"]
                                    or parts[1:3] == ["discovery", "v2.0"])

    def operation(self, request: Request) -> str:
        parts = request.path.strip("/").split("/")
        if parts[1:] == ["v2.0", ".well-known", "openid-configuration"]:
            return "openid_configuration"
        if parts[1:] == ["oauth2", "v2.0", "token"]:
            return "token"
        if parts[1:] == ["discovery", "v2.0", "keys"]:
            return "keys"
        return "unknown"

    def handle(self, request: Request, operation: str) -> Response:
        tenant = request.path.strip("/").split("/")[0]
        if operation == "unknown":
            return Response("not found in the identity sandbox", status=404, mimetype="text/plain")
        if tenant not in self.tenants:
            return self._error(400, "invalid_request", 90002,
                               f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are "
                               "signing into the correct cloud.")
        if operation == "openid_configuration":
            return self._json(self._openid_configuration(tenant))
        if operation == "keys":
            return self._json(self._jwks())
        if request.method != "POST":
            return self._error(400, "invalid_request", 900561,
                               "The endpoint only accepts POST requests. Received a GET request.")
        return self._token(tenant, request.form)

    # -- documents -----------------------------------------------------------------------------

    def _base(self) -> str:
        assert self.context is not None
        return self.context.base_url

    def issuer(self, tenant: str) -> str:
        return f"{self._base()}/{tenant}/v2.0"

    def _openid_configuration(self, tenant: str) -> dict[str, Any]:
        base = f"{self._base()}/{tenant}"
        return {
            "issuer": self.issuer(tenant),
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "tenant_region_scope": "EU",
        }

    def _jwks(self) -> dict[str, Any]:
        numbers = self._public_key.public_numbers()
        n = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
        e = numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")
        return {"keys": [{"kty": "RSA", "use": "sig", "kid": self.key_id, "n": _b64url(n), "e": _b64url(e)}]}

    # -- the token endpoint --------------------------------------------------------------------

    def _token(self, tenant: str, form: Any) -> Response:
        if form.get("grant_type") != "client_credentials":
            return self._error(400, "unsupported_grant_type", 70003,
                               f"The app requested an unsupported grant type '{form.get('grant_type')}'. "
                               "The sandbox issues client_credentials tokens only.")
        client_id = form.get("client_id", "")
        app = self.tenants[tenant]["apps"].get(client_id)
        if app is None:
            return self._error(400, "unauthorized_client", 700016,
                               f"Application with identifier '{client_id}' was not found in the directory "
                               f"'{tenant}'. This can happen if the application has not been installed by the "
                               "administrator of the tenant or consented to by any user in the tenant.")
        if form.get("client_assertion_type") == ASSERTION_TYPE:
            problem = self._check_assertion(tenant, app, form.get("client_assertion", ""))
            if problem is not None:
                return problem
        elif "client_secret" in form:
            if not hmac.compare_digest(form["client_secret"].encode(), app["secret"].encode()):
                return self._error(401, "invalid_client", 7000215,
                                   "Invalid client secret provided. Ensure the secret being sent in the request is the "
                                   f"client secret value, not the client secret ID, for a secret added to app "
                                   f"'{client_id}'.")
        else:
            return self._error(401, "invalid_client", 7000218,
                               "The request body must contain the following parameter: 'client_assertion' or "
                               "'client_secret'.")
        scopes = form.get("scope", "").split()
        resources = [scope[: -len("/.default")] for scope in scopes if scope.endswith("/.default")]
        if len(resources) != 1 or len(scopes) != 1 or resources[0] not in app["resources"]:
            return self._error(400, "invalid_scope", 1002012,
                               f"The provided value for scope {form.get('scope', '')} is not valid. Client credential "
                               "flows must have a scope value with /.default suffixed to the resource identifier "
                               "(application ID URI).")
        now = int(time.time())
        claims = {"aud": resources[0], "iss": self.issuer(tenant), "iat": now, "nbf": now,
                  "exp": now + TOKEN_LIFETIME, "tid": tenant, "appid": client_id, "azp": client_id,
                  "oid": app["objectId"], "sub": app["objectId"], "roles": app["roles"], "ver": "2.0",
                  "idtyp": "app", "uti": secrets.token_urlsafe(16)}
        token = jwt.encode(claims, self._signing_key, algorithm="RS256", headers={"kid": self.key_id})
        return self._json({"token_type": "Bearer", "expires_in": TOKEN_LIFETIME, "ext_expires_in": TOKEN_LIFETIME,
                           "access_token": token})

    def _check_assertion(self, tenant: str, app: dict[str, Any], assertion: str) -> Response | None:
        """Verify a certificate assertion as Entra does: known thumbprint, signature, audience, issuer."""
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            return self._error(400, "invalid_request", 50027, "JWT token is invalid or malformed.")
        # base64url, with or without padding (msal keeps the "=")
        thumbprint = str(header.get("x5t") or header.get("x5t#S256") or "").rstrip("=")
        known = {app["certificateX5t"], app["certificateX5tS256"]}
        if thumbprint not in known:
            return self._error(401, "invalid_client", 700027,
                               f"The certificate with identifier used to sign the client assertion is not registered "
                               f"on application. [Reason - The key was not found., Thumbprint of key used by client: "
                               f"'{thumbprint}']")
        public_key = x509.load_pem_x509_certificate(app["certificate"].encode()).public_key()
        token_url = f"{self._base()}/{tenant}/oauth2/v2.0/token"
        try:
            claims = jwt.decode(assertion, public_key, algorithms=["RS256", "PS256"], audience=token_url,
                                options={"require": ["exp", "aud", "iss", "sub"]})
        except jwt.PyJWTError as error:
            return self._error(401, "invalid_client", 700027,
                               f"Client assertion failed signature validation. [Reason - {error}]")
        if claims.get("iss") != app["clientId"] or claims.get("sub") != app["clientId"]:
            return self._error(401, "invalid_client", 700023,
                               "Invalid issuer or subject: both must be the application's client id.")
        return None

    def verify_token(self, token: str, audience: str) -> dict[str, Any] | None:
        """The claims of a token this emulator issued for ``audience`` and that is still valid; else None."""
        try:
            claims = jwt.decode(token, self._public_key, algorithms=["RS256"], audience=audience,
                                options={"require": ["exp", "iss", "tid", "appid"]})
        except jwt.PyJWTError:
            return None
        tenant = self.tenants.get(claims["tid"])
        if tenant is None or claims["iss"] != self.issuer(claims["tid"]) or claims["appid"] not in tenant["apps"]:
            return None
        return claims

    # -- responses -----------------------------------------------------------------------------

    def _json(self, body: dict[str, Any], status: int = 200) -> Response:
        return Response(json.dumps(body), status=status, content_type="application/json; charset=utf-8",
                        headers={"Cache-Control": "no-store, no-cache"})

    def _error(self, status: int, error: str, code: int, text: str) -> Response:
        trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
        return self._json({
            "error": error,
            "error_description": f"AADSTS{code}: {text} Trace ID: {trace} Correlation ID: {correlation} "
                                 f"Timestamp: {stamp}",
            "error_codes": [code], "timestamp": stamp, "trace_id": trace, "correlation_id": correlation,
            "error_uri": f"{self._base()}/error?code={code}",
        }, status=status)

    # -- seed, persistence, endpoints -----------------------------------------------------------

    def _load_signing_key(self) -> None:
        self._signing_key = serialization.load_pem_private_key(self.signing_key_pem.encode(), password=None)
        self._public_key = self._signing_key.public_key()

    def seed(self, data: dict[str, Any]) -> None:
        """Tenants and app registrations; secrets, certificates and the signing key are made here."""
        key = _new_key()
        self.signing_key_pem = _key_pem(key)
        self.key_id = secrets.token_hex(8)
        self._load_signing_key()
        self.tenants = {}
        for tenant in data.get("tenants") or []:
            apps = {}
            for spec in tenant.get("applications") or []:
                cert_key = _new_key()
                certificate = _certificate(cert_key, spec.get("displayName", spec["clientId"]))
                der = certificate.public_bytes(serialization.Encoding.DER)
                apps[spec["clientId"]] = {
                    "clientId": spec["clientId"],
                    "displayName": spec.get("displayName", spec["clientId"]),
                    "objectId": str(uuid.uuid5(uuid.NAMESPACE_URL, spec["clientId"])),
                    "secret": secrets.token_urlsafe(30),
                    "certificate": certificate.public_bytes(serialization.Encoding.PEM).decode(),
                    "certificateKey": _key_pem(cert_key),
                    "certificateThumbprint": hashlib.sha1(der).hexdigest().upper(),
                    "certificateX5t": _b64url(hashlib.sha1(der).digest()),
                    "certificateX5tS256": _b64url(hashlib.sha256(der).digest()),
                    "resources": list(spec.get("resources") or ["https://outlook.office365.com"]),
                    "roles": list(spec.get("roles") or ["full_access_as_app"]),
                }
            self.tenants[tenant["id"]] = {"apps": apps}
        self.changed()

    def snapshot(self) -> dict[str, Any]:
        return {"signingKey": self.signing_key_pem, "keyId": self.key_id, "tenants": self.tenants}

    def restore(self, data: dict[str, Any]) -> None:
        self.signing_key_pem, self.key_id, self.tenants = data["signingKey"], data["keyId"], data["tenants"]
        self._load_signing_key()

    def endpoints(self) -> dict[str, Any]:
        """The first tenant's first app: what the quickstart configures msal with."""
        tenant_id, tenant = next(iter(self.tenants.items()), ("", {"apps": {}}))
        app = next(iter(tenant["apps"].values()), None)
        doc: dict[str, Any] = {"authority": f"{self._base()}/{tenant_id}", "tenantId": tenant_id,
                               "scope": "https://outlook.office365.com/.default"}
        if app is not None:
            doc["credentials"] = {"clientId": app["clientId"], "clientSecret": app["secret"],
                                  "certificatePrivateKey": app["certificateKey"], "certificate": app["certificate"],
                                  "certificateThumbprint": app["certificateThumbprint"]}
        return doc
