"""What every emulated service implements so the sandbox server can host it."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

from .counters import Counters
from .faults import Faults


@dataclass
class SandboxContext:
    """What the hosting sandbox shares with each service."""

    base_url: str            # https://127.0.0.1:PORT
    data_dir: Path | None    # None: in memory only
    faults: Faults
    counters: Counters
    services: dict[str, "Service"]  # by name, so one service can ask another (EWS asks identity about tokens)


class Service(ABC):
    """One emulated endpoint family (Salesforce, EWS, identity), hosted on the sandbox's port.

    The server routes a request to the first service whose ``claims`` is true, asks it for the
    operation name (counters and fault rules use it), applies generic faults, then calls ``handle``
    with the service's lock held: emulators keep plain in-memory state and need no locking of their
    own. ``snapshot``/``restore`` make the data survive a restart of ``reconcile sandbox serve``.
    """

    name: str = ""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.dirty = False
        self.context: SandboxContext | None = None

    def attach(self, context: SandboxContext) -> None:
        self.context = context

    @abstractmethod
    def claims(self, path: str) -> bool:
        """True when this service answers ``path``."""

    @abstractmethod
    def operation(self, request: Request) -> str:
        """A short operation name for counters and fault rules (``query``, ``UpdateItem`` ...)."""

    @abstractmethod
    def handle(self, request: Request, operation: str) -> Response:
        """Answer the request as the real service would."""

    @abstractmethod
    def seed(self, data: dict[str, Any]) -> None:
        """Load this service's section of a seed file into an empty store."""

    @abstractmethod
    def snapshot(self) -> dict[str, Any]:
        """Everything needed to restore the store, JSON-serialisable."""

    @abstractmethod
    def restore(self, data: dict[str, Any]) -> None:
        """Replace the store with a snapshot."""

    @abstractmethod
    def endpoints(self) -> dict[str, Any]:
        """This service's URLs and sandbox credentials, for ``endpoints.json``."""

    def records_in(self, request: Request, response: Response) -> int:
        """How many records a request carried or returned (0 when unknown); for the request log."""
        return 0

    def changed(self) -> None:
        """Mark the store as changed, so the sandbox writes it to disk soon."""
        self.dirty = True
