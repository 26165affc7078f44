"""Apply of the event entries of a plan: the contact executor's batches, plus the attendees.

The actions run through :class:`~reconciler.engine.executor._UserRun` exactly like contacts
(conditional writes, deferral, per-batch commits, cursors after a clean run). Then, for every
event this run created or updated and whose Exchange item is the organizer's, the attendees are
carried over (docs/event-rules.md, "Attendees"): Exchange attendees become EventRelations (User,
then Lead, then Contact; responses from Exchange), and on the first sync ``relateToRecords`` sets
WhoId; the invitees of a Salesforce event created in Exchange are added as attendees there
(Exchange sends invitations only when ``sendInvitations``). The two attendee lists merge three-way
against the pair's attendee merge base (``SYNCED_ATTENDEES`` in the pair's base), so a removal on
one side removes the attendee on the other and an addition is never mistaken for a removal.

Every pair whose attendees were merged carries that key, even as an empty list; a pair without
it, or flagged ``ATTENDEES_RETRY`` after a failed attendee write, has an attendee merge pending
(``attendees_pending``): it was made by a run that died between its batches and its attendee
step, synced before attendees were switched on, or its last merge failed. Each apply merges
those too, so neither a process killed after committing a pair nor a failed EventRelation write
leaves the event's invitees unsynced until the event happens to change again.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timezone

from reconciler.config import ConfigSet, SyncConfiguration
from reconciler.connectors.errors import ConnectorError
from reconciler.plan.records import UserRecordPlan, UserSyncStatus
from reconciler.state import StateStore
from reconciler.connectors.exchange_events import AttendeeEdit
from reconciler.sync import ActionKind, CreateOp, Pair, Side, SourceRecord, SyncPolicy, UpdateOp, WriteStatus
from reconciler.sync.events import (ATTENDEES_RETRY, SYNCED_ATTENDEES, Attendee, AttendeeChanges, attendees_pending,
                                    first_attendee_sync, related_record)

from .executor import RecordApplyOutcome, UserApplyResult, _record_status, _UserRun, refusal
from .events import EventStores, event_policy, event_stores, merge_event_attendees, user_zone
from .records import DEFAULT_PARALLEL, Progress, _silent, pair_from_record, pair_to_record
from .runtime import Runtime


def apply_event_user(entry: UserRecordPlan, config: ConfigSet, runtime: Runtime, store: StateStore, *,
                     allow_mass_changes: bool, syncing_mailboxes: frozenset[str],
                     on_written: Callable[[int], None] = lambda n: None) -> UserApplyResult:
    """Carry out one user's event entry, then its attendees, and record the user's event status."""
    result = refusal(entry, store, allow_mass_changes=allow_mass_changes)
    if result is None:
        configuration = config.configurations[entry.configuration or ""]
        assert entry.salesforce_user_id is not None and entry.mailbox is not None
        try:
            policy = event_policy(configuration)
            stores = event_stores(runtime, configuration, policy, entry.salesforce_user_id,
                                  user_zone(entry.salesforce_user_zone), entry.mailbox, datetime.now(timezone.utc))
            if entry.reset:
                store.reset_user(entry.user, entry.object)  # type: ignore[arg-type]
            store.set_link(entry.user, linked=True, mailbox=entry.mailbox)
            # The run rewrites the bases of the pairs it touches from the mapped fields only, so the
            # attendee merge bases are read first and written back after the attendees.
            synced_before = {p.salesforce_id: p.base[SYNCED_ATTENDEES]
                             for p in map(pair_from_record, store.pairs(entry.user, entry.object))
                             if SYNCED_ATTENDEES in p.base}
            problems: list[str] = []

            planned = with_invitees(entry)

            def attendees(run_result: UserApplyResult) -> bool:
                outcome = sync_attendees(planned, configuration, policy, stores, store, syncing_mailboxes, run_result,
                                         synced_before)
                problems.extend(outcome.problems)
                return outcome.written

            result = _UserRun(planned, policy, stores, store, on_written).run(attendees)  # type: ignore[arg-type]
            if problems:
                result.state = "error"
                result.error = "; ".join(filter(None, [result.error, *problems]))
        except ConnectorError as error:
            result = UserApplyResult(entry.user, entry.object, "error", error=str(error))
    _record_status(store, entry, result)
    return result


_RELATION_BATCH = 200


def with_invitees(entry: UserRecordPlan) -> UserRecordPlan:
    """The entry with each meeting created in Exchange carrying its Salesforce invitees (the plan's
    ``invite`` changes of the event, which merged against nothing) as the item's attendees, so the
    CreateItem makes the meeting whole: no GetItem and UpdateItem of its own afterwards. The
    attendee step still merges it (the item then lists them, so it writes nothing) and stores the
    merge base; an invitee added in Salesforce since the plan is added there, as on any item."""
    invitees: dict[str, list[Attendee]] = {}
    for change in entry.attendees:
        if change.change == "invite" and change.salesforce_id and change.exchange_id is None:
            invitees.setdefault(change.salesforce_id, []).append(Attendee(change.who, None, False))
    if not invitees:
        return entry
    actions = []
    for action in entry.actions:
        create = action.exchange_write
        if (action.kind is ActionKind.CREATE_EXCHANGE and isinstance(create, CreateOp)
                and action.salesforce_id in invitees):
            action = replace(action, exchange_write=replace(create, fields={
                **create.fields, "Attendees": tuple(invitees[action.salesforce_id])}))
        actions.append(action)
    return replace(entry, actions=tuple(actions))


@dataclass(frozen=True)
class AttendeeOutcome:
    """What the attendee step did: its failures, and whether it wrote anything (the cursors then
    move past its writes too)."""

    problems: list[str]
    written: bool


def sync_attendees(entry: UserRecordPlan, configuration: SyncConfiguration, policy: SyncPolicy, stores: EventStores,
                   store: StateStore, syncing_mailboxes: frozenset[str], result: UserApplyResult,
                   synced_before: Mapping[str, Sequence[str]]) -> AttendeeOutcome:
    """Attendees of the events this run created, updated or paired, and of every pair whose
    attendees are still pending (:func:`attendees_pending`); returns the failures and whether
    anything was written.

    Only those events are read (two look-ups), so a cycle without changes makes no call here, and
    of them only the records the run did not create itself (:func:`created_records`). The
    attendee lists of the organizer's item (or of a meeting organised outside
    sync: Leads and Contacts only) and of the Salesforce event merge three-way against the pair's
    :data:`SYNCED_ATTENDEES` (``synced_before``, read before the run rewrote the bases):
    attendees added or removed in Exchange are added or removed as EventRelations (with the
    Exchange response), invitees added or removed in Salesforce are added to or removed from the
    Exchange item (Exchange sends invitations only with ``sendInvitations``); WhoId on the first
    attendee sync (:func:`first_attendee_sync`) with ``relateToRecords``. The new merge base is
    stored in the pair's base when every write of the event succeeded, an empty one too;
    otherwise the old one stays, flagged :data:`ATTENDEES_RETRY`, so the next apply merges again
    even if the event does not change. A pair whose attendees are not its own to sync (a child
    event, an invitee's copy) or one of whose records left the data set is stored as merged with
    nothing to merge. The pairs of the events and items written here take the versions those
    writes left (a relation write can move the event's SystemModstamp, an attendee change moves
    the item's ChangeKey), so the cursors move past them and the next cycle reads nothing back.
    Attendee changes go 100 items to a GetItem and an UpdateItem."""
    settings = configuration.events
    all_pairs = _keep_merge_bases(entry, store, [pair_from_record(p) for p in store.pairs(entry.user, entry.object)],
                                  synced_before)
    if not (settings.attendees or settings.relate_to_records):
        return AttendeeOutcome([], False)
    touched: set[str] = set()   # Salesforce ids and Exchange ids
    for action in entry.actions:
        if action.writes or action.kind is ActionKind.PAIR:
            touched.update(filter(None, (action.salesforce_id, action.exchange_id)))
    for update in entry.bookkeeping:
        # A version that moved without a mapped change (an attendee answered) still carries responses.
        if update.store is not None:
            touched.add(update.store.exchange_id)
    for change in entry.attendees:
        # The plan's attendee writes, incl. events whose Salesforce invitees alone changed.
        touched.update(filter(None, (change.salesforce_id, change.exchange_id)))
    pairs = [p for p in all_pairs if p.salesforce_id in touched or p.exchange_id in touched or attendees_pending(p)]
    if not pairs:
        return AttendeeOutcome([], False)
    mailbox = entry.mailbox or ""
    created = created_records(entry, pairs)
    exchange = {r.id: r for r in stores.exchange.fetch([p.exchange_id for p in pairs if p.exchange_id not in created])}
    salesforce = {r.id: r for r in stores.salesforce.fetch([p.salesforce_id for p in pairs
                                                            if p.salesforce_id not in created])}
    exchange.update({p.exchange_id: created[p.exchange_id] for p in pairs if p.exchange_id in created})
    salesforce.update({p.salesforce_id: created[p.salesforce_id] for p in pairs if p.salesforce_id in created})
    emails = sorted({a.email for r in exchange.values() for a in r.fields.get("Attendees") or ()})
    directory = stores.salesforce.attendee_directory(emails) if emails and settings.attendees else {}
    to_salesforce = bool(settings.attendees) and policy.direction.writes(Side.SALESFORCE)
    to_exchange = bool(settings.attendees) and policy.direction.writes(Side.EXCHANGE)
    merges: list[_AttendeeMerge] = []
    # Pairs with nothing to merge: attendees not theirs to sync, or a side gone from the data set
    # (the next plan deals with the pair); marked merged so a pending pair is read once, not every cycle.
    nothing_to_merge: list[tuple[str, Sequence[str]]] = []
    who_ops: list[UpdateOp] = []
    problems: list[str] = []
    for pair in pairs:
        item, event = exchange.get(pair.exchange_id), salesforce.get(pair.salesforce_id)
        if item is None or event is None:
            nothing_to_merge.append((pair.salesforce_id, list(pair.base.get(SYNCED_ATTENDEES) or ())))
            continue
        merged = merge_event_attendees(mailbox, item, event, directory, synced_before.get(pair.salesforce_id, ()),
                                       syncing_mailboxes, to_salesforce=to_salesforce, to_exchange=to_exchange)
        if merged is None:
            nothing_to_merge.append((pair.salesforce_id, list(pair.base.get(SYNCED_ATTENDEES) or ())))
            continue
        plan, changes = merged
        if plan.overflow:
            result.deferred.append(f"{len(plan.overflow)} attendees beyond the first 50 of event "
                                   f"{pair.salesforce_id} are not synced")
        rows = [row for row in event.fields.get("EventRelations") or () if row.is_invitee]
        merges.append(_AttendeeMerge(pair, item.id, item.version, changes, {row.relation_id: row.id for row in rows}))
        if (settings.relate_to_records and first_attendee_sync(pair) and not event.fields.get("WhoId")
                and policy.direction.writes(Side.SALESFORCE) and (who := related_record(plan))):
            who_ops.append(UpdateOp(event.id, event.version, {"WhoId": who}))
    failed: set[str] = set()   # Salesforce ids of events with a failed attendee write
    written_events: set[str] = set()   # Salesforce ids of events with a successful write here
    # WhoId first: a relation write moves the event's SystemModstamp, the version WhoId's update expects.
    for start in range(0, len(who_ops), stores.salesforce.max_batch):
        chunk_ops = who_ops[start:start + stores.salesforce.max_batch]
        for op, answer in zip(chunk_ops, stores.salesforce.write(chunk_ops)):
            if answer.status is not WriteStatus.OK:
                failed.add(op.record_id)   # still a first sync next cycle, which sets WhoId again
                problems.append(f"WhoId: {answer.message}")
            else:
                written_events.add(op.record_id)
    writes = [(m.pair.salesforce_id, op) for m in merges for op in m.relation_writes()]
    for start in range(0, len(writes), _RELATION_BATCH):
        chunk = writes[start:start + _RELATION_BATCH]
        creates = [op[1:] for _, op in chunk if op[0] == "create"]
        updates = [op[1:] for _, op in chunk if op[0] == "update"]
        deletes = [op[1] for _, op in chunk if op[0] == "delete"]
        owners = ([e for e, op in chunk if op[0] == "create"] + [e for e, op in chunk if op[0] == "update"]
                  + [e for e, op in chunk if op[0] == "delete"])
        answers = stores.salesforce.write_relations(creates, updates, deletes)  # type: ignore[arg-type]
        for owner, answer in zip(owners, answers):
            if answer.status is not WriteStatus.OK:
                failed.add(owner)
                problems.append(f"EventRelation of {owner}: {answer.message}")
            else:
                written_events.add(owner)
    versions: dict[str, dict[Side, str]] = {}   # Salesforce id -> the versions the writes here left
    edits = [(m, AttendeeEdit(m.item_id, m.item_version, m.changes.invite, m.changes.uninvite))
             for m in merges if m.changes.invite or m.changes.uninvite]
    for start in range(0, len(edits), stores.exchange.max_batch):
        chunk_edits = edits[start:start + stores.exchange.max_batch]
        for (merge, edit), answer in zip(chunk_edits, stores.exchange.change_attendees([e for _, e in chunk_edits])):
            if answer.status is not WriteStatus.OK:
                failed.add(merge.pair.salesforce_id)
                problems.append(f"changing the attendees of {merge.item_id}: {answer.message}")
            elif answer.version and answer.version != edit.expected_version:
                versions.setdefault(merge.pair.salesforce_id, {})[Side.EXCHANGE] = answer.version
    if written_events:
        for event_id, version in stores.salesforce.connector.versions("Event", sorted(written_events)).items():
            versions.setdefault(event_id, {})[Side.SALESFORCE] = version
    _store_merge_bases(entry, store, [*nothing_to_merge, *((m.pair.salesforce_id, m.changes.synced) for m in merges
                                                   if m.pair.salesforce_id not in failed)],
                       retry=failed, versions=versions)
    return AttendeeOutcome(problems, bool(written_events or versions))


def created_records(entry: UserRecordPlan, pairs: Sequence[Pair]) -> dict[str, SourceRecord]:
    """The records this run created among ``pairs``, by id, as the run wrote them: the create's
    fields (a new item's invitees included, :func:`with_invitees`) with the id and version its
    write returned, which the stored pair holds. The attendee merge takes them instead of reading
    them back: a new item lists exactly the attendees its CreateItem carried (no response yet),
    a new Salesforce event has no invitee EventRelation until the merge writes one, and a write
    after the merge expects the version the create left."""
    by_salesforce = {p.salesforce_id: p for p in pairs}
    by_exchange = {p.exchange_id: p for p in pairs}
    created: dict[str, SourceRecord] = {}
    for action in entry.actions:
        if action.kind is ActionKind.CREATE_EXCHANGE and isinstance(action.exchange_write, CreateOp):
            if (pair := by_salesforce.get(action.salesforce_id or "")) is not None:
                created[pair.exchange_id] = SourceRecord(pair.exchange_id, pair.exchange_version,
                                                         action.exchange_write.fields)
        elif action.kind is ActionKind.CREATE_SALESFORCE and isinstance(action.salesforce_write, CreateOp):
            if (pair := by_exchange.get(action.exchange_id or "")) is not None:
                created[pair.salesforce_id] = SourceRecord(pair.salesforce_id, pair.salesforce_version,
                                                           action.salesforce_write.fields)
    return created


@dataclass(frozen=True)
class _AttendeeMerge:
    """One event's attendee merge: its pair, the Exchange item it read, the changes."""

    pair: Pair
    item_id: str
    item_version: str
    changes: AttendeeChanges
    row_ids: Mapping[str, str]   # relation id -> EventRelation row id

    def relation_writes(self) -> list[tuple[str, ...]]:
        """("create", event id, relation id, status) / ("update", row id, status) / ("delete", row id)."""
        event_id = self.pair.salesforce_id
        return ([("create", event_id, i.relation_id, i.status) for i in self.changes.create]
                + [("update", self.row_ids[i.relation_id], i.status) for i in self.changes.update_status]
                + [("delete", self.row_ids[rid]) for rid in self.changes.delete])


def _store_merge_bases(entry: UserRecordPlan, store: StateStore, bases: Sequence[tuple[str, Sequence[str]]],
                       retry: Collection[str] = (), versions: Mapping[str, Mapping[Side, str]] | None = None) -> None:
    """Write attendee merge bases into the pairs as they are stored now (one batch; unchanged ones
    skipped). An empty base is written too: the key marks the pair's attendees as merged. Pairs
    named in ``retry`` (a write of their merge failed) keep their base, flagged to merge again;
    a pair never merged needs no flag (it is pending already). ``versions`` (by Salesforce id)
    are the versions the attendee writes left on either side."""
    versions = versions or {}
    wanted = {salesforce_id: sorted(synced) for salesforce_id, synced in bases}
    current = [pair_from_record(p) for p in store.pairs(entry.user, entry.object)] if wanted or retry or versions else []
    changed: list[Pair] = []
    for stored in current:
        moved = versions.get(stored.salesforce_id, {})
        pair = replace(stored, salesforce_version=moved.get(Side.SALESFORCE, stored.salesforce_version),
                       exchange_version=moved.get(Side.EXCHANGE, stored.exchange_version))
        base = dict(pair.base)
        if pair.salesforce_id in wanted:
            base[SYNCED_ATTENDEES] = wanted[pair.salesforce_id]
            base.pop(ATTENDEES_RETRY, None)
        elif pair.salesforce_id in retry and not first_attendee_sync(pair):
            base[ATTENDEES_RETRY] = True
        if replace(pair, base=base) != stored:
            changed.append(replace(pair, base=base))
    if changed:
        store.commit_batch(entry.user, entry.object, [pair_to_record(p) for p in changed], [], [])  # type: ignore[arg-type]


def _keep_merge_bases(entry: UserRecordPlan, store: StateStore, pairs: Sequence[Pair],
                      synced_before: Mapping[str, Sequence[str]]) -> list[Pair]:
    """Put back the attendee merge bases of pairs the run rewrote without them; returns the pairs
    with their bases as now stored."""
    lost = {p.salesforce_id: sorted(synced_before[p.salesforce_id]) for p in pairs
            if p.salesforce_id in synced_before and SYNCED_ATTENDEES not in p.base}
    _store_merge_bases(entry, store, list(lost.items()))
    return [replace(p, base={**p.base, SYNCED_ATTENDEES: lost[p.salesforce_id]}) if p.salesforce_id in lost else p
            for p in pairs]


def apply_event_records(entries: Sequence[UserRecordPlan], config: ConfigSet, runtime: Runtime, store: StateStore, *,
                        allow_mass_changes: bool = False, parallel: int = DEFAULT_PARALLEL,
                        progress: Progress = _silent) -> RecordApplyOutcome:
    """Apply every user's event entry, ``parallel`` users at a time (after the contacts, so a
    user's Reset Sync of all objects has run first)."""
    syncing = frozenset(e.mailbox.lower() for e in entries if e.mailbox and e.status == UserSyncStatus.PLANNED)

    def run(entry: UserRecordPlan) -> UserApplyResult:
        result = apply_event_user(entry, config, runtime, store, allow_mass_changes=allow_mass_changes,
                                  syncing_mailboxes=syncing)
        progress(f"{entry.user} events: {result.state.replace('_', ' ')}, {result.written} written")
        return result

    with ThreadPoolExecutor(max_workers=max(parallel, 1), thread_name_prefix="apply-events") as pool:
        return RecordApplyOutcome(list(pool.map(run, entries)))
