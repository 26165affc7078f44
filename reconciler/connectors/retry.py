"""Bounded exponential back-off with jitter, for throttling and transient failures.

Both connectors retry through this one helper (exchangelib runs with its default fail-fast policy,
whose own retry loop would wait 10 s, 20 s ... on a 503). A service's own hint (EWS
BackOffMilliseconds) replaces the computed delay when present. Only errors a wait can cure are
retried: RATE_LIMITED and UNAVAILABLE.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from .errors import ConnectorError, ErrorKind

T = TypeVar("T")
log = logging.getLogger(__name__)

RETRIED_KINDS = frozenset({ErrorKind.RATE_LIMITED, ErrorKind.UNAVAILABLE})


@dataclass
class BackOff:
    """``attempts`` tries in all; the n-th wait is ``base * 2**n`` capped at ``cap`` seconds, with
    "equal jitter" (half fixed, half random) so parallel workers spread out."""

    attempts: int = 5
    base: float = 0.25
    cap: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    random: random.Random = field(default_factory=random.Random)

    def delay(self, retry: int, suggested: float | None = None) -> float:
        if suggested is not None and suggested > 0:
            return min(suggested, self.cap)
        ceiling = min(self.cap, self.base * (2 ** retry))
        return ceiling / 2 + self.random.uniform(0, ceiling / 2)

    def run(self, action: Callable[[], T], translate: Callable[[BaseException], ConnectorError]) -> T:
        """Run ``action``; on a retryable failure wait and try again, at most ``attempts`` times.
        Failures come out translated to ConnectorError."""
        retry = 0
        while True:
            try:
                return action()
            except Exception as exc:  # noqa: BLE001 - every failure is translated, none swallowed
                error = translate(exc)
                if error.kind not in RETRIED_KINDS or retry >= self.attempts - 1:
                    if error is exc:
                        raise
                    raise error from exc
                wait = self.delay(retry, error.retry_after)
                log.info("%s; retrying in %.2fs (attempt %d of %d)", error.message, wait, retry + 2, self.attempts)
                self.sleep(wait)
                retry += 1
