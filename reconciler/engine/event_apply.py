"""Apply of the event entries of a plan: the contact executor's batches, plus the attendees.

The actions run through :class:`~reconciler.engine.executor._UserRun` exactly like contacts
(conditional writes, deferral, per-batch commits, cursors after a clean run). Then, for every
event this run created or updated and whose Exchange item is the organizer's, the attendees are
carried over (docs/event-rules.md, "Attendees"): Exchange attendees become EventRelations (User,
then Lead, then Contact; responses from Exchange), and on the first sync ``relateToRecords`` sets
WhoId; the invitees of a Salesforce event created in Exchange are added as attendees there
(Exchange sends invitations only when ``sendInvitations``). Relations are never deleted here: the
pairs keep no record of which attendees synced before, and a removal guessed wrong would drop an
invitee someone just added.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

from reconciler.config import ConfigSet, SyncConfiguration
from reconciler.connectors.errors import ConnectorError, ErrorKind
from reconciler.connectors.salesforce import SalesforceConnector, SalesforceUser, soql_literal
from reconciler.plan.records import UserRecordPlan, UserSyncStatus
from reconciler.state import StateStore
from reconciler.sync import ActionKind, Side, SyncPolicy, UpdateOp, WriteStatus
from reconciler.sync.events import (MATCH_ORDER, OUTSIDE_ORGANIZER_KINDS, Attendee, is_organizers_item,
                                    plan_attendees, related_record, relation_changes)

from .executor import RecordApplyOutcome, UserApplyResult, _record_status, _stale_cursors, _UserRun
from .events import EventStores, event_policy, event_stores
from .records import DEFAULT_PARALLEL, Progress, _silent, pair_from_record
from .runtime import Runtime

_FIRST_SYNC = (ActionKind.CREATE_SALESFORCE, ActionKind.CREATE_EXCHANGE, ActionKind.PAIR)


def apply_event_user(entry: UserRecordPlan, config: ConfigSet, runtime: Runtime, store: StateStore, *,
                     allow_mass_changes: bool, syncing_mailboxes: frozenset[str],
                     on_written: Callable[[int], None] = lambda n: None) -> UserApplyResult:
    """Carry out one user's event entry, then its attendees, and record the user's event status."""
    if entry.status == UserSyncStatus.SKIPPED:
        result = UserApplyResult(entry.user, entry.object, "disabled", error=f"skipped: {entry.reason}")
    elif entry.status == UserSyncStatus.ERROR:
        result = UserApplyResult(entry.user, entry.object, "error", error=entry.reason)
    elif entry.violations and not allow_mass_changes:
        messages = "; ".join(v.message for v in entry.violations)
        result = UserApplyResult(entry.user, entry.object, "error",
                                 error=f"stopped by a guard: {messages} (apply with --allow-mass-changes to override)")
    elif (stale := _stale_cursors(entry, store)) is not None:
        result = UserApplyResult(entry.user, entry.object, "error", error=stale)
    else:
        configuration = config.configurations[entry.configuration or ""]
        assert entry.salesforce_user_id is not None and entry.mailbox is not None
        try:
            policy = event_policy(configuration)
            stores = event_stores(runtime, configuration, policy, _owner(runtime, configuration, entry.salesforce_user_id),
                                  entry.mailbox, datetime.now(timezone.utc))
            if entry.reset:
                store.reset_user(entry.user, entry.object)  # type: ignore[arg-type]
            store.set_link(entry.user, linked=True, mailbox=entry.mailbox)
            result = _UserRun(entry, policy, stores, store, on_written).run()  # type: ignore[arg-type]
            problems = sync_attendees(entry, configuration, policy, stores, store, syncing_mailboxes, result)
            if problems:
                result.state = "error"
                result.error = "; ".join(filter(None, [result.error, *problems]))
        except ConnectorError as error:
            result = UserApplyResult(entry.user, entry.object, "error", error=str(error))
    _record_status(store, entry, result)
    return result


def _owner(runtime: Runtime, configuration: SyncConfiguration, owner_id: str) -> SalesforceUser:
    """The event owner as the directory knows them (their TimeZoneSidKey places all-day reminders)."""
    connector = runtime.salesforce(configuration.salesforce_connection)
    rows = connector.query_all(f"SELECT {SalesforceConnector._USER_FIELDS} FROM User WHERE Id = {soql_literal(owner_id)}",
                               "reading the event owner")
    if not rows:
        raise ConnectorError(ErrorKind.NOT_FOUND, f"no Salesforce user {owner_id}", fix="plan again")
    return SalesforceConnector._user(rows[0])


_RELATION_BATCH = 200


def sync_attendees(entry: UserRecordPlan, configuration: SyncConfiguration, policy: SyncPolicy, stores: EventStores,
                   store: StateStore, syncing_mailboxes: frozenset[str], result: UserApplyResult) -> list[str]:
    """Attendees of the events this run created, updated or paired; returns the failures.

    Only the events the run touched are read (two look-ups), so a cycle without changes makes no
    call here. Exchange -> Salesforce: attendees of the organizer's item (or of a meeting organised
    outside sync, Leads and Contacts only) become EventRelations with the Exchange response;
    WhoId on first sync with ``relateToRecords``. Salesforce -> Exchange: the invitees of a
    Salesforce event just created in Exchange are added as attendees."""
    settings = configuration.events
    if not (settings.attendees or settings.relate_to_records):
        return []
    touched: dict[str, ActionKind] = {}   # Salesforce id or Exchange id -> the action's kind
    for action in entry.actions:
        if action.writes or action.kind is ActionKind.PAIR:
            for record_id in (action.salesforce_id, action.exchange_id):
                if record_id:
                    touched[record_id] = action.kind
    for update in entry.bookkeeping:
        # A version that moved without a mapped change (an attendee answered) still carries responses.
        if update.store is not None:
            touched.setdefault(update.store.exchange_id, ActionKind.SKIP)
    pairs = [p for p in map(pair_from_record, store.pairs(entry.user, entry.object))
             if p.salesforce_id in touched or p.exchange_id in touched]
    if not pairs:
        return []
    mailbox = entry.mailbox or ""
    exchange = {r.id: r for r in stores.exchange.fetch([p.exchange_id for p in pairs])}
    salesforce = {r.id: r for r in stores.salesforce.fetch([p.salesforce_id for p in pairs])}
    emails = sorted({a.email for r in exchange.values() for a in r.fields.get("Attendees") or ()})
    directory = stores.salesforce.attendee_directory(emails) if emails and settings.attendees else {}
    creates: list[tuple[str, str, str]] = []
    updates: list[tuple[str, str]] = []
    who_ops: list[UpdateOp] = []
    problems: list[str] = []
    for pair in pairs:
        item, event = exchange.get(pair.exchange_id), salesforce.get(pair.salesforce_id)
        if item is None or event is None or event.fields.get("IsChild"):
            continue
        kind = touched.get(pair.salesforce_id) or touched.get(pair.exchange_id)
        organizer = item.fields.get("Organizer")
        if is_organizers_item(mailbox, organizer, item.fields.get("MyResponseType")):
            kinds = MATCH_ORDER
        elif str(organizer).lower() not in syncing_mailboxes:
            kinds = OUTSIDE_ORGANIZER_KINDS
        else:
            continue   # an invitee's copy: its child event follows the organizer's parent
        attendees: Sequence[Attendee] = item.fields.get("Attendees") or ()
        plan = plan_attendees(attendees, directory, exclude=[mailbox, str(organizer or "")], kinds=kinds)
        if plan.overflow:
            result.deferred.append(f"{len(plan.overflow)} attendees beyond the first 50 of event "
                                   f"{pair.salesforce_id} are not synced")
        rows = [row for row in event.fields.get("EventRelations") or () if row.is_invitee]
        if settings.attendees and policy.direction.writes(Side.SALESFORCE):
            changes = relation_changes(plan, {row.relation_id: row.status or "New" for row in rows}, synced=())
            row_ids = {row.relation_id: row.id for row in rows}
            creates += [(pair.salesforce_id, i.relation_id, i.status) for i in changes.create]
            updates += [(row_ids[i.relation_id], i.status) for i in changes.update_status]
        if (settings.relate_to_records and kind in _FIRST_SYNC and not event.fields.get("WhoId")
                and policy.direction.writes(Side.SALESFORCE) and (who := related_record(plan))):
            who_ops.append(UpdateOp(event.id, event.version, {"WhoId": who}))
        if settings.attendees and kind is ActionKind.CREATE_EXCHANGE and policy.direction.writes(Side.EXCHANGE):
            invitees = [row.email for row in rows if row.email]
            if invitees:
                answer = stores.exchange.invite(item.id, item.version, invitees)
                if answer.status is not WriteStatus.OK:
                    problems.append(f"inviting attendees to {item.id}: {answer.message}")
    # WhoId first: a relation write moves the event's SystemModstamp, the version WhoId's update expects.
    for start in range(0, len(who_ops), stores.salesforce.max_batch):
        answers = stores.salesforce.write(who_ops[start:start + stores.salesforce.max_batch])
        problems += [f"WhoId: {a.message}" for a in answers if a.status is not WriteStatus.OK]
    for start in range(0, max(len(creates), len(updates)), _RELATION_BATCH // 2):
        answers = stores.salesforce.write_relations(creates[start:start + _RELATION_BATCH // 2],
                                                    updates[start:start + _RELATION_BATCH // 2], ())
        problems += [f"EventRelation: {a.message}" for a in answers if a.status is not WriteStatus.OK]
    return problems


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
