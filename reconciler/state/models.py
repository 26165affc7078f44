"""Tables of the state store, as sqlmodel classes (SQLAlchemy 2 underneath).

These describe the schema at the newest migration; the migrations in ``migrations/versions`` are
what actually builds it (a test checks that both agree). Column names avoid SQL keywords
(``user_name``, ``object_type``). Times are stored in UTC and read back timezone-aware.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    PostgreSQL keeps ``timestamptz``; SQLite has no time zones, so the value is stored as naive
    UTC and marked UTC again when read. Naive datetimes are refused rather than guessed at.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} given to the state store; use UTC")
        utc = value.astimezone(timezone.utc)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class StateMetaRow(SQLModel, table=True):
    """The single row (id 1) naming this state: lineage, serial and the applied config digest."""

    __tablename__ = "state_meta"
    __table_args__ = (sa.CheckConstraint("id = 1", name="ck_state_meta_single_row"),)

    id: int = Field(default=1, primary_key=True)
    lineage: str = Field(max_length=36)
    serial: int = Field(default=0)
    created_at: datetime = Field(sa_type=UTCDateTime)
    config_digest: str | None = Field(default=None, max_length=64)


class AppliedResourceRow(SQLModel, table=True):
    """One normalised resource of the applied configuration, by address (``Kind/name``)."""

    __tablename__ = "applied_resource"

    address: str = Field(primary_key=True)
    document: dict[str, Any] = Field(sa_type=sa.JSON)


class AppliedPlanRow(SQLModel, table=True):
    """Every plan id ever applied: its primary key makes a replayed apply impossible."""

    __tablename__ = "applied_plan"

    plan_id: str = Field(primary_key=True)
    serial: int
    applied_at: datetime = Field(sa_type=UTCDateTime)


class UserAssignmentRow(SQLModel, table=True):
    """A user's assignment (from apply) plus what the sync engine learnt about the user."""

    __tablename__ = "user_assignment"

    user_name: str = Field(primary_key=True)
    configuration: str | None = None
    salesforce_username: str
    mailbox: str | None = None
    reset_generation: int = 0
    updated_at: datetime = Field(sa_type=UTCDateTime)
    linked: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    resolved_mailbox: str | None = None
    reset_completed_generation: int = Field(default=0, sa_column_kwargs={"server_default": sa.text("0")})


class AuditLogRow(SQLModel, table=True):
    """Append-only audit log."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    time: datetime = Field(sa_type=UTCDateTime)
    actor: str
    git_commit: str | None = None
    plan_id: str | None = None
    operation: str
    summary: dict[str, Any] = Field(sa_type=sa.JSON)


class StateLockRow(SQLModel, table=True):
    """The state lock: at most one row, because its primary key is the constant ``"state"``.

    Inserting that row is the acquisition, so two processes can never both hold the lock on
    either backend, and nobody waits: the loser gets a unique violation at once. ``host`` and
    ``pid`` name the holding process (None on locks taken before they were recorded).
    """

    __tablename__ = "state_lock"
    __table_args__ = (sa.UniqueConstraint("lock_id", name="uq_state_lock_lock_id"),)

    name: str = Field(default="state", primary_key=True)
    lock_id: str = Field(max_length=36)
    holder: str
    operation: str
    created_at: datetime = Field(sa_type=UTCDateTime)
    host: str | None = None
    pid: int | None = None


class UserSyncStatusRow(SQLModel, table=True):
    """State of one user's sync of one object type in one direction."""

    __tablename__ = "user_sync_status"

    user_name: str = Field(primary_key=True)
    object_type: str = Field(primary_key=True)
    direction: str = Field(primary_key=True)
    state: str
    last_cycle_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = None
    counts: dict[str, int] = Field(sa_type=sa.JSON)


class RecordPairRow(SQLModel, table=True):
    """A synced pair. The primary key (user, object, Salesforce id) also serves per-user scans."""

    __tablename__ = "record_pair"
    __table_args__ = (
        sa.UniqueConstraint("user_name", "object_type", "exchange_id", name="uq_record_pair_exchange_id"),
    )

    user_name: str = Field(primary_key=True)
    object_type: str = Field(primary_key=True)
    salesforce_id: str = Field(primary_key=True)
    exchange_id: str
    salesforce_version: str
    exchange_version: str
    salesforce_hash: str | None = None
    exchange_hash: str | None = None
    base: dict[str, Any] = Field(sa_type=sa.JSON)
    exchange_stamped: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    updated_at: datetime = Field(sa_type=UTCDateTime)


class SyncCursorRow(SQLModel, table=True):
    """Where the change feed of one side was last read up to (opaque to the store), and when the
    side was last listed in full (None: not since this was recorded)."""

    __tablename__ = "sync_cursor"

    user_name: str = Field(primary_key=True)
    object_type: str = Field(primary_key=True)
    side: str = Field(primary_key=True)
    value: str = Field(sa_type=sa.Text)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    full_listing_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SyncRevisitRow(SQLModel, table=True):
    """A record to fetch into the next cycle: its last action was deferred or failed, and an
    incremental feed would not list its change again."""

    __tablename__ = "sync_revisit"

    user_name: str = Field(primary_key=True)
    object_type: str = Field(primary_key=True)
    side: str = Field(primary_key=True)
    record_id: str = Field(primary_key=True)
    added_at: datetime = Field(sa_type=UTCDateTime)


class TombstoneRow(SQLModel, table=True):
    """A record that was deleted on purpose and must not come back."""

    __tablename__ = "tombstone"

    user_name: str = Field(primary_key=True)
    object_type: str = Field(primary_key=True)
    side: str = Field(primary_key=True)
    record_id: str = Field(primary_key=True)
    deleted_at: datetime = Field(sa_type=UTCDateTime)
    reason: str
