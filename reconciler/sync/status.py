"""The status table, pure: pairs, tombstones, and one side's view of a cycle.

A :class:`Pair` is the row the state store keeps per synced record (vdirsyncer's status table).
A :class:`Tombstone` is a record the sync must never create a counterpart for again by itself: the
memory that makes "deleted contacts come back" impossible.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .ports import Side, SourceRecord


BOOKKEEPING_PREFIX = "~"
"""A pair's base holds the merged value of each mapped field; keys with this prefix hold bookkeeping
of rules beside the field merge (an event's synced attendees) and survive every rewrite of the pair."""


@dataclass(frozen=True)
class Pair:
    """One synced pair.

    ``salesforce_hash``/``exchange_hash`` are the canonical hashes of each side as last synced (they
    can differ: a one-way field may hold a local edit on its target side). ``None`` means "not known"
    (we wrote a side we had not read this cycle), so the next version move counts as a change and is
    diffed field by field. ``base`` is the last synced canonical snapshot, the merge base: for a
    field syncing both ways the value both sides agreed on, for a one-way field its source's value.
    ``exchange_stamped`` is False while the Exchange item does not yet carry the Salesforce Id (a
    contact created in Salesforce from Exchange gets its id only from that create): the next cycle
    stamps it without needing to read it.
    """

    salesforce_id: str
    exchange_id: str
    salesforce_version: str
    exchange_version: str
    salesforce_hash: str | None
    exchange_hash: str | None
    base: Mapping[str, Any]
    exchange_stamped: bool = True

    def id_on(self, side: Side) -> str:
        return self.salesforce_id if side is Side.SALESFORCE else self.exchange_id

    def version_on(self, side: Side) -> str:
        return self.salesforce_version if side is Side.SALESFORCE else self.exchange_version

    def hash_on(self, side: Side) -> str | None:
        return self.salesforce_hash if side is Side.SALESFORCE else self.exchange_hash

    def to_json(self) -> dict[str, Any]:
        return {
            "salesforce_id": self.salesforce_id,
            "exchange_id": self.exchange_id,
            "salesforce_version": self.salesforce_version,
            "exchange_version": self.exchange_version,
            "salesforce_hash": self.salesforce_hash,
            "exchange_hash": self.exchange_hash,
            "base": dict(self.base),
            "exchange_stamped": self.exchange_stamped,
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Pair:
        return cls(
            salesforce_id=doc["salesforce_id"],
            exchange_id=doc["exchange_id"],
            salesforce_version=doc["salesforce_version"],
            exchange_version=doc["exchange_version"],
            salesforce_hash=doc.get("salesforce_hash"),
            exchange_hash=doc.get("exchange_hash"),
            base=dict(doc.get("base") or {}),
            exchange_stamped=bool(doc.get("exchange_stamped", True)),
        )


@dataclass(frozen=True)
class Tombstone:
    """``record_id`` on ``side`` stopped syncing at ``at`` for ``reason``: never pair it or create
    its counterpart again automatically (an operator clears tombstones, e.g. with a Reset Sync)."""

    side: Side
    record_id: str
    reason: str
    at: datetime


@dataclass(frozen=True)
class SideSnapshot:
    """What the engine learned about one side this cycle.

    ``records``: every record listed (a full listing) or changed since the cursor (an incremental
    one), plus every record the engine fetched on purpose (the Salesforce records named by stamps
    of unpaired Exchange items, so that stamps can be honoured). ``deleted_ids`` / ``departed_ids``:
    records deleted, or no longer in the user's data set. On a ``full`` listing a paired record that
    is absent counts as deleted too.
    """

    records: tuple[SourceRecord, ...] = ()
    deleted_ids: frozenset[str] = frozenset()
    departed_ids: frozenset[str] = frozenset()
    full: bool = False

    @classmethod
    def of(
        cls,
        records: Iterable[SourceRecord] = (),
        *,
        deleted: Collection[str] = (),
        departed: Collection[str] = (),
        full: bool = False,
    ) -> SideSnapshot:
        return cls(tuple(records), frozenset(deleted), frozenset(departed), full)

