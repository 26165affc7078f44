"""Errors of the state store.

Each carries what an operator needs to act (who holds the lock, why a plan is stale) and nothing
secret: no database URL with its password, no record contents.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .records import LockInfo


class StateError(Exception):
    """Base class: anything the state store refuses or cannot do."""


class InvalidStateUrl(StateError, ValueError):
    """The state location is not a SQLite path or a PostgreSQL URL (the message never echoes a
    password)."""


class StateUnavailable(StateError):
    """The state database cannot be opened (unreachable server, refused login, not a database)."""


class StateFromNewerVersion(StateError):
    """The state was written by a newer reconciler; this version refuses to touch it."""

    def __init__(self, found_revision: str, known_head: str) -> None:
        self.found_revision = found_revision
        self.known_head = known_head
        super().__init__(
            f"the state database is at schema revision {found_revision!r}, which this version of "
            f"reconciler does not know (its newest is {known_head!r}): it was written by a newer "
            "reconciler; upgrade reconciler instead of using an older one on it. The state was "
            "left untouched."
        )


class StaleState(StateError):
    """The state moved since the plan was made (other lineage, or serial changed)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"stale state: {reason}; make a new plan")


class PlanAlreadyApplied(StateError):
    """A plan id that was applied once is never applied again (replay protection)."""

    def __init__(self, plan_id: str, serial: int) -> None:
        self.plan_id = plan_id
        self.serial = serial
        super().__init__(f"plan {plan_id} was already applied (it produced state serial {serial})")


class StateLocked(StateError):
    """Another run holds the state lock; raised at once, never after waiting."""

    def __init__(self, info: LockInfo) -> None:
        self.info = info
        super().__init__(
            f"the state is locked by {info.holder} for {info.operation!r} since "
            f"{info.created_at.isoformat(timespec='seconds')} (lock id {info.id}); if that run is "
            f"gone, release it with force-unlock {info.id}"
        )


class LockNotFound(StateError):
    """The lock id given does not match the lock currently held (or no lock is held)."""

    def __init__(self, lock_id: str, current: LockInfo | None) -> None:
        self.lock_id = lock_id
        self.current = current
        held = f"the current lock is {current.id} held by {current.holder}" if current else "no lock is held"
        super().__init__(f"lock {lock_id} not found: {held}")


class PairConflict(StateError):
    """A record batch would make two pairs share one record; nothing of the batch was written."""


class UnknownUser(StateError):
    """Sync status was recorded for a user no applied configuration ever mentioned."""

    def __init__(self, user: str) -> None:
        self.user = user
        super().__init__(f"user {user!r} is not in the applied configuration of this state")
