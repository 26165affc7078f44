"""The state store: applied configuration (lineage + serial), users, audit log, lock and the
record-sync tables (pairs, cursors, tombstones). The only package that opens database sessions.
"""

from __future__ import annotations

from .audit import current_actor, git_commit_of, lock_holder, new_audit_entry
from .errors import (
    InvalidStateUrl,
    LockNotFound,
    PairConflict,
    PlanAlreadyApplied,
    StaleState,
    StateError,
    StateFromNewerVersion,
    StateLocked,
    StateUnavailable,
    UnknownUser,
)
from .records import (
    AppliedConfig,
    AuditEntry,
    CycleOutcome,
    Direction,
    DirectionStatus,
    LockInfo,
    PairRecord,
    RecordRef,
    Side,
    StateMeta,
    SyncObject,
    SyncState,
    TombstoneRecord,
    UserAssignment,
    UserStatus,
)
from .store import StateStore
from .url import STATE_ENV_VAR, redacted_url, resolve_state_url

__all__ = [
    "STATE_ENV_VAR",
    "AppliedConfig",
    "AuditEntry",
    "CycleOutcome",
    "Direction",
    "DirectionStatus",
    "InvalidStateUrl",
    "LockInfo",
    "LockNotFound",
    "PairConflict",
    "PairRecord",
    "PlanAlreadyApplied",
    "RecordRef",
    "Side",
    "StaleState",
    "StateError",
    "StateFromNewerVersion",
    "StateLocked",
    "StateMeta",
    "StateStore",
    "StateUnavailable",
    "SyncObject",
    "SyncState",
    "TombstoneRecord",
    "UnknownUser",
    "UserAssignment",
    "UserStatus",
    "current_actor",
    "git_commit_of",
    "lock_holder",
    "new_audit_entry",
    "redacted_url",
    "resolve_state_url",
]
