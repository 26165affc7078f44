"""Salesforce Events of one user, with their EventRelations, through the REST API.

Mirrors :class:`~reconciler.connectors.salesforce.SalesforceContactStore` (SOQL pages, an incremental
feed by SystemModstamp plus getDeleted, sObject collections of 200 with the versions re-read) and
reuses its connector and helpers. What differs, and why:

* the data set is the events the user OWNS inside the sync window (an event overlapping an edge is
  in), minus Salesforce recurring series (listed by :meth:`unsynced_series` with the reason) and,
  with ``privateEvents: skip``, minus private events;
* values are translated by :class:`~reconciler.sync.events.SalesforceEventCodec`, so the record's
  fields carry Salesforce names with canonical values (see :mod:`reconciler.sync.events`); with
  ``busy_only`` a private event's subject, description and location are masked and never written;
* each record also carries ``IsChild`` / ``IsGroupEvent`` / ``WhoId`` / ``OwnerId`` (unmapped facts
  the event rules read) and its ``EventRelations`` (read in batched IN-list queries, one per 200
  events listed, so a cycle without changes reads none);
* a child event (an invitee's copy Salesforce keeps in step with the organizer's event) is never
  written: it follows its parent;
* the cursor remembers the window it was made for: when the day moves the window, the next page
  also lists the slice of days that just entered it (events leaving it are not reported: leaving
  the window is not a delete);
* what changed is read once per connection and cycle for every user (:func:`read_event_feed`, the
  contacts' :meth:`~reconciler.connectors.salesforce.SalesforceConnector.change_feeds` for Event
  plus the invitee changes and recurring series): a store given that :class:`EventFeed` takes its
  share by owner, scope and window with no call of its own, and asks Salesforce itself only when
  the feed does not cover its cursor.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..sync.events import (EVENT, MASKED_KEYS, AttendeeDirectory, EventWindow, PrivateEvents, RelationKind, SalesforceEventCodec, masked,
                           salesforce_recurrence_reason, writable_into_masked)
from ..sync.mapping import FieldMapping, build_mapping
from ..sync.ports import ChangePage, CreateOp, DeleteOp, RecordStore, Side, SourceRecord, UpdateOp, WriteOp, WriteResult
from ..sync.time_rules import EventTimeError
from .batching import chunks, encode_cursor
from .errors import ConnectorError, CursorExpired, ErrorKind
from .salesforce import (COLLECTION_SIZE, IN_LIST_SIZE, ChangeFeed, SalesforceConnector, decode_change_cursor,
                         fill_versions, flatten_record, next_window_start, parse_stamp, require_deletes_reach, soql_field,
                         soql_literal, written_ids)

DEFAULT_EVENT_FIELDS: tuple[str, ...] = (
    "Subject", "StartDateTime", "EndDateTime", "IsAllDayEvent", "ActivityDate", "DurationInMinutes", "Location",
    "Description", "ShowAs", "IsPrivate", "IsReminderSet", "ReminderDateTime",
)
EVENT_FACTS: tuple[str, ...] = ("OwnerId", "WhoId", "IsChild", "IsGroupEvent", "IsRecurrence")
DEFAULT_MASKED_NAMES: dict[str, str] = {
    key: build_mapping(EVENT).field(key).name_on(Side.SALESFORCE) for key in MASKED_KEYS}
_SYSTEM = ("Id", "SystemModstamp", "LastModifiedDate")
_RELATION_FIELDS = "Id, EventId, RelationId, Relation.Type, Relation.Email, Status, IsInvitee"


@dataclass(frozen=True)
class EventRelationRow:
    """One EventRelation (an invitee, or the WhoId/WhatId link when ``is_invitee`` is False)."""

    id: str
    event_id: str
    relation_id: str
    relation_type: str | None
    email: str | None
    status: str | None
    is_invitee: bool


@dataclass(frozen=True)
class UnsyncedEvent:
    """An event of the user's data set that is deliberately not synced, for the plan."""

    id: str
    subject: str | None
    reason: str


def event_fields(mapping: FieldMapping) -> tuple[str, ...]:
    """The Event fields a store of this mapping reads besides ids, versions and facts: the defaults
    (the codec needs them all, whatever the mapping) and every mapped Salesforce field."""
    return tuple(dict.fromkeys([*DEFAULT_EVENT_FIELDS, *(f.name_on(Side.SALESFORCE) for f in mapping.fields)]))


def window_condition(window: EventWindow) -> str:
    """SOQL for "overlaps the window". Timed events compare instants; all-day events compare their
    first day (ActivityDate, no zone) and their last day (EndDateTime is midnight UTC of it)."""
    start, end = soql_literal(window.start), soql_literal(window.end)
    return (f"((IsAllDayEvent = false AND StartDateTime < {end} AND EndDateTime > {start}) OR "
            f"(IsAllDayEvent = true AND ActivityDate < {window.end_day.isoformat()} AND EndDateTime >= {start}))")


def entered_slice(state: Mapping[str, Any], window: EventWindow) -> EventWindow | None:
    """The days that entered ``window`` since the cursor (its decoded ``state``) was made: the
    window moves daily, and those days are listed once, in full."""
    previous_end = dt.datetime.fromisoformat(str(state["window_end"]))
    if window.end <= previous_end:
        return None
    return EventWindow(max(previous_end, window.start), window.end)


def overlaps_window(row: Mapping[str, Any], window: EventWindow) -> bool:
    """:func:`window_condition` on a record already read (a feed's row), with SOQL's rule that a
    comparison with null is false."""
    start, end = parse_stamp(row.get("StartDateTime")), parse_stamp(row.get("EndDateTime"))
    if row.get("IsAllDayEvent"):
        first_day = row.get("ActivityDate")
        return (first_day is not None and end is not None and str(first_day) < window.end_day.isoformat()
                and end >= window.start)
    return start is not None and end is not None and start < window.end and end > window.start


def event_relations(connector: SalesforceConnector, event_ids: Sequence[str]) -> dict[str, list[EventRelationRow]]:
    """EventRelations of the events (invitees and WhoId/WhatId links), one query per 200 events."""
    found: dict[str, list[EventRelationRow]] = {}
    for chunk in chunks(list(dict.fromkeys(event_ids)), IN_LIST_SIZE):
        soql = (f"SELECT {_RELATION_FIELDS} FROM EventRelation WHERE EventId IN "
                f"({', '.join(soql_literal(i) for i in chunk)}) ORDER BY EventId, RelationId")
        for row in connector.query_all(soql, "reading event invitees"):
            found.setdefault(row["EventId"], []).append(EventRelationRow(
                id=row["Id"], event_id=row["EventId"], relation_id=row["RelationId"],
                relation_type=row.get("Relation.Type"), email=row.get("Relation.Email"),
                status=row.get("Status"), is_invitee=bool(row.get("IsInvitee"))))
    return found


@dataclass(frozen=True)
class InviteeChange:
    """An invitee EventRelation added, changed or deleted (``stamp`` its SystemModstamp)."""

    event_id: str
    owner_id: str | None
    stamp: dt.datetime | None


def invitee_changes(connector: SalesforceConnector, since: dt.datetime) -> list[InviteeChange]:
    """The org's invitee EventRelations changed since ``since``, deleted ones included (one
    queryAll). Adding or removing an invitee does not move the Event's SystemModstamp once it is
    a group event, so an Event change feed does not show it; this does."""
    soql = (f"SELECT EventId, Event.OwnerId, SystemModstamp FROM EventRelation WHERE IsInvitee = true AND "
            f"SystemModstamp > {soql_literal(since)}")
    answer = connector.call("listing changed event invitees", lambda sf: sf.query_all(soql, include_deleted=True))
    return [InviteeChange(str(row["EventId"]), (row.get("Event") or {}).get("OwnerId"),
                          parse_stamp(row.get("SystemModstamp"))) for row in answer.get("records", [])]


def recurring_series(connector: SalesforceConnector, owner_ids: Sequence[str]) -> dict[str, list[UnsyncedEvent]]:
    """The owners' Salesforce recurring series by owner (one query per 200 owners): reported in
    the plan with the reason, never synced."""
    found: dict[str, list[UnsyncedEvent]] = {}
    reason = salesforce_recurrence_reason(True) or ""
    for chunk in chunks(sorted(set(owner_ids)), IN_LIST_SIZE):
        soql = (f"SELECT Id, Subject, OwnerId FROM Event WHERE IsRecurrence = true AND OwnerId IN "
                f"({', '.join(soql_literal(o) for o in chunk)}) ORDER BY Id")
        for row in connector.query_all(soql, "listing recurring events"):
            found.setdefault(str(row["OwnerId"]), []).append(UnsyncedEvent(row["Id"], row.get("Subject"), reason))
    return found


@dataclass(frozen=True)
class EnteredDays:
    """The events of ``owners`` (every owner's rows, recurring series excluded) in days that just
    entered their window, read once for all of them."""

    window: EventWindow
    owners: frozenset[str]
    rows: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class EventFeed:
    """What one cycle reads once per Salesforce connection for the events of many users
    (:func:`read_event_feed`), so that a cycle without changes costs the same calls for 3 users
    as for 300.

    ``owners`` are the users it was read for: their recurring ``series`` (by owner), and, when
    some of them list incrementally, ``changes`` (the Event :class:`ChangeFeed` since the oldest
    of their cursors, every owner's rows: a row outside a user's scope is a departure for that
    user), the days that entered their windows since their cursors (``entered``, once a day), the
    EventRelations of the events listed for those owners (``relations``), and the ``invitees``
    changed since the oldest cursor."""

    owners: frozenset[str]
    series: Mapping[str, tuple[UnsyncedEvent, ...]]
    changes: ChangeFeed | None = None
    entered: tuple[EnteredDays, ...] = ()
    relations: Mapping[str, tuple[EventRelationRow, ...]] = field(default_factory=dict)
    invitees: tuple[InviteeChange, ...] = ()

    def serves(self, owner_id: str, since: dt.datetime | None, fields: Sequence[str] = ()) -> bool:
        """This feed answers for the owner's store whose cursor starts at ``since`` (None: asking
        only for the series) reading ``fields``."""
        if owner_id not in self.owners:
            return False
        return since is None or (self.changes is not None and self.changes.serves("", since, fields))


def read_event_feed(connector: SalesforceConnector, owner_ids: Sequence[str], fields: Sequence[str],
                    since: dt.datetime | None,
                    entered: Mapping[EventWindow, Sequence[str]] | None = None) -> EventFeed:
    """Read the :class:`EventFeed` of these owners: one query per 200 owners for their recurring
    series and, with a ``since`` (the oldest incremental cursor among them), one getDeleted, one
    change query over every owner's Events (paged), one query per slice of days that entered
    some owners' window (``entered``: the slice -> its owners; none on most days), one query per
    200 events listed for these owners for their EventRelations (none without changes) and one
    queryAll of the invitee changes. ``fields`` are the event fields their stores read
    (:func:`event_fields`). When getDeleted no longer reaches ``since`` the feed carries the
    series only: every store then lists on its own, and its own cursor decides."""
    owners = frozenset(owner_ids)
    series = {owner: tuple(found) for owner, found in recurring_series(connector, sorted(owners)).items()}
    if since is None:
        return EventFeed(owners, series)
    try:
        changes = connector.change_feeds("Event", {"": [*EVENT_FACTS, *fields]}, since)[""]
    except CursorExpired:
        return EventFeed(owners, series)
    read = ", ".join(dict.fromkeys([*_SYSTEM, *EVENT_FACTS, *(soql_field(f) for f in fields)]))
    days: list[EnteredDays] = []
    for window, slice_owners in (entered or {}).items():
        rows: list[Mapping[str, Any]] = []
        for chunk in chunks(sorted(set(slice_owners)), IN_LIST_SIZE):
            rows += connector.query_all(
                f"SELECT {read} FROM Event WHERE OwnerId IN ({', '.join(soql_literal(o) for o in chunk)}) "
                f"AND IsRecurrence = false AND {window_condition(window)} ORDER BY Id",
                "listing events that entered the window")
        days.append(EnteredDays(window, frozenset(slice_owners), tuple(rows)))
    listed = [*changes.changed, *(row for slice_ in days for row in slice_.rows)]
    ours = [row["Id"] for row in listed if row.get("OwnerId") in owners and not row.get("IsRecurrence")]
    relations = event_relations(connector, ours) if ours else {}
    return EventFeed(owners, series, changes, tuple(days), {event: tuple(rows) for event, rows in relations.items()},
                     tuple(invitee_changes(connector, since)))


class SalesforceEventStore(RecordStore):
    """The Events one user owns inside the sync window. Version token: SystemModstamp."""

    side = Side.SALESFORCE

    def __init__(self, connector: SalesforceConnector, owner_id: str, window: EventWindow, user_zone: dt.tzinfo,
                 private_events: PrivateEvents = PrivateEvents.SKIP,
                 masked_names: Mapping[str, str] = DEFAULT_MASKED_NAMES,
                 fields: Sequence[str] = DEFAULT_EVENT_FIELDS, feed: EventFeed | None = None) -> None:
        self.connector = connector
        self.owner_id = owner_id
        self.window = window
        self.codec = SalesforceEventCodec(user_zone)
        self.private_events = private_events
        self.masked_names = dict(masked_names)
        self.fields = list(dict.fromkeys([*_SYSTEM, *EVENT_FACTS, *(soql_field(f) for f in fields)]))
        scope = [f"OwnerId = {soql_literal(owner_id)}", "IsRecurrence = false"]
        if private_events is PrivateEvents.SKIP:
            scope.append("IsPrivate = false")
        self.scope_condition = " AND ".join(scope)
        self.feed = feed

    @property
    def max_batch(self) -> int:
        return COLLECTION_SIZE

    def _select(self, where: str, order: str = "Id") -> str:
        return f"SELECT {', '.join(self.fields)} FROM Event WHERE {where} ORDER BY {order}"

    def _in_window(self, window: EventWindow | None = None) -> str:
        return f"{self.scope_condition} AND {window_condition(window or self.window)}"

    # -- reading ---------------------------------------------------------------------------------

    def _is_masked(self, raw: Mapping[str, Any]) -> bool:
        return self.private_events is PrivateEvents.BUSY_ONLY and bool(raw.get("IsPrivate"))

    def _fields(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        values = {name: raw.get(name) for name in self.fields if name not in _SYSTEM}
        try:
            fields = self.codec.read(values)
        except EventTimeError:
            # Unreadable times (no ActivityDate on an all-day event ...): the record still takes part,
            # without times, so it is neither matched by time nor taken for deleted.
            fields = {**values, "StartDateTime": None, "EndDateTime": None}
            fields.pop("ActivityDate", None), fields.pop("DurationInMinutes", None)
        return masked(fields, self.masked_names) if self._is_masked(raw) else fields

    def _records(self, rows: Sequence[Mapping[str, Any]],
                 relations: Mapping[str, Sequence[EventRelationRow]] | None = None) -> list[SourceRecord]:
        """Records of the rows with their EventRelations: ``relations`` when already read (the
        feed's), else one query per 200 rows."""
        flat = [flatten_record(row) for row in rows]
        if relations is None:
            relations = self.relations([row["Id"] for row in flat]) if flat else {}
        return [SourceRecord(id=row["Id"], version=row["SystemModstamp"],
                             fields={**self._fields(row), "EventRelations": tuple(relations.get(row["Id"], ()))},
                             modified_at=parse_stamp(row.get("LastModifiedDate")))
                for row in flat]

    def relations(self, event_ids: Sequence[str]) -> dict[str, list[EventRelationRow]]:
        """EventRelations of the events, one query per 200 events."""
        return event_relations(self.connector, event_ids)

    def _in_scope(self, row: Mapping[str, Any]) -> bool:
        """:attr:`scope_condition` on a row already read (a feed's)."""
        return (row.get("OwnerId") == self.owner_id and not row.get("IsRecurrence")
                and not (self.private_events is PrivateEvents.SKIP and row.get("IsPrivate")))

    def invitees_changed_since(self, cursor: str | None) -> list[str]:
        """Ids of this user's events whose invitee EventRelations were added, changed or deleted
        since ``cursor`` (a cursor of :meth:`list_changes`; none for a full listing's cursor).

        Adding or removing an invitee does not move the Event's SystemModstamp once it is a group
        event, so the event feed does not show it; the relations changed since the cursor do
        (:func:`invitee_changes`): taken from the cycle's feed when it covers the cursor, else one
        call of this store's own."""
        state = decode_change_cursor(cursor) if cursor else {}
        if state.get("phase") != "since" or state.get("locator") is not None:
            return []
        since = dt.datetime.fromisoformat(str(state["since"]))
        changed = (self.feed.invitees if self.feed is not None and self.feed.serves(self.owner_id, since)
                   else invitee_changes(self.connector, since))
        return sorted({change.event_id for change in changed
                       if change.owner_id == self.owner_id and (change.stamp is None or change.stamp > since)})

    def list_changes(self, cursor: str | None) -> ChangePage:
        state = decode_change_cursor(cursor) if cursor else {"v": 1, "phase": "full"}
        if state["phase"] == "full":
            return self._list_full(state)
        return self._list_since(state)

    def _window_state(self) -> dict[str, str]:
        return {"window_start": self.window.start.isoformat(), "window_end": self.window.end.isoformat()}

    def _list_full(self, state: dict[str, Any]) -> ChangePage:
        page = self.connector.query_page(self._select(self._in_window()), "listing events", state.get("locator"))
        started = next_window_start(self.connector, state)
        records = self._records(page.get("records", []))
        if not page.get("done", True) and page.get("nextRecordsUrl"):
            following = {"v": 1, "phase": "full", "locator": page["nextRecordsUrl"], "started": started}
            return ChangePage(records, [], encode_cursor(following), complete=False)
        done = {"v": 1, "phase": "since", "since": started, **self._window_state()}
        return ChangePage(records, [], encode_cursor(done), complete=True)

    def _entered_records(self, state: Mapping[str, Any], feed: EventFeed | None = None) -> list[SourceRecord]:
        """The events of the days that entered the window since the cursor (only when the day
        moved): the ``feed``'s when it read that slice for this owner, else one query."""
        entered = entered_slice(state, self.window)
        if entered is None:
            return []
        for days in feed.entered if feed is not None else ():
            if days.window == entered and self.owner_id in days.owners:
                return self._records([row for row in days.rows if self._in_scope(row)], feed.relations)
        return self._records(self.connector.query_all(self._select(self._in_window(entered)),
                                                      "listing events that entered the window"))

    def _list_since(self, state: dict[str, Any]) -> ChangePage:
        since = dt.datetime.fromisoformat(str(state["since"]))
        records: list[SourceRecord] = []
        deleted: list[str] = []
        departed: list[str] = []
        if state.get("locator") is None:
            require_deletes_reach(self.connector, since)
            if self.feed is not None and self.feed.serves(self.owner_id, since, self.fields):
                return self._list_from_feed(state, since)
            deleted = self.connector.deleted_ids("Event", since)
            departed = [row["Id"] for row in self.connector.query_all(
                f"SELECT Id FROM Event WHERE SystemModstamp > {soql_literal(since)} AND NOT ({self.scope_condition})",
                "listing events that left the data set")]
            records += self._entered_records(state)
        where = f"SystemModstamp > {soql_literal(since)} AND {self._in_window()}"
        started = next_window_start(self.connector, state)
        page = self.connector.query_page(self._select(where, "SystemModstamp, Id"), "listing changed events",
                                         state.get("locator"))
        records += self._records(page.get("records", []))
        if not page.get("done", True) and page.get("nextRecordsUrl"):
            following = {**state, "locator": page["nextRecordsUrl"], "started": started, **self._window_state()}
            return ChangePage(records, deleted, encode_cursor(following), complete=False, departed_ids=departed)
        done = {"v": 1, "phase": "since", "since": started, **self._window_state()}
        return ChangePage(records, deleted, encode_cursor(done), complete=True, departed_ids=departed)

    def _list_from_feed(self, state: Mapping[str, Any], since: dt.datetime) -> ChangePage:
        """This user's share of the cycle's feed, with no call of its own: the feed's rows in this
        store's scope and window changed inside this cursor's window are the changes; rows outside
        the scope (another owner's, a recurring series, a private event under ``skip``) are
        departures, which the sync core acts on only for the pairs it holds, like the per-user
        departures query's answer. A row in scope but outside the window is neither: leaving the
        window is not a delete."""
        assert self.feed is not None and self.feed.changes is not None
        changes = self.feed.changes
        changed, departed = changes.share(self._in_scope, since)
        rows = [row for row in changed if overlaps_window(row, self.window)]
        records = [*self._entered_records(state, self.feed), *self._records(rows, self.feed.relations)]
        done = {"v": 1, "phase": "since", "since": changes.next_since, **self._window_state()}
        return ChangePage(records, list(changes.deleted), encode_cursor(done), complete=True,
                          departed_ids=departed)

    def fetch(self, ids: Sequence[str]) -> list[SourceRecord]:
        """The named events still in the data set (owner, no recurring master, privacy), wherever
        they are in time: an event outside the window has left the window, not the data set."""
        records: list[SourceRecord] = []
        for chunk in chunks(list(dict.fromkeys(ids)), IN_LIST_SIZE):
            where = f"Id IN ({', '.join(soql_literal(i) for i in chunk)}) AND {self.scope_condition}"
            records += self._records(self.connector.query_all(self._select(where), "fetching events"))
        return records

    def unsynced_series(self) -> list[UnsyncedEvent]:
        """The user's Salesforce recurring series: reported in the plan, never synced (from the
        cycle's feed when it was read for this user, else one query)."""
        if self.feed is not None and self.feed.serves(self.owner_id, None):
            return list(self.feed.series.get(self.owner_id, ()))
        return recurring_series(self.connector, [self.owner_id]).get(self.owner_id, [])

    def attendee_directory(self, emails: Sequence[str]) -> AttendeeDirectory:
        """Active Users, unconverted Leads and Contacts by email (three queries per 200 emails):
        what :func:`reconciler.sync.events.plan_attendees` matches attendees against."""
        directory: dict[RelationKind, dict[str, list[str]]] = {kind: {} for kind in RelationKind}
        conditions = {RelationKind.USER: "IsActive = true", RelationKind.LEAD: "IsConverted = false",
                      RelationKind.CONTACT: None}
        for chunk in chunks(sorted({e.strip().lower() for e in emails if e and e.strip()}), IN_LIST_SIZE):
            listed = ", ".join(soql_literal(e) for e in chunk)
            for kind, extra in conditions.items():
                where = f"Email IN ({listed})" + (f" AND {extra}" if extra else "")
                for row in self.connector.query_all(f"SELECT Id, Email FROM {kind.value} WHERE {where} ORDER BY Id",
                                                    f"matching attendees to {kind.value}s"):
                    directory[kind].setdefault(str(row["Email"]).lower(), []).append(row["Id"])
        return directory

    # -- writing ---------------------------------------------------------------------------------

    def _current(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The records to update or delete, as they are now (version, facts, values for the codec)."""
        current: dict[str, dict[str, Any]] = {}
        for chunk in chunks(list(dict.fromkeys(ids)), IN_LIST_SIZE):
            where = f"Id IN ({', '.join(soql_literal(i) for i in chunk)})"
            for row in self.connector.query_all(self._select(where), "checking event versions"):
                current[row["Id"]] = row
        return current

    def _body(self, op: CreateOp | UpdateOp, existing: Mapping[str, Any] | None) -> dict[str, Any]:
        fields = dict(op.fields)
        if existing is not None and self._is_masked(existing):
            fields = writable_into_masked(fields, self.masked_names)
        known = None
        if existing is not None:
            values = {name: existing.get(name) for name in self.fields if name not in _SYSTEM}
            known = self.codec.read(values)
        body = self.codec.write(fields, known)
        for name in body:
            if "." in name:
                raise ConnectorError(ErrorKind.INVALID_REQUEST, f"cannot write the relationship field {name}",
                                     fix="map the Id field of the relationship instead")
        return body

    def write(self, batch: Sequence[WriteOp]) -> list[WriteResult]:
        """Creates (owned by the user), updates and deletes through sObject collections, after one
        query re-reading every record to update or delete: a moved record answers ``conflict``, a
        child event answers ``failed`` (it follows its organizer's event)."""
        if len(batch) > COLLECTION_SIZE:
            raise ValueError(f"a Salesforce write batch holds at most {COLLECTION_SIZE} ops, got {len(batch)}")
        results: list[WriteResult | None] = [None] * len(batch)
        guarded = [op.record_id for op in batch if isinstance(op, (UpdateOp, DeleteOp))]
        current = self._current(guarded) if guarded else {}
        creates: list[tuple[int, dict[str, Any]]] = []
        updates: list[tuple[int, dict[str, Any]]] = []
        deletes: list[tuple[int, str]] = []
        for index, op in enumerate(batch):
            existing = current.get(op.record_id) if isinstance(op, (UpdateOp, DeleteOp)) else None
            if isinstance(op, (UpdateOp, DeleteOp)):
                if existing is None:
                    results[index] = WriteResult.not_found()
                    continue
                if existing["SystemModstamp"] != op.expected_version:
                    results[index] = WriteResult.conflict("the event changed in Salesforce since the plan was made")
                    continue
                if existing.get("IsChild"):
                    results[index] = WriteResult.failed("a child event follows its organizer's event; it is "
                                                        "never written directly", retryable=False)
                    continue
            try:
                if isinstance(op, CreateOp):
                    body = {**self._body(op, None), "OwnerId": self.owner_id}
                    creates.append((index, {"attributes": {"type": "Event"}, **body}))
                elif isinstance(op, UpdateOp):
                    updates.append((index, {"attributes": {"type": "Event"}, "Id": op.record_id,
                                            **self._body(op, existing)}))
                else:
                    deletes.append((index, op.record_id))
            except (ConnectorError, EventTimeError, ValueError) as error:
                message = error.message if isinstance(error, ConnectorError) else str(error)
                results[index] = WriteResult.failed(message, retryable=False)
        self.connector.write_collections("Event", creates, updates, deletes, results)
        if creates or updates:
            fill_versions(results, self.connector.versions("Event", written_ids(results)))
        return [r if r is not None else WriteResult.failed("no result from Salesforce", retryable=True)
                for r in results]

    def write_relations(self, creates: Sequence[tuple[str, str, str]], status_updates: Sequence[tuple[str, str]],
                        deletes: Sequence[str]) -> list[WriteResult]:
        """EventRelation writes in collections of 200: ``creates`` (event id, relation id, status),
        ``status_updates`` (relation row id, status), ``deletes`` (relation row ids). One result per
        entry, in that order. Salesforce itself makes (and, on Declined, removes) the child event of
        an invited User; nothing here sends an invitation."""
        ops = len(creates) + len(status_updates) + len(deletes)
        if ops > COLLECTION_SIZE:
            raise ValueError(f"at most {COLLECTION_SIZE} relation writes per call, got {ops}")
        results: list[WriteResult | None] = [None] * ops
        create_items = [(i, {"attributes": {"type": "EventRelation"}, "EventId": event_id, "RelationId": relation_id,
                             "Status": status}) for i, (event_id, relation_id, status) in enumerate(creates)]
        offset = len(creates)
        update_items = [(offset + i, {"attributes": {"type": "EventRelation"}, "Id": row_id, "Status": status})
                        for i, (row_id, status) in enumerate(status_updates)]
        offset += len(status_updates)
        delete_items = [(offset + i, row_id) for i, row_id in enumerate(deletes)]
        self.connector.write_collections("EventRelation", create_items, update_items, delete_items, results)
        return [r if r is not None else WriteResult.failed("no result from Salesforce", retryable=True)
                for r in results]
