"""Apply of a plan's record section: batched conditional writes, per-batch commits, per-user status.

Per user and object the actions run in chunks that fit both sides' ``max_batch`` (200 Salesforce,
100 EWS); each chunk is one Salesforce write, one EWS write, and one ``commit_batch`` of the pairs
and tombstones it produced. The cursors the plan's listings reached are committed only after the
last chunk, and only when nothing failed: a run that dies (or a record that fails) leaves the old
cursors, so the next cycle lists the same window again and finds what was already done through its
pairs, version tokens and stamps. The records of a deferred or failed action, and the candidates of
an ambiguous one (until a person settles it), are kept in the state as revisits, committed with
their batch, so the next plan reads them again even when the cursors did move on.

Idempotence across a crash:

* An Exchange item is always created with the Salesforce Id stamp, and the sync core matches stamps
  before it creates anything: an item created by a run that died before committing its pair is
  paired on the next run, not created twice.
* A Salesforce contact created from an Exchange item gets its id stamped on that item in the same
  chunk (one batched EWS update), before the pair is committed. Right before creating in Salesforce,
  the records created or changed there since the plan are listed and matched against the contacts
  about to be created (the object type's keys: email, then first + last name); a match defers the
  create to the next cycle, which pairs them.
* What remains: a crash after Salesforce created contacts but before their ids were stamped leaves
  unstamped twins that the next cycle pairs by email or name, unless that key is missing or not
  unique (then it reports them as ambiguous, in every plan until a person settles it, instead of
  pairing), or someone edits both keys of the
  new contact before the next cycle. A request whose answer is lost in transit and then retried by a
  connector can create twice on the service itself (neither API offers idempotent creates here).

A record changed since the plan answers ``conflict`` and is deferred to the next cycle, never
overwritten. One user's failure never stops the others; users run concurrently.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

from reconciler.config import ConfigSet
from reconciler.connectors.errors import ConnectorError
from reconciler.plan.records import UserRecordPlan, UserSyncStatus
from reconciler.state import CycleOutcome, PairConflict, RecordRef, StateStore, UserAssignment
from reconciler.sync import (Action, ActionKind, CreateOp, DeleteOp, Outcome, PairUpdate, Side,
                             SyncPolicy, UpdateOp, WriteResult, WriteStatus, apply_results)

from .records import (DEFAULT_PARALLEL, ContactStores, Progress, _silent, contact_policy,
                      contact_stores, list_side, pair_from_record, pair_to_record, tombstone_to_record)
from .runtime import Runtime

_DIRECTION_OF_TARGET = {Side.EXCHANGE: "salesforce_to_exchange", Side.SALESFORCE: "exchange_to_salesforce"}
_VERB = {CreateOp: "created", UpdateOp: "updated", DeleteOp: "deleted"}


@dataclass
class UserApplyResult:
    """How one user's cycle ended. ``counts`` per direction (``salesforce_to_exchange`` counts writes
    into Exchange), e.g. ``{"created": 3, "deferred": 1}``."""

    user: str
    object: str
    state: str
    error: str | None = None
    counts: dict[str, Counter[str]] = field(default_factory=lambda: {d: Counter() for d in _DIRECTION_OF_TARGET.values()})
    written: int = 0
    deferred: list[str] = field(default_factory=list)

    def count(self, side: Side, what: str, n: int = 1) -> None:
        self.counts[_DIRECTION_OF_TARGET[side]][what] += n


@dataclass
class RecordApplyOutcome:
    results: list[UserApplyResult]

    @property
    def written(self) -> int:
        return sum(result.written for result in self.results)

    @property
    def errors(self) -> list[UserApplyResult]:
        return [result for result in self.results if result.state == "error"]


def _chunks(actions: Sequence[Action], stamps: bool, salesforce_max: int, exchange_max: int) -> Iterator[list[Action]]:
    """Consecutive actions whose writes fit one batch per side. A Salesforce create also takes an
    Exchange slot when its id is stamped on the Exchange item in the same chunk."""
    chunk: list[Action] = []
    salesforce = exchange = 0
    for action in actions:
        needs_salesforce = int(action.salesforce_write is not None)
        needs_exchange = int(action.exchange_write is not None) + int(
            stamps and isinstance(action.salesforce_write, CreateOp) and bool(action.exchange_id)
            and not (action.next_pair is not None and action.next_pair.exchange_stamped))
        if chunk and (salesforce + needs_salesforce > salesforce_max or exchange + needs_exchange > exchange_max):
            yield chunk
            chunk, salesforce, exchange = [], 0, 0
        chunk.append(action)
        salesforce += needs_salesforce
        exchange += needs_exchange
    if chunk:
        yield chunk


def _write(store_side: ContactStores, side: Side, ops: Sequence[object]) -> list[WriteResult]:
    """One batch on one side; a batch that fails as a whole fails each of its ops."""
    if not ops:
        return []
    store = store_side.salesforce if side is Side.SALESFORCE else store_side.exchange
    try:
        return store.write(ops)  # type: ignore[arg-type]
    except ConnectorError as error:
        return [WriteResult.failed(str(error), retryable=error.retryable)] * len(ops)


class _UserRun:
    """Executes one user's entry."""

    def __init__(self, entry: UserRecordPlan, policy: SyncPolicy, stores: ContactStores, store: StateStore,
                 on_written: Callable[[int], None]) -> None:
        self.entry = entry
        self.policy = policy
        self.stores = stores
        self.store = store
        self.on_written = on_written
        self.result = UserApplyResult(entry.user, entry.object, "in_sync")
        self.failures: list[str] = []
        self.cursors_final = entry.cursors_final
        self.stamps = policy.direction.writes(Side.EXCHANGE)
        self.deleted: dict[Side, set[str]] = {side: set() for side in Side}
        self.revisited_again: set[tuple[str, str]] = set()

    def run(self, after_writes: Callable[[UserApplyResult], bool] = lambda result: False) -> UserApplyResult:
        """The entry's batches, then ``after_writes`` (events: the attendee step; it answers whether
        it wrote anything), then the cursors: moved past this run's writes only once every write of
        the run is made and its pairs carry the versions it left, so the next cycle does not read
        them back as changes."""
        actions = self._without_salesforce_twins(list(self.entry.actions))
        for chunk in _chunks(actions, self.stamps, self.stores.salesforce.max_batch, self.stores.exchange.max_batch):
            self._run_chunk(chunk)
        self._finish(after_writes)
        return self.result

    def _without_salesforce_twins(self, actions: list[Action]) -> list[Action]:
        """Defer creates in Salesforce whose contact appeared there since the plan (the matching step
        right before creating: a run that died after creating, or a person who was quicker).

        This stays in the engine rather than in ``SalesforceContactStore``: it needs the plan's
        cursor, the user's pairs from the state and the object type's matching rules over
        canonical records, none of which a connector knows; the connector only lists changes."""
        creates = [a for a in actions if a.kind is ActionKind.CREATE_SALESFORCE]
        since = self.entry.next_cursors.get(Side.SALESFORCE.value)
        if not creates or since is None:
            return actions
        fresh = list_side(self.stores.salesforce, since)
        if fresh.error is not None:
            twins = {id(a) for a in creates}
            reason = f"could not check Salesforce for contacts created since the plan ({fresh.error})"
        else:
            paired = {pair.salesforce_id for pair in map(pair_from_record, self.store.pairs(self.entry.user, self.entry.object))}
            mapping = self.policy.mapping
            candidates = [mapping.canonical(Side.SALESFORCE, r.fields) for r in fresh.snapshot.records if r.id not in paired]
            twins = set()
            for action in creates:
                assert isinstance(action.salesforce_write, CreateOp)
                mine = mapping.canonical(Side.SALESFORCE, action.salesforce_write.fields)
                for rule in mapping.object_type.match_rules:
                    key = rule.key(mine)
                    if key is not None and any(rule.key(c) == key and rule.compatible(c, mine) for c in candidates):
                        twins.add(id(action))
                        break
            reason = "a matching Salesforce contact appeared since the plan; the next cycle pairs them"
        if twins:
            self.cursors_final = False
        return [replace(a, kind=ActionKind.DEFER, reason=reason, salesforce_write=None, next_pair=None, changes=())
                if id(a) in twins else a for a in actions]

    def _run_chunk(self, chunk: list[Action]) -> None:
        results: list[dict[Side, WriteResult]] = [{} for _ in chunk]
        salesforce_ops = [(i, a.salesforce_write) for i, a in enumerate(chunk) if a.salesforce_write is not None]
        for (i, _), answer in zip(salesforce_ops, _write(self.stores, Side.SALESFORCE,
                                                         [op for _, op in salesforce_ops])):
            results[i][Side.SALESFORCE] = answer
        exchange_ops: list[tuple[int, object]] = []
        stamp_ops: list[tuple[int, UpdateOp]] = []
        for i, action in enumerate(chunk):
            salesforce_answer = results[i].get(Side.SALESFORCE)
            if action.exchange_write is not None:
                if salesforce_answer is not None and salesforce_answer.status is not WriteStatus.OK:
                    # Half an action is never written: the other half waits with it for the next cycle.
                    results[i][Side.EXCHANGE] = WriteResult.conflict("not written: its Salesforce half was not")
                else:
                    exchange_ops.append((i, action.exchange_write))
            if (self.stamps and isinstance(action.salesforce_write, CreateOp) and action.exchange_id
                    and salesforce_answer is not None and salesforce_answer.status is WriteStatus.OK
                    and action.next_pair is not None and not action.next_pair.exchange_stamped):
                stamp_ops.append((i, UpdateOp(action.exchange_id, action.next_pair.exchange_version, {},
                                              salesforce_id_stamp=salesforce_answer.record_id)))
        answers = _write(self.stores, Side.EXCHANGE, [op for _, op in exchange_ops + stamp_ops])
        for (i, _), answer in zip(exchange_ops, answers):
            results[i][Side.EXCHANGE] = answer
        stamped = dict(zip((i for i, _ in stamp_ops), answers[len(exchange_ops):]))

        updates: list[PairUpdate] = []
        for i, action in enumerate(chunk):
            update = apply_results(action, results[i])
            stamp = stamped.get(i)
            if (update.outcome is Outcome.APPLIED and update.store is not None and stamp is not None
                    and stamp.status is WriteStatus.OK and stamp.version):
                # Stamped: the pair says so, or the next cycle would send a stamp-only update. A
                # failed stamp leaves ``exchange_stamped`` False and the next cycle writes it.
                update = replace(update, store=replace(update.store, exchange_version=stamp.version,
                                                       exchange_stamped=True))
            self._tally(action, update)
            updates.append(update)
        self._commit(updates)

    def _tally(self, action: Action, update: PairUpdate) -> None:
        result = self.result
        if update.outcome is Outcome.FAILED:
            self.failures.append(f"{action.kind.value} {action.salesforce_id or action.exchange_id or ''}: {update.message}")
            for side in action.writes:
                result.count(side, "failed")
            return
        if update.outcome is Outcome.DEFERRED:
            result.deferred.append(f"{action.kind.value} {action.salesforce_id or action.exchange_id or ''}: {update.message}")
            for side in action.writes:
                result.count(side, "deferred")
            return
        if action.kind is ActionKind.DEFER:
            for side in Side:
                result.count(side, "deferred")
        elif action.kind in (ActionKind.SKIP, ActionKind.AMBIGUOUS):
            for side in Side:
                result.count(side, "skipped" if action.kind is ActionKind.SKIP else "ambiguous")
        elif action.kind is ActionKind.UNLINK:
            for side in Side:
                result.count(side, "unlinked")
        elif action.kind is ActionKind.PAIR:
            for side in Side:
                result.count(side, "paired")
        for side, op in action.writes.items():
            result.count(side, _VERB[type(op)])
            if isinstance(op, DeleteOp):
                self.deleted[side].add(op.record_id)
        result.written += len(action.writes)
        self.on_written(len(action.writes))

    def _commit(self, updates: Sequence[PairUpdate], cursors: Mapping[str, str] | None = None, *,
                full_listings: Mapping[str, datetime] | None = None, revisits_done: Sequence[RecordRef] = ()) -> None:
        """One ``commit_batch``: the applied updates' pairs and tombstones, the records of deferred
        or failed ones and of ambiguities to revisit next cycle, and (at the end of a clean run) the cursors, the
        full-listing times and the revisits this plan carried out."""
        applied = [u for u in updates if u.outcome is Outcome.APPLIED]
        removes = [u.remove.salesforce_id for u in applied if u.remove is not None]
        stores = [pair_to_record(u.store) for u in applied if u.store is not None]
        tombstones = [tombstone_to_record(t) for u in applied for t in u.tombstones]
        revisits = [RecordRef(side.value, record_id) for u in updates  # type: ignore[arg-type]
                    for side, record_id in u.revisit]
        self.revisited_again.update((ref.side, ref.record_id) for ref in revisits)
        if not (removes or stores or tombstones or cursors or revisits or revisits_done):
            return
        try:
            self.store.commit_batch(self.entry.user, self.entry.object, stores, removes, tombstones,
                                    dict(cursors) if cursors else None,  # type: ignore[arg-type]
                                    full_listings=full_listings, revisits_done=revisits_done,  # type: ignore[arg-type]
                                    revisits_added=revisits)
        except PairConflict as error:
            self.failures.append(str(error))

    def _finish(self, after_writes: Callable[[UserApplyResult], bool]) -> None:
        entry = self.entry
        if entry.listing_errors:
            self.failures.extend(entry.listing_errors)
        final = self.cursors_final and not self.failures
        self._commit(entry.bookkeeping)
        wrote_after = after_writes(self.result)
        if final:
            # Revisits this plan read are done with the cursors; any deferred again this run were
            # added back by their batch's commit, and "done" only forgets those read before it.
            self._commit((), self._cursors_past_own_writes() if self.result.written or wrote_after
                         else entry.next_cursors,
                         full_listings={side: datetime.fromisoformat(at) for side, at in entry.full_listings.items()},
                         revisits_done=[RecordRef(side, record_id) for side, record_id in entry.revisits  # type: ignore[arg-type]
                                        if (side, record_id) not in self.revisited_again])
        first = all(cursor is None for cursor in entry.start_cursors.values())
        if self.failures:
            self.result.state = "error"
            self.result.error = "; ".join(self.failures)
        elif not final:
            self.result.state = "pending_initial_sync" if first else "in_sync"
        else:
            self.result.state = "initial_sync_completed" if first else "in_sync"


    def _cursors_past_own_writes(self) -> dict[str, str]:
        """Per side, a cursor past this run's own writes when the feed since the plan shows nothing
        else; otherwise the plan's cursor.

        A change feed may fold a create and a later delete into nothing (SyncFolderItems does): an
        item this run created and a person deleted before the next cycle would never be reported
        gone if the next cycle resumed from before the create. Reading the feed once more now and
        moving past it when every change in it is an echo of this run closes that gap; a change
        that is not ours keeps the plan's cursor, so the next cycle sees it. A record that left the
        data set without being in a pair is no change to any pair, so it does not keep the cursor."""
        pairs = [pair_from_record(r) for r in self.store.pairs(self.entry.user, self.entry.object)]
        cursors = dict(self.entry.next_cursors)
        for side in Side:
            planned = cursors.get(side.value)
            if planned is None:
                continue
            listing = list_side(self.stores.salesforce if side is Side.SALESFORCE else self.stores.exchange, planned)
            versions = {pair.id_on(side): pair.version_on(side) for pair in pairs}
            # A departure matters only for a record held in a pair: this run's writes can move
            # records it never pairs (an invited User's child event, made by Salesforce).
            ours = (listing.error is None and listing.cursor is not None
                    and not set(listing.snapshot.departed_ids) & versions.keys()
                    and listing.snapshot.deleted_ids <= self.deleted[side]
                    and all(versions.get(r.id) == r.version for r in listing.snapshot.records))
            if ours and listing.cursor is not None:
                cursors[side.value] = listing.cursor
        return cursors


def _directions(entry: UserRecordPlan) -> list[str]:
    direction = entry.direction or "both"
    if direction == "both":
        return list(_DIRECTION_OF_TARGET.values())
    return [direction] if direction != "none" else []


def _record_status(store: StateStore, entry: UserRecordPlan, result: UserApplyResult) -> None:
    """Per-user status in the state (every user of the entries has a row: ``apply_records`` made
    those of users only the directory revealed)."""
    directions = _directions(entry) or list(_DIRECTION_OF_TARGET.values())
    finished = datetime.now(timezone.utc)
    for direction in directions:
        store.record_cycle(entry.user, entry.object, CycleOutcome(
            direction=direction, state=result.state, counts=dict(result.counts[direction]),  # type: ignore[arg-type]
            error=result.error, finished_at=finished))


def _stale_cursors(entry: UserRecordPlan, store: StateStore) -> str | None:
    """Another run synced this user since the plan was made: its cursors moved."""
    if entry.reset:
        return None
    for side, planned in entry.start_cursors.items():
        if store.cursor(entry.user, entry.object, side) != planned:  # type: ignore[arg-type]
            return "another sync of this user ran since the plan was made; plan again"
    return None


def refusal(entry: UserRecordPlan, store: StateStore, *, allow_mass_changes: bool) -> UserApplyResult | None:
    """Why an entry must not run, as its result: skipped or failed at plan time, stopped by a guard,
    or stale (another run synced the user since the plan). None: it may run. Every object type's
    apply asks this first, so they refuse alike."""
    if entry.status == UserSyncStatus.SKIPPED:
        return UserApplyResult(entry.user, entry.object, "disabled", error=f"skipped: {entry.reason}")
    if entry.status == UserSyncStatus.ERROR:
        return UserApplyResult(entry.user, entry.object, "error", error=entry.reason)
    if entry.violations and not allow_mass_changes:
        messages = "; ".join(v.message for v in entry.violations)
        return UserApplyResult(entry.user, entry.object, "error",
                               error=f"stopped by a guard: {messages} (apply with --allow-mass-changes to override)")
    stale = _stale_cursors(entry, store)
    return UserApplyResult(entry.user, entry.object, "error", error=stale) if stale is not None else None


def apply_user(entry: UserRecordPlan, config: ConfigSet, runtime: Runtime, store: StateStore, *,
               allow_mass_changes: bool, on_written: Callable[[int], None] = lambda n: None) -> UserApplyResult:
    """Carry out one user's entry and record the user's status."""
    if entry.status == UserSyncStatus.SKIPPED:
        store.set_link(entry.user, linked=False)
    result = refusal(entry, store, allow_mass_changes=allow_mass_changes)
    if result is None:
        configuration = config.configurations[entry.configuration or ""]
        assert entry.salesforce_user_id is not None and entry.mailbox is not None
        try:
            policy = contact_policy(configuration)
            stores = contact_stores(runtime, configuration, policy, entry.salesforce_user_id, entry.mailbox)
            if entry.reset:
                store.reset_user(entry.user)
            store.set_link(entry.user, linked=True, mailbox=entry.mailbox)
            result = _UserRun(entry, policy, stores, store, on_written).run()
        except ConnectorError as error:
            result = UserApplyResult(entry.user, entry.object, "error", error=str(error))
    _record_status(store, entry, result)
    return result


def _directory_users(entries: Sequence[UserRecordPlan], config: ConfigSet) -> list[UserAssignment]:
    """Assignment rows for the users only the Salesforce directory revealed (a Salesforce profile
    reaches them; no User resource declares them): they are keyed by their Salesforce username,
    and their mailbox is their Salesforce Email, resolved at sync time (``set_link``)."""
    return [UserAssignment(user=entry.user, configuration=entry.configuration, salesforce_username=entry.user)
            for entry in entries if entry.user not in config.users]


def apply_records(entries: Sequence[UserRecordPlan], config: ConfigSet, runtime: Runtime, store: StateStore, *,
                  allow_mass_changes: bool = False, parallel: int = DEFAULT_PARALLEL,
                  progress: Progress = _silent) -> RecordApplyOutcome:
    """Apply every user's entry, ``parallel`` users at a time; progress lines go to ``progress``."""
    store.ensure_users(_directory_users(entries, config))
    total = len(entries)
    lock = threading.Lock()
    done = 0
    written = 0

    def on_written(n: int) -> None:
        nonlocal written
        with lock:
            written += n

    def run(entry: UserRecordPlan) -> UserApplyResult:
        nonlocal done
        result = apply_user(entry, config, runtime, store, allow_mass_changes=allow_mass_changes,
                            on_written=on_written)
        with lock:
            done += 1
            progress(f"[{done}/{total} users] {entry.user}: {result.state.replace('_', ' ')}, "
                     f"{written} records written in all")
        return result

    with ThreadPoolExecutor(max_workers=max(parallel, 1), thread_name_prefix="apply") as pool:
        results = list(pool.map(run, entries))
    return RecordApplyOutcome(results)
