"""Fault injection: the ways real services fail, on demand and deterministically.

A test or benchmark adds rules; each request (and, inside batches, each record) asks whether a
rule fires. The random draws come from one seeded generator, so a given seed and the same request
sequence fail the same way every run.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Literal

FaultKind = Literal[
    "http_500",        # plain HTTP 500 before the service sees the request
    "http_503",        # plain HTTP 503 before the service sees the request
    "slow",            # the answer comes after delay_ms
    "drop_connection", # the socket is closed without an answer
    "server_busy",     # EWS ErrorServerBusy with BackOffMilliseconds (back_off_ms)
    "request_limit",   # Salesforce REQUEST_LIMIT_EXCEEDED (HTTP 403)
    "record_failure",  # one record inside a batch fails, the others succeed
]

GENERIC_KINDS: frozenset[str] = frozenset({"http_500", "http_503", "slow", "drop_connection"})


@dataclass
class FaultRule:
    """Fire ``kind`` on matching requests.

    ``service`` and ``operation`` narrow the match (None matches any); ``probability`` is drawn from
    the seeded generator; ``times`` caps how often the rule fires (None: no cap); ``after`` lets that
    many matching requests pass first.
    """

    kind: FaultKind
    service: str | None = None
    operation: str | None = None
    probability: float = 1.0
    times: int | None = None
    after: int = 0
    delay_ms: int = 0
    back_off_ms: int = 100
    fired: int = field(default=0, init=False)
    seen: int = field(default=0, init=False)

    def matches(self, service: str, operation: str, kinds: frozenset[str] | set[str]) -> bool:
        return (self.kind in kinds
                and (self.service is None or self.service == service)
                and (self.operation is None or self.operation == operation))


class Faults:
    """The fault rules in force for a sandbox run."""

    def __init__(self, seed: int = 0) -> None:
        self._rules: list[FaultRule] = []
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def add(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self, seed: int | None = None) -> None:
        with self._lock:
            self._rules.clear()
            if seed is not None:
                self._random.seed(seed)

    def draw(self, service: str, operation: str, kinds: set[str] | frozenset[str]) -> FaultRule | None:
        """Return the first rule of one of ``kinds`` that fires for this request, if any."""
        with self._lock:
            for rule in self._rules:
                if not rule.matches(service, operation, kinds):
                    continue
                rule.seen += 1
                if rule.seen <= rule.after:
                    continue
                if rule.times is not None and rule.fired >= rule.times:
                    continue
                if rule.probability < 1.0 and self._random.random() >= rule.probability:
                    continue
                rule.fired += 1
                return rule
        return None
