"""Record plans: per user and object, refresh both sides, ask the sync core, run the guards.

A record plan changes nothing anywhere: the listings start from the stored cursors (a full listing
on the first sync or after a Reset Sync), the Exchange folder is looked up but never created, and
the cursors the listings reach travel in the plan, to be committed by apply once the user's actions
are done. Users are planned concurrently, each worker thread with connectors of its own.

Two things an incremental feed cannot show are added: the records an earlier apply deferred or
failed (the state's revisits, read by id), and, once a side's last full listing is older than
``full_resync_after``, the whole side (a full listing diffs ids against the pairs, finding deletes
the feed missed, such as Salesforce deletes purged from the recycle bin).

Salesforce's "what changed" is read once per connection, not per user, for contacts and events
alike (``org_feeds``): a no-change cycle then costs the same Salesforce calls for 20 users as for 2.
The users' own cursors stay the only stored positions. On the Exchange side a no-change cycle costs
each user one SyncFolderItems per synced folder (EWS has no cross-mailbox feed) and nothing more:
ResolveNames confirms only a mailbox no sync of the user has listed yet (``confirm_mailbox``); a
mailbox that went later is reported by its own listing (``MailboxNotFound``).

Contacts are planned here; other object types (events: ``engine/events.py``) come in through
``object_planners``, so that the mass-change guards count every object type of a configuration.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any


from reconciler.config import ConfigSet, ContactSettings, EventSettings, SyncConfiguration
from reconciler.connectors.errors import ConnectorError, CursorExpired, MailboxNotFound
from reconciler.connectors.salesforce import (DELETED_HORIZON, ChangeFeed, change_cursor_since,
                                              contact_filter_condition, decode_change_cursor)
from reconciler.connectors.salesforce_events import EventFeed, entered_slice, event_fields, read_event_feed
from reconciler.plan.records import UserRecordPlan, UserSyncStatus
from reconciler.state import PairRecord, StateStore, TombstoneRecord
from reconciler.sync import (CONTACT, OVER_LIMIT, ActionKind, ConflictPolicy, Decisions, DeletePolicies, DeletePolicy, Direction, FieldKind,
                             FieldOverride, Guard, GuardViolation, Limits, MappingError, ObjectType, Pair, RecordStore, Side, SideSnapshot,
                             SourceRecord, SyncPolicy, Tombstone, build_mapping, cycle_violations, decide)
from reconciler.sync.events import EVENT, EventWindow

from .roster import MailboxProblem, RosterEntry, build_roster, directory_lookup
from .runtime import Runtime

CONTACT_OBJECT = "contact"
EVENT_OBJECT = "event"
DEFAULT_PARALLEL = 4
# How old a side's last full listing may get before a plan lists it in full again (deletes a
# change feed missed, e.g. purged from the Salesforce recycle bin, then show as absent).
DEFAULT_FULL_RESYNC_AFTER = timedelta(hours=24)
Progress = Callable[[str], None]
# Plans one more object type of one user: (runtime, state, the cycle's roster, the user, reset?, now,
# the cycle's org feeds).
ObjectPlanner = Callable[[Runtime, StateStore, Sequence[RosterEntry], RosterEntry, bool, datetime, "CycleFeeds"],
                         UserRecordPlan]


def _silent(message: str) -> None:
    """The default progress sink: library callers that want no output pass nothing."""


# -- configuration -> sync core -----------------------------------------------------------------------

def object_policy(object_type: ObjectType, settings: ContactSettings | EventSettings,
                  configuration: SyncConfiguration) -> SyncPolicy:
    """The sync core's policy for one object block of a configuration (raises MappingError on a bad
    override). The limits are the configuration's, shared by its object types (the guards count all)."""
    overrides = [FieldOverride(m.salesforce_field, m.exchange_field, Direction(m.direction))
                 for m in settings.field_mappings]
    limits = configuration.limits
    return SyncPolicy(
        mapping=build_mapping(object_type, overrides, Direction(settings.direction)),
        conflict=ConflictPolicy(settings.conflict_policy),
        deletes=DeletePolicies(DeletePolicy(settings.deletes.salesforce_to_exchange),
                               DeletePolicy(settings.deletes.exchange_to_salesforce)),
        limits=Limits(limits.records_per_user, limits.max_changes, limits.max_deletes),
    )


def contact_policy(configuration: SyncConfiguration) -> SyncPolicy:
    """The sync core's policy for a configuration's contacts."""
    return object_policy(CONTACT, configuration.contacts, configuration)


def event_policy(configuration: SyncConfiguration) -> SyncPolicy:
    """The sync core's policy for a configuration's events."""
    return object_policy(EVENT, configuration.events, configuration)


def event_window(configuration: SyncConfiguration, now: datetime) -> EventWindow:
    """The configuration's event window this cycle (``pastDays`` / ``futureDays`` around now)."""
    data_set = configuration.events.data_set
    return EventWindow.around(now, data_set.past_days, data_set.future_days)


@dataclass(frozen=True)
class ContactStores:
    salesforce: RecordStore
    exchange: RecordStore


def salesforce_contact_fields(policy: SyncPolicy) -> list[str]:
    """The Salesforce fields a configuration's contacts read: exactly the mapped ones."""
    mapping = policy.mapping
    return sorted({f.name_on(Side.SALESFORCE) for f in mapping.fields}
                  | {f.name_on(Side.SALESFORCE, for_write=True) for f in mapping.fields})


def data_set_filters(configuration: SyncConfiguration) -> list[dict[str, Any]]:
    """The configuration's contact data-set filters in the connector's form."""
    return [{"field": rule.field, "operator": rule.operator,
             "value": list(rule.value) if isinstance(rule.value, tuple) else rule.value}
            for rule in configuration.contacts.data_set.filter]


def contact_stores(runtime: Runtime, configuration: SyncConfiguration, policy: SyncPolicy, owner_id: str,
                   mailbox: str, feeds: Mapping[str, ChangeFeed] | None = None) -> ContactStores:
    """This thread's record stores of one user's contacts: the configuration's data set in
    Salesforce (reading exactly the mapped fields; its incremental listing served by the cycle's
    org feed of that data set when ``feeds`` has one) and the mailbox's Salesforce_Sync folder."""
    filters = data_set_filters(configuration)
    feed = (feeds or {}).get(contact_filter_condition(filters))
    salesforce = runtime.salesforce(configuration.salesforce_connection).contact_store(
        owner_id, configuration.contacts.data_set.scope, filters, salesforce_contact_fields(policy), feed)
    exchange = runtime.exchange(configuration.exchange_connection).contact_store(mailbox)
    return ContactStores(salesforce, exchange)


# -- the org-wide Salesforce change feeds -------------------------------------------------------------

# Per Salesforce connection: its contact feeds by data-set filter, or why they could not be read.
OrgFeeds = Mapping[str, Mapping[str, ChangeFeed] | str]
# Per Salesforce connection: its event feed, or why it could not be read.
OrgEventFeeds = Mapping[str, EventFeed | str]


@dataclass(frozen=True)
class CycleFeeds:
    """What a plan reads once per Salesforce connection for every user, by object type."""

    contacts: OrgFeeds
    events: OrgEventFeeds


def _syncing_policy(entry: RosterEntry, settings_of: Callable[[SyncConfiguration], ContactSettings | EventSettings],
                    policy_of: Callable[[SyncConfiguration], SyncPolicy]) -> SyncPolicy | None:
    """The user's policy for an object type when the user syncs it this cycle (None: skipped,
    unassigned, direction none, or a mapping the user's own plan reports as broken)."""
    configuration = entry.configuration
    if (entry.skip_reason is not None or configuration is None or entry.salesforce_user is None
            or settings_of(configuration).direction == "none"):
        return None
    try:
        return policy_of(configuration)
    except MappingError:
        return None


def _incremental_cursor(store: StateStore, entry: RosterEntry, object_name: str, done: Mapping[str, int],
                        now: datetime, full_resync_after: timedelta | None) -> tuple[str, datetime] | None:
    """The user's Salesforce cursor of the object type and where its change window starts, when
    it lists incrementally this cycle; None when it lists in full (first sync, Reset Sync,
    periodic resync) or its cursor is past the 15-day getDeleted horizon (it lists on its own,
    and its CursorExpired makes that a full listing)."""
    if entry.reset_generation > done.get(entry.name, 0):
        return None
    cursor = store.cursor(entry.name, object_name, Side.SALESFORCE.value)
    if cursor is None or _full_listing_due(store, entry.name, {Side.SALESFORCE: cursor, Side.EXCHANGE: None},
                                           full_resync_after, now):
        return None
    since = change_cursor_since(cursor)
    return None if since is None or now - since > DELETED_HORIZON else (cursor, since)


def org_contact_feeds(runtime: Runtime, store: StateStore, roster: Sequence[RosterEntry], done: Mapping[str, int],
                      now: datetime, full_resync_after: timedelta | None) -> dict[str, dict[str, ChangeFeed] | str]:
    """One Salesforce change feed per connection for every user whose contacts list incrementally
    this cycle (``SalesforceConnector.change_feeds``): what changed costs O(data sets) calls, not
    O(users).

    No org cursor is stored: the feed starts at the oldest committed cursor of those users, and
    each user's own cursor still moves only with that user's commit. A user that fails keeps the
    feed's window wide for everyone (more records read, no extra calls) until the 15-day getDeleted
    horizon, beyond which that user lists on their own (CursorExpired, full listing) and the feed
    starts at the next-oldest cursor. Users listed in full (first sync, reset, periodic resync) are
    not counted here."""
    data_sets: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    starts: dict[str, datetime] = {}
    for entry in roster:
        policy = _syncing_policy(entry, lambda c: c.contacts, contact_policy)
        incremental = _incremental_cursor(store, entry, CONTACT_OBJECT, done, now, full_resync_after) if policy else None
        if policy is None or incremental is None or entry.configuration is None:
            continue
        configuration, since = entry.configuration, incremental[1]
        connection = configuration.salesforce_connection
        filter_condition = contact_filter_condition(data_set_filters(configuration))
        data_sets[connection][filter_condition].update(salesforce_contact_fields(policy))
        data_sets[connection][filter_condition].update(rule.field for rule in configuration.contacts.data_set.filter)
        starts[connection] = min(since, starts.get(connection, since))
    feeds: dict[str, dict[str, ChangeFeed] | str] = {}
    for connection, by_filter in data_sets.items():
        try:
            feeds[connection] = runtime.salesforce(connection).change_feeds(
                "Contact", {condition: sorted(fields) for condition, fields in by_filter.items()}, starts[connection])
        except CursorExpired:
            continue   # every user of the connection lists on their own, each cursor deciding
        except ConnectorError as error:
            feeds[connection] = f"the org's change feed: {error}"
    return feeds


def org_event_feeds(runtime: Runtime, store: StateStore, roster: Sequence[RosterEntry], done: Mapping[str, int],
                    now: datetime) -> dict[str, EventFeed | str]:
    """One event feed per Salesforce connection (``read_event_feed``) for every user whose events
    sync: their recurring series in one query, and, for those whose events list incrementally,
    one change query, one getDeleted and one invitee query over the whole org, from the oldest of
    their cursors, exactly as ``org_contact_feeds`` does for contacts (same cursors, same
    horizon, same fall-back: a user the feed does not cover lists on their own), plus, on the
    day their window moves, one query per new slice of days for all of them. Events have no
    periodic full listing."""
    owners: dict[str, set[str]] = defaultdict(set)
    fields: dict[str, set[str]] = defaultdict(set)
    starts: dict[str, datetime] = {}
    entered: dict[str, dict[EventWindow, list[str]]] = defaultdict(lambda: defaultdict(list))
    for entry in roster:
        policy = _syncing_policy(entry, lambda c: c.events, event_policy)
        if policy is None or entry.configuration is None or entry.salesforce_user is None:
            continue
        connection = entry.configuration.salesforce_connection
        owners[connection].add(entry.salesforce_user.id)
        fields[connection].update(event_fields(policy.mapping))
        incremental = _incremental_cursor(store, entry, EVENT_OBJECT, done, now, None)
        if incremental is None:
            continue
        cursor, since = incremental
        starts[connection] = min(since, starts.get(connection, since))
        days = entered_slice(decode_change_cursor(cursor), event_window(entry.configuration, now))
        if days is not None:
            entered[connection][days].append(entry.salesforce_user.id)
    feeds: dict[str, EventFeed | str] = {}
    for connection, owner_ids in owners.items():
        try:
            feeds[connection] = read_event_feed(runtime.salesforce(connection), sorted(owner_ids),
                                                sorted(fields[connection]), starts.get(connection), entered[connection])
        except ConnectorError as error:
            feeds[connection] = f"the org's event feed: {error}"
    return feeds


# -- state rows <-> sync core values --------------------------------------------------------------------

def pair_from_record(record: PairRecord) -> Pair:
    """A stored pair, as the sync core sees it (the store's row mirrors ``Pair`` field by field)."""
    return Pair(record.salesforce_id, record.exchange_id, record.salesforce_version, record.exchange_version,
                record.salesforce_hash, record.exchange_hash, dict(record.base), record.exchange_stamped)


def pair_to_record(pair: Pair) -> PairRecord:
    return PairRecord(pair.salesforce_id, pair.exchange_id, pair.salesforce_version, pair.exchange_version,
                      pair.salesforce_hash, pair.exchange_hash, dict(pair.base), pair.exchange_stamped)


def tombstone_from_record(record: TombstoneRecord) -> Tombstone:
    return Tombstone(Side(record.side), record.record_id, record.reason, record.deleted_at)


def tombstone_to_record(tombstone: Tombstone) -> TombstoneRecord:
    return TombstoneRecord(side=tombstone.side.value, record_id=tombstone.record_id,  # type: ignore[arg-type]
                           reason=tombstone.reason[:500], deleted_at=tombstone.at)


# -- listing -----------------------------------------------------------------------------------------

# What a plan entry says of a mailbox Exchange does not have, whoever found out (ResolveNames or a
# listing): the same words, with the fix.
MAILBOX_FIX = "check the user's mailbox address (User spec.mailbox or the Salesforce Email)"


def missing_mailbox(mailbox: str) -> MailboxProblem:
    """The plan entries' skip of a user whose mailbox Exchange does not have."""
    return MailboxProblem(UserSyncStatus.SKIPPED, f"no mailbox {mailbox} in Exchange (fix: {MAILBOX_FIX})")


@dataclass(frozen=True)
class Listing:
    """One side's records this cycle. ``cursor`` is where the next cycle resumes (None when the
    listing did not complete); ``error`` says why it did not."""

    snapshot: SideSnapshot
    cursor: str | None
    error: str | None


def list_side(store: RecordStore, cursor: str | None) -> Listing:
    """Page through the change feed from ``cursor`` (a full listing when None). A cursor the service
    no longer honours restarts as a full listing, whose absent paired records then count as gone.
    A failure is the listing's ``error``, except a mailbox Exchange says does not exist
    (``MailboxNotFound`` is raised: the user's plans of every object type report it)."""
    records: dict[str, SourceRecord] = {}
    deleted: set[str] = set()
    departed: set[str] = set()
    full = cursor is None
    current = cursor
    try:
        while True:
            try:
                page = store.list_changes(current)
            except CursorExpired:
                if full:
                    raise
                records.clear(), deleted.clear(), departed.clear()
                full, current = True, None
                continue
            for record in page.records:
                records[record.id] = record
                deleted.discard(record.id)
                departed.discard(record.id)
            for record_id in page.deleted_ids:
                records.pop(record_id, None)
                deleted.add(record_id)
            for record_id in page.departed_ids:
                records.pop(record_id, None)
                departed.add(record_id)
            current = page.cursor
            if page.complete:
                return Listing(SideSnapshot.of(records.values(), deleted=deleted, departed=departed, full=full),
                               current, None)
    except MailboxNotFound:
        raise
    except ConnectorError as error:
        return Listing(SideSnapshot.of(records.values(), deleted=deleted, departed=departed, full=False),
                       None, str(error))


def with_revisits(listing: Listing, store: RecordStore, ids: Sequence[str]) -> Listing:
    """An incremental listing plus the records an earlier apply deferred or failed (``ids``), read
    by id: the feed does not list again a change that was read but never carried over. Ids the
    listing already accounts for are not read twice; one that left the data set is departed, one
    that is gone is deleted (for a pair, its side's delete policy decides)."""
    snapshot = listing.snapshot
    seen = {r.id for r in snapshot.records} | snapshot.deleted_ids | snapshot.departed_ids
    wanted = [record_id for record_id in ids if record_id not in seen]
    if snapshot.full or listing.error is not None or not wanted:
        return listing
    try:
        found = store.look_up(wanted)
    except ConnectorError as error:
        return Listing(snapshot, None, str(error))
    return Listing(SideSnapshot(snapshot.records + tuple(found.records), snapshot.deleted_ids | set(found.missing_ids),
                                snapshot.departed_ids | set(found.departed_ids), full=False),
                   listing.cursor, None)


def _with_stamped_records(salesforce: Listing, exchange: Listing, stores: ContactStores, pairs: Sequence[Pair],
                          tombstones: Sequence[Tombstone]) -> Listing:
    """An incremental Salesforce listing plus the Salesforce records named by the stamps of unpaired
    Exchange items: an item created (stamped) by a run that died before committing its pair is
    paired by the stamp instead of being created again."""
    if salesforce.snapshot.full or salesforce.error is not None:
        return salesforce
    known = {p.salesforce_id for p in pairs} | {r.id for r in salesforce.snapshot.records}
    known |= {t.record_id for t in tombstones if t.side is Side.SALESFORCE}
    paired_exchange = {p.exchange_id for p in pairs}
    wanted = sorted({r.salesforce_id_stamp for r in exchange.snapshot.records
                     if r.salesforce_id_stamp and r.id not in paired_exchange and r.salesforce_id_stamp not in known})
    if not wanted:
        return salesforce
    try:
        fetched = stores.salesforce.fetch(wanted)   # only records in the user's data set come back
    except ConnectorError as error:
        return Listing(salesforce.snapshot, None, str(error))
    snapshot = salesforce.snapshot
    return Listing(SideSnapshot(snapshot.records + tuple(fetched), snapshot.deleted_ids, snapshot.departed_ids,
                                snapshot.full), salesforce.cursor, None)


def _account_lookups(policy: SyncPolicy, exchange: SideSnapshot, runtime: Runtime,
                     configuration: SyncConfiguration) -> dict[str, dict[str, list[str]]]:
    """Account ids by name for the company names Exchange shows, when a company may be written
    into Salesforce (one query; none when no Exchange contact changed)."""
    if not policy.direction.writes(Side.SALESFORCE):
        return {}
    lookups: dict[str, dict[str, list[str]]] = {}
    for mapped in policy.mapping.fields:
        if mapped.kind is not FieldKind.LOOKUP or not mapped.lookup_object:
            continue
        names = sorted({str(r.fields[mapped.exchange_field]) for r in exchange.records
                        if r.fields.get(mapped.exchange_field)})
        if not names or mapped.lookup_object != "Account":
            continue
        found = runtime.salesforce(configuration.salesforce_connection).accounts_by_name(names)
        lookups[mapped.lookup_object] = {name: [account_id] if account_id else [] for name, account_id in found.items()}
    return lookups


_CREATES_IN = {Side.SALESFORCE: ActionKind.CREATE_SALESFORCE, Side.EXCHANGE: ActionKind.CREATE_EXCHANGE}


def _decide(policy: SyncPolicy, runtime: Runtime, configuration: SyncConfiguration, stores: ContactStores,
            pairs: Sequence[Pair], tombstones: Sequence[Tombstone], salesforce: Listing, exchange: Listing,
            now: datetime) -> tuple[Listing, Listing, Decisions] | str:
    """Stamped records, account look-ups, then the sync core; a connector failure comes back as its message."""
    salesforce = _with_stamped_records(salesforce, exchange, stores, pairs, tombstones)
    try:
        lookups = _account_lookups(policy, exchange.snapshot, runtime, configuration)
    except ConnectorError as error:
        return str(error)
    errors = salesforce.error is not None or exchange.error is not None
    decisions = decide(policy, pairs, salesforce.snapshot, exchange.snapshot, tombstones, lookups=lookups,
                       listing_errors=errors, now=now)
    return salesforce, exchange, decisions


# -- one user --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PlanStart:
    """What a user's plan of one object type starts from once the user may sync it."""

    base: dict[str, Any]
    configuration: SyncConfiguration
    policy: SyncPolicy


def start_user_plan(runtime: Runtime, entry: RosterEntry, object_name: str, label: str,
                    settings_of: Callable[[SyncConfiguration], ContactSettings | EventSettings],
                    policy_of: Callable[[SyncConfiguration], SyncPolicy]) -> PlanStart | UserRecordPlan:
    """The checks every object type's per-user plan begins with, in one place: a skipped or
    unassigned user, an object that does not sync, a bad field mapping, the user's mailbox problem
    (``confirm_mailbox``, once per user and cycle). Returns the finished (skipped or failed) plan
    entry, or what planning goes on from. Makes no call."""
    base: dict[str, Any] = dict(user=entry.name, object=object_name, mailbox=entry.mailbox,
                                configuration=entry.configuration.name if entry.configuration else None)
    if entry.skip_reason is not None or entry.configuration is None or entry.salesforce_user is None:
        return UserRecordPlan(status=UserSyncStatus.SKIPPED, reason=entry.skip_reason or "not assigned", **base)
    configuration = entry.configuration
    if settings_of(configuration).direction == "none":
        return UserRecordPlan(status=UserSyncStatus.SKIPPED, reason=f"{label} do not sync (direction: none)", **base)
    assert entry.mailbox is not None
    try:
        policy = policy_of(configuration)
    except MappingError as error:
        return UserRecordPlan(status=UserSyncStatus.ERROR, reason=f"field mapping: {error}", **base)
    if entry.mailbox_problem is not None:
        return UserRecordPlan(status=entry.mailbox_problem.status, reason=entry.mailbox_problem.reason, **base)
    return PlanStart(base, configuration, policy)


def confirm_mailbox(runtime: Runtime, entry: RosterEntry, synced_mailbox: str | None) -> RosterEntry:
    """The entry with its ``mailbox_problem`` when ResolveNames finds no such mailbox or fails.

    ResolveNames is asked once per user and cycle, whatever the user's object types, and only
    where it tells something: for a mailbox no sync of the user has listed yet (``synced_mailbox``
    is ``StateStore.synced_mailboxes``' entry: none on the first sync, after a Reset Sync, or once
    the user's mailbox changed), so that a wrong address is reported plainly before anything is
    listed. A mailbox synced before is listed straight away: had it gone, its listing answers
    ErrorNonExistentMailbox (``MailboxNotFound``), reported in the same words; the skipped contact
    entry then unlinks the user, so the next cycle asks ResolveNames again. Nothing is asked for a
    user with nothing to list (skipped, or no object type syncing)."""
    configuration = entry.configuration
    if entry.mailbox is None or configuration is None or (synced_mailbox or "").lower() == entry.mailbox.lower():
        return entry
    if all(_syncing_policy(entry, settings_of, policy_of) is None for settings_of, policy_of in
           ((lambda c: c.contacts, contact_policy), (lambda c: c.events, event_policy))):
        return entry
    try:
        found = runtime.exchange(configuration.exchange_connection).resolve_mailbox(entry.mailbox)
    except ConnectorError as error:
        return replace(entry, mailbox_problem=MailboxProblem(UserSyncStatus.ERROR, str(error)))
    return entry if found is not None else replace(entry, mailbox_problem=missing_mailbox(entry.mailbox))


def plan_user_contacts(runtime: Runtime, store: StateStore, entry: RosterEntry, reset: bool,
                       now: datetime, full_resync_after: timedelta | None = DEFAULT_FULL_RESYNC_AFTER,
                       org_feeds: OrgFeeds | None = None) -> UserRecordPlan:
    """The contact plan of one user (a connector failure is the entry's status, except a mailbox
    Exchange says does not exist: ``MailboxNotFound``, which ``plan_records`` reports for every
    object type of the user). ``org_feeds`` (``org_contact_feeds``) serve the incremental
    Salesforce listing; without them the user's store asks Salesforce itself."""
    start = start_user_plan(runtime, entry, CONTACT_OBJECT, "contacts", lambda c: c.contacts, contact_policy)
    if isinstance(start, UserRecordPlan):
        return start
    base, configuration, policy = start.base, start.configuration, start.policy
    assert entry.salesforce_user is not None and entry.mailbox is not None
    owner_id = entry.salesforce_user.id
    try:
        org_feed = (org_feeds or {}).get(configuration.salesforce_connection)
        stores = contact_stores(runtime, configuration, policy, owner_id, entry.mailbox,
                                None if isinstance(org_feed, str) else org_feed)
    except ConnectorError as error:
        return UserRecordPlan(status=UserSyncStatus.ERROR, reason=str(error), **base)

    pairs = [] if reset else [pair_from_record(r) for r in store.pairs(entry.name, CONTACT_OBJECT)]
    tombstones = [tombstone_from_record(r) for r in store.tombstones(entry.name, CONTACT_OBJECT)]
    start = {side: (None if reset else store.cursor(entry.name, CONTACT_OBJECT, side.value)) for side in Side}
    revisits = () if reset else tuple((ref.side, ref.record_id) for ref in store.revisits(entry.name, CONTACT_OBJECT))
    due = _full_listing_due(store, entry.name, start, full_resync_after, now)
    side_stores = {Side.SALESFORCE: stores.salesforce, Side.EXCHANGE: stores.exchange}

    def listed(side: Side, cursor: str | None) -> Listing:
        if side is Side.SALESFORCE and cursor is not None and isinstance(org_feed, str):
            # The org feed failed: asking again per user would multiply the failing calls.
            return Listing(SideSnapshot.of((), full=False), None, org_feed)
        listing = list_side(side_stores[side], cursor)
        return with_revisits(listing, side_stores[side], [i for s, i in revisits if s == side.value])

    listings = {side: listed(side, None if side in due else start[side]) for side in Side}
    decided = _decide(policy, runtime, configuration, stores, pairs, tombstones, listings[Side.SALESFORCE],
                      listings[Side.EXCHANGE], now)
    if isinstance(decided, str):
        return UserRecordPlan(status=UserSyncStatus.ERROR, reason=decided, **base)
    salesforce, exchange, decisions = decided
    relist = {side: listing for side, listing in ((Side.SALESFORCE, salesforce), (Side.EXCHANGE, exchange))
              if not listing.snapshot.full and listing.error is None
              and any(a.kind is _CREATES_IN[side] for a in decisions.actions)}
    if relist:
        # An incremental listing shows only what changed: an unchanged, unpaired twin on the side
        # about to receive a create (a record left ambiguous, a window read twice) is invisible
        # there. Creating is rare, so that side is listed in full and the cycle decided again.
        salesforce = list_side(stores.salesforce, None) if Side.SALESFORCE in relist else salesforce
        exchange = list_side(stores.exchange, None) if Side.EXCHANGE in relist else exchange
        decided = _decide(policy, runtime, configuration, stores, pairs, tombstones, salesforce, exchange, now)
        if isinstance(decided, str):
            return UserRecordPlan(status=UserSyncStatus.ERROR, reason=decided, **base)
        salesforce, exchange, decisions = decided
    errors = tuple(f"{side.value}: {listing.error}" for side, listing in
                   ((Side.SALESFORCE, salesforce), (Side.EXCHANGE, exchange)) if listing.error)
    waiting = any(a.reason == OVER_LIMIT for a in decisions.actions)
    next_cursors = {side.value: listing.cursor for side, listing in
                    ((Side.SALESFORCE, salesforce), (Side.EXCHANGE, exchange)) if listing.cursor is not None}
    return UserRecordPlan(
        status=UserSyncStatus.PLANNED, reason="; ".join(errors), direction=configuration.contacts.direction,
        salesforce_user_id=owner_id, reset=reset,
        start_cursors={side.value: cursor for side, cursor in start.items()},
        next_cursors=next_cursors, cursors_final=not errors and not waiting and len(next_cursors) == 2,
        listing_errors=errors, actions=decisions.actions, bookkeeping=decisions.bookkeeping,
        halt=decisions.halt, revisits=revisits,
        full_listings={side.value: now.isoformat() for side, listing in
                       ((Side.SALESFORCE, salesforce), (Side.EXCHANGE, exchange))
                       if listing.snapshot.full and listing.cursor is not None},
        **base,
    )


def _full_listing_due(store: StateStore, user: str, start: Mapping[Side, str | None],
                      full_resync_after: timedelta | None, now: datetime) -> set[Side]:
    """The sides with a cursor whose last full listing is older than ``full_resync_after`` (or not
    known): a change feed can miss deletes (Salesforce getDeleted after a recycle-bin purge), and
    only a full listing diffed against the pairs finds them. None turns the periodic listing off."""
    if full_resync_after is None:
        return set()
    due = set()
    for side in Side:
        if start[side] is None:
            continue
        listed_at = store.last_full_listing(user, CONTACT_OBJECT, side.value)  # type: ignore[arg-type]
        if listed_at is None or now - listed_at >= full_resync_after:
            due.add(side)
    return due


def _with_guards(entries: list[UserRecordPlan], config: ConfigSet) -> list[UserRecordPlan]:
    """Attach each configuration's mass-change violations (counted across its users) to the
    entries of the users they name."""
    by_configuration: dict[str, dict[str, list[Decisions]]] = defaultdict(dict)
    for entry in entries:
        if entry.status == UserSyncStatus.PLANNED and entry.configuration:
            by_configuration[entry.configuration].setdefault(entry.user, []).append(
                Decisions(entry.object, entry.actions, entry.bookkeeping, entry.halt))
    guards: dict[str, list[GuardViolation]] = defaultdict(list)
    for name, decisions in by_configuration.items():
        limits = contact_policy(config.configurations[name]).limits
        for violation in cycle_violations(decisions, limits):
            if violation.guard is Guard.EMPTY_SIDE:
                continue   # already the user's own ``halt``
            for user in violation.users:
                guards[user].append(violation)
    return [replace(entry, guards=tuple(guards[entry.user])) if guards.get(entry.user) else entry
            for entry in entries]


def completed_resets(store: StateStore) -> dict[str, int]:
    """Per user the Reset Sync generation already carried out."""
    return {status.user: status.reset_completed_generation for status in store.user_statuses()}


def plan_records(config: ConfigSet, runtime: Runtime, store: StateStore, *, parallel: int = DEFAULT_PARALLEL,
                 progress: Progress = _silent, users: Iterable[str] | None = None,
                 full_resync_after: timedelta | None = DEFAULT_FULL_RESYNC_AFTER,
                 object_planners: Sequence[ObjectPlanner] = ()) -> list[UserRecordPlan]:
    """The record section of a plan: every user some active configuration reaches (and every declared
    user), planned concurrently, ``users`` restricting it to those names. A side whose last full
    listing is older than ``full_resync_after`` is listed in full (None: never periodically).
    ``object_planners`` plan further object types per user, after the contacts. A user's mailbox
    is confirmed once for all object types (``confirm_mailbox``); one whose listing finds it gone
    (``MailboxNotFound``) is skipped for every object type with the same words."""
    if not any(c.active for c in config.configurations.values()):
        return []
    roster = build_roster(config, directory_lookup(config, runtime))
    if users is not None:
        wanted = set(users)
        roster = [entry for entry in roster if entry.name in wanted]
    done = completed_resets(store)
    synced = store.synced_mailboxes()
    now = datetime.now(timezone.utc)
    progress(f"Refreshing {len(roster)} user{'s' if len(roster) != 1 else ''}...")
    feeds = CycleFeeds(org_contact_feeds(runtime, store, roster, done, now, full_resync_after),
                       org_event_feeds(runtime, store, roster, done, now))

    def plan_objects(entry: RosterEntry, reset: bool) -> list[UserRecordPlan]:
        return [plan_user_contacts(runtime, store, entry, reset, now, full_resync_after, feeds.contacts),
                *(planner(runtime, store, roster, entry, reset, now, feeds) for planner in object_planners)]

    def plan_one(entry: RosterEntry) -> list[UserRecordPlan]:
        reset = entry.reset_generation > done.get(entry.name, 0)
        entry = confirm_mailbox(runtime, entry, None if reset else synced.get(entry.name))
        try:
            return plan_objects(entry, reset)
        except MailboxNotFound:
            assert entry.mailbox is not None
            return plan_objects(replace(entry, mailbox_problem=missing_mailbox(entry.mailbox)), reset)

    with ThreadPoolExecutor(max_workers=max(parallel, 1), thread_name_prefix="plan") as pool:
        entries = [planned for group in pool.map(plan_one, roster) for planned in group]
    return _with_guards(entries, config)
