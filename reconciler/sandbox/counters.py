"""Per-operation call counters and a request log, for tests and benchmarks."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True)
class LoggedRequest:
    service: str
    operation: str
    status: int
    duration_ms: float
    records: int  # records the request carried or returned, where the service knows it


class Counters:
    """Counts every request the sandbox answered, by service and operation."""

    def __init__(self, keep_log: int = 10_000) -> None:
        self._counts: Counter[tuple[str, str]] = Counter()
        self._log: list[LoggedRequest] = []
        self._keep_log = keep_log
        self._lock = threading.Lock()

    def record(self, entry: LoggedRequest) -> None:
        with self._lock:
            self._counts[(entry.service, entry.operation)] += 1
            self._log.append(entry)
            if len(self._log) > self._keep_log:
                del self._log[: len(self._log) - self._keep_log]

    def counts(self, service: str | None = None) -> dict[str, int]:
        """``{"service.operation": n}``, or ``{"operation": n}`` for one service."""
        with self._lock:
            if service is None:
                return {f"{s}.{op}": n for (s, op), n in sorted(self._counts.items())}
            return {op: n for (s, op), n in sorted(self._counts.items()) if s == service}

    def total(self, service: str | None = None) -> int:
        return sum(self.counts(service).values())

    def log(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._log)

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
            self._log.clear()
