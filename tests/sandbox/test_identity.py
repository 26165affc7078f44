"""Contract tests: msal 1.39 gets tokens from the identity emulator; exchangelib uses them on EWS."""

from __future__ import annotations

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from exchangelib.errors import ErrorImpersonateUserDenied
from sandbox.ews_client import identity, msal_app, token_account, trusting_sandbox, verified_session

from reconciler.sandbox.server import Sandbox

SCOPE = ["https://outlook.office365.com/.default"]
TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT_ID = "22222222-3333-4444-5555-666666666666"


def certificate_credential(sandbox: Sandbox) -> dict[str, str]:
    creds = sandbox.endpoints()["identity"]["credentials"]
    return {"private_key": creds["certificatePrivateKey"], "thumbprint": creds["certificateThumbprint"]}


def test_openid_configuration_names_https_endpoints_under_the_tenant(sandbox: Sandbox) -> None:
    response = verified_session(sandbox).get(f"{sandbox.base_url}/{TENANT}/v2.0/.well-known/openid-configuration")
    doc = response.json()
    assert doc["token_endpoint"] == f"{sandbox.base_url}/{TENANT}/oauth2/v2.0/token"
    assert doc["authorization_endpoint"].startswith(f"{sandbox.base_url}/{TENANT}/")
    assert doc["issuer"] == f"{sandbox.base_url}/{TENANT}/v2.0"
    keys = verified_session(sandbox).get(doc["jwks_uri"]).json()["keys"]
    assert [k["kty"] for k in keys] == ["RSA"]
    assert sandbox.endpoints()["identity"]["authority"] == f"{sandbox.base_url}/{TENANT}"


def test_a_client_secret_buys_a_token_that_opens_alices_mailbox(sandbox: Sandbox) -> None:
    result = msal_app(sandbox).acquire_token_for_client(scopes=SCOPE)
    assert result["token_type"] == "Bearer" and result["expires_in"] > 3000
    claims = identity(sandbox).verify_token(result["access_token"], "https://outlook.office365.com")
    assert claims is not None and (claims["appid"], claims["tid"]) == (CLIENT_ID, TENANT)
    assert identity(sandbox).verify_token(result["access_token"], "https://graph.microsoft.com") is None
    with trusting_sandbox(sandbox):
        alice = token_account(sandbox, "alice@acme.example", result)
        assert alice.contacts.name == "Contacts"
        frank = token_account(sandbox, "frank@acme.example", result)
        with pytest.raises(ErrorImpersonateUserDenied):
            frank.contacts.refresh()


def test_a_certificate_assertion_buys_a_token_too(sandbox: Sandbox) -> None:
    result = msal_app(sandbox, certificate_credential(sandbox)).acquire_token_for_client(scopes=SCOPE)
    assert "access_token" in result, result
    with trusting_sandbox(sandbox):
        bob = token_account(sandbox, "bob@acme.example", result)
        assert bob.calendar.filter(subject="Focus time").exists()
    assert sandbox.counters.counts("identity") == {"openid_configuration": 1, "token": 1}
    creds = sandbox.endpoints()["identity"]["credentials"]
    by_sha256 = msal_app(sandbox, {"private_key": creds["certificatePrivateKey"],
                                   "public_certificate": creds["certificate"]})  # x5t#S256 and x5c
    assert "access_token" in by_sha256.acquire_token_for_client(scopes=SCOPE)


def test_aadsts_errors_come_back_as_msal_error_dicts(sandbox: Sandbox) -> None:
    wrong_secret = msal_app(sandbox, "not-the-secret").acquire_token_for_client(scopes=SCOPE)
    assert wrong_secret["error"] == "invalid_client"
    assert wrong_secret["error_description"].startswith("AADSTS7000215: Invalid client secret provided.")
    assert wrong_secret["error_codes"] == [7000215]

    unknown_client = msal_app(sandbox, client_id="99999999-0000-0000-0000-000000000000").acquire_token_for_client(
        scopes=SCOPE)
    assert unknown_client["error"] == "unauthorized_client" and unknown_client["error_codes"] == [700016]

    bad_scope = msal_app(sandbox).acquire_token_for_client(scopes=["https://graph.microsoft.com/.default"])
    assert bad_scope["error"] == "invalid_scope"

    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    forged = msal_app(sandbox, {**certificate_credential(sandbox), "private_key": stranger}).acquire_token_for_client(
        scopes=SCOPE)
    assert forged["error"] == "invalid_client" and forged["error_codes"] == [700027]
    unregistered = msal_app(sandbox, {**certificate_credential(sandbox), "thumbprint": "AB" * 20})
    assert unregistered.acquire_token_for_client(scopes=SCOPE)["error_codes"] == [700027]


def test_an_unknown_tenant_is_aadsts90002(sandbox: Sandbox) -> None:
    response = verified_session(sandbox).post(
        f"{sandbox.base_url}/00000000-0000-0000-0000-000000000000/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": "x", "scope": SCOPE[0]})
    assert response.status_code == 400
    assert response.json()["error_codes"] == [90002]
    with pytest.raises(ValueError):  # msal cannot even discover an unknown tenant
        msal_app(sandbox, tenant="00000000-0000-0000-0000-000000000000").acquire_token_for_client(scopes=SCOPE)


def test_the_token_endpoint_refuses_other_grants(sandbox: Sandbox) -> None:
    response: requests.Response = verified_session(sandbox).post(
        f"{sandbox.base_url}/{TENANT}/oauth2/v2.0/token",
        data={"grant_type": "password", "client_id": CLIENT_ID, "username": "alice", "password": "x"})
    assert (response.status_code, response.json()["error"]) == (400, "unsupported_grant_type")
