"""Logins against the Salesforce emulator: OAuth grants, SOAP partner login, session checks."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from simple_salesforce import Salesforce, SalesforceLogin
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceExpiredSession

from reconciler.sandbox.server import Sandbox
from sandbox.salesforce_client import (API_VERSION, assertion, client, credentials, request_token,
                                       running_sandbox, salesforce_service, sf, sf_demo_seed, sf_sandbox,
                                       sf_seed, verified_session)

__all__ = ["sf", "sf_demo_seed", "sf_sandbox", "sf_seed"]  # fixtures

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def _whoami(sandbox: Sandbox, token: str) -> str:
    sf = Salesforce(instance_url=sandbox.base_url, session_id=token, session=verified_session(sandbox),
                    version=API_VERSION)
    user_id = sf.query("SELECT Id FROM User WHERE Id != null LIMIT 1")  # any REST call proves the token
    assert user_id["totalSize"] == 1
    created = sf.Lead.create({"LastName": "Probe", "Company": "Probe Inc"})
    return str(sf.query(f"SELECT CreatedBy.Username FROM Lead WHERE Id = '{created['id']}'")
               ["records"][0]["CreatedBy"]["Username"])


def test_client_credentials_with_basic_auth_runs_as_the_integration_user(sf_sandbox: Sandbox) -> None:
    creds = credentials(sf_sandbox)
    basic = base64.b64encode(f"{creds['clientId']}:{creds['clientSecret']}".encode()).decode()
    with verified_session(sf_sandbox) as session:
        response = session.post(sf_sandbox.endpoints()["salesforce"]["tokenUrl"],
                                data={"grant_type": "client_credentials"},
                                headers={"Authorization": f"Basic {basic}"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"access_token", "instance_url", "id", "token_type", "issued_at", "signature"}
    assert body["instance_url"] == sf_sandbox.base_url
    assert body["token_type"] == "Bearer"
    expected = base64.b64encode(hmac.new(creds["clientSecret"].encode(),
                                         (body["id"] + body["issued_at"]).encode(), hashlib.sha256).digest())
    assert body["signature"] == expected.decode()
    assert _whoami(sf_sandbox, body["access_token"]) == "integration@acme.example"


def test_client_credentials_in_the_form_and_a_wrong_secret(sf_sandbox: Sandbox) -> None:
    creds = credentials(sf_sandbox)
    good = request_token(sf_sandbox, grant_type="client_credentials", client_id=creds["clientId"],
                         client_secret=creds["clientSecret"])
    assert good.status_code == 200
    bad = request_token(sf_sandbox, grant_type="client_credentials", client_id=creds["clientId"],
                        client_secret="not-the-secret")
    assert bad.status_code == 400
    assert bad.json() == {"error": "invalid_client", "error_description": "invalid client credentials"}
    unknown = request_token(sf_sandbox, grant_type="client_credentials", client_id="someone-else",
                            client_secret=creds["clientSecret"])
    assert unknown.json()["error"] == "invalid_client_id"


def test_password_grant_needs_the_security_token_appended(sf_sandbox: Sandbox) -> None:
    creds = credentials(sf_sandbox)
    form = {"grant_type": "password", "client_id": creds["clientId"], "client_secret": creds["clientSecret"],
            "username": creds["username"]}
    good = request_token(sf_sandbox, **form, password=creds["password"] + creds["securityToken"])
    assert good.status_code == 200
    assert _whoami(sf_sandbox, good.json()["access_token"]) == "integration@acme.example"
    without_token = request_token(sf_sandbox, **form, password=creds["password"])
    assert without_token.status_code == 400
    assert without_token.json() == {"error": "invalid_grant", "error_description": "authentication failure"}


def test_jwt_bearer_logs_in_as_the_subject(sf_sandbox: Sandbox) -> None:
    response = request_token(sf_sandbox, grant_type=JWT_GRANT, assertion=assertion(sf_sandbox, "alice@acme.example"))
    assert response.status_code == 200, response.text
    assert _whoami(sf_sandbox, response.json()["access_token"]) == "alice@acme.example"
    to_sandbox = assertion(sf_sandbox, "carol@acme.example", audience=sf_sandbox.base_url)
    assert request_token(sf_sandbox, grant_type=JWT_GRANT, assertion=to_sandbox).status_code == 200


def test_jwt_bearer_refusals(sf_sandbox: Sandbox) -> None:
    stranger_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    cases = {
        "a key the sandbox never issued": assertion(sf_sandbox, "alice@acme.example", private_key=stranger_key),
        "another connected app": assertion(sf_sandbox, "alice@acme.example", issuer="3MVG9someone-else"),
        "an expired assertion": assertion(sf_sandbox, "alice@acme.example", lifetime=-dt.timedelta(minutes=5)),
        "a foreign audience": assertion(sf_sandbox, "alice@acme.example", audience="https://example.com"),
        "an unknown user": assertion(sf_sandbox, "mallory@acme.example"),
        "an inactive user": assertion(sf_sandbox, "dave@acme.example"),
    }
    errors = {}
    for case, signed in cases.items():
        response = request_token(sf_sandbox, grant_type=JWT_GRANT, assertion=signed)
        assert response.status_code == 400, case
        errors[case] = response.json()["error"]
    assert errors == {
        "a key the sandbox never issued": "invalid_grant", "another connected app": "invalid_client_id",
        "an expired assertion": "invalid_grant", "a foreign audience": "invalid_grant",
        "an unknown user": "invalid_grant", "an inactive user": "invalid_grant",
    }


def test_unknown_grant_type(sf_sandbox: Sandbox) -> None:
    response = request_token(sf_sandbox, grant_type="authorization_code", code="x")
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_soap_partner_login_through_simple_salesforce(sf_sandbox: Sandbox) -> None:
    creds = credentials(sf_sandbox)
    session_id, instance = SalesforceLogin(username=creds["username"], password=creds["password"],
                                           security_token=creds["securityToken"],
                                           session=verified_session(sf_sandbox), sf_version=API_VERSION,
                                           scratch_url=sf_sandbox.base_url)
    assert instance == sf_sandbox.base_url.removeprefix("https://")
    assert _whoami(sf_sandbox, session_id) == "integration@acme.example"
    with pytest.raises(SalesforceAuthenticationFailed) as refused:
        SalesforceLogin(username=creds["username"], password="wrong", security_token=creds["securityToken"],
                        session=verified_session(sf_sandbox), scratch_url=sf_sandbox.base_url)
    assert refused.value.code == "INVALID_LOGIN"


def test_every_rest_call_checks_the_session(sf_sandbox: Sandbox, sf: Salesforce) -> None:
    forged = Salesforce(instance_url=sf_sandbox.base_url, session_id="00Dforged!token",
                        session=verified_session(sf_sandbox), version=API_VERSION)
    with pytest.raises(SalesforceExpiredSession) as expired:
        forged.query("SELECT Id FROM Contact")
    assert expired.value.content == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] > 0
    salesforce_service(sf_sandbox).revoke_sessions()
    with pytest.raises(SalesforceExpiredSession):
        sf.Contact.create({"LastName": "Late"})
    assert client(sf_sandbox).query("SELECT COUNT() FROM User")["totalSize"] == 6


def test_sessions_and_credentials_survive_a_restart(tmp_path: Path, sf_seed: dict[str, Any]) -> None:
    data_dir = tmp_path / "sandbox"
    with running_sandbox(data_dir, sf_seed) as first:
        creds = credentials(first)
        token = client(first).session_id
        key_file = data_dir / "secrets" / "salesforce.jwtPrivateKey"
        assert key_file.read_text() == creds["jwtPrivateKey"]
        assert key_file.stat().st_mode & 0o777 == 0o600
    with running_sandbox(data_dir, sf_seed) as second:
        assert credentials(second) == creds
        again = Salesforce(instance_url=second.base_url, session_id=token, session=verified_session(second),
                           version=API_VERSION)
        assert again.query("SELECT COUNT() FROM Contact")["totalSize"] == 25


def test_served_beside_the_other_emulators(sandbox: Sandbox) -> None:
    """The project-wide ``sandbox`` fixture hosts every emulator on one port; Salesforce still answers."""
    assert "salesforce" in sandbox.services and len(sandbox.services) > 1
    assert sandbox.endpoints()["salesforce"]["instanceUrl"] == sandbox.base_url
    assert client(sandbox, "alice@acme.example").query("SELECT COUNT() FROM Contact")["totalSize"] == 25
