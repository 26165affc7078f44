"""Connections to the in-process sandbox, built the way a user writes them: a Connection YAML
document with ``sandbox://local`` URLs and secret references to the files the sandbox writes,
through the config package's typed model, then ``resolve_sandbox``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.config.model import build_resource
from reconciler.connectors.exchange import ExchangeConnector
from reconciler.connectors.http import ApiCallCounter
from reconciler.connectors.retry import BackOff
from reconciler.connectors.settings import ExchangeSettings, SalesforceSettings, resolve_sandbox
from reconciler.sandbox.server import Sandbox


@pytest.fixture
def endpoints(sandbox: Sandbox) -> dict[str, Any]:
    sandbox.write_endpoints()
    return sandbox.endpoints()


@pytest.fixture
def secrets_dir(sandbox: Sandbox, endpoints: dict[str, Any]) -> Path:
    assert sandbox.data_dir is not None
    return sandbox.data_dir / "secrets"


def _file(path: Path) -> dict[str, Any]:
    return {"secretRef": {"file": str(path)}}


@pytest.fixture
def salesforce_settings(endpoints: dict[str, Any], secrets_dir: Path) -> Callable[..., SalesforceSettings]:
    """``salesforce_settings("jwt_bearer")``: settings for one auth type; ``auth`` overrides keys."""
    credentials = endpoints["salesforce"]["credentials"]

    def make(auth_type: str, **auth: Any) -> SalesforceSettings:
        spec: dict[str, Any] = {"type": auth_type, "clientId": credentials["clientId"]}
        if auth_type == "jwt_bearer":
            spec |= {"username": credentials["username"], "privateKey": _file(secrets_dir / "salesforce.jwtPrivateKey")}
        elif auth_type == "client_credentials":
            spec |= {"clientSecret": _file(secrets_dir / "salesforce.clientSecret")}
        else:
            spec |= {"username": credentials["username"], "password": _file(secrets_dir / "salesforce.password"),
                     "securityToken": _file(secrets_dir / "salesforce.securityToken"),
                     "clientSecret": _file(secrets_dir / "salesforce.clientSecret")}
        spec |= auth
        doc = {"apiVersion": "reconciler/v1", "kind": "Connection", "metadata": {"name": "acme-prod", "description": "", "labels": {}},
               "spec": {"salesforce": {"instanceUrl": "sandbox://local", "loginUrl": "https://login.salesforce.com",
                                       "apiVersion": "61.0", "auth": spec}}}
        connection = build_resource(doc, secrets_dir)
        settings = resolve_sandbox(SalesforceSettings.from_connection(connection.salesforce), endpoints)
        assert isinstance(settings, SalesforceSettings)
        return settings
    return make


@pytest.fixture
def exchange_settings(endpoints: dict[str, Any], secrets_dir: Path) -> Callable[..., ExchangeSettings]:
    """``exchange_settings("service_account")`` / ``("oauth_secret")`` / ``("oauth_certificate")``."""
    credentials = endpoints["exchange"].get("credentials", {})
    identity = endpoints["identity"]

    def make(kind: str, **auth: Any) -> ExchangeSettings:
        if kind == "service_account":
            spec: dict[str, Any] = {"type": "service_account", "username": credentials["serviceAccountUsername"],
                                    "password": _file(secrets_dir / "exchange.serviceAccountPassword")}
        else:
            spec = {"type": "oauth_client_credentials", "tenantId": identity["tenantId"],
                    "clientId": identity["credentials"]["clientId"], "authority": "sandbox://local"}
            if kind == "oauth_secret":
                spec["clientSecret"] = _file(secrets_dir / "identity.clientSecret")
            else:
                spec["certificate"] = {"privateKey": _file(secrets_dir / "identity.certificatePrivateKey"),
                                       "thumbprint": identity["credentials"]["certificateThumbprint"]}
        spec |= auth
        doc = {"apiVersion": "reconciler/v1", "kind": "Connection", "metadata": {"name": "acme-exchange", "description": "", "labels": {}},
               "spec": {"exchange": {"ewsUrl": "sandbox://local", "autodiscover": False,
                                     "domains": ["acme.example"], "auth": spec}}}
        connection = build_resource(doc, secrets_dir)
        settings = resolve_sandbox(ExchangeSettings.from_connection(connection.exchange), endpoints)
        assert isinstance(settings, ExchangeSettings)
        return settings
    return make


class RecordedSleeps(list[float]):
    """A BackOff sleep that records the waits instead of sleeping: retry tests stay fast."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> RecordedSleeps:
    return RecordedSleeps()


@pytest.fixture
def backoff(sleeps: RecordedSleeps) -> BackOff:
    return BackOff(attempts=4, base=0.01, cap=0.05, sleep=sleeps)


@pytest.fixture
def counter() -> ApiCallCounter:
    return ApiCallCounter()


@pytest.fixture
def exchange_connectors() -> Iterator[list[ExchangeConnector]]:
    """Connectors registered here are closed after the test (exchangelib pools sessions)."""
    made: list[ExchangeConnector] = []
    yield made
    for connector in made:
        connector.close()


@pytest.fixture
def service_account_exchange(exchange_settings: Callable[..., ExchangeSettings], counter: ApiCallCounter,
                             backoff: BackOff, exchange_connectors: list[ExchangeConnector]) -> ExchangeConnector:
    """An Exchange connector signed in as the sandbox's service account (impersonation), closed
    after the test."""
    made = ExchangeConnector(exchange_settings("service_account"), counter, backoff)
    exchange_connectors.append(made)
    return made
