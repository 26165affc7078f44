"""Helpers for the EWS and identity emulators' contract tests: the real exchangelib and msal over HTTPS
with certificate verification on against the sandbox CA.

Import as ``from sandbox.ews_client import ...`` (``tests/`` is on sys.path through the project conftest).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from zoneinfo import ZoneInfo

import msal
import requests
from exchangelib import (BASIC, IMPERSONATION, OAUTH2, UTC, Account, CalendarItem, Configuration, Contact,
                         Credentials, ExtendedProperty, FailFast, OAuth2AuthorizationCodeCredentials)
from exchangelib.protocol import BaseProtocol, close_connections
from exchangelib.version import Build, Version
from requests.adapters import HTTPAdapter

from reconciler.sandbox.ews import ExchangeService
from reconciler.sandbox.identity import IdentityService
from reconciler.sandbox.server import Sandbox

EXCHANGE_2016 = Version(build=Build(15, 1, 2507, 6))
STAMP = "test_salesforce_id"


class SalesforceIdStamp(ExtendedProperty):
    """The tests' own stamp (the connector registers its own name; both are PublicStrings strings)."""

    distinguished_property_set_id = "PublicStrings"
    property_name = "SalesforceId"
    property_type = "String"


@contextmanager
def stamp_registered() -> Iterator[None]:
    """exchangelib registers extended properties process-wide: register for one test, then undo."""
    for model in (Contact, CalendarItem):
        model.register(STAMP, SalesforceIdStamp)
    try:
        yield
    finally:
        for model in (Contact, CalendarItem):
            model.deregister(STAMP)


@contextmanager
def trusting_sandbox(sandbox: Sandbox) -> Iterator[None]:
    """exchangelib's HTTP adapter verifies against the sandbox CA (restored, connections closed after)."""
    ca_file = str(sandbox.ca_file)

    class SandboxCAAdapter(HTTPAdapter):
        def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
            kwargs["verify"] = ca_file
            return super().send(request, *args, **kwargs)

    previous = BaseProtocol.HTTP_ADAPTER_CLS
    BaseProtocol.HTTP_ADAPTER_CLS = SandboxCAAdapter
    close_connections()
    try:
        yield
    finally:
        close_connections()
        BaseProtocol.HTTP_ADAPTER_CLS = previous


def exchange(sandbox: Sandbox) -> ExchangeService:
    service = sandbox.services["exchange"]
    assert isinstance(service, ExchangeService)
    return service


def identity(sandbox: Sandbox) -> IdentityService:
    service = sandbox.services["identity"]
    assert isinstance(service, IdentityService)
    return service


def basic_account(sandbox: Sandbox, address: str, password: str | None = None, **config: Any) -> Account:
    """An impersonating Account as the sandbox's service account (Basic auth)."""
    creds = sandbox.endpoints()["exchange"]["credentials"]
    credentials = Credentials(creds["serviceAccountUsername"],
                              creds["serviceAccountPassword"] if password is None else password)
    return _account(sandbox, address, credentials, BASIC, **config)


def token_account(sandbox: Sandbox, address: str, token: dict[str, Any], **config: Any) -> Account:
    """An impersonating Account that sends ``Authorization: Bearer`` with an msal token."""
    return _account(sandbox, address, OAuth2AuthorizationCodeCredentials(access_token=token), OAUTH2, **config)


def _account(sandbox: Sandbox, address: str, credentials: Any, auth_type: str, **config: Any) -> Account:
    config.setdefault("retry_policy", FailFast())
    configuration = Configuration(service_endpoint=sandbox.endpoints()["exchange"]["ewsUrl"],
                                  credentials=credentials, auth_type=auth_type, version=EXCHANGE_2016, **config)
    return Account(address, config=configuration, autodiscover=False, access_type=IMPERSONATION,
                   default_timezone=UTC)


def verified_session(sandbox: Sandbox) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(sandbox.ca_file)
    return session


def msal_app(sandbox: Sandbox, credential: Any = None, client_id: str | None = None,
             tenant: str | None = None) -> msal.ConfidentialClientApplication:
    """An msal confidential client against the sandbox authority (secret credential by default)."""
    doc = sandbox.endpoints()["identity"]
    authority = doc["authority"] if tenant is None else f"{sandbox.base_url}/{tenant}"
    return msal.ConfidentialClientApplication(
        client_id or doc["credentials"]["clientId"],
        client_credential=doc["credentials"]["clientSecret"] if credential is None else credential,
        authority=authority, instance_discovery=False, http_client=verified_session(sandbox))


def local_day(zone: str, day: int) -> dt.date:
    """The seed's ``when.day``: days from today in the mailbox's zone."""
    return dt.datetime.now(ZoneInfo(zone)).date() + dt.timedelta(days=day)


def at(zone: str, day: int, clock: str) -> dt.datetime:
    hours, minutes = (int(x) for x in clock.split(":"))
    return dt.datetime.combine(local_day(zone, day), dt.time(hours, minutes), tzinfo=ZoneInfo(zone))


SOAP_ENVELOPE = """<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"
    xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"
    xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">
  <s:Header>
    <t:RequestServerVersion Version="Exchange2016"/>{impersonation}
  </s:Header>
  <s:Body>{body}</s:Body>
</s:Envelope>"""
NAMESPACES = {"s": "http://schemas.xmlsoap.org/soap/envelope/",
              "m": "http://schemas.microsoft.com/exchange/services/2006/messages",
              "t": "http://schemas.microsoft.com/exchange/services/2006/types"}


def soap(sandbox: Sandbox, body: str, impersonate: str | None = "alice@acme.example") -> tuple[int, Any]:
    """POST one SOAP request as the service account; (HTTP status, parsed response envelope)."""
    from lxml import etree

    impersonation = ("" if impersonate is None else
                     "<t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>"
                     f"{impersonate}</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>")
    creds = sandbox.endpoints()["exchange"]["credentials"]
    response = verified_session(sandbox).post(
        sandbox.endpoints()["exchange"]["ewsUrl"],
        data=SOAP_ENVELOPE.format(impersonation=impersonation, body=body).encode(),
        headers={"Content-Type": "text/xml; charset=utf-8"},
        auth=(creds["serviceAccountUsername"], creds["serviceAccountPassword"]))
    return response.status_code, etree.fromstring(response.content)
