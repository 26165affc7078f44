"""The sandbox: all emulated services over HTTPS on one 127.0.0.1 port.

Used three ways: ``reconcile sandbox serve`` (a long-running process with a data directory),
the Python API (``with Sandbox(...) as sb:``) and the pytest fixtures in ``reconciler.sandbox.testing``.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any, Iterable

import yaml
from cheroot import wsgi as cheroot_wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter
from werkzeug.wrappers import Request, Response

from .counters import Counters, LoggedRequest
from .faults import GENERIC_KINDS, Faults
from .service import SandboxContext, Service
from .tls import TlsFiles, ensure_tls

DEFAULT_SEED_DIR = Path(__file__).with_name("seed")


class _Gateway(cheroot_wsgi.Gateway_10):
    """Exposes the client connection to the app, so the drop_connection fault can cut it."""

    def get_environ(self) -> dict[str, Any]:
        environ = super().get_environ()
        environ["reconciler.sandbox.connection"] = self.req.conn
        return environ


class _HttpServer(cheroot_wsgi.Server):
    """cheroot rather than werkzeug's development server: it keeps HTTP/1.1 connections alive,
    as IIS and Salesforce do. werkzeug closes every connection, which costs a TLS handshake per
    call in benchmarks and makes exchangelib read any non-200 answer as ErrorServerBusy."""

    def error_log(self, msg: str = "", level: int = 20, traceback: bool = False) -> None:
        # Dropped connections (a fault we inject) and client disconnects are expected here.
        pass


def load_seed(path: Path | None) -> dict[str, Any]:
    """A seed is one YAML mapping with a section per service (``salesforce``, ``exchange``,
    ``identity``). Without a path, the built-in seed: every ``*.yaml`` in ``sandbox/seed/``."""
    paths: Iterable[Path] = sorted(DEFAULT_SEED_DIR.glob("*.yaml")) if path is None else [path]
    seed: dict[str, Any] = {}
    for p in paths:
        # libyaml's loader where present: a benchmark seed of 100,000 contacts loads in seconds, not minutes.
        data = yaml.load(p.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{p}: a seed file must be a mapping of service name to data")
        for section, value in data.items():
            seed.setdefault(section, {}).update(value or {})
    return seed


class _DroppedConnection(Exception):
    """Raised to close a socket without answering (the drop_connection fault)."""


_PROBE_TIMEOUT_SECONDS = 2


def serving_endpoints(directory: Path) -> dict[str, Any] | None:
    """The endpoints of a sandbox already serving ``directory`` (``reconcile sandbox serve`` in
    another process), or None when none answers there: a stale ``endpoints.json`` left by a stopped
    sandbox must not send clients to a dead port. The probe verifies the sandbox's own CA."""
    path = directory / "endpoints.json"
    if not path.is_file():
        return None
    try:
        endpoints = json.loads(path.read_text(encoding="utf-8"))
        base = urllib.parse.urlsplit(str(endpoints["baseUrl"]))
        context = ssl.create_default_context(cafile=str(endpoints["caFile"]))
        connection = http.client.HTTPSConnection(base.hostname or "127.0.0.1", base.port,
                                                 timeout=_PROBE_TIMEOUT_SECONDS, context=context)
        try:
            connection.request("GET", base.path or "/")
            connection.getresponse().read()
        finally:
            connection.close()
    except (OSError, ValueError, KeyError, http.client.HTTPException):
        return None
    return endpoints


class Sandbox:
    """Hosts the emulators. ``data_dir`` None keeps everything in memory (tests)."""

    def __init__(
        self,
        data_dir: Path | str | None = None,
        seed: dict[str, Any] | None = None,
        port: int = 0,
        fault_seed: int = 0,
        services: list[Service] | None = None,
        flush_interval: float = 0.5,
    ) -> None:
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        tls_dir = self.data_dir if self.data_dir is not None else Path(self._tempdir())
        self.tls: TlsFiles = ensure_tls(tls_dir)
        self.faults = Faults(fault_seed)
        self.counters = Counters()
        self.services: dict[str, Service] = {}
        for service in services if services is not None else default_services():
            self.services[service.name] = service
        self._port = port
        self._server: _HttpServer | None = None
        self._thread: threading.Thread | None = None
        self._flusher: threading.Thread | None = None
        self._stopping = threading.Event()
        self._flush_interval = flush_interval
        self._seed = seed

    def _tempdir(self) -> str:
        self._tmp = tempfile.TemporaryDirectory(prefix="reconciler-sandbox-")
        return self._tmp.name

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        assert self._server is not None, "the sandbox is not started"
        return f"https://127.0.0.1:{self._server.bind_addr[1]}"

    @property
    def ca_file(self) -> Path:
        return self.tls.ca_cert

    def start(self) -> "Sandbox":
        self._server = _HttpServer(("127.0.0.1", self._port), self._wsgi, numthreads=16,
                                   server_name="reconciler-sandbox")
        self._server.gateway = _Gateway
        adapter = BuiltinSSLAdapter(str(self.tls.server_cert), str(self.tls.server_key))
        adapter.context.minimum_version = ssl.TLSVersion.TLSv1_2
        self._server.ssl_adapter = adapter
        self._server.prepare()  # binds the port, so base_url is known before serving
        context = SandboxContext(self.base_url, self.data_dir, self.faults, self.counters, self.services)
        for service in self.services.values():
            service.attach(context)
        self._load_data()
        self._thread = threading.Thread(target=self._server.serve, name="sandbox-http", daemon=True)
        self._thread.start()
        if self.data_dir is not None:
            self._flusher = threading.Thread(target=self._flush_loop, name="sandbox-flush", daemon=True)
            self._flusher.start()
            self.write_endpoints()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.stop()
        if self._flusher is not None:
            self._flusher.join()
        self.flush()
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> "Sandbox":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- data ----------------------------------------------------------------------------------

    def _store_file(self, service: Service) -> Path:
        assert self.data_dir is not None
        return self.data_dir / f"{service.name}.json"

    def _load_data(self) -> None:
        """Restore saved stores; seed the ones that have never been saved."""
        seed = self._seed if self._seed is not None else load_seed(None)
        for service in self.services.values():
            path = self._store_file(service) if self.data_dir is not None else None
            if path is not None and path.exists():
                with service.lock:
                    service.restore(json.loads(path.read_text(encoding="utf-8")))
            else:
                with service.lock:
                    service.seed(seed.get(service.name) or {})
                    service.dirty = True

    def flush(self) -> None:
        """Write every changed store to the data directory (atomically, file by file)."""
        if self.data_dir is None:
            return
        for service in self.services.values():
            if not service.dirty:
                continue
            with service.lock:
                data = service.snapshot()
                service.dirty = False
            path = self._store_file(service)
            tmp = path.with_suffix(".json.tmp")
            tmp.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")
            os.replace(tmp, path)

    def _flush_loop(self) -> None:
        while not self._stopping.wait(self._flush_interval):
            self.flush()

    def endpoints(self) -> dict[str, Any]:
        """URLs, CA file and sandbox credentials: all a client needs to talk to the sandbox."""
        doc: dict[str, Any] = {"baseUrl": self.base_url, "caFile": str(self.ca_file.resolve())}
        for name, service in self.services.items():
            doc[name] = service.endpoints()
        return doc

    def write_endpoints(self) -> Path:
        """Write ``endpoints.json`` and each credential to ``secrets/<service>.<key>`` (mode 0600),
        so configurations can reference sandbox secrets as ``{secretRef: {file: ...}}``."""
        assert self.data_dir is not None
        doc = self.endpoints()
        secrets_dir = self.data_dir / "secrets"
        secrets_dir.mkdir(exist_ok=True)
        for name, section in doc.items():
            for key, value in (section.get("credentials") or {}).items() if isinstance(section, dict) else ():
                secret = secrets_dir / f"{name}.{key}"
                secret.write_text(str(value), encoding="utf-8")
                secret.chmod(0o600)
        path = self.data_dir / "endpoints.json"
        path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        return path

    # -- HTTP ----------------------------------------------------------------------------------

    def _route(self, path: str) -> Service | None:
        for service in self.services.values():
            if service.claims(path):
                return service
        return None

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        started = time.perf_counter()
        service = self._route(request.path)
        if service is None:
            response = Response("not found in the sandbox", status=404, mimetype="text/plain")
            return response(environ, start_response)
        operation = service.operation(request)
        fault = self.faults.draw(service.name, operation, GENERIC_KINDS)
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay_ms / 1000)
            fault = None
        if fault is not None and fault.kind == "drop_connection":
            connection = environ.get("reconciler.sandbox.connection")
            if connection is not None:
                try:
                    connection.socket.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.counters.record(LoggedRequest(service.name, operation, 0, 0.0, 0))
            raise _DroppedConnection()
        if fault is not None:
            status = 500 if fault.kind == "http_500" else 503
            response = Response(f"sandbox fault: HTTP {status}", status=status, mimetype="text/plain")
        else:
            with service.lock:
                response = service.handle(request, operation)
        self.counters.record(LoggedRequest(
            service.name, operation, response.status_code,
            (time.perf_counter() - started) * 1000, service.records_in(request, response)))
        return response(environ, start_response)


def default_services() -> list[Service]:
    """The three emulators, in routing order."""
    from .ews import ExchangeService
    from .identity import IdentityService
    from .salesforce import SalesforceService

    return [SalesforceService(), ExchangeService(), IdentityService()]
