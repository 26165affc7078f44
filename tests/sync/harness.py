"""A small executor for the sync tests: lists two fake stores, decides, runs the writes in
batches, commits the results. It plays the engine's part the way the engine is expected to:
cursors stored only after a clean cycle, stamped Salesforce ids fetched, deferred records revisited.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from datetime import datetime, timezone

from reconciler.sync import (
    CONTACT, Decisions, Outcome, Pair, PairUpdate, Side, SideSnapshot, SourceRecord, SyncPolicy, Tombstone,
    WriteResult, apply_results, build_mapping, decide,
)
from reconciler.sync.fake import InMemoryRecordStore

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)


def contact_policy(**options) -> SyncPolicy:
    return SyncPolicy(build_mapping(CONTACT), **options)


def salesforce_store(**options) -> InMemoryRecordStore:
    return InMemoryRecordStore(Side.SALESFORCE, "003", batch_limit=200, **options)


def exchange_store(**options) -> InMemoryRecordStore:
    return InMemoryRecordStore(Side.EXCHANGE, "AAMk", batch_limit=100, **options)


class SyncHarness:
    def __init__(self, policy: SyncPolicy, salesforce: InMemoryRecordStore, exchange: InMemoryRecordStore,
                 *, lookups: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
                 allow_mass_changes: bool = False) -> None:
        self.policy = policy
        self.allow_mass_changes = allow_mass_changes
        self.stores = {Side.SALESFORCE: salesforce, Side.EXCHANGE: exchange}
        self.lookups = lookups
        self.pairs: list[Pair] = []
        self.tombstones: list[Tombstone] = []
        self.cursors: dict[Side, str | None] = {Side.SALESFORCE: None, Side.EXCHANGE: None}
        self.revisit: dict[Side, set[str]] = {Side.SALESFORCE: set(), Side.EXCHANGE: set()}
        self.history: list[Decisions] = []

    # -- one cycle --------------------------------------------------------------------------------

    def snapshot(self, side: Side) -> tuple[SideSnapshot, str]:
        store, cursor = self.stores[side], self.cursors[side]
        full = cursor is None
        records: dict[str, SourceRecord] = {}
        deleted: set[str] = set()
        departed: set[str] = set()
        while True:
            page = store.list_changes(cursor)
            records.update((record.id, record) for record in page.records)
            deleted.update(page.deleted_ids)
            departed.update(page.departed_ids)
            cursor = page.cursor
            if page.complete:
                break
        wanted = self.revisit[side] - set(records) - deleted - departed
        records.update((record.id, record) for record in store.fetch(sorted(wanted)))
        return SideSnapshot.of(records.values(), deleted=deleted, departed=departed, full=full), cursor

    def plan(self) -> tuple[Decisions, dict[Side, str]]:
        snapshots, cursors = {}, {}
        for side in Side:
            snapshots[side], cursors[side] = self.snapshot(side)
        paired = {pair.salesforce_id for pair in self.pairs}
        listed = {record.id for record in snapshots[Side.SALESFORCE].records}
        stamps = sorted({record.salesforce_id_stamp for record in snapshots[Side.EXCHANGE].records
                         if record.salesforce_id_stamp and record.salesforce_id_stamp not in paired | listed})
        if stamps:
            fetched = self.stores[Side.SALESFORCE].fetch(stamps)
            current = snapshots[Side.SALESFORCE]
            snapshots[Side.SALESFORCE] = SideSnapshot.of(
                [*current.records, *fetched], deleted=current.deleted_ids, departed=current.departed_ids,
                full=current.full)
        decisions = decide(self.policy, self.pairs, snapshots[Side.SALESFORCE], snapshots[Side.EXCHANGE],
                           self.tombstones, lookups=self.lookups, now=NOW)
        return decisions, cursors

    def cycle(self) -> Decisions:
        decisions, cursors = self.plan()
        self.history.append(decisions)
        if decisions.halt is not None and not self.allow_mass_changes:
            return decisions
        self.revisit = {Side.SALESFORCE: set(), Side.EXCHANGE: set()}
        self.execute(decisions)
        self.cursors = cursors
        return decisions

    def execute(self, decisions: Decisions) -> None:
        """Send every side's writes in batches of ``max_batch``, then commit per action."""
        results: dict[int, dict[Side, WriteResult]] = {index: {} for index in range(len(decisions.actions))}
        for side in Side:
            store = self.stores[side]
            queued = [(index, action.writes[side]) for index, action in enumerate(decisions.actions)
                      if side in action.writes]
            for start in range(0, len(queued), store.max_batch):
                batch = queued[start:start + store.max_batch]
                for (index, _), result in zip(batch, store.write([op for _, op in batch])):
                    results[index][side] = result
        for index, action in enumerate(decisions.actions):
            self.commit(apply_results(action, results[index]))
        for update in decisions.bookkeeping:
            self.commit(update)

    def commit(self, update: PairUpdate) -> None:
        if update.outcome is not Outcome.APPLIED:
            for side, record_id in update.revisit:
                self.revisit[side].add(record_id)
            return
        if update.remove is not None:
            self.pairs = [pair for pair in self.pairs if pair != update.remove]
        if update.store is not None:
            self.pairs.append(update.store)
        self.tombstones.extend(update.tombstones)

    def settle(self, max_cycles: int = 4) -> int:
        """Cycle until a cycle does nothing; returns how many cycles that took."""
        for count in range(1, max_cycles + 1):
            decisions = self.cycle()
            if not decisions.actions and not decisions.bookkeeping:
                return count
        raise AssertionError(f"no quiet cycle after {max_cycles} cycles: {self.history[-1].describe(include_values=True)}")

    def reset_sync(self) -> None:
        """Reset Sync (or a lost state store): pairs and cursors are gone; tombstones too."""
        self.pairs, self.tombstones = [], []
        self.cursors = {Side.SALESFORCE: None, Side.EXCHANGE: None}


def learn_ids(models: Sequence[Any], pairs: Sequence[Pair]) -> None:
    """Give each model record (an object with ``ids: dict[Side, str | None]``) the id of the copy a
    sync made on the other side, read from the pairs: a convergence model follows its records
    across sides without knowing how the sync paired them."""
    by_side = {side: {pair.id_on(side): pair for pair in pairs} for side in Side}
    for model in models:
        for side in Side:
            known = model.ids[side.other]
            pair = by_side[side.other].get(known) if known else None
            if pair is not None:
                model.ids[side] = pair.id_on(side)
