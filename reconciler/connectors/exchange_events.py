"""One mailbox's calendar over EWS, through exchangelib.

Shares the contact store's connector (authentication, impersonation, back-off, error translation),
its batched item calls with per-item results (:class:`~reconciler.connectors.exchange.MailboxItems`)
and the Salesforce Id stamp. Items keep their own zone; an item the sync creates is written in the
mailbox's own zone (Outlook's options, read once per store when first needed; see
:meth:`ExchangeCalendarStore.mailbox_zone`). How the two EWS reads combine:

* **CalendarView** over the sync window is the only read that expands series: every occurrence and
  exception inside the window comes back as an item of its own (type Occurrence / Exception, with
  its OriginalStart). A full listing is one CalendarView (plus GetItem for the text fields); a
  calendar with more items than the server answers at once is read in date slices.
* **SyncFolderItems** on the calendar folder is the change feed: masters and single items that
  changed since the state. A cycle with nothing to do is ONE SyncFolderItems call.
* A change to a recurring master (a moved or cancelled occurrence is a change of its master in EWS)
  can make occurrences vanish that only a fresh expansion shows: the store then answers
  :class:`SeriesChanged` (a :class:`CursorExpired`), the engine lists the window in full and the
  occurrences no longer there count as gone. The sync state read in that call is carried over, so
  the full listing costs one CalendarView, not a re-enumeration of the folder. To know which ids are
  masters (a delete carries nothing but the id) the cursor keeps short digests of the masters' ids.
* When the day moves the window, the slice of days that entered it is read by one more CalendarView;
  events that leave it are not reported (leaving the window is not a delete).

Occurrences are never stamped with the Salesforce Id: writing a property on an occurrence turns it
into an exception, which a later change of the series would not update. Their identity is the iCal
UID plus the original start (:class:`reconciler.sync.events.OccurrenceKey`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from exchangelib import CalendarItem, EWSDate, EWSDateTime, EWSTimeZone
from exchangelib import errors as ews_errors
from exchangelib.fields import FieldPath
from exchangelib.folders import Calendar, Root
from exchangelib.folders.queryset import SHALLOW
from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY, SEND_TO_NONE
from exchangelib.items.base import ID_ONLY
from exchangelib.properties import Attendee as EwsAttendee, Body, CalendarView, ItemId, Mailbox
from exchangelib.services import FindItem, SyncFolderItems

from ..sync.events import (MASKED_KEYS, Attendee, EventWindow, ExchangeEventCodec, ExchangeEventValues, ItemRole, PrivateEvents,
                           canonical_sensitivity, exchange_free_busy, exchange_sensitivity, masked, occurrence_key,
                           privacy_treatment, selected_by_category, writable_into_masked, Treatment)
from ..sync.ports import (ChangePage, CreateOp, DeleteOp, RecordStore, Side, SourceRecord, UpdateOp, WriteOp,
                          WriteResult)
from ..sync.time_rules import EventTimeError, instant_text
from .batching import CURSOR_FORMAT, decode_cursor, encode_cursor
from .errors import ConnectorError, CursorExpired, ErrorKind, translate
from .exchange import EWS_BATCH, STAMP_FIELD, SYNC_PAGE, ExchangeConnector, MailboxItems

DEFAULT_MASKED_NAMES: dict[str, str] = {key: key for key in MASKED_KEYS}   # canonical keys are Exchange names
_FETCH_FIELDS = ["subject", "start", "end", "is_all_day", "location", "body", "legacy_free_busy_status", "sensitivity",
                 "reminder_is_set", "reminder_minutes_before_start", "categories", "uid", "type", "original_start",
                 "organizer", "my_response_type", "is_cancelled", "required_attendees", "optional_attendees", "last_modified_time",
                 "_start_timezone", "_end_timezone", STAMP_FIELD]
_PLAIN = {"Subject": "subject", "Location": "location"}
_OCCURRENCE_ROLES = (ItemRole.OCCURRENCE.value, ItemRole.EXCEPTION.value)
# The most items one FindItem answers under Exchange's default throttling policy (EWSFindCountLimit,
# 1,000 on Exchange 2010 and later: "EWS throttling in Exchange", learn.microsoft.com). A server whose
# policy is lower answers fewer with IncludesLastItemInRange="false"; the limit cannot be queried.
VIEW_PAGE = 1000
# Exchange refuses a CalendarView spanning more than two years (ErrorCalendarViewRangeTooBig);
# 730 days never do, whatever the leap days. A window of up to 3,650 + 3,650 days takes several.
VIEW_SPAN = dt.timedelta(days=730)
# A slice this short that the server still cuts has more items at one moment than one FindItem answers.
SHORTEST_SLICE = dt.timedelta(minutes=1)


class CalendarViewPage(FindItem):
    """One FindItem with a CalendarView, ids only, asked ONCE, keeping the answer's
    IncludesLastItemInRange (as exchangelib's SyncFolderItems keeps it). A CalendarView cannot be
    paged by offset: given a cut answer, exchangelib's own paging would send the same view again and
    yield the same items again; the store splits the slice instead."""

    includes_last_item_in_range = True
    total_items_in_view = 0

    def _get_page(self, message: Any) -> tuple[Any, None]:
        page, _ = super()._get_page(message)
        container = message.find(self.paging_container_name)
        if container is not None:
            self.includes_last_item_in_range = container.get("IncludesLastItemInRange", "true").lower() in ("true", "1")
            self.total_items_in_view = int(container.get("TotalItemsInView") or 0)
        return page, None


class SeriesChanged(CursorExpired):
    """A recurring series changed: its occurrences are re-listed with the whole window."""


def _digest(item_id: str) -> str:
    """A short, stable stand-in for an item id in the cursor (ids are ~150 characters)."""
    return hashlib.sha256(item_id.encode()).hexdigest()[:16]


def _ews_zone(zone: dt.tzinfo) -> EWSTimeZone:
    return EWSTimeZone(str(getattr(zone, "key", "UTC")))


def _track_masters(changes: Sequence[tuple[str, str, str | None]], masters: set[str]) -> bool:
    """Keep the digests of recurring masters current; True when a series was created, changed or
    deleted (a delete names only an id: the digests tell whether it was a master)."""
    touched = False
    for change_type, item_id, role in changes:
        digest = _digest(item_id)
        if change_type == SyncFolderItems.DELETE:
            touched |= digest in masters
            masters.discard(digest)
        elif role == ItemRole.RECURRING_MASTER.value:
            masters.add(digest)
            touched = True
    return touched


def _ews_datetime(moment: dt.datetime, zone: EWSTimeZone) -> EWSDateTime:
    """An aware datetime as exchangelib's datetime in ``zone`` (the zone the item keeps)."""
    return EWSDateTime.from_datetime(_plain(moment).astimezone(ZoneInfo(zone.key)))


def _plain(value: Any) -> Any:
    """exchangelib's EWSDateTime / EWSDate as plain datetime (UTC) / date: its datetime refuses
    ``astimezone`` into standard-library zones."""
    if isinstance(value, dt.datetime):
        return dt.datetime.fromtimestamp(value.timestamp(), dt.timezone.utc)
    if isinstance(value, dt.date):
        return dt.date(value.year, value.month, value.day)
    return value


def _attendees(item: CalendarItem) -> tuple[Attendee, ...]:
    found = []
    for optional, listed in ((False, item.required_attendees), (True, item.optional_attendees)):
        for attendee in listed or []:
            if attendee.mailbox is not None and attendee.mailbox.email_address:
                found.append(Attendee(attendee.mailbox.email_address, attendee.response_type, optional))
    return tuple(found)


class ExchangeCalendarStore(RecordStore):
    """The calendar of one mailbox, restricted to the window, the category selection and the
    privacy mode. Version token: the ChangeKey. Besides the Exchange vocabulary, each record
    carries the facts the event rules read: ``UID``, ``CalendarItemType``, ``OriginalStart``,
    ``OccurrenceKey``, ``Organizer``, ``MyResponseType``, ``IsCancelled``, ``Categories`` and
    ``Attendees``."""

    side = Side.EXCHANGE

    def __init__(self, connector: ExchangeConnector, mailbox: str, window: EventWindow, fallback_zone: dt.tzinfo,
                 *, selection: str = "all", category: str | None = None,
                 private_events: PrivateEvents = PrivateEvents.SKIP, send_invitations: bool = False,
                 send_cancellations: bool = False, masked_names: Mapping[str, str] = DEFAULT_MASKED_NAMES) -> None:
        self.connector = connector
        self.mailbox = mailbox
        self.window = window
        # Instants and all-day dates read the same in any zone (exchangelib hands an all-day item's
        # dates over in the item's own zone), so reading never needs the mailbox's zone.
        self.codec = ExchangeEventCodec(fallback_zone)
        self.fallback_zone = fallback_zone
        self._mailbox_zone: dt.tzinfo | None = None
        self.selection = selection
        self.category = category
        self.private_events = private_events
        self.send_invitations = send_invitations
        self.send_cancellations = send_cancellations
        self.masked_names = dict(masked_names)
        self._carried: dict[str, Any] | None = None   # sync state read by the call that found a series change
        self.items = MailboxItems(connector, mailbox, "event")

    @property
    def max_batch(self) -> int:
        return EWS_BATCH

    def _call(self, context: str, action: Any) -> Any:
        return self.connector.call(context, action, mailbox=self.mailbox)

    def mailbox_zone(self) -> dt.tzinfo:
        """The zone an item without one of its own is written in (every item the sync creates): the
        mailbox's own zone, so an all-day item is midnight to midnight where the mailbox is and a
        timed one keeps the mailbox's wall-clock time across its DST changes. Asked once per store
        (one GetUserConfiguration), and only when an item needs it: a cycle that creates nothing
        makes no call. A mailbox without a zone of its own gets ``fallback_zone``, the zone the
        engine passed (the user's Salesforce zone)."""
        if self._mailbox_zone is None:
            self._mailbox_zone = self.connector.mailbox_zone(self.mailbox) or self.fallback_zone
        return self._mailbox_zone

    def _calendar(self, folder_id: str | None = None) -> Calendar:
        account = self.connector.account(self.mailbox)
        if folder_id:
            return Calendar(root=Root(account=account), id=folder_id)
        return self._call("opening the calendar", lambda: account.calendar)

    # -- reading ---------------------------------------------------------------------------------

    def _treatment(self, item: CalendarItem) -> Treatment:
        return privacy_treatment(self.private_events, canonical_sensitivity(item.sensitivity) == "Private")

    def _in_data_set(self, item: CalendarItem) -> bool:
        return (selected_by_category(item.categories, self.selection, self.category)
                and self._treatment(item) is not Treatment.SKIP)

    def _record(self, item: CalendarItem) -> SourceRecord:
        start, end = _plain(item.start), _plain(item.end)
        if item.is_all_day and isinstance(end, dt.date) and not isinstance(end, dt.datetime):
            end = end + dt.timedelta(days=1)   # exchangelib hands the LAST day of an all-day item; we count exclusive
        values = ExchangeEventValues(start, end, bool(item.is_all_day), item.legacy_free_busy_status, item.sensitivity,
                                     bool(item.reminder_is_set), item.reminder_minutes_before_start)
        try:
            fields: dict[str, Any] = self.codec.read(values)
        except EventTimeError:
            fields = {"Start": None, "End": None}
        fields.update({name: getattr(item, attr) or None for name, attr in _PLAIN.items()})
        fields["Body"] = str(item.body) if item.body else None
        role = item.type or ItemRole.SINGLE.value
        masked_item = self._treatment(item) is Treatment.MASK
        fields.update({
            "UID": item.uid, "CalendarItemType": role,
            "OriginalStart": instant_text(_plain(item.original_start)) if item.original_start else None,
            "OccurrenceKey": occurrence_key(item.uid, ItemRole(role), _plain(item.original_start)) if item.uid else None,
            "Organizer": item.organizer.email_address if item.organizer else None,
            "MyResponseType": item.my_response_type, "IsCancelled": bool(item.is_cancelled),
            "Categories": tuple(item.categories or ()),
            "Attendees": () if masked_item else _attendees(item),
        })
        if masked_item:
            fields = masked(fields, self.masked_names)
        modified = item.last_modified_time
        return SourceRecord(id=item.id, version=item.changekey, fields=fields,
                            salesforce_id_stamp=getattr(item, STAMP_FIELD) or None,
                            modified_at=_plain(modified) if modified else None,
                            stampable=role not in _OCCURRENCE_ROLES)

    def _view(self, window: EventWindow) -> list[SourceRecord]:
        """The records ``window`` shows (occurrences expanded, so never a master): CalendarView
        slices, then GetItem (:meth:`_items`)."""
        records = [self._record(item) for item in self._items(self._view_ids(window), "listing the calendar")
                   if self._in_data_set(item)]
        # CalendarView compares an all-day item's midnights in its zone with the window's UTC
        # bounds; the dates rule decides at the edges, as it does for Salesforce.
        return [record for record in records if self._overlaps(record, window)]

    def _view_ids(self, window: EventWindow) -> list[str]:
        """The id of every item the calendar shows in ``window``, read in date slices that each stay under the
        server's find count limit: first the whole window (two years at most a slice), and a slice
        the server cuts is split and read again, in as many equal parts as its TotalItemsInView
        needs pages of the size the server answered (halves when it refused the view without
        numbers); a part still cut is split again. A calendar under the limit costs ONE
        CalendarView. An item in two slices (a long event, one across a boundary) keeps the same id
        in both and is listed once."""
        calendar = self._calendar()
        pending: list[tuple[dt.datetime, dt.datetime]] = []
        start = window.start
        while start < window.end:
            pending.append((start, min(start + VIEW_SPAN, window.end)))
            start += VIEW_SPAN
        pending.reverse()   # read from the window's start on
        ids: dict[str, None] = {}
        while pending:
            start, end = pending.pop()
            found, total = self._view_slice(calendar, start, end)
            if total is None:
                ids.update(dict.fromkeys(found))
            elif end - start <= SHORTEST_SLICE:
                raise ConnectorError(
                    ErrorKind.CONFIGURATION, f"more calendar items of {self.mailbox} overlap {instant_text(start)} "
                    f"than one EWS FindItem answers (the throttling policy's EWSFindCountLimit)",
                    fix="raise EWSFindCountLimit in the throttling policy of the service account (Exchange on-premises)")
            else:
                parts = max(2, -(-total // len(found))) if found else 2
                step = (end - start) / parts
                pending += [(start + step * n, end if n == parts - 1 else start + step * (n + 1))
                            for n in reversed(range(parts))]
        return list(ids)

    def _view_slice(self, calendar: Calendar, start: dt.datetime, end: dt.datetime) -> tuple[list[str], int | None]:
        """One CalendarView from ``start`` to ``end``: the item ids, and None when the server
        answered them all, else the items it says the view holds (0 when it refused the view for
        its find count limit instead of cutting it)."""
        service = CalendarViewPage(account=self.connector.account(self.mailbox), page_size=VIEW_PAGE)
        view = CalendarView(start=EWSDateTime.from_datetime(start), end=EWSDateTime.from_datetime(end),
                            max_items=VIEW_PAGE)

        def find() -> tuple[list[Any], int | None]:
            try:
                found = list(service.call(folders=[calendar], additional_fields=None, restriction=None,
                                          order_fields=None, shape=ID_ONLY, query_string=None, depth=SHALLOW,
                                          calendar_view=view, max_items=VIEW_PAGE, offset=0))
            except ews_errors.ErrorExceededFindCountLimit:
                return [], 0
            return found, None if service.includes_last_item_in_range else service.total_items_in_view
        found, total = self._call("listing the calendar", find)
        ids = []
        for answer in found:
            if isinstance(answer, Exception):
                raise translate(answer, "listing the calendar", self.mailbox)
            ids.append(answer[0])
        return ids, total

    def _sync(self, folder: Calendar, state: str | None) -> tuple[list[tuple[str, str, str | None]], str | None, bool]:
        """One SyncFolderItems call: (change, item id, calendar item type), the new state, at end."""
        service = SyncFolderItems(account=self.connector.account(self.mailbox))
        type_field = {FieldPath(field=CalendarItem.get_field_by_fieldname("type"))}

        def sync() -> list[tuple[str, Any]]:
            return list(service.call(folder=folder, shape=ID_ONLY, additional_fields=type_field, sync_state=state,
                                     ignore=None, max_changes_returned=SYNC_PAGE, sync_scope=None))
        try:
            answers = self._call("listing calendar changes", sync)
        except ConnectorError as error:
            if isinstance(error.__cause__, (ews_errors.ErrorInvalidSyncStateData, ews_errors.ErrorFolderNotFound)):
                raise CursorExpired(ErrorKind.NOT_FOUND, f"the calendar sync state of {self.mailbox} is gone",
                                    fix="a full listing runs instead (list_changes(None))") from None
            raise
        changes = []
        for change_type, item in answers:
            if change_type == SyncFolderItems.DELETE:
                changes.append((change_type, item.id, None))
            elif change_type in (SyncFolderItems.CREATE, SyncFolderItems.UPDATE):
                changes.append((change_type, item.id, getattr(item, "type", None)))
        at_end = bool(service.includes_last_item_in_range) or service.sync_state == state
        return changes, service.sync_state, at_end

    def _cursor(self, folder: Calendar, state: str | None, masters: set[str]) -> str:
        return encode_cursor({"v": CURSOR_FORMAT, "folder": folder.id, "state": state, "masters": sorted(masters),
                               "window_end": self.window.end.isoformat()})

    def list_changes(self, cursor: str | None) -> ChangePage:
        if cursor is None:
            return self._list_full()
        return self._list_since(decode_cursor(cursor, "Exchange"))

    def _list_full(self) -> ChangePage:
        """The sync state first (changes made while the window is read are seen next cycle), then
        one CalendarView. Without a carried state the folder is enumerated once, ids only."""
        folder = self._calendar()
        if self._carried is not None:
            state, masters = self._carried["state"], set(self._carried["masters"])
            self._carried = None
        else:
            state, masters, at_end = None, set(), False
            while not at_end:
                changes, state, at_end = self._sync(folder, state)
                _track_masters(changes, masters)
        return ChangePage(self._view(self.window), [], self._cursor(folder, state, masters), complete=True)

    def _list_since(self, cursor: Mapping[str, Any]) -> ChangePage:
        folder = self._calendar(cursor.get("folder"))
        masters = set(cursor.get("masters") or ())
        changes, state, at_end = self._sync(folder, cursor.get("state"))
        series_changed = _track_masters(changes, masters)
        changed: dict[str, None] = {}
        deleted: list[str] = []
        for change_type, item_id, role in changes:
            if change_type == SyncFolderItems.DELETE:
                deleted.append(item_id)
                changed.pop(item_id, None)
            elif role != ItemRole.RECURRING_MASTER.value:
                changed[item_id] = None
        if series_changed:
            # Read the feed to its end so the carried state covers every change the full listing shows.
            while not at_end:
                more, state, at_end = self._sync(folder, state)
                _track_masters(more, masters)
            self._carried = {"state": state, "masters": sorted(masters)}
            raise SeriesChanged(ErrorKind.NOT_FOUND, f"a recurring series in {self.mailbox} changed",
                                fix="its occurrences are re-listed with the window (list_changes(None))")
        items = self._items(list(changed), "fetching changed calendar items")
        departed = [item.id for item in items if not self._in_data_set(item)]
        in_window = [r for r in (self._record(item) for item in items if self._in_data_set(item))
                     if self._overlaps(r, self.window)]
        previous_end = dt.datetime.fromisoformat(str(cursor.get("window_end") or self.window.end.isoformat()))
        if self.window.end > previous_end and at_end:
            entered = EventWindow(max(previous_end, self.window.start), self.window.end)
            known = {r.id for r in in_window}
            in_window += [r for r in self._view(entered) if r.id not in known]
        return ChangePage(in_window, deleted, self._cursor(folder, state, masters) if at_end else
                          encode_cursor({**cursor, "state": state, "masters": sorted(masters)}),
                          complete=at_end, departed_ids=departed)

    @staticmethod
    def _overlaps(record: SourceRecord, window: EventWindow) -> bool:
        start, end = record.fields.get("Start"), record.fields.get("End")
        return not isinstance(start, str) or not isinstance(end, str) or window.overlaps(start, end)

    def _items(self, ids: Sequence[str], context: str) -> list[CalendarItem]:
        """The named single items, occurrences and exceptions that still exist (masters are not records)."""
        items = []
        for item in self.items.get(ids, _FETCH_FIELDS, context).values():
            if isinstance(item, ews_errors.ErrorItemNotFound):
                continue
            if isinstance(item, Exception):
                raise translate(item, context, self.mailbox)
            if isinstance(item, CalendarItem) and item.type != ItemRole.RECURRING_MASTER.value:
                items.append(item)
        return items

    def fetch(self, ids: Sequence[str]) -> list[SourceRecord]:
        """The named items that still exist and belong to the data set (category, privacy)."""
        return [self._record(item) for item in self._items(ids, "fetching calendar items") if self._in_data_set(item)]

    # -- writing ---------------------------------------------------------------------------------

    def _apply(self, item: CalendarItem, fields: Mapping[str, Any], current: Mapping[str, Any] | None) -> list[str]:
        """Set canonical ``fields`` on ``item``; returns the exchangelib field names touched."""
        unknown = [name for name in fields if name not in ("Start", "End", "IsAllDayEvent", "Subject", "Location", "Body",
                                                          "LegacyFreeBusyStatus", "Sensitivity", "ReminderIsSet",
                                                          "ReminderMinutesBeforeStart")]
        if unknown:
            raise ConnectorError(ErrorKind.INVALID_REQUEST, f"unknown Exchange event fields: {', '.join(sorted(unknown))}",
                                 fix="use the Exchange event vocabulary (Subject, Start, End, Location ...)")
        touched: list[str] = []
        times = self.codec.write_times(fields, current)
        if times is not None:
            start, end, all_day = times
            zone = item._start_timezone or _ews_zone(self.mailbox_zone())
            item._start_timezone = item._end_timezone = zone
            if all_day:
                # exchangelib sends dates as midnight in the item's zone, the end as the LAST day.
                item.start, item.end = EWSDate.from_date(start), EWSDate.from_date(end - dt.timedelta(days=1))
            else:
                item.start, item.end = _ews_datetime(start, zone), _ews_datetime(end, zone)
            item.is_all_day = all_day
            touched += ["start", "end", "is_all_day", "_start_timezone", "_end_timezone"]
        for name, attr in _PLAIN.items():
            if name in fields:
                setattr(item, attr, fields[name] or None)
                touched.append(attr)
        if "Body" in fields:
            item.body = Body(str(fields["Body"])) if fields["Body"] else None
            touched.append("body")
        if "LegacyFreeBusyStatus" in fields:
            item.legacy_free_busy_status = exchange_free_busy(fields["LegacyFreeBusyStatus"])
            touched.append("legacy_free_busy_status")
        if "Sensitivity" in fields:
            item.sensitivity = exchange_sensitivity(fields["Sensitivity"])
            touched.append("sensitivity")
        if {"ReminderIsSet", "ReminderMinutesBeforeStart"} & set(fields):
            known = {**(current or {}), **fields}
            minutes = known.get("ReminderMinutesBeforeStart")
            item.reminder_is_set = str(known.get("ReminderIsSet")).lower() == "true" and minutes is not None
            if item.reminder_is_set:
                item.reminder_minutes_before_start = int(str(minutes))
            touched += ["reminder_is_set", "reminder_minutes_before_start"]
        return touched

    def write(self, batch: Sequence[WriteOp]) -> list[WriteResult]:
        """Creates by CreateItem, a meeting's attendees in the item itself (a create's ``Attendees``,
        a tuple of :class:`Attendee`: the Salesforce invitees of an event created here; invitations
        only when configured), updates by UpdateItem with the
        expected ChangeKey and NeverOverwrite, deletes by DeleteItem (cancellations only when
        configured), after one GetItem that checks the ChangeKeys (:meth:`MailboxItems.write`)."""
        return self.items.write(batch, _FETCH_FIELDS, self._create, self._update, self._delete)

    def _create(self, creates: list[tuple[int, CreateOp]], results: list[WriteResult | None]) -> None:
        account = self.connector.account(self.mailbox)
        folder = self._calendar()
        items = []
        for index, op in creates:
            item = CalendarItem(account=account, folder=folder)
            fields = {name: value for name, value in op.fields.items() if name != "Attendees"}
            try:
                self._apply(item, fields, None)
            except (ConnectorError, EventTimeError, ValueError) as error:
                results[index] = WriteResult.failed(getattr(error, "message", str(error)), retryable=False)
                continue
            if op.fields.get("Attendees"):
                item.required_attendees, item.optional_attendees = _ews_attendees(op.fields["Attendees"])
            if self.selection == "category" and self.category:
                item.categories = [self.category]   # made for this data set: it must stay in it
            if op.salesforce_id_stamp:
                setattr(item, STAMP_FIELD, op.salesforce_id_stamp)
            items.append((index, item))
        self.items.create("creating events", items, folder, self._invitations(), results)

    def _update(self, updates: list[tuple[int, UpdateOp, CalendarItem]], results: list[WriteResult | None]) -> None:
        edits = []
        for index, op, existing in updates:
            fields = dict(op.fields)
            if self._treatment(existing) is Treatment.MASK:
                fields = writable_into_masked(fields, self.masked_names)
            current = self._record(existing).fields
            try:
                touched = self._apply(existing, fields, current)
            except (ConnectorError, EventTimeError, ValueError) as error:
                results[index] = WriteResult.failed(getattr(error, "message", str(error)), retryable=False)
                continue
            if op.salesforce_id_stamp and existing.type not in _OCCURRENCE_ROLES:
                setattr(existing, STAMP_FIELD, op.salesforce_id_stamp)
                touched.append(STAMP_FIELD)
            edits.append((index, op, existing, touched))
        self.items.update("updating events", edits, self._invitations(), results)

    def _delete(self, deletes: list[tuple[int, DeleteOp]], results: list[WriteResult | None]) -> None:
        doomed = [(index, ItemId(id=op.record_id, changekey=op.expected_version)) for index, op in deletes]
        send = SEND_TO_ALL_AND_SAVE_COPY if self.send_cancellations else SEND_TO_NONE
        self.items.delete("deleting events", doomed, send, results)

    def _invitations(self) -> str:
        """Whether Exchange mails attendees a meeting's invitation or update (``sendInvitations``)."""
        return SEND_TO_ALL_AND_SAVE_COPY if self.send_invitations else SEND_TO_NONE

    def change_attendees(self, edits: Sequence[AttendeeEdit]) -> list[WriteResult]:
        """Add attendees (invitees added in Salesforce) to items and remove others (invitees removed
        there), each conditional on its ChangeKey: one GetItem and one UpdateItem (NeverOverwrite)
        per 100 items, one result per edit, in order (an item that moved answers ``conflict``).
        Exchange sends the invitations and updates only when ``sendInvitations`` is on; otherwise
        the attendee list only records the change. An edit that changes nothing costs no write."""
        current = self.items.get([edit.record_id for edit in edits], _FETCH_FIELDS,
                                 "reading events before changing attendees")
        results: list[WriteResult | None] = [None] * len(edits)
        changes = []
        for index, edit in enumerate(edits):
            item = current.get(edit.record_id)
            refused = self.items.refusal(item, edit.expected_version)
            if refused is not None:
                results[index] = refused
                continue
            touched = _edit_attendees(item, edit.add, edit.remove)
            changes.append((index, UpdateOp(edit.record_id, edit.expected_version, {}), item, touched))
        self.items.update("changing attendees", changes, self._invitations(), results)
        return [r if r is not None else WriteResult.failed("no result from Exchange", retryable=True) for r in results]


@dataclass(frozen=True)
class AttendeeEdit:
    """The attendees to add to and remove from one item, expected at ``expected_version``."""

    record_id: str
    expected_version: str
    add: Sequence[str]
    remove: Sequence[str]


def _ews_attendees(attendees: Sequence[Attendee]) -> tuple[list[EwsAttendee], list[EwsAttendee]]:
    """Required and optional EWS attendees of a new item, with no response yet."""
    return ([EwsAttendee(mailbox=Mailbox(email_address=a.email)) for a in attendees if not a.optional],
            [EwsAttendee(mailbox=Mailbox(email_address=a.email)) for a in attendees if a.optional])


def _edit_attendees(item: CalendarItem, add: Sequence[str], remove: Sequence[str]) -> list[str]:
    """Remove the ``remove`` addresses from ``item``'s attendees and add the ``add`` ones not there
    yet (as required); returns the exchangelib fields touched (none when nothing changed)."""
    removed = {email.lower() for email in remove}

    def kept(attendees: Sequence[EwsAttendee] | None) -> list[EwsAttendee]:
        return [a for a in attendees or [] if not (a.mailbox and (a.mailbox.email_address or "").lower() in removed)]

    required, optional = kept(item.required_attendees), kept(item.optional_attendees)
    present = {(a.mailbox.email_address or "").lower() for a in [*required, *optional] if a.mailbox}
    added = [EwsAttendee(mailbox=Mailbox(email_address=email)) for email in add if email.lower() not in present]
    if not added and len(required) == len(item.required_attendees or []) and \
            len(optional) == len(item.optional_attendees or []):
        return []
    item.required_attendees, item.optional_attendees = [*required, *added], optional
    return ["required_attendees", "optional_attendees"]
