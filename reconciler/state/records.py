"""Plain values that cross the state store's API.

The store hands out and takes these frozen dataclasses, never ORM objects, so no database session
or lazy load leaks to callers and the engine can keep them across transactions and threads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal, get_args

SyncObject = Literal["contact", "event"]
Direction = Literal["salesforce_to_exchange", "exchange_to_salesforce"]
Side = Literal["salesforce", "exchange"]
SyncState = Literal["pending_initial_sync", "initial_sync_completed", "in_sync", "error", "disabled"]

SYNC_OBJECTS: tuple[str, ...] = get_args(SyncObject)
DIRECTIONS: tuple[str, ...] = get_args(Direction)
SIDES: tuple[str, ...] = get_args(Side)
SYNC_STATES: tuple[str, ...] = get_args(SyncState)


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC (the only kind of time the store accepts)."""
    return datetime.now(timezone.utc)


def require_choice(kind: str, value: str, allowed: tuple[str, ...]) -> None:
    """Refuse a misspelt object, side, direction or state before it reaches the database."""
    if value not in allowed:
        raise ValueError(f"unknown {kind} {value!r}; expected one of {', '.join(allowed)}")


@dataclass(frozen=True)
class StateMeta:
    """Identity of a state: lineage is fixed at creation, serial counts successful applies."""

    lineage: str
    serial: int
    created_at: datetime


@dataclass(frozen=True)
class AppliedConfig:
    """The configuration last applied: normalised resources by address, and their digest.

    ``digest`` is None for a state nothing was ever applied to.
    """

    digest: str | None
    resources: dict[str, dict[str, Any]]
    serial: int


@dataclass(frozen=True)
class UserAssignment:
    """Which configuration a user syncs under, as decided by the applied configuration.

    ``configuration`` None means the user is known but not assigned (or no longer enabled).
    ``mailbox`` None means "the user's Salesforce Email", resolved at sync time (see
    ``StateStore.set_link``). Raising ``reset_generation`` asks for a Reset Sync.
    """

    user: str
    configuration: str | None
    salesforce_username: str
    mailbox: str | None = None
    reset_generation: int = 0


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit log: who did what, from which commit, under which plan."""

    time: datetime
    actor: str
    git_commit: str | None
    plan_id: str | None
    operation: str
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LockInfo:
    """The state lock as held: its id (needed to release or force-unlock), who and what for, and
    the process holding it (``host`` and ``pid``; None on locks from before they were recorded)."""

    id: str
    holder: str
    operation: str
    created_at: datetime
    host: str | None = None
    pid: int | None = None


@dataclass(frozen=True)
class DirectionStatus:
    """Sync status of one object type in one direction for one user."""

    object: SyncObject
    direction: Direction
    state: SyncState
    last_cycle_at: datetime | None
    last_error: str | None
    counts: dict[str, int]


@dataclass(frozen=True)
class UserStatus:
    """Everything ``status`` shows about one user."""

    user: str
    configuration: str | None
    salesforce_username: str
    mailbox: str | None
    linked: bool
    reset_generation: int
    reset_completed_generation: int
    directions: tuple[DirectionStatus, ...]

    @property
    def reset_pending(self) -> bool:
        """True when the configuration asked for a Reset Sync the engine has not done yet."""
        return self.reset_generation > self.reset_completed_generation

    def direction(self, object: SyncObject, direction: Direction) -> DirectionStatus | None:
        """The status of one object and direction, None before its first recorded cycle."""
        for status in self.directions:
            if status.object == object and status.direction == direction:
                return status
        return None


@dataclass(frozen=True)
class CycleOutcome:
    """What one sync cycle of one object in one direction ended with, for ``record_cycle``.

    ``error`` is an operator-facing message (error code, record id at most); never put record
    contents or other personal data in it. ``counts`` are e.g. {"created": 3, "updated": 1}.
    """

    direction: Direction
    state: SyncState
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    finished_at: datetime = field(default_factory=utc_now)


@dataclass(frozen=True)
class PairRecord:
    """One synced pair of records (a Salesforce record and an Exchange item) of one user.

    The Salesforce id is the pair's identity: ``commit_batch`` upserts by it and deletes by it.
    Versions are the opaque change tokens of each side (Salesforce SystemModstamp or
    LastModifiedDate as ISO text, the EWS ChangeKey); hashes are of each side's canonical form as
    last synced, None when not known (a side written but not read back); ``base`` is the
    canonical snapshot last synced, the merge base of a two-way merge. ``exchange_stamped`` is
    False while the Exchange item does not carry the Salesforce id yet. The fields follow
    ``reconciler.sync.status.Pair`` one to one, plus the time the row was last written.
    """

    salesforce_id: str
    exchange_id: str
    salesforce_version: str
    exchange_version: str
    salesforce_hash: str | None
    exchange_hash: str | None
    base: dict[str, Any]
    exchange_stamped: bool = True
    updated_at: datetime | None = None


@dataclass(frozen=True)
class TombstoneRecord:
    """A record deleted on purpose on one side that must not be recreated from the other."""

    side: Side
    record_id: str
    reason: str
    deleted_at: datetime = field(default_factory=utc_now)


@dataclass(frozen=True)
class RecordRef:
    """One record of one side, by id (what ``revisits`` hands out)."""

    side: Side
    record_id: str
