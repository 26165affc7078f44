"""An in-memory :class:`RecordStore`: the fake the sync tests (and engine tests) run against.

It implements the same base class as the real connectors, with the behaviour the sync core relies
on: every write moves an opaque version token, updates and deletes are conditional on the expected
token (``conflict`` when the record moved), a change feed with opaque cursors that pages, reports
deletes and departures from the data set, and a ``max_batch``. It reads no clock: modification
times come from a logical clock the test controls.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from .ports import (
    ChangePage, CreateOp, DeleteOp, RecordStore, Side, SourceRecord, UpdateOp, WriteOp, WriteResult,
)


class LogicalClock:
    """Deterministic time: each call is one second after the previous one."""

    def __init__(self, start: datetime = datetime(2026, 1, 1, tzinfo=timezone.utc)) -> None:
        self._now = start

    def __call__(self) -> datetime:
        self._now += timedelta(seconds=1)
        return self._now


@dataclass
class _Stored:
    fields: dict[str, Any]
    version: str
    modified_at: datetime
    stamp: str | None
    in_scope: bool = True


@dataclass(frozen=True)
class Relationship:
    """A read-only relationship field derived from a reference (``AccountId`` -> ``Account.Name``),
    as Salesforce returns it in a query."""

    reference_field: str
    read_field: str
    names: Mapping[str, str]


@dataclass
class InMemoryRecordStore(RecordStore):
    side: Side
    id_prefix: str
    batch_limit: int = 100
    page_size: int = 50
    clock: Callable[[], datetime] = field(default_factory=LogicalClock)
    relationships: Sequence[Relationship] = ()
    write_calls: int = 0
    _records: dict[str, _Stored] = field(default_factory=dict)
    _recycle_bin: dict[str, _Stored] = field(default_factory=dict)
    _log: list[str] = field(default_factory=list)   # the id touched by each change, in order
    _next: int = 0

    @property
    def max_batch(self) -> int:
        return self.batch_limit

    # -- what users do on this side (no version checks: they are the source of truth) -----------

    def user_create(self, fields: Mapping[str, Any], *, stamp: str | None = None) -> str:
        record_id = self._new_id()
        self._records[record_id] = _Stored(dict(fields), self._new_version(), self.clock(), stamp)
        self._log.append(record_id)
        return record_id

    def user_update(self, record_id: str, fields: Mapping[str, Any]) -> None:
        stored = self._records[record_id]
        stored.fields.update(fields)
        self._touch(record_id)

    def user_delete(self, record_id: str) -> None:
        self._recycle_bin[record_id] = self._records.pop(record_id)
        self._log.append(record_id)

    def user_undelete(self, record_id: str) -> None:
        """Restore a deleted record under its old id (Salesforce's recycle bin does this)."""
        self._records[record_id] = self._recycle_bin.pop(record_id)
        self._touch(record_id)

    def set_in_scope(self, record_id: str, in_scope: bool) -> None:
        """Move a record in or out of the user's data set (a filter or owner change)."""
        self._records[record_id].in_scope = in_scope
        self._touch(record_id)

    # -- inspection -------------------------------------------------------------------------------

    def live(self) -> dict[str, SourceRecord]:
        """Every record in scope, as the side would list it."""
        return {record_id: self._source(record_id) for record_id, stored in self._records.items()
                if stored.in_scope}

    # -- RecordStore --------------------------------------------------------------------------------

    def list_changes(self, cursor: str | None) -> ChangePage:
        if cursor is None:
            state = {"since": None, "upto": len(self._log), "offset": 0}
        else:
            state = json.loads(cursor)
            if "offset" not in state:   # a stored cursor of a finished feed: start a new window
                state = {"since": state["since"], "upto": len(self._log), "offset": 0}
        ids = self._window(state["since"], state["upto"])
        page = ids[state["offset"]:state["offset"] + self.page_size]
        records, deleted, departed = [], [], []
        for record_id in page:
            stored = self._records.get(record_id)
            if stored is None:
                deleted.append(record_id)
            elif not stored.in_scope:
                departed.append(record_id)
            else:
                records.append(self._source(record_id))
        offset = state["offset"] + len(page)
        complete = offset >= len(ids)
        next_state = {"since": state["upto"]} if complete else {**state, "offset": offset}
        return ChangePage(records, [] if cursor is None else deleted, json.dumps(next_state), complete,
                          [] if cursor is None else departed)

    def _window(self, since: int | None, upto: int) -> list[str]:
        if since is None:
            return sorted(record_id for record_id, stored in self._records.items() if stored.in_scope)
        return sorted(set(self._log[since:upto]))

    def fetch(self, ids: Sequence[str]) -> list[SourceRecord]:
        return [self._source(record_id) for record_id in ids
                if record_id in self._records and self._records[record_id].in_scope]

    def write(self, batch: Sequence[WriteOp]) -> list[WriteResult]:
        if len(batch) > self.batch_limit:
            raise ValueError(f"batch of {len(batch)} exceeds max_batch {self.batch_limit}")
        self.write_calls += 1
        return [self._apply(op) for op in batch]

    def _apply(self, op: WriteOp) -> WriteResult:
        if isinstance(op, CreateOp):
            if op.salesforce_id_stamp is not None and self.side is not Side.EXCHANGE:
                return WriteResult.failed("only Exchange items carry a Salesforce Id stamp", retryable=False)
            record_id = self.user_create(self._writable(op.fields), stamp=op.salesforce_id_stamp)
            return WriteResult.ok(record_id, self._records[record_id].version)
        stored = self._records.get(op.record_id)
        if stored is None:
            return WriteResult.not_found()
        if stored.version != op.expected_version:
            return WriteResult.conflict()
        if isinstance(op, DeleteOp):
            self.user_delete(op.record_id)
            return WriteResult.ok(None, None)
        assert isinstance(op, UpdateOp)
        stored.fields.update(self._writable(op.fields))
        if op.salesforce_id_stamp is not None:
            stored.stamp = op.salesforce_id_stamp
        self._touch(op.record_id)
        return WriteResult.ok(op.record_id, stored.version)

    # -- internals --------------------------------------------------------------------------------

    def _writable(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        read_only = {relationship.read_field for relationship in self.relationships}
        if read_only & set(fields):
            raise ValueError(f"read-only fields written: {sorted(read_only & set(fields))}")
        return dict(fields)

    def _source(self, record_id: str) -> SourceRecord:
        stored = self._records[record_id]
        fields = dict(stored.fields)
        for relationship in self.relationships:
            reference = fields.get(relationship.reference_field)
            fields[relationship.read_field] = relationship.names.get(reference) if reference else None
        return SourceRecord(record_id, stored.version, fields, stored.stamp, stored.modified_at)

    def _touch(self, record_id: str) -> None:
        stored = self._records[record_id]
        stored.version = self._new_version()
        stored.modified_at = self.clock()
        self._log.append(record_id)

    def _new_id(self) -> str:
        self._next += 1
        return f"{self.id_prefix}{self._next:06d}"

    def _new_version(self) -> str:
        self._next += 1
        return f"v{self._next}"
