"""``reconcile test-connection`` checks against the sandbox: good, wrong password, no impersonation."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from reconciler.connectors.settings import ExchangeSettings, SalesforceSettings
from reconciler.connectors.test_connection import check_exchange, check_salesforce


def test_salesforce_good(salesforce_settings: Callable[..., SalesforceSettings]) -> None:
    checks = check_salesforce(salesforce_settings("jwt_bearer"))
    assert [(c.name, c.ok) for c in checks] == [
        ("authentication", True), ("api access: User", True), ("api access: Contact", True)]


def test_salesforce_wrong_password_stops_at_authentication(
        salesforce_settings: Callable[..., SalesforceSettings], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SF_PASSWORD", "MARKER-wrong-password")
    checks = check_salesforce(salesforce_settings("password", password={"secretRef": {"env": "SF_PASSWORD"}}))
    assert [(c.name, c.ok) for c in checks] == [("authentication", False)]
    assert "authentication failure" in checks[0].detail and checks[0].fix
    assert "MARKER" not in repr(checks)


def test_exchange_good_mailbox(exchange_settings: Callable[..., ExchangeSettings]) -> None:
    checks = check_exchange(exchange_settings("service_account"), "alice@acme.example")
    assert [(c.name, c.ok) for c in checks] == [
        ("authentication", True), ("impersonation: alice@acme.example", True),
        ("folder access: alice@acme.example", True)]
    assert "Salesforce_Sync exists" in checks[2].detail


def test_exchange_without_mailbox_checks_the_login(exchange_settings: Callable[..., ExchangeSettings]) -> None:
    assert [(c.name, c.ok) for c in check_exchange(exchange_settings("service_account"))] == [("authentication", True)]
    assert [(c.name, c.ok) for c in check_exchange(exchange_settings("oauth_secret"))] == [("authentication", True)]


def test_exchange_wrong_password(exchange_settings: Callable[..., ExchangeSettings],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EWS_PASSWORD", "MARKER-wrong-password")
    checks = check_exchange(exchange_settings("service_account", password={"secretRef": {"env": "EWS_PASSWORD"}}),
                            "alice@acme.example")
    assert [(c.name, c.ok) for c in checks] == [("authentication", False)]
    assert "MARKER" not in repr(checks)


def test_exchange_frank_has_no_impersonation(exchange_settings: Callable[..., ExchangeSettings]) -> None:
    checks = check_exchange(exchange_settings("service_account"), "frank@acme.example")
    assert [(c.name, c.ok) for c in checks] == [("authentication", True), ("impersonation: frank@acme.example", False)]
    assert "no impersonation right on frank@acme.example" in checks[1].detail
    assert "ApplicationImpersonation" in checks[1].fix
