"""The connections of one configuration, made usable: settings resolved, sandbox started, connectors
built per thread.

``sandbox://local`` in a Connection means the built-in sandbox. The runtime reuses the sandbox whose
``endpoints.json`` sits in ``<config dir>/.reconciler/sandbox`` when it answers (``reconcile sandbox
serve`` running beside), and otherwise starts one in-process on that data directory for as long as
the runtime lives; either way the sandbox writes its secrets to ``secrets/`` there, which is where
the quickstart's secret references point. The sandbox makes its OAuth client id per data directory
(it is not a secret), so a sandbox connection takes the client id from ``endpoints.json``.

simple-salesforce clients share a ``requests.Session`` and exchangelib accounts cache protocol
pools, neither promised thread-safe, so each worker thread gets connectors of its own (and with
them one Salesforce login per thread, not per user). API calls of all threads add up in one
:class:`ApiCallCounter`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from reconciler.config import SANDBOX_URL, ConfigSet, Connection
from reconciler.connectors.errors import ConnectorError, ErrorKind
from reconciler.connectors.exchange import ExchangeConnector
from reconciler.connectors.http import ApiCallCounter
from reconciler.connectors.retry import BackOff
from reconciler.connectors.salesforce import SalesforceConnector
from reconciler.connectors.settings import ExchangeSettings, SalesforceSettings, resolve_sandbox
from reconciler.sandbox.server import Sandbox, serving_endpoints

SANDBOX_DIR = Path(".reconciler") / "sandbox"


def sandbox_dir(root: Path) -> Path:
    """Where a configuration's built-in sandbox keeps its data, CA, endpoints and secrets."""
    return root / SANDBOX_DIR


def uses_sandbox(connection: Connection) -> bool:
    if connection.salesforce is not None:
        return connection.salesforce.instance_url == SANDBOX_URL
    assert connection.exchange is not None
    return connection.exchange.ews_url == SANDBOX_URL or connection.exchange.auth.authority == SANDBOX_URL


class Runtime:
    """Connectors for the connections of ``config`` (paths anchored at ``root``).

    Use as a context manager: leaving it closes every connector and stops a sandbox it started.
    ``backoff`` makes each connector's retry policy (tests pass a fast one).
    """

    def __init__(self, config: ConfigSet, root: Path, *, backoff: Callable[[], BackOff] = BackOff) -> None:
        self.config = config
        self.root = root
        self.counter = ApiCallCounter()
        self._backoff = backoff
        self._sandbox: Sandbox | None = None
        self._endpoints: dict[str, Any] | None = None
        self._local = threading.local()
        self._exchange_connectors: list[ExchangeConnector] = []
        self._lock = threading.Lock()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            connectors, self._exchange_connectors = self._exchange_connectors, []
        for connector in connectors:
            connector.close()
        if self._sandbox is not None:
            self._sandbox.stop()
            self._sandbox = None

    # -- sandbox -----------------------------------------------------------------------------------

    @property
    def started_sandbox(self) -> Sandbox | None:
        """The sandbox this runtime started in-process (None when it reused one, or needs none)."""
        return self._sandbox

    def sandbox_endpoints(self) -> dict[str, Any]:
        """The running sandbox's endpoints, starting it in-process on first use if none answers."""
        with self._lock:
            if self._endpoints is None:
                directory = sandbox_dir(self.root)
                endpoints = serving_endpoints(directory)
                if endpoints is None:
                    directory.mkdir(parents=True, exist_ok=True)
                    self._sandbox = Sandbox(data_dir=directory).start()
                    endpoints = self._sandbox.endpoints()
                self._endpoints = endpoints
            return self._endpoints

    # -- settings ----------------------------------------------------------------------------------

    def _connection(self, name: str, kind: str) -> Connection:
        connection = self.config.connections.get(name)
        if connection is None or connection.type != kind:
            raise ConnectorError(ErrorKind.CONFIGURATION, f"no {kind} Connection named {name!r}",
                                 fix="check the SyncConfiguration's connection names")
        return connection

    def salesforce_settings(self, name: str) -> SalesforceSettings:
        connection = self._connection(name, "salesforce")
        assert connection.salesforce is not None
        settings = SalesforceSettings.from_connection(connection.salesforce)
        if not settings.targets_sandbox:
            return settings
        endpoints = self.sandbox_endpoints()
        resolved = resolve_sandbox(settings, endpoints)
        assert isinstance(resolved, SalesforceSettings)
        client_id = endpoints["salesforce"]["credentials"]["clientId"]
        return replace(resolved, auth=replace(resolved.auth, client_id=client_id))

    def exchange_settings(self, name: str) -> ExchangeSettings:
        connection = self._connection(name, "exchange")
        assert connection.exchange is not None
        settings = ExchangeSettings.from_connection(connection.exchange)
        if not settings.targets_sandbox:
            return settings
        resolved = resolve_sandbox(settings, self.sandbox_endpoints())
        assert isinstance(resolved, ExchangeSettings)
        return resolved

    # -- connectors (one per thread and connection) -------------------------------------------------

    def _thread_connectors(self) -> dict[str, Any]:
        connectors = getattr(self._local, "connectors", None)
        if connectors is None:
            connectors = self._local.connectors = {}
        return connectors

    def salesforce(self, name: str) -> SalesforceConnector:
        """This thread's connector for the Salesforce Connection ``name``."""
        connectors = self._thread_connectors()
        if name not in connectors:
            connectors[name] = SalesforceConnector(self.salesforce_settings(name), self.counter, self._backoff())
        return connectors[name]

    def exchange(self, name: str) -> ExchangeConnector:
        """This thread's connector for the Exchange Connection ``name``."""
        connectors = self._thread_connectors()
        if name not in connectors:
            connector = ExchangeConnector(self.exchange_settings(name), self.counter, self._backoff())
            with self._lock:
                self._exchange_connectors.append(connector)
            connectors[name] = connector
        return connectors[name]
