"""HTTP plumbing shared by the connectors: sessions that verify TLS, API call counting, and the
process-wide exchangelib adapter.

Every session verifies certificates against an explicit trust anchor (the connection's caFile, the
sandbox CA, or the system store) and ignores the environment (``trust_env = False``): this machine
and many CI runners export ``REQUESTS_CA_BUNDLE``, which would otherwise silently replace
``session.verify``. Verification is never turned off.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

Verify = str | bool  # a CA bundle path, or True for the system trust store


def verify_for(ca_file: Path | str | None) -> Verify:
    """The ``verify`` value for a connection: its CA file, else the system trust store."""
    return str(ca_file) if ca_file else True


class ApiCallCounter:
    """How many API calls a connector made, by operation (``query``, ``composite/sobjects``,
    ``CreateItem`` ...). The vendors' quotas count calls, so the benchmarks read this."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, operation: str) -> None:
        with self._lock:
            self._counts[operation] += 1

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(sorted(self._counts.items()))

    def total(self) -> int:
        with self._lock:
            return sum(self._counts.values())

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


_SF_DATA_PATH = re.compile(r"/services/data/v[\d.]+/(.*)")


def salesforce_operation(method: str, url: str) -> str:
    """A short label for a Salesforce request: ``token``, ``query``, ``composite/sobjects POST`` ..."""
    path = urlsplit(url).path
    if path.endswith("/oauth2/token") or "/services/Soap/" in path:
        return "token"
    match = _SF_DATA_PATH.match(path)
    if not match:
        return f"{method} {path}"
    parts = [p for p in match.group(1).split("/") if p]
    if not parts:
        return "versions"
    if parts[0] in ("query", "queryAll"):
        return parts[0]
    if parts[0] == "composite":
        return f"composite/{parts[1]} {method}" if len(parts) > 1 else f"composite {method}"
    if parts[0] == "sobjects" and len(parts) >= 3 and parts[2] in ("updated", "deleted", "describe"):
        return f"sobjects/{parts[2]}"
    return f"{parts[0]} {method}"


def build_session(verify: Verify, counter: ApiCallCounter | None = None,
                  label: Any = salesforce_operation) -> requests.Session:
    """A session that verifies against ``verify``, ignores proxy/CA environment variables and, with
    a counter, counts every request it sends under ``label(method, url)``."""
    if verify is False:
        raise ValueError("TLS verification cannot be turned off")
    session = requests.Session()
    session.trust_env = False
    session.verify = verify
    if counter is not None:
        def count(response: requests.Response, *args: Any, **kwargs: Any) -> None:
            counter.add(label(response.request.method or "GET", response.request.url or ""))
        session.hooks["response"].append(count)
    return session


# -- exchangelib -----------------------------------------------------------------------------------

_active_ews_counter: ContextVar[ApiCallCounter | None] = ContextVar("active_ews_counter", default=None)
_EWS_OPERATION = re.compile(rb"<s:Body>\s*<m:(\w+)")


class VerifyingEwsAdapter(HTTPAdapter):
    """The adapter exchangelib mounts on all its sessions (``BaseProtocol.HTTP_ADAPTER_CLS`` is a
    process-wide class attribute, and exchangelib builds its own sessions with ``trust_env`` on).

    Instead of one CA for the whole process, it keeps a table of trust anchors by origin
    (``https://host:port``): each Exchange connection registers its endpoint with its CA file, and
    every request is verified against the anchor registered for its origin (the system store for an
    unregistered origin). Proxies from the environment are dropped, as ``trust_env = False`` would.
    Each request is also counted against the counter of the connector operation in progress.

    A 401 answer loses its ``Connection: close`` header: exchangelib checks that header before the
    status and would read a rejected password as ErrorServerBusy, and retrying a wrong password is
    how service accounts get locked out. (Some proxies and load balancers do send it on a 401.)
    """

    _trust: dict[str, Verify] = {}
    _lock = threading.Lock()

    @classmethod
    def register(cls, url: str, verify: Verify) -> None:
        if verify is False:
            raise ValueError("TLS verification cannot be turned off")
        origin = _origin(url)
        with cls._lock:
            cls._trust[origin] = verify

    @classmethod
    def trust_for(cls, url: str) -> Verify:
        with cls._lock:
            return cls._trust.get(_origin(url), True)

    def send(self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None,
             verify: Any = True, cert: Any = None, proxies: Any = None) -> requests.Response:
        counter = _active_ews_counter.get()
        if counter is not None:
            body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
            match = _EWS_OPERATION.search(body[:4096])
            counter.add(match.group(1).decode() if match else "other")
        response = super().send(request, stream=stream, timeout=timeout, verify=self.trust_for(request.url or ""),
                                cert=cert, proxies={})
        if response.status_code == 401 and response.headers.get("connection", "").lower() == "close":
            del response.headers["connection"]
        return response


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


@contextmanager
def counting_ews_calls(counter: ApiCallCounter) -> Iterator[None]:
    """Count the EWS requests made inside the block (in this thread) against ``counter``."""
    token = _active_ews_counter.set(counter)
    try:
        yield
    finally:
        _active_ews_counter.reset(token)


def install_ews_adapter() -> None:
    """Make exchangelib use :class:`VerifyingEwsAdapter` (idempotent)."""
    from exchangelib.protocol import BaseProtocol

    if BaseProtocol.HTTP_ADAPTER_CLS is not VerifyingEwsAdapter:
        BaseProtocol.HTTP_ADAPTER_CLS = VerifyingEwsAdapter
