"""``reconcile test-connection``: every Connection of the configuration checked step by step.

With a user, the Exchange checks run against that user's mailbox (the User's ``mailbox``, or their
Salesforce Email looked up in the directory), on the Exchange connections serving its domain:
impersonation and the Salesforce_Sync folder are what fail for one user and not another.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reconciler.config import ConfigSet, UnknownUserError
from reconciler.connectors.errors import ConnectorError
from reconciler.connectors.test_connection import Check, check_exchange, check_salesforce

from .runtime import Runtime


@dataclass(frozen=True)
class ConnectionReport:
    connection: str
    kind: str
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)


def _user_mailbox(config: ConfigSet, runtime: Runtime, user: str) -> str:
    declared = config.users.get(user)
    if declared is None:
        raise UnknownUserError(f"no User named '{user}' in the configuration")
    if declared.mailbox:
        return declared.mailbox
    for name, connection in sorted(config.connections.items()):
        if connection.salesforce is None:
            continue
        found = runtime.salesforce(name).users_by_username([declared.salesforce_username])
        salesforce_user = found.get(declared.salesforce_username.lower())
        if salesforce_user is not None and salesforce_user.email:
            return salesforce_user.email
    raise UnknownUserError(f"User '{user}' names no mailbox and no Salesforce connection knows an Email for "
                           f"{declared.salesforce_username}")


def check_connections(config: ConfigSet, root: Path, user: str | None = None) -> list[ConnectionReport]:
    """Check each Connection (for ``user``: the Exchange ones serving their mailbox, with its checks)."""
    reports: list[ConnectionReport] = []
    with Runtime(config, root) as runtime:
        mailbox = _user_mailbox(config, runtime, user) if user is not None else None
        for name, connection in sorted(config.connections.items()):
            try:
                if connection.salesforce is not None:
                    reports.append(ConnectionReport(name, "salesforce",
                                                    check_salesforce(runtime.salesforce_settings(name), runtime.counter)))
                    continue
                assert connection.exchange is not None
                if mailbox is not None and not connection.exchange.serves(mailbox):
                    continue
                reports.append(ConnectionReport(name, "exchange", check_exchange(
                    runtime.exchange_settings(name), mailbox, runtime.counter)))
            except ConnectorError as error:
                reports.append(ConnectionReport(name, connection.type,
                                                [Check("configuration", False, error.message, error.fix)]))
    return reports
