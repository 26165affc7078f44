"""The state store: the one place that opens database sessions.

Every public method is one transaction and takes or returns plain dataclasses from
``records``. Writes that must not interleave (apply, lock, record batches) are made safe by the
database itself, so two processes sharing a state (two CI jobs, a laptop and a pipeline) can
never both win: compare-and-set on the serial, a primary-key row for the lock, one transaction
per record batch.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session

from . import models
from .audit import new_audit_entry, this_host
from .database import create_state_engine, migrate, read_engine, write_engine
from .errors import (
    LockNotFound,
    PairConflict,
    PlanAlreadyApplied,
    StaleState,
    StateError,
    StateLocked,
    StateUnavailable,
    UnknownUser,
)
from .records import (
    DIRECTIONS,
    SIDES,
    SYNC_OBJECTS,
    SYNC_STATES,
    AppliedConfig,
    AuditEntry,
    CycleOutcome,
    DirectionStatus,
    LockInfo,
    PairRecord,
    RecordRef,
    Side,
    StateMeta,
    SyncObject,
    TombstoneRecord,
    UserAssignment,
    UserStatus,
    require_choice,
    utc_now,
)
from .url import normalise_state_url, redacted_url

_meta = models.StateMetaRow.__table__
_resources = models.AppliedResourceRow.__table__
_plans = models.AppliedPlanRow.__table__
_assignments = models.UserAssignmentRow.__table__
_audit = models.AuditLogRow.__table__
_lock = models.StateLockRow.__table__
_statuses = models.UserSyncStatusRow.__table__
_pairs = models.RecordPairRow.__table__
_cursors = models.SyncCursorRow.__table__
_tombstones = models.TombstoneRow.__table__
_revisits = models.SyncRevisitRow.__table__

# Ids per DELETE ... IN (...): well below SQLite's and PostgreSQL's bound-parameter limits.
_DELETE_CHUNK = 1000
# Long enough for an error code and a record id, short enough to stay a message, not a dump.
MAX_ERROR_LENGTH = 1000
_LOCK_NAME = "state"


class StateStore:
    """Reconciler's memory: applied configuration, users, audit log, lock and record pairs.

    Open with ``StateStore.open(url)``, which creates or migrates the schema; close with
    ``close()`` or use it as a context manager.
    """

    def __init__(self, engine: Engine, url: str) -> None:
        """Use ``StateStore.open``; this only wires an already migrated engine."""
        self._engine = engine
        self._reads = read_engine(engine)
        self._writes = write_engine(engine)
        self._url = url

    @classmethod
    def open(cls, url: str) -> StateStore:
        """Open the state at ``url`` (a SQLite path/URL or postgresql+psycopg:// URL).

        A new state is created with a fresh lineage; an older one is migrated to the current
        schema; one written by a newer reconciler is refused (``StateFromNewerVersion``).
        """
        normalised = normalise_state_url(url)
        engine = create_state_engine(normalised)
        try:
            migrate(engine)
        except DBAPIError as exc:
            engine.dispose()
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            raise StateUnavailable(f"cannot open the state at {redacted_url(normalised)}: {reason}") from None
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, normalised)

    @property
    def redacted_url(self) -> str:
        """Where this state lives, safe to print (password masked)."""
        return redacted_url(self._url)

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._engine.dialect.name

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def _reading(self) -> Iterator[Session]:
        with Session(self._reads) as session:
            yield session

    @contextmanager
    def _writing(self) -> Iterator[Session]:
        with Session(self._writes) as session, session.begin():
            yield session

    def _insert(self, table: sa.Table) -> Any:
        """A dialect INSERT, so callers can add ON CONFLICT clauses (same on both backends)."""
        dialect_insert = postgresql.insert if self.backend == "postgresql" else sqlite.insert
        return dialect_insert(table)

    def _upsert(self, table: sa.Table, key: Sequence[str], update: Sequence[str]) -> Any:
        statement = self._insert(table)
        return statement.on_conflict_do_update(
            index_elements=list(key), set_={column: statement.excluded[column] for column in update}
        )

    # -- meta and applied configuration ------------------------------------------------------

    def meta(self) -> StateMeta:
        """Lineage, serial and creation time of this state."""
        with self._reading() as session:
            row = session.exec(sa.select(_meta.c.lineage, _meta.c.serial, _meta.c.created_at)).one()
        return StateMeta(lineage=row.lineage, serial=row.serial, created_at=row.created_at)

    def applied_config(self) -> AppliedConfig:
        """The normalised resources and digest of the last apply (empty before the first)."""
        with self._reading() as session:
            meta = session.exec(sa.select(_meta.c.serial, _meta.c.config_digest)).one()
            rows = session.exec(sa.select(_resources.c.address, _resources.c.document)).all()
        return AppliedConfig(
            digest=meta.config_digest,
            resources={row.address: row.document for row in rows},
            serial=meta.serial,
        )

    def commit_apply(
        self,
        *,
        expected_lineage: str,
        expected_serial: int,
        plan_id: str,
        digest: str,
        resources: dict[str, dict[str, Any]],
        assignments: Sequence[UserAssignment],
        audit: AuditEntry,
    ) -> int:
        """Record a successful apply in one transaction and return the new serial.

        Refuses a plan id applied before (``PlanAlreadyApplied``) and a plan made against
        another lineage or serial (``StaleState``); either way nothing is written. The serial
        moves by compare-and-set, so of two concurrent applies against the same serial exactly
        one commits. Resources are replaced wholesale; assignments are upserted by user (users
        not listed keep their row: pass ``configuration=None`` to unassign one). The audit entry
        is recorded under ``plan_id``.
        """
        new_serial = expected_serial + 1
        now = utc_now()
        with self._writing() as session:
            applied_serial = session.exec(
                sa.select(_plans.c.serial).where(_plans.c.plan_id == plan_id)
            ).scalar_one_or_none()
            if applied_serial is not None:
                raise PlanAlreadyApplied(plan_id, applied_serial)
            moved = session.exec(
                sa.update(_meta)
                .where(_meta.c.lineage == expected_lineage, _meta.c.serial == expected_serial)
                .values(serial=new_serial, config_digest=digest)
            )
            if moved.rowcount != 1:
                current = session.exec(sa.select(_meta.c.lineage, _meta.c.serial)).one()
                raise StaleState(_stale_reason(expected_lineage, expected_serial, current.lineage, current.serial))
            session.exec(sa.delete(_resources))
            if resources:
                session.exec(
                    sa.insert(_resources),
                    params=[{"address": address, "document": resources[address]} for address in sorted(resources)],
                )
            session.exec(sa.insert(_plans).values(plan_id=plan_id, serial=new_serial, applied_at=now))
            if assignments:
                session.exec(self._assignment_upsert(), params=[_assignment_params(a, now) for a in assignments])
            session.exec(sa.insert(_audit).values(**{**_audit_params(audit), "plan_id": plan_id}))
        return new_serial

    def _assignment_upsert(self) -> Any:
        """Upsert of assignment rows that forgets what the engine learnt when the identity moved.

        If the Salesforce username or configured mailbox changed, the old link and resolved
        mailbox no longer describe this user, so they are reset until the next cycle re-links.
        """
        statement = self._insert(_assignments)
        new = statement.excluded
        same_identity = sa.and_(
            _assignments.c.salesforce_username == new.salesforce_username,
            _assignments.c.mailbox.is_not_distinct_from(new.mailbox),
        )
        return statement.on_conflict_do_update(
            index_elements=["user_name"],
            set_={
                "configuration": new.configuration,
                "salesforce_username": new.salesforce_username,
                "mailbox": new.mailbox,
                "reset_generation": new.reset_generation,
                "updated_at": new.updated_at,
                "linked": sa.case((same_identity, _assignments.c.linked), else_=sa.false()),
                "resolved_mailbox": sa.case((same_identity, _assignments.c.resolved_mailbox), else_=sa.null()),
            },
        )

    # -- lock --------------------------------------------------------------------------------

    def acquire_lock(self, operation: str, holder: str) -> LockInfo:
        """Take the state lock, or raise ``StateLocked`` naming the holder at once (no waiting).

        A lock whose holder ran on this host under a pid that no longer exists was left by a run
        that died (SIGKILL, OOM kill, a reboot): it is taken over, audited (``lock-takeover``) and
        announced on stderr. A lock from another host is never taken over (whether its process
        lives cannot be known from here): that still needs ``force-unlock``.
        """
        info = LockInfo(id=str(uuid.uuid4()), holder=holder, operation=operation, created_at=utc_now(),
                        host=this_host(), pid=os.getpid())
        try:
            with self._writing() as session:
                session.exec(sa.insert(_lock).values(**_lock_params(info)))
        except IntegrityError:
            current = self.current_lock()
            if current is None:
                raise StateError(
                    "the state lock was released while we tried to take it; try again"
                ) from None
            if not _holder_is_dead(current):
                raise StateLocked(current) from None
            self._take_over(current, info)
        return info

    def _take_over(self, dead: LockInfo, info: LockInfo) -> None:
        """Replace the lock of a dead process by ours in one transaction (compare-and-set on its id,
        so of two runs taking over the same dead lock exactly one wins)."""
        with self._writing() as session:
            removed = session.exec(sa.delete(_lock).where(_lock.c.lock_id == dead.id))
            if removed.rowcount != 1:
                current = session.exec(sa.select(_lock)).one_or_none()
                if current is None:
                    raise StateError("the state lock was released while we tried to take it; try again")
                raise StateLocked(_lock_info(current))
            session.exec(sa.insert(_lock).values(**_lock_params(info)))
            entry = new_audit_entry("lock-takeover", summary={
                "lock_id": dead.id, "holder": dead.holder, "operation": dead.operation,
                "locked_at": dead.created_at.isoformat(), "host": dead.host, "pid": dead.pid,
                "new_lock_id": info.id,
            })
            session.exec(sa.insert(_audit).values(**_audit_params(entry)))
        print(f"Taking over the state lock of {dead.holder} (for {dead.operation!r} since "
              f"{dead.created_at:%Y-%m-%d %H:%M:%S} UTC): process {dead.pid} no longer runs on {dead.host}.",
              file=sys.stderr)

    def current_lock(self) -> LockInfo | None:
        """The lock as currently held, None when the state is unlocked."""
        with self._reading() as session:
            row = session.exec(sa.select(_lock)).one_or_none()
        return _lock_info(row) if row is not None else None

    def release_lock(self, lock_id: str) -> None:
        """Release our own lock; ``LockNotFound`` if it is no longer ours (force-unlocked)."""
        with self._writing() as session:
            released = session.exec(sa.delete(_lock).where(_lock.c.lock_id == lock_id))
        if released.rowcount != 1:
            raise LockNotFound(lock_id, self.current_lock())

    def force_unlock(self, lock_id: str) -> LockInfo:
        """Break a lock left by a run that died, by its id; audited with whose lock it was.

        The id must match (``LockNotFound`` otherwise), so a stale command cannot break a lock
        taken since by a live run. Returns the lock that was removed.
        """
        with self._writing() as session:
            row = session.exec(sa.select(_lock).where(_lock.c.lock_id == lock_id)).one_or_none()
            if row is None:
                current = session.exec(sa.select(_lock)).one_or_none()
                raise LockNotFound(lock_id, _lock_info(current) if current is not None else None)
            broken = _lock_info(row)
            session.exec(sa.delete(_lock).where(_lock.c.lock_id == lock_id))
            entry = new_audit_entry(
                "force-unlock",
                summary={
                    "lock_id": broken.id,
                    "holder": broken.holder,
                    "operation": broken.operation,
                    "locked_at": broken.created_at.isoformat(),
                },
            )
            session.exec(sa.insert(_audit).values(**_audit_params(entry)))
        return broken

    @contextmanager
    def locked(self, operation: str, holder: str) -> Iterator[LockInfo]:
        """Hold the state lock for the ``with`` block.

        If the lock was force-unlocked meanwhile, leaving the block normally raises
        ``LockNotFound``; when the block already failed, its own error wins.
        """
        info = self.acquire_lock(operation, holder)
        try:
            yield info
        except BaseException:
            try:
                self.release_lock(info.id)
            except LockNotFound:
                pass
            raise
        self.release_lock(info.id)

    # -- audit -------------------------------------------------------------------------------

    def record_audit(self, entry: AuditEntry) -> None:
        """Append an entry for an operation that is not an apply (applies log their own)."""
        with self._writing() as session:
            session.exec(sa.insert(_audit).values(**_audit_params(entry)))

    def audit_log(self, limit: int | None = None) -> list[AuditEntry]:
        """The audit log, newest first; at most ``limit`` entries."""
        query = sa.select(_audit).order_by(_audit.c.id.desc()).limit(limit)
        with self._reading() as session:
            rows = session.exec(query).all()
        return [
            AuditEntry(
                time=row.time,
                actor=row.actor,
                git_commit=row.git_commit,
                plan_id=row.plan_id,
                operation=row.operation,
                summary=row.summary,
            )
            for row in rows
        ]

    # -- users -------------------------------------------------------------------------------

    def user_statuses(self) -> list[UserStatus]:
        """Every user the applied configuration mentioned, by name, with per-direction status."""
        with self._reading() as session:
            users = session.exec(sa.select(_assignments).order_by(_assignments.c.user_name)).all()
            statuses = session.exec(
                sa.select(_statuses).order_by(_statuses.c.object_type, _statuses.c.direction)
            ).all()
        by_user: dict[str, list[DirectionStatus]] = {}
        for row in statuses:
            by_user.setdefault(row.user_name, []).append(
                DirectionStatus(
                    object=row.object_type,
                    direction=row.direction,
                    state=row.state,
                    last_cycle_at=row.last_cycle_at,
                    last_error=row.last_error,
                    counts=row.counts,
                )
            )
        return [
            UserStatus(
                user=row.user_name,
                configuration=row.configuration,
                salesforce_username=row.salesforce_username,
                mailbox=row.resolved_mailbox or row.mailbox,
                linked=row.linked,
                reset_generation=row.reset_generation,
                reset_completed_generation=row.reset_completed_generation,
                directions=tuple(by_user.get(row.user_name, ())),
            )
            for row in users
        ]

    def ensure_users(self, assignments: Sequence[UserAssignment]) -> None:
        """Upsert assignment rows for users the engine found through the Salesforce directory
        (reached only by a Salesforce profile, so no ``User`` resource gave them a row at apply).

        One transaction, idempotent (a second call leaves the same row); a row whose identity
        (username or mailbox) moved forgets its link as ``commit_apply`` does. Without a
        row such a user's sync status could not be recorded.
        """
        if not assignments:
            return
        _refuse_duplicates("user", (a.user for a in assignments))
        now = utc_now()
        with self._writing() as session:
            session.exec(self._assignment_upsert(), params=[_assignment_params(a, now) for a in assignments])

    def set_link(self, user: str, *, linked: bool, mailbox: str | None = None) -> None:
        """Record whether the user's Salesforce user and mailbox were found and linked.

        ``mailbox`` is the address resolved at sync time (the Salesforce Email when the
        configuration names none); it is shown in status instead of the configured one.
        """
        with self._writing() as session:
            updated = session.exec(
                sa.update(_assignments)
                .where(_assignments.c.user_name == user)
                .values(linked=linked, resolved_mailbox=mailbox)
            )
            if updated.rowcount != 1:
                raise UnknownUser(user)

    def synced_mailboxes(self) -> dict[str, str]:
        """Per user, the mailbox a sync of theirs has already listed: the one the user is linked to
        (``set_link``, forgotten when the user's identity moves), when an Exchange cursor of one of
        the user's object types is committed (a Reset Sync removes them). One query for all users:
        the engine confirms only the other mailboxes (ResolveNames) before listing them."""
        listed = sa.select(_cursors.c.user_name).where(
            _cursors.c.user_name == _assignments.c.user_name, _cursors.c.side == "exchange")
        query = sa.select(_assignments.c.user_name, _assignments.c.resolved_mailbox).where(
            _assignments.c.linked, _assignments.c.resolved_mailbox.is_not(None), sa.exists(listed))
        with self._reading() as session:
            return {row.user_name: row.resolved_mailbox for row in session.exec(query).all()}

    def record_cycle(self, user: str, object: SyncObject, outcome: CycleOutcome) -> None:
        """Record how a sync cycle of one object and direction ended for a user.

        The last error is replaced by the outcome's (so a successful cycle clears it).
        """
        require_choice("object", object, SYNC_OBJECTS)
        require_choice("direction", outcome.direction, DIRECTIONS)
        require_choice("sync state", outcome.state, SYNC_STATES)
        error = outcome.error[:MAX_ERROR_LENGTH] if outcome.error else None
        with self._writing() as session:
            if session.exec(sa.select(_assignments.c.user_name).where(_assignments.c.user_name == user)).first() is None:
                raise UnknownUser(user)
            session.exec(
                self._upsert(
                    _statuses,
                    key=("user_name", "object_type", "direction"),
                    update=("state", "last_cycle_at", "last_error", "counts"),
                ).values(
                    user_name=user,
                    object_type=object,
                    direction=outcome.direction,
                    state=outcome.state,
                    last_cycle_at=outcome.finished_at,
                    last_error=error,
                    counts=dict(outcome.counts),
                )
            )

    # -- record sync -------------------------------------------------------------------------

    def pairs(self, user: str, object: SyncObject) -> list[PairRecord]:
        """All pairs of a user's object type, ordered by Salesforce id."""
        require_choice("object", object, SYNC_OBJECTS)
        query = (
            sa.select(
                _pairs.c.salesforce_id,
                _pairs.c.exchange_id,
                _pairs.c.salesforce_version,
                _pairs.c.exchange_version,
                _pairs.c.salesforce_hash,
                _pairs.c.exchange_hash,
                _pairs.c.base,
                _pairs.c.exchange_stamped,
                _pairs.c.updated_at,
            )
            .where(_pairs.c.user_name == user, _pairs.c.object_type == object)
            .order_by(_pairs.c.salesforce_id)
        )
        with self._reading() as session:
            rows = session.exec(query).all()
        return [PairRecord(**row._mapping) for row in rows]

    def cursor(self, user: str, object: SyncObject, side: Side) -> str | None:
        """The change-feed cursor last committed for one side, None before the first batch."""
        return self._cursor_column(_cursors.c.value, user, object, side)

    def last_full_listing(self, user: str, object: SyncObject, side: Side) -> datetime | None:
        """When the side was last listed in full (committed with its cursor), None if unknown."""
        return self._cursor_column(_cursors.c.full_listing_at, user, object, side)

    def _cursor_column(self, column: sa.Column, user: str, object: SyncObject, side: Side) -> Any:
        """One column of a side's cursor row, None when there is no row yet: the cursor and its
        full-listing time are read the same way."""
        require_choice("object", object, SYNC_OBJECTS)
        require_choice("side", side, SIDES)
        with self._reading() as session:
            return session.exec(
                sa.select(column).where(
                    _cursors.c.user_name == user, _cursors.c.object_type == object, _cursors.c.side == side
                )
            ).scalar_one_or_none()

    def revisits(self, user: str, object: SyncObject) -> list[RecordRef]:
        """Records the next cycle must fetch (their last action was deferred or failed), by side and id."""
        require_choice("object", object, SYNC_OBJECTS)
        query = (
            sa.select(_revisits.c.side, _revisits.c.record_id)
            .where(_revisits.c.user_name == user, _revisits.c.object_type == object)
            .order_by(_revisits.c.side, _revisits.c.record_id)
        )
        with self._reading() as session:
            return [RecordRef(side=row.side, record_id=row.record_id) for row in session.exec(query).all()]

    def tombstones(self, user: str, object: SyncObject) -> list[TombstoneRecord]:
        """Records of a user's object type that must not come back, by side and id."""
        require_choice("object", object, SYNC_OBJECTS)
        query = (
            sa.select(_tombstones.c.side, _tombstones.c.record_id, _tombstones.c.reason, _tombstones.c.deleted_at)
            .where(_tombstones.c.user_name == user, _tombstones.c.object_type == object)
            .order_by(_tombstones.c.side, _tombstones.c.record_id)
        )
        with self._reading() as session:
            rows = session.exec(query).all()
        return [TombstoneRecord(side=r.side, record_id=r.record_id, reason=r.reason, deleted_at=r.deleted_at) for r in rows]

    def commit_batch(
        self,
        user: str,
        object: SyncObject,
        upsert_pairs: Sequence[PairRecord],
        delete_pair_ids: Sequence[str],
        tombstones: Sequence[TombstoneRecord],
        cursors: dict[Side, str] | None = None,
        *,
        full_listings: Mapping[Side, datetime] | None = None,
        revisits_done: Sequence[RecordRef] = (),
        revisits_added: Sequence[RecordRef] = (),
    ) -> None:
        """Commit what one batch of writes did, all or nothing.

        In one transaction: delete the pairs whose Salesforce ids are in ``delete_pair_ids``,
        then upsert ``upsert_pairs`` by Salesforce id, add ``tombstones`` (an existing tombstone
        of the same record is kept as it is), move the given ``cursors`` and note the sides
        ``full_listings`` says were listed in full (a side needs its cursor, given now or before),
        forget ``revisits_done`` and then add ``revisits_added`` (so a record revisited and
        deferred again stays to revisit). Deletes come first
        so a batch can re-pair an Exchange item with another Salesforce record. Bulk statements
        only: the cost does not grow with round trips per record. A batch that would give two
        pairs one record raises ``PairConflict`` and writes nothing.
        """
        require_choice("object", object, SYNC_OBJECTS)
        for tombstone in tombstones:
            require_choice("side", tombstone.side, SIDES)
        for side in [*(cursors or {}), *(full_listings or {}), *(r.side for r in (*revisits_done, *revisits_added))]:
            require_choice("side", side, SIDES)
        _refuse_duplicates("Salesforce id", (pair.salesforce_id for pair in upsert_pairs))
        _refuse_duplicates("Exchange id", (pair.exchange_id for pair in upsert_pairs))
        now = utc_now()
        scope = (_pairs.c.user_name == user, _pairs.c.object_type == object)
        try:
            with self._writing() as session:
                for start in range(0, len(delete_pair_ids), _DELETE_CHUNK):
                    chunk = list(delete_pair_ids[start : start + _DELETE_CHUNK])
                    session.exec(sa.delete(_pairs).where(*scope, _pairs.c.salesforce_id.in_(chunk)))
                if upsert_pairs:
                    session.exec(
                        self._upsert(
                            _pairs,
                            key=("user_name", "object_type", "salesforce_id"),
                            update=_PAIR_VALUE_COLUMNS + ("updated_at",),
                        ),
                        params=[_pair_params(user, object, pair, now) for pair in upsert_pairs],
                    )
                if tombstones:
                    session.exec(
                        self._insert(_tombstones).on_conflict_do_nothing(),
                        params=[
                            {
                                "user_name": user,
                                "object_type": object,
                                "side": t.side,
                                "record_id": t.record_id,
                                "deleted_at": t.deleted_at,
                                "reason": t.reason,
                            }
                            for t in tombstones
                        ],
                    )
                if cursors:
                    session.exec(
                        self._upsert(
                            _cursors, key=("user_name", "object_type", "side"), update=("value", "updated_at")
                        ),
                        params=[
                            {"user_name": user, "object_type": object, "side": side, "value": value, "updated_at": now}
                            for side, value in cursors.items()
                        ],
                    )
                for side, listed_at in (full_listings or {}).items():
                    session.exec(
                        sa.update(_cursors)
                        .where(_cursors.c.user_name == user, _cursors.c.object_type == object, _cursors.c.side == side)
                        .values(full_listing_at=listed_at)
                    )
                for side in dict.fromkeys(ref.side for ref in revisits_done):
                    done = [ref.record_id for ref in revisits_done if ref.side == side]
                    for start in range(0, len(done), _DELETE_CHUNK):
                        session.exec(sa.delete(_revisits).where(
                            _revisits.c.user_name == user, _revisits.c.object_type == object,
                            _revisits.c.side == side, _revisits.c.record_id.in_(done[start : start + _DELETE_CHUNK])))
                if revisits_added:
                    session.exec(
                        self._insert(_revisits).on_conflict_do_nothing(),
                        params=[{"user_name": user, "object_type": object, "side": ref.side,
                                 "record_id": ref.record_id, "added_at": now} for ref in dict.fromkeys(revisits_added)],
                    )
        except IntegrityError as exc:
            raise PairConflict(
                f"a batch of {object} pairs for user {user!r} would pair a record that another pair "
                "already holds; nothing of the batch was written"
            ) from exc

    def reset_user(self, user: str, object: SyncObject | None = None, *, forget_tombstones: bool = False) -> None:
        """Reset Sync: forget the user's pairs, cursors and revisits (of one object type, or all).

        Tombstones are kept unless ``forget_tombstones``: the next cycle rebuilds pairs from the
        Salesforce id stamped on each Exchange item, and without its tombstones a record deleted
        or unlinked on one side but still present on the other would be recreated (the classic
        resurrection bug). Forgetting them is a separate, explicit choice of the operator ("bring
        the unlinked records back"). Record data on either side is untouched. The user's directions go back to
        ``pending_initial_sync`` (disabled ones stay disabled); a reset of all objects also marks
        the requested reset generation as done.
        """
        if object is not None:
            require_choice("object", object, SYNC_OBJECTS)
        def scoped(table: sa.Table) -> list[Any]:
            condition = [table.c.user_name == user]
            if object is not None:
                condition.append(table.c.object_type == object)
            return condition

        with self._writing() as session:
            session.exec(sa.delete(_pairs).where(*scoped(_pairs)))
            session.exec(sa.delete(_cursors).where(*scoped(_cursors)))
            session.exec(sa.delete(_revisits).where(*scoped(_revisits)))
            if forget_tombstones:
                session.exec(sa.delete(_tombstones).where(*scoped(_tombstones)))
            session.exec(
                sa.update(_statuses)
                .where(*scoped(_statuses), _statuses.c.state != "disabled")
                .values(state="pending_initial_sync", last_error=None, counts={})
            )
            if object is None:
                session.exec(
                    sa.update(_assignments)
                    .where(_assignments.c.user_name == user)
                    .values(reset_completed_generation=_assignments.c.reset_generation)
                )

_PAIR_VALUE_COLUMNS = (
    "exchange_id",
    "salesforce_version",
    "exchange_version",
    "salesforce_hash",
    "exchange_hash",
    "base",
    "exchange_stamped",
)


def _pair_params(user: str, object: str, pair: PairRecord, now: Any) -> dict[str, Any]:
    return {
        "user_name": user,
        "object_type": object,
        "salesforce_id": pair.salesforce_id,
        "exchange_id": pair.exchange_id,
        "salesforce_version": pair.salesforce_version,
        "exchange_version": pair.exchange_version,
        "salesforce_hash": pair.salesforce_hash,
        "exchange_hash": pair.exchange_hash,
        "base": pair.base,
        "exchange_stamped": pair.exchange_stamped,
        "updated_at": now,
    }


def _assignment_params(assignment: UserAssignment, now: Any) -> dict[str, Any]:
    return {
        "user_name": assignment.user,
        "configuration": assignment.configuration,
        "salesforce_username": assignment.salesforce_username,
        "mailbox": assignment.mailbox,
        "reset_generation": assignment.reset_generation,
        "updated_at": now,
    }


def _audit_params(entry: AuditEntry) -> dict[str, Any]:
    return {
        "time": entry.time,
        "actor": entry.actor,
        "git_commit": entry.git_commit,
        "plan_id": entry.plan_id,
        "operation": entry.operation,
        "summary": entry.summary,
    }


def _lock_info(row: Any) -> LockInfo:
    return LockInfo(id=row.lock_id, holder=row.holder, operation=row.operation, created_at=row.created_at,
                    host=row.host, pid=row.pid)


def _lock_params(info: LockInfo) -> dict[str, Any]:
    return {"name": _LOCK_NAME, "lock_id": info.id, "holder": info.holder, "operation": info.operation,
            "created_at": info.created_at, "host": info.host, "pid": info.pid}


def _holder_is_dead(lock: LockInfo) -> bool:
    """True only when the lock's process ran on this host and its pid is gone. Any doubt (another
    host, no pid recorded, a pid owned by another user) counts as alive. A recycled pid makes a
    dead holder look alive: the safe mistake, which ``force-unlock`` settles."""
    if lock.host != this_host() or lock.pid is None:
        return False
    if lock.pid == os.getpid():
        return False
    try:
        os.kill(lock.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _stale_reason(expected_lineage: str, expected_serial: int, lineage: str, serial: int) -> str:
    if lineage != expected_lineage:
        return f"the plan was made for state lineage {expected_lineage}, but this state is lineage {lineage}"
    return f"the plan was made at state serial {expected_serial}, but the state is now at serial {serial}"


def _refuse_duplicates(what: str, ids: Iterable[str]) -> None:
    seen: set[str] = set()
    for record_id in ids:
        if record_id in seen:
            raise ValueError(f"{what} {record_id} appears twice in one batch")
        seen.add(record_id)
