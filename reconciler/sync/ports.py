"""The small protocol every connector implements for one side and one object type.

Kept free of EWS-only notions on purpose: a Microsoft Graph mailbox backend comes next, so a record
carries an opaque *version token* (a ChangeKey for EWS, a ``@odata.etag`` for Graph, a
LastModifiedDate or SystemModstamp for Salesforce), a change feed hands out an opaque *cursor* (a
SyncFolderItems state, a Graph delta link, a Salesforce timestamp), and a write batch may be of any
size up to the store's ``max_batch``.

Field dicts always use the side's OWN field names (Salesforce API names, including relationship
names such as ``Account.Name``; Exchange names such as ``EmailAddress1`` or
``BusinessAddress.City``). Translating between the two is the mapping's job, never the connector's.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any


class Side(str, Enum):
    """One of the two systems a pair spans."""

    SALESFORCE = "salesforce"
    EXCHANGE = "exchange"

    @property
    def other(self) -> Side:
        return Side.EXCHANGE if self is Side.SALESFORCE else Side.SALESFORCE


@dataclass(frozen=True)
class SourceRecord:
    """One record as a side lists it.

    ``salesforce_id_stamp`` is the Salesforce Id an Exchange item carries in an extended property:
    the stable identity that survives a lost state store, a Reset Sync or a mailbox move. It is
    always ``None`` for Salesforce records. ``modified_at`` is the side's own last-modified time,
    used only by the ``newest_wins`` conflict policy and to choose deterministically which records
    get slots under the per-user limit. ``stampable`` is False for an Exchange record that must
    never carry the stamp (an occurrence of a series: a property written on it makes it an
    exception that later changes of the series no longer reach); the core never asks to stamp it,
    and its pair counts as stamped (there is nothing to write).
    """

    id: str
    version: str
    fields: Mapping[str, Any]
    salesforce_id_stamp: str | None = None
    modified_at: datetime | None = None
    stampable: bool = True


@dataclass(frozen=True)
class ChangePage:
    """One page of a change feed.

    ``cursor`` resumes the feed after this page; ``complete`` says the engine has seen everything up
    to now and may store the cursor for the next cycle. ``departed_ids`` are records still alive but
    no longer in this user's data set (a filter stopped matching, the owner changed): the sync core
    treats them like deletes on that side, but reports them with their own reason.
    """

    records: list[SourceRecord]
    deleted_ids: list[str]
    cursor: str
    complete: bool
    departed_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CreateOp:
    """Create a record. ``salesforce_id_stamp`` is only meaningful for Exchange items."""

    fields: Mapping[str, Any]
    salesforce_id_stamp: str | None = None


@dataclass(frozen=True)
class UpdateOp:
    """Conditional update: applies only while the record still has ``expected_version``.

    ``fields`` maps a field to its new value; ``None`` clears it. ``salesforce_id_stamp`` (Exchange
    only), when set, (re)writes the stamp in the same request.
    """

    record_id: str
    expected_version: str
    fields: Mapping[str, Any]
    salesforce_id_stamp: str | None = None


@dataclass(frozen=True)
class DeleteOp:
    """Delete a record that still has ``expected_version``.

    A side that cannot delete conditionally (Salesforce DELETE takes no precondition) re-reads the
    version first and answers ``conflict`` when it moved.
    """

    record_id: str
    expected_version: str


WriteOp = CreateOp | UpdateOp | DeleteOp


class WriteStatus(str, Enum):
    OK = "ok"
    CONFLICT = "conflict"      # the record moved since the plan: defer it to the next cycle
    NOT_FOUND = "not_found"    # the record is gone
    FAILED = "failed"          # see ``retryable``


@dataclass(frozen=True)
class WriteResult:
    """The outcome of one WriteOp. ``record_id``/``version`` are the record's id and new version
    token after an ``ok`` create or update (``None`` after a delete)."""

    status: WriteStatus
    record_id: str | None = None
    version: str | None = None
    retryable: bool = False
    message: str = ""

    @classmethod
    def ok(cls, record_id: str | None, version: str | None) -> WriteResult:
        return cls(WriteStatus.OK, record_id, version)

    @classmethod
    def conflict(cls, message: str = "the record changed since it was read") -> WriteResult:
        return cls(WriteStatus.CONFLICT, message=message)

    @classmethod
    def not_found(cls, message: str = "the record no longer exists") -> WriteResult:
        return cls(WriteStatus.NOT_FOUND, message=message)

    @classmethod
    def failed(cls, message: str, *, retryable: bool) -> WriteResult:
        return cls(WriteStatus.FAILED, retryable=retryable, message=message)


@dataclass(frozen=True)
class LookedUp:
    """The answer of :meth:`RecordStore.look_up`: the named records still in the data set, and of
    the others those that left it (``departed_ids``: alive, but outside the data set) and those
    that are gone (``missing_ids``)."""

    records: list[SourceRecord]
    departed_ids: list[str] = field(default_factory=list)
    missing_ids: list[str] = field(default_factory=list)


class RecordStore(ABC):
    """One side's records of one object type for one user.

    ``write`` returns exactly one result per op, in the order of the batch; a batch never exceeds
    ``max_batch`` (200 for Salesforce sObject collections, 100 for EWS).
    """

    side: Side

    @property
    @abstractmethod
    def max_batch(self) -> int:
        """The largest batch ``write`` accepts."""

    @abstractmethod
    def list_changes(self, cursor: str | None) -> ChangePage:
        """A full listing when ``cursor`` is None, else the changes since the cursor, one page at a
        time: the engine calls again with the returned cursor until ``complete``."""

    @abstractmethod
    def fetch(self, ids: Sequence[str]) -> list[SourceRecord]:
        """The named records that still exist in this store's data set (ids deleted or outside the
        data set are simply absent from the answer)."""

    def look_up(self, ids: Sequence[str]) -> LookedUp:
        """``fetch``, saying what became of the ids it does not return. A store that can tell a
        record that left the data set from a deleted one overrides this (the plan then gives the
        right reason); by default every id not fetched is missing."""
        unique = list(dict.fromkeys(ids))
        records = self.fetch(unique)
        found = {record.id for record in records}
        return LookedUp(records, missing_ids=[record_id for record_id in unique if record_id not in found])

    @abstractmethod
    def write(self, batch: Sequence[WriteOp]) -> list[WriteResult]:
        """Apply the ops (conditionally where they carry a version) and report each outcome."""
