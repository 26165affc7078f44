"""Event plans: per user, the calendar in the sync window against the events the user owns.

Events run through the same sync core, plan entries and executor as contacts (``object: event``);
what this module adds is what the generic core cannot know (reasons in docs/event-rules.md):

* the stores are built per cycle for the window ``pastDays``/``futureDays`` around now, with the
  user's Salesforce TimeZoneSidKey as the codecs' zone and the mailbox zone's fallback (see
  :func:`user_zone`);
* pairs whose last synced times left the window are set aside before ``decide``
  (:func:`~reconciler.sync.events.pairs_outside_window`): leaving the window is not a delete;
* a copy of a meeting in an invitee's mailbox never becomes an event of its own: it waits, is
  skipped, or pairs with the user's child event (:func:`~reconciler.sync.events.invitee_copy_decision`);
  Salesforce child events are never created in Exchange (they follow their parent);
* Salesforce recurring series are listed in the plan as skipped, with the reason;
* the attendee writes apply will make are itemised in the plan (:func:`attendee_preview`), by the
  same three-way merge apply runs (:func:`merge_event_attendees`), with the events whose attendees
  beyond the first 50 will not sync (``AttendeeOverflow``);
* the Salesforce side lists through the cycle's org event feed (``records.org_event_feeds``): no
  Salesforce call of the user's own in a cycle without changes.

A series change in Exchange (``SeriesChanged``, a ``CursorExpired``) is handled by ``list_side``:
the window is listed in full and occurrences no longer there count as gone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from reconciler.config import SyncConfiguration
from reconciler.connectors.errors import ConnectorError
from reconciler.connectors.exchange_events import ExchangeCalendarStore
from reconciler.connectors.salesforce_events import EventFeed, SalesforceEventStore, event_fields
from reconciler.plan.records import AttendeeChange, AttendeeOverflow, UserRecordPlan, UserSyncStatus
from reconciler.state import StateStore
from reconciler.sync import (OVER_LIMIT, Action, ActionKind, GuardViolation, Pair, PairUpdate, Side,
                             SideSnapshot, SourceRecord, SyncPolicy, Tombstone, decide)
from reconciler.sync.events import (EVENT, MASKED_KEYS, MATCH_ORDER, OUTSIDE_ORGANIZER_KINDS, AttendeeChanges,
                                    SYNCED_ATTENDEES, AttendeeDirectory, AttendeePlan, CopyAction, OccurrenceKey,
                                    PrivateEvents, attendee_changes, invitee_copy_decision, is_organizers_item,
                                    attendees_pending, pairs_outside_window, plan_attendees, subject_start_end_key,
                                    synced_attendees)

from .records import (EVENT_OBJECT, CycleFeeds, Listing, event_policy, event_window, list_side, pair_from_record,
                      start_user_plan, tombstone_from_record, with_revisits)
from .roster import RosterEntry
from .runtime import Runtime

CHILD_EVENT_REASON = ("a Salesforce child event (an invitee's copy of a meeting) follows its parent: it pairs with "
                      "the invitee's own copy of the meeting, and is never created in Exchange")


def user_zone(time_zone: str | None) -> dt.tzinfo:
    """The zone the codecs work in: the user's Salesforce TimeZoneSidKey (UTC when unknown).

    It places an all-day event's Salesforce reminder. For Exchange it is only the fallback: new
    items are written in the mailbox's own zone (``ExchangeCalendarStore.mailbox_zone``, read from
    Outlook's options), and this zone serves when the mailbox has none. Instants and all-day dates
    read back the same whatever the zone (each item carries its own)."""
    try:
        return ZoneInfo(time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@dataclass(frozen=True)
class EventStores:
    """Both sides of one user's events (attribute names as ``ContactStores``: the executor writes
    through either)."""

    salesforce: SalesforceEventStore
    exchange: ExchangeCalendarStore


def event_stores(runtime: Runtime, configuration: SyncConfiguration, policy: SyncPolicy, owner_id: str,
                 zone: dt.tzinfo, mailbox: str, now: dt.datetime, feed: EventFeed | None = None) -> EventStores:
    """This thread's event stores for one user: the owned events and the mailbox's calendar, both in
    the window, with the privacy mode, the category selection and the invitation settings; the
    Salesforce side served by the cycle's org ``feed`` where it covers the user."""
    settings = configuration.events
    window = event_window(configuration, now)
    private = PrivateEvents(settings.private_events)
    mapped = {f.exchange_field: f for f in policy.mapping.fields}
    masked_keys = [key for key in MASKED_KEYS if key in mapped]
    salesforce = SalesforceEventStore(
        runtime.salesforce(configuration.salesforce_connection), owner_id, window, zone, private,
        masked_names={key: mapped[key].name_on(Side.SALESFORCE) for key in masked_keys},
        fields=event_fields(policy.mapping), feed=feed)
    exchange = ExchangeCalendarStore(
        runtime.exchange(configuration.exchange_connection), mailbox, window, zone,
        selection=settings.data_set.selection, category=settings.data_set.category, private_events=private,
        send_invitations=settings.send_invitations, send_cancellations=settings.send_cancellations,
        masked_names={key: key for key in masked_keys})
    return EventStores(salesforce, exchange)


# -- invitees' copies and child events -----------------------------------------------------------------

def _skip(record_side: Side, record: SourceRecord, reason: str) -> Action:
    name = EVENT.display_name(record.fields)
    return Action(ActionKind.SKIP, EVENT.name, record.id if record_side is Side.SALESFORCE else None,
                  record.id if record_side is Side.EXCHANGE else None, name, reason)


def _time_key(fields: dict[str, object], start: str, end: str) -> tuple[object, ...] | None:
    return subject_start_end_key({"Subject": fields.get("Subject"), "Start": fields.get(start), "End": fields.get(end)})


def sort_out_copies(salesforce: SideSnapshot, exchange: SideSnapshot, pairs: Sequence[Pair], mailbox: str,
                    syncing_mailboxes: frozenset[str]) -> tuple[SideSnapshot, SideSnapshot, list[Action]]:
    """Take invitees' meeting copies and Salesforce child events out of what ``decide`` sees unless
    they pair with each other.

    The parent of a copy is the organizer's synced Salesforce event; this user's child of it has
    the same subject, start and end (Salesforce keeps it in step). Salesforce makes a child only
    for a parent that exists, so a child of this user with the copy's subject and times stands for
    "the parent is synced and its child is this one": the copy and that child stay, and the
    object type's subject + start + end rule pairs them. Copies already paired stay. A copy whose
    organizer syncs is marked not stampable: nothing is written to it."""
    paired_exchange = {p.exchange_id for p in pairs}
    paired_salesforce = {p.salesforce_id for p in pairs}
    child_by_key: dict[tuple[object, ...], str] = {}
    for record in salesforce.records:
        if record.fields.get("IsChild") and record.id not in paired_salesforce:
            key = _time_key(dict(record.fields), "StartDateTime", "EndDateTime")
            if key is not None:
                child_by_key[key] = record.id
    skipped: list[Action] = []
    kept_exchange: list[SourceRecord] = []
    kept_children: set[str] = set()
    for record in exchange.records:
        fields = dict(record.fields)
        organizer = fields.get("Organizer")
        if is_organizers_item(mailbox, organizer, fields.get("MyResponseType")):  # type: ignore[arg-type]
            kept_exchange.append(record)
            continue
        if str(organizer).lower() in syncing_mailboxes:
            # Nothing is ever written to a copy whose organizer syncs (settle_copy_pairs), a stamp
            # included: asking for one would announce the recorded pair again whenever the copy is
            # listed. Its pair counts as stamped (the core's rule for an unstampable item).
            record = replace(record, stampable=False)
        if record.id in paired_exchange:
            kept_exchange.append(record)
            continue
        key = fields.get("OccurrenceKey") or OccurrenceKey(str(fields.get("UID") or record.id))
        assert isinstance(key, OccurrenceKey)
        child = child_by_key.get(_time_key(fields, "Start", "End") or ())
        decision = invitee_copy_decision(
            key, fields.get("MyResponseType"),  # type: ignore[arg-type]
            organizer_syncs=str(organizer).lower() in syncing_mailboxes,
            parents={key: child} if child else {}, children={child: child} if child else {})
        if decision.action is CopyAction.SKIP:
            skipped.append(_skip(Side.EXCHANGE, record, decision.reason))
            continue
        if decision.action is CopyAction.PAIR_WITH_CHILD and decision.salesforce_id:
            kept_children.add(decision.salesforce_id)
        kept_exchange.append(record)
    kept_salesforce: list[SourceRecord] = []
    for record in salesforce.records:
        if record.fields.get("IsChild") and record.id not in paired_salesforce and record.id not in kept_children:
            skipped.append(_skip(Side.SALESFORCE, record, CHILD_EVENT_REASON))
            continue
        kept_salesforce.append(record)
    return (replace(salesforce, records=tuple(kept_salesforce)), replace(exchange, records=tuple(kept_exchange)),
            skipped)


# -- one user ---------------------------------------------------------------------------------------------

def plan_user_events(runtime: Runtime, store: StateStore, roster: Sequence[RosterEntry], entry: RosterEntry,
                     reset: bool, now: dt.datetime, feeds: CycleFeeds | None = None) -> UserRecordPlan:
    """The event plan of one user. A connector failure is the entry's status, except a mailbox
    Exchange no longer has (``MailboxNotFound``), which ``plan_records`` reports for every object.
    ``feeds`` (``org_event_feeds``) serve the Salesforce side's incremental listing, invitee
    changes and recurring series; without them the user's store asks Salesforce itself."""
    start = start_user_plan(runtime, entry, EVENT_OBJECT, "events", lambda c: c.events, event_policy)
    if isinstance(start, UserRecordPlan):
        return start
    base, configuration, policy = start.base, start.configuration, start.policy
    assert entry.salesforce_user is not None and entry.mailbox is not None
    org_feed = (feeds.events if feeds is not None else {}).get(configuration.salesforce_connection)
    stored = [] if reset else [pair_from_record(r) for r in store.pairs(entry.name, EVENT_OBJECT)]
    tombstones = [tombstone_from_record(r) for r in store.tombstones(entry.name, EVENT_OBJECT)]
    start = {side: (None if reset else store.cursor(entry.name, EVENT_OBJECT, side.value)) for side in Side}
    revisits = () if reset else tuple((ref.side, ref.record_id) for ref in store.revisits(entry.name, EVENT_OBJECT))
    # The org feed failed: asking again per user would multiply the failing calls (a user listing in
    # full still asks on their own, as for contacts).
    feed_failed = isinstance(org_feed, str) and start[Side.SALESFORCE] is not None
    try:
        stores = event_stores(runtime, configuration, policy, entry.salesforce_user.id,
                              user_zone(entry.salesforce_user.time_zone), entry.mailbox, now,
                              None if isinstance(org_feed, str) else org_feed)
        series = [] if feed_failed else stores.salesforce.unsynced_series()
    except ConnectorError as error:
        return UserRecordPlan(status=UserSyncStatus.ERROR, reason=str(error), **base)
    side_stores = {Side.SALESFORCE: stores.salesforce, Side.EXCHANGE: stores.exchange}

    def listed(side: Side, cursor: str | None) -> Listing:
        if side is Side.SALESFORCE and feed_failed:
            return Listing(SideSnapshot.of((), full=False), None, str(org_feed))
        listing = list_side(side_stores[side], cursor)
        return with_revisits(listing, side_stores[side], [i for s, i in revisits if s == side.value])

    listings = {side: listed(side, start[side]) for side in Side}
    paired = {p.salesforce_id for p in stored}
    # A child event changed since the cursor may be the one an invitee's waiting copy pairs with; the
    # copy itself is unchanged, so only a full listing of the mailbox shows it.
    relist = ({Side.EXCHANGE} if not listings[Side.SALESFORCE].snapshot.full and any(
        r.fields.get("IsChild") and r.id not in paired for r in listings[Side.SALESFORCE].snapshot.records) else set())
    try:
        decided = _decided(policy, stores, stored, listings, tombstones, entry, roster, now)
        if any(a.kind in (ActionKind.CREATE_SALESFORCE, ActionKind.CREATE_EXCHANGE) for a in decided[0]):
            # As for contacts: an incremental listing hides an unchanged, unpaired twin on the side
            # about to receive a create, so a cycle that creates lists both sides in full.
            relist = set(Side)
        relist = {side for side in relist if not listings[side].snapshot.full and listings[side].error is None}
        if relist:
            listings = {side: list_side(side_stores[side], None) if side in relist else listings[side] for side in Side}
            decided = _decided(policy, stores, stored, listings, tombstones, entry, roster, now)
    except ConnectorError as error:
        return UserRecordPlan(status=UserSyncStatus.ERROR, reason=str(error), **base)
    actions, bookkeeping, halt = decided
    try:
        invitees_changed = (stores.salesforce.invitees_changed_since(start[Side.SALESFORCE])
                            if configuration.events.attendees and not feed_failed else [])
        attendees, overflow = attendee_preview(configuration, policy, stores, actions, bookkeeping, stored, listings,
                                               entry.mailbox, syncing_mailboxes(roster), invitees_changed)
    except ConnectorError as error:
        return UserRecordPlan(status=UserSyncStatus.ERROR, reason=str(error), **base)
    actions = [*actions, *(Action(ActionKind.SKIP, EVENT.name, s.id, None, s.subject or "(no subject)", s.reason)
                           for s in series)]
    salesforce, exchange = listings[Side.SALESFORCE], listings[Side.EXCHANGE]
    errors = tuple(f"{side.value}: {listing.error}" for side, listing in listings.items() if listing.error)
    waiting = any(a.reason == OVER_LIMIT for a in actions)
    next_cursors = {side.value: listing.cursor for side, listing in listings.items() if listing.cursor is not None}
    return UserRecordPlan(
        status=UserSyncStatus.PLANNED, reason="; ".join(errors), direction=configuration.events.direction,
        salesforce_user_id=entry.salesforce_user.id, salesforce_user_zone=entry.salesforce_user.time_zone, reset=reset,
        start_cursors={side.value: cursor for side, cursor in start.items()},
        next_cursors=next_cursors, cursors_final=not errors and not waiting and len(next_cursors) == 2,
        listing_errors=errors, actions=tuple(actions), bookkeeping=bookkeeping, halt=halt, revisits=revisits,
        attendees=attendees, attendee_overflow=overflow,
        full_listings={side.value: now.isoformat() for side, listing in ((Side.SALESFORCE, salesforce),
                                                                          (Side.EXCHANGE, exchange))
                       if listing.snapshot.full and listing.cursor is not None},
        **base,
    )


def _decided(policy: SyncPolicy, stores: EventStores, stored: Sequence[Pair], listings: dict[Side, Listing], tombstones: Sequence[Tombstone],
             entry: RosterEntry, roster: Sequence[RosterEntry],
             now: dt.datetime) -> tuple[list[Action], tuple[PairUpdate, ...], GuardViolation | None]:
    """Frozen pairs set aside, copies and children sorted out, then the sync core."""
    assert entry.configuration is not None and entry.mailbox is not None
    salesforce, exchange = listings[Side.SALESFORCE].snapshot, listings[Side.EXCHANGE].snapshot
    window = event_window(entry.configuration, now)
    inside, outside = pairs_outside_window(stored, window)
    # A frozen pair whose event is listed again (moved back into the window) resumes.
    listed = {r.id for r in salesforce.records} | {r.id for r in exchange.records}
    pairs = inside + [p for p in outside if p.salesforce_id in listed or p.exchange_id in listed]
    salesforce, exchange, skipped = sort_out_copies(salesforce, exchange, pairs, entry.mailbox, syncing_mailboxes(roster))
    errors = any(listing.error is not None for listing in listings.values())
    decisions = decide(policy, pairs, salesforce, exchange, tombstones, listing_errors=errors, now=now)
    # A delete of an unchanged item (its child event went: the invitee declined) needs the item to
    # tell whether it is an invitee's copy; read those few items (none in a cycle without deletes).
    unlisted = [a.exchange_id for a in decisions.actions if a.kind is ActionKind.DELETE_EXCHANGE and a.exchange_id
                and a.exchange_id not in {r.id for r in exchange.records}]
    items = stores.exchange.fetch(unlisted) if unlisted else []
    actions = settle_copy_pairs(decisions.actions, salesforce, replace(exchange, records=exchange.records + tuple(items)),
                                entry.mailbox)
    return [*actions, *skipped], decisions.bookkeeping, decisions.halt


def syncing_mailboxes(roster: Sequence[RosterEntry]) -> frozenset[str]:
    """The mailboxes whose events sync (folded): a meeting they organise has a Salesforce parent."""
    return frozenset(e.mailbox.lower() for e in roster
                     if e.mailbox and e.skip_reason is None and e.configuration is not None
                     and e.configuration.events.direction != "none")


# -- attendees ---------------------------------------------------------------------------------------

_NO_ATTENDEE_MERGE = (ActionKind.DELETE_EXCHANGE, ActionKind.DELETE_SALESFORCE, ActionKind.UNLINK)


def merge_event_attendees(mailbox: str, item: SourceRecord | None, event: SourceRecord | None,
                          directory: AttendeeDirectory, synced: Iterable[str], syncing: frozenset[str], *,
                          to_salesforce: bool, to_exchange: bool) -> tuple[AttendeePlan, AttendeeChanges] | None:
    """The attendee merge of one event (docs/event-rules.md, "Attendees"); None when its
    attendees are not this pair's to sync: a child event, or an invitee's copy of a meeting whose
    organizer syncs (the child follows the organizer's parent). A missing side (an event about
    to be created) counts as having no attendees. A copy of a meeting organised outside sync
    relates Leads and Contacts only, and its attendee list is never written (it is the organizer's)."""
    if event is not None and event.fields.get("IsChild"):
        return None
    organizer = item.fields.get("Organizer") if item is not None else None
    organizers_item = item is None or is_organizers_item(mailbox, organizer, item.fields.get("MyResponseType"))  # type: ignore[arg-type]
    if not organizers_item and str(organizer).lower() in syncing:
        return None
    attendees = list(item.fields.get("Attendees") or ()) if item is not None else []  # type: ignore[call-overload]
    plan = plan_attendees(attendees, directory, exclude=[mailbox, str(organizer or "")],
                          kinds=MATCH_ORDER if organizers_item else OUTSIDE_ORGANIZER_KINDS)
    rows = [row for row in (event.fields.get("EventRelations") or () if event is not None else ())  # type: ignore[attr-defined]
            if row.is_invitee]
    changes = attendee_changes(plan, {row.relation_id: (row.status or "New", row.email) for row in rows},
                               [a.email for a in attendees], synced, to_salesforce=to_salesforce,
                               to_exchange=to_exchange and organizers_item)
    return plan, changes


def attendee_preview(configuration: SyncConfiguration, policy: SyncPolicy, stores: EventStores,
                     actions: Sequence[Action], bookkeeping: Sequence[PairUpdate], stored: Sequence[Pair],
                     listings: Mapping[Side, Listing], mailbox: str, syncing: frozenset[str],
                     invitees_changed: Sequence[str] = ()) -> tuple[tuple[AttendeeChange, ...], tuple[AttendeeOverflow, ...]]:
    """The attendee writes apply is expected to make, itemised for the plan, and the events with
    more attendees than sync (the overflow apply leaves out, reported before it does).

    The same merge apply runs after the batches, over the events the plan creates, updates, pairs
    or re-versions, the paired events whose Salesforce invitees changed (``invitees_changed``:
    that does not move the event) and the pairs whose attendee merge is still pending, from the records the listing read (the few it did not are
    fetched; none in a cycle without changes). An event created this run merges against nothing:
    its attendees are all added to the new side. Apply merges the events named here too."""
    if not configuration.events.attendees:
        return (), ()
    jobs: list[tuple[str, str | None, str | None]] = []   # (display name, salesforce id, exchange id)
    for action in actions:
        if (action.writes or action.kind is ActionKind.PAIR) and action.kind not in _NO_ATTENDEE_MERGE:
            jobs.append((action.display_name, action.salesforce_id, action.exchange_id))
    for update in bookkeeping:
        if update.store is not None:
            jobs.append(("", update.store.salesforce_id, update.store.exchange_id))
    known = {r.id: r for listing in listings.values() for r in listing.snapshot.records}
    jobs += [("", p.salesforce_id, p.exchange_id) for p in _invitees_moved(stores, stored, invitees_changed, known)]
    # Pairs whose attendee merge never completed (a killed run, a failed write): apply merges them.
    jobs += [("", p.salesforce_id, p.exchange_id) for p in stored if attendees_pending(p)]
    if not jobs:
        return (), ()
    missing = {Side.SALESFORCE: sorted({s for _, s, _ in jobs if s and s not in known}),
               Side.EXCHANGE: sorted({e for _, _, e in jobs if e and e not in known})}
    if missing[Side.SALESFORCE]:
        known.update({r.id: r for r in stores.salesforce.fetch(missing[Side.SALESFORCE])})
    if missing[Side.EXCHANGE]:
        known.update({r.id: r for r in stores.exchange.fetch(missing[Side.EXCHANGE])})
    emails = sorted({a.email for _, _, e in jobs if e in known for a in known[e].fields.get("Attendees") or ()})  # type: ignore[attr-defined]
    directory = stores.salesforce.attendee_directory(emails) if emails else {}
    bases = {p.salesforce_id: synced_attendees(p.base) for p in stored}
    preview: list[AttendeeChange] = []
    overflow: list[AttendeeOverflow] = []
    unique: dict[tuple[str | None, str | None], str] = {}
    for name, salesforce_id, exchange_id in jobs:
        unique[(salesforce_id, exchange_id)] = unique.get((salesforce_id, exchange_id)) or name
    for (salesforce_id, exchange_id), name in unique.items():
        event, item = known.get(salesforce_id or ""), known.get(exchange_id or "")
        merged = merge_event_attendees(mailbox, item, event, directory, bases.get(salesforce_id or "", ()), syncing,
                                       to_salesforce=policy.direction.writes(Side.SALESFORCE),
                                       to_exchange=policy.direction.writes(Side.EXCHANGE))
        if merged is None:
            continue
        plan, changes = merged
        record = item or event
        title = name or (str(record.fields.get("Subject") or "(no subject)") if record else "(no subject)")
        if plan.overflow:
            overflow.append(AttendeeOverflow(title, salesforce_id, exchange_id, len(plan.overflow)))
        kinds = {i.relation_id: i.kind.value for i in plan.invitees}
        rows = {row.relation_id: row for row in (event.fields.get("EventRelations") or () if event else ())}  # type: ignore[attr-defined]
        preview += [AttendeeChange(title, salesforce_id, exchange_id, "create_relation", i.relation_id, i.kind.value,
                                   i.status) for i in changes.create]
        preview += [AttendeeChange(title, salesforce_id, exchange_id, "update_relation", i.relation_id, i.kind.value,
                                   i.status) for i in changes.update_status]
        preview += [AttendeeChange(title, salesforce_id, exchange_id, "delete_relation", rid,
                                   kinds.get(rid) or rows[rid].relation_type) for rid in changes.delete]
        preview += [AttendeeChange(title, salesforce_id, exchange_id, "invite", email) for email in changes.invite]
        preview += [AttendeeChange(title, salesforce_id, exchange_id, "uninvite", email) for email in changes.uninvite]
    return tuple(preview), tuple(overflow)


def _invitees_moved(stores: EventStores, stored: Sequence[Pair], invitees_changed: Sequence[str],
                    known: dict[str, SourceRecord]) -> list[Pair]:
    """The pairs whose Salesforce invitees changed since the cursor (``invitees_changed``) and no
    longer are the pair's merge base. The others are echoes: the previous apply's own relation
    writes, which the change feed's overlap shows again, or a status, which flows from Exchange
    only; their items are not read (an item that changed is in the Exchange feed, and merges from
    there). The events the listing did not read are fetched into ``known`` (their relations)."""
    by_event = {p.salesforce_id: p for p in stored}
    pairs = [by_event[event_id] for event_id in invitees_changed if event_id in by_event]
    unread = sorted({p.salesforce_id for p in pairs if p.salesforce_id not in known})
    if unread:
        known.update({r.id: r for r in stores.salesforce.fetch(unread)})
    moved = []
    for pair in pairs:
        event = known.get(pair.salesforce_id)
        invitees = ({row.relation_id for row in event.fields.get("EventRelations") or () if row.is_invitee}  # type: ignore[attr-defined]
                    if event is not None else None)
        if invitees is None or SYNCED_ATTENDEES not in pair.base or invitees != set(synced_attendees(pair.base)):
            moved.append(pair)
    return moved


COPY_PAIR_REASON = ("the invitee's copy and child event of a meeting follow the organizer's event on each side; "
                    "nothing is written to them")


def settle_copy_pairs(actions: Sequence[Action], salesforce: SideSnapshot, exchange: SideSnapshot,
                      mailbox: str) -> list[Action]:
    """Actions on a pair of an invitee's copy and child event write nothing: Salesforce keeps the
    child in step with its parent (it refuses direct writes) and Exchange the copy with the
    organizer's item. A first match is stored as a pair (so the copy is never created as an event);
    a later change only moves the pair's versions; a side that went (a declined child) releases the
    pair without deleting the other copy."""
    by_id = {r.id: r for r in salesforce.records} | {r.id: r for r in exchange.records}

    def is_copy_pair(action: Action) -> bool:
        event, item = by_id.get(action.salesforce_id or ""), by_id.get(action.exchange_id or "")
        if event is not None and event.fields.get("IsChild"):
            return True
        return item is not None and not is_organizers_item(mailbox, item.fields.get("Organizer"),  # type: ignore[arg-type]
                                                           item.fields.get("MyResponseType"))  # type: ignore[arg-type]

    settled: list[Action] = []
    for action in actions:
        if not action.writes or not is_copy_pair(action) or action.kind in (ActionKind.CREATE_EXCHANGE,
                                                                             ActionKind.CREATE_SALESFORCE):
            settled.append(action)
            continue
        stored = action.next_pair
        if stored is not None:
            event, item = by_id.get(stored.salesforce_id), by_id.get(stored.exchange_id)
            stored = replace(stored, salesforce_version=event.version if event else stored.salesforce_version,
                             exchange_version=item.version if item else stored.exchange_version,
                             salesforce_hash=None, exchange_hash=None)
        kind = ActionKind.PAIR if action.kind is ActionKind.PAIR else ActionKind.SKIP
        settled.append(replace(action, kind=kind, reason=f"{action.reason}; {COPY_PAIR_REASON}" if kind is ActionKind.PAIR
                               else COPY_PAIR_REASON, changes=(), conflicts=(), salesforce_write=None,
                               exchange_write=None, next_pair=stored, tombstones=()))
    return settled
