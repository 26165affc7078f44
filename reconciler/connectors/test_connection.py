"""``reconcile test-connection``: prove a connection works, step by step, and say how to fix it.

Each check is cheap (one call) and the first failure that makes later checks meaningless stops the
list: a rejected login says nothing about permissions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .errors import ConnectorError, ErrorKind
from .exchange import ExchangeConnector, ExchangeContactStore
from .http import ApiCallCounter
from .salesforce import SalesforceConnector
from .settings import ExchangeSettings, SalesforceSettings


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def _run(name: str, action: Callable[[], str]) -> Check:
    try:
        return Check(name, True, action())
    except ConnectorError as error:
        return Check(name, False, error.message, error.fix)


def check_salesforce(conn: SalesforceSettings, counter: ApiCallCounter | None = None) -> list[Check]:
    """Authentication, then API access to User and Contact (one SOQL each)."""
    connector = SalesforceConnector(conn, counter)

    def login() -> str:
        client = connector.login()
        return f"logged in with {conn.auth.type} to {client.sf_instance}"

    checks = [_run("authentication", login)]
    if not checks[-1].ok:
        return checks
    for sobject in ("User", "Contact"):
        def query(sobject: str = sobject) -> str:
            connector.query_all(f"SELECT Id FROM {sobject} LIMIT 1", f"querying {sobject}")
            return f"can query {sobject}"
        checks.append(_run(f"api access: {sobject}", query))
    return checks


def check_exchange(conn: ExchangeSettings, mailbox: str | None = None,
                   counter: ApiCallCounter | None = None) -> list[Check]:
    """Authentication; with a mailbox also impersonation (GetFolder on its Contacts folder) and
    the Salesforce_Sync folder (found, or to be created on the first sync)."""
    try:
        connector = ExchangeConnector(conn, counter)
    except ConnectorError as error:
        return [Check("configuration", False, error.message, error.fix)]
    try:
        if mailbox is None:
            return [_run("authentication", lambda: _authenticate(connector))]
        return _mailbox_checks(connector, mailbox)
    finally:
        connector.close()


def _authenticate(connector: ExchangeConnector) -> str:
    auth = connector.settings.auth
    if auth.type == "oauth_client_credentials":
        connector.access_token()
        return f"token issued for app {auth.client_id}"
    assert auth.username is not None
    connector.resolve_mailbox(auth.username)
    return f"{auth.username} signed in"


def _mailbox_checks(connector: ExchangeConnector, mailbox: str) -> list[Check]:
    checks: list[Check] = []
    try:
        connector.check_mailbox_access(mailbox)
    except ConnectorError as error:
        if error.kind is ErrorKind.AUTHENTICATION:
            return [Check("authentication", False, error.message, error.fix)]
        checks.append(Check("authentication", True, "credentials accepted"))
        name = "impersonation" if error.kind is ErrorKind.PERMISSION else "mailbox"
        checks.append(Check(f"{name}: {mailbox}", False, error.message, error.fix))
        return checks
    access = "impersonation" if connector.impersonates else "delegate access"
    checks.append(Check("authentication", True, "credentials accepted"))
    checks.append(Check(f"impersonation: {mailbox}", True, f"{access} to {mailbox} works (Contacts folder opened)"))

    def folder() -> str:
        found = ExchangeContactStore(connector, mailbox).sync_folder()
        return ("Contacts/Salesforce_Sync exists" if found is not None
                else "Contacts/Salesforce_Sync does not exist yet: the first sync creates it")
    checks.append(_run(f"folder access: {mailbox}", folder))
    return checks
