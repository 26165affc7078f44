"""The Event object type and the pure event rules (reasons in docs/event-rules.md).

The generic engine maps fields one to one; events need values translated as well (ShowAs
``OutOfOffice`` is LegacyFreeBusyStatus ``OOF``, IsPrivate is a Sensitivity, a reminder is a moment in
Salesforce and minutes in Exchange, an all-day event is an ActivityDate in Salesforce and two
midnights in Exchange). The *codecs* below turn each side's raw values into canonical values under
the side's own field names, and back; the event connectors call them, so ``FieldMapping`` compares
plain strings and the echo rule (same canonical value -> no write) holds for events too:

* Start / End: see :mod:`.time_rules` (UTC instant text, or dates for all-day events);
* IsAllDayEvent, ReminderIsSet: ``"true"`` / ``"false"``; ReminderMinutesBeforeStart: minutes as text,
  ``None`` while no reminder is set;
* LegacyFreeBusyStatus: ``Busy`` | ``Free`` | ``OOF``; Sensitivity: ``Normal`` | ``Private``.

No clock, no I/O: ``now`` is passed in.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from .mapping import FieldKind, FieldMap
from .objects import CanonicalRecord, MatchRule, ObjectType
from .policy import Direction
from .status import BOOKKEEPING_PREFIX, Pair
from .time_rules import (UTC, EventSpan, EventTimeError, exchange_span, instant_text, is_date_text,
                         parse_instant, salesforce_span, salesforce_time_fields)

# -- the object type ---------------------------------------------------------------------------------

EVENT_EXCHANGE_FIELDS: dict[str, FieldKind] = {
    "Subject": FieldKind.TEXT,
    "Start": FieldKind.TEXT,
    "End": FieldKind.TEXT,
    "IsAllDayEvent": FieldKind.TEXT,
    "Location": FieldKind.TEXT,
    "Body": FieldKind.BODY,
    "LegacyFreeBusyStatus": FieldKind.TEXT,
    "Sensitivity": FieldKind.TEXT,
    "ReminderIsSet": FieldKind.TEXT,
    "ReminderMinutesBeforeStart": FieldKind.TEXT,
}


def _field(salesforce: str, exchange: str) -> FieldMap:
    return FieldMap(salesforce, exchange, EVENT_EXCHANGE_FIELDS[exchange], Direction.BOTH)


EVENT_DEFAULT_FIELDS: tuple[FieldMap, ...] = (
    _field("Subject", "Subject"),
    _field("StartDateTime", "Start"),
    _field("EndDateTime", "End"),
    _field("IsAllDayEvent", "IsAllDayEvent"),
    _field("Location", "Location"),
    _field("Description", "Body"),
    _field("ShowAs", "LegacyFreeBusyStatus"),
    _field("IsPrivate", "Sensitivity"),
    _field("IsReminderSet", "ReminderIsSet"),
    _field("ReminderDateTime", "ReminderMinutesBeforeStart"),
)


def _folded(text: object) -> str | None:
    if not isinstance(text, str):
        return None
    folded = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    return folded or None


def subject_start_end_key(record: CanonicalRecord) -> tuple[str | None, str, str] | None:
    """Same subject (case- and spacing-insensitive), same start, same end: the product's first-sync
    rule. An event without times never matches; an empty subject still matches on its times only
    together with another empty subject."""
    start, end = record.get("Start"), record.get("End")
    if not isinstance(start, str) or not isinstance(end, str):
        return None
    return (_folded(record.get("Subject")), start, end)


def event_display_name(record: CanonicalRecord) -> str:
    subject = record.get("Subject") or "(no subject)"
    start = record.get("Start")
    return f"{subject} ({start})" if start else str(subject)


EVENT = ObjectType(
    name="Event",
    exchange_fields=EVENT_EXCHANGE_FIELDS,
    default_fields=EVENT_DEFAULT_FIELDS,
    match_rules=(MatchRule("subject_start_end", subject_start_end_key),),
    display_name=event_display_name,
    # One time span: an event extended in Salesforce and moved in Exchange takes one side's span
    # whole (by the conflict policy), never the moved start with the extended end (docs/event-rules.md).
    merged_together=(frozenset({"Start", "End", "IsAllDayEvent"}),),
)


# -- value vocabularies --------------------------------------------------------------------------------

class FreeBusy(str, Enum):
    """The canonical free/busy values: the three both systems know."""

    BUSY = "Busy"
    FREE = "Free"
    OOF = "OOF"


# Exchange has six values, Salesforce three. The three extra Exchange values read as the nearest
# Salesforce value and are never written back unless Salesforce itself changes (see docs).
FREE_BUSY_FROM_EXCHANGE: dict[str, FreeBusy | None] = {
    "Busy": FreeBusy.BUSY, "Free": FreeBusy.FREE, "OOF": FreeBusy.OOF,
    "Tentative": FreeBusy.BUSY,          # the time is probably taken: never offer it as free
    "WorkingElsewhere": FreeBusy.FREE,   # working and reachable: bookable, so not Busy
    "NoData": None,                      # nothing known: let the other side's value stand
}
SHOW_AS_TO_CANONICAL: dict[str, FreeBusy] = {"Busy": FreeBusy.BUSY, "Free": FreeBusy.FREE, "OutOfOffice": FreeBusy.OOF}
SHOW_AS_FROM_CANONICAL: dict[FreeBusy, str] = {value: name for name, value in SHOW_AS_TO_CANONICAL.items()}

PRIVATE, NORMAL = "Private", "Normal"
# Confidential hides an item like Private does; Personal does not (delegates still see it).
PRIVATE_SENSITIVITIES = frozenset({"Private", "Confidential"})


def _flag(value: Any) -> str:
    if isinstance(value, str):
        return "true" if value.strip().lower() == "true" else "false"
    return "true" if value else "false"


def _is_true(value: Any) -> bool:
    return _flag(value) == "true"


def canonical_sensitivity(exchange_value: str | None) -> str:
    return PRIVATE if exchange_value in PRIVATE_SENSITIVITIES else NORMAL


# -- Salesforce codec -------------------------------------------------------------------------------

@dataclass(frozen=True)
class SalesforceEventCodec:
    """Raw Salesforce Event values <-> canonical values under Salesforce names.

    ``user_zone`` (the owner's TimeZoneSidKey) places an all-day event's reminder: "15 minutes
    before" an all-day event means before the owner's midnight. Fields the codec does not know
    (custom fields of an override) pass through unchanged."""

    user_zone: dt.tzinfo

    def read(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        fields = {name: value for name, value in raw.items() if name not in ("ActivityDate", "DurationInMinutes")}
        all_day = _is_true(raw.get("IsAllDayEvent"))
        span = salesforce_span(all_day=all_day, activity_date=raw.get("ActivityDate"),
                               duration_minutes=raw.get("DurationInMinutes"),
                               start=raw.get("StartDateTime"), end=raw.get("EndDateTime"))
        fields["StartDateTime"], fields["EndDateTime"] = span.start, span.end
        fields["IsAllDayEvent"] = _flag(all_day)
        show_as = raw.get("ShowAs")
        fields["ShowAs"] = SHOW_AS_TO_CANONICAL[show_as].value if show_as in SHOW_AS_TO_CANONICAL else None
        fields["IsPrivate"] = PRIVATE if _is_true(raw.get("IsPrivate")) else NORMAL
        reminder_set = _is_true(raw.get("IsReminderSet")) and bool(raw.get("ReminderDateTime"))
        fields["IsReminderSet"] = _flag(reminder_set)
        fields["ReminderDateTime"] = (
            str(self._minutes_before(span, parse_instant(raw["ReminderDateTime"]))) if reminder_set else None)
        return fields

    def _start_moment(self, span: EventSpan) -> dt.datetime:
        return span.instants(self.user_zone)[0]

    def _minutes_before(self, span: EventSpan, reminder: dt.datetime) -> int:
        return max(0, int((self._start_moment(span) - reminder).total_seconds() // 60))

    def write(self, fields: Mapping[str, Any], current: Mapping[str, Any] | None) -> dict[str, Any]:
        """Canonical values (an op's fields) -> the REST body. ``current`` is the record as
        :meth:`read` gave it (None for a create): a changed start needs the current end and reminder
        to be re-expressed, and a changed reminder needs the start."""
        known = dict(current or {})
        known.update(fields)
        body = {name: value for name, value in fields.items()
                if name not in ("StartDateTime", "EndDateTime", "IsAllDayEvent", "ShowAs", "IsPrivate",
                                "IsReminderSet", "ReminderDateTime")}
        span: EventSpan | None = None
        if {"StartDateTime", "EndDateTime", "IsAllDayEvent"} & set(fields):
            if not known.get("StartDateTime") or not known.get("EndDateTime"):
                raise EventTimeError("an event needs a start and an end")
            span = EventSpan(str(known["StartDateTime"]), str(known["EndDateTime"]))
            if is_date_text(span.start) != is_date_text(span.end):
                raise EventTimeError("start and end must both be dates or both be instants")
            body.update(salesforce_time_fields(span))
        if "ShowAs" in fields:
            value = fields["ShowAs"]
            body["ShowAs"] = SHOW_AS_FROM_CANONICAL[FreeBusy(value)] if value else "Busy"
        if "IsPrivate" in fields:
            body["IsPrivate"] = fields["IsPrivate"] == PRIVATE
        if {"IsReminderSet", "ReminderDateTime"} & set(fields) or (span is not None and known.get("ReminderDateTime")):
            reminder_set = _is_true(known.get("IsReminderSet")) and known.get("ReminderDateTime") is not None
            body["IsReminderSet"] = reminder_set
            if reminder_set:
                start = self._start_moment(EventSpan(str(known["StartDateTime"]), str(known["EndDateTime"])))
                minutes = int(str(known["ReminderDateTime"]))
                body["ReminderDateTime"] = instant_text(start - dt.timedelta(minutes=minutes))
            else:
                body["ReminderDateTime"] = None
        return body


# -- Exchange codec ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class ExchangeEventValues:
    """What the Exchange connector reads off an item, before canonicalisation (EWS value names)."""

    start: dt.date | dt.datetime
    end: dt.date | dt.datetime
    is_all_day: bool
    legacy_free_busy_status: str | None
    sensitivity: str | None
    reminder_is_set: bool
    reminder_minutes_before_start: int | None


@dataclass(frozen=True)
class ExchangeEventCodec:
    """Raw Exchange values <-> canonical values under Exchange names, in the MAILBOX's zone."""

    mailbox_zone: dt.tzinfo

    def read(self, values: ExchangeEventValues) -> dict[str, Any]:
        span = exchange_span(values.start, values.end, values.is_all_day, self.mailbox_zone)
        status = FREE_BUSY_FROM_EXCHANGE.get(values.legacy_free_busy_status or "NoData")
        reminder = values.reminder_is_set and values.reminder_minutes_before_start is not None
        return {
            "Start": span.start, "End": span.end, "IsAllDayEvent": _flag(span.all_day),
            "LegacyFreeBusyStatus": status.value if status else None,
            "Sensitivity": canonical_sensitivity(values.sensitivity),
            "ReminderIsSet": _flag(reminder),
            "ReminderMinutesBeforeStart": str(values.reminder_minutes_before_start) if reminder else None,
        }

    def write_times(self, fields: Mapping[str, Any], current: Mapping[str, Any] | None
                    ) -> tuple[dt.date | dt.datetime, dt.date | dt.datetime, bool] | None:
        """(start, end, is_all_day) to set on the item when the op touches the times, else None.

        All-day spans come back as dates (the item is made midnight to midnight in the mailbox's
        zone, which is also the zone the connector sets on the item); timed spans as aware
        datetimes in the mailbox's zone, so Exchange keeps the mailbox's wall-clock time."""
        if not {"Start", "End", "IsAllDayEvent"} & set(fields):
            return None
        known = {**(current or {}), **fields}
        span = EventSpan(str(known["Start"]), str(known["End"]))
        if is_date_text(span.start) != is_date_text(span.end):
            raise EventTimeError("start and end must both be dates or both be instants")
        if span.all_day:
            first, end = span.dates()
            return first, end, True
        start, end = span.instants(self.mailbox_zone)
        return start, end, False


def exchange_free_busy(value: str | None) -> str:
    """The LegacyFreeBusyStatus to write for a canonical value (no value: Busy, Exchange's default)."""
    return FreeBusy(value).value if value else FreeBusy.BUSY.value


def exchange_sensitivity(value: str | None) -> str:
    return PRIVATE if value == PRIVATE else NORMAL


# -- selection, privacy and the window ------------------------------------------------------------------

class PrivateEvents(str, Enum):
    SKIP = "skip"
    SYNC = "sync"
    BUSY_ONLY = "busy_only"


class Treatment(str, Enum):
    """What the privacy rule does with one event."""

    SYNC = "sync"
    SKIP = "skip"
    MASK = "mask"


MASKED_SUBJECT = "Busy"
MASKED_KEYS = ("Subject", "Body", "Location")   # canonical keys busy_only hides; attendees are dropped too


def privacy_treatment(mode: PrivateEvents, is_private: bool) -> Treatment:
    """skip: private events never leave their side; sync: they sync (and stay private on the other
    side); busy_only: they sync as a time block without subject, body, location or attendees."""
    if not is_private or mode is PrivateEvents.SYNC:
        return Treatment.SYNC
    return Treatment.SKIP if mode is PrivateEvents.SKIP else Treatment.MASK


def masked(fields: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    """``fields`` with the masked keys' values hidden; ``names`` maps each masked canonical key to
    the side's field name (the mapping's name, so an override is masked too)."""
    hidden = dict(fields)
    for key, name in names.items():
        if name in hidden:
            hidden[name] = MASKED_SUBJECT if key == "Subject" else None
    return hidden


def writable_into_masked(fields: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    """An update of a masked (private, busy_only) record: the masked fields are never written, so
    the placeholder never overwrites the real subject in the event's home side."""
    blocked = set(names.values())
    return {name: value for name, value in fields.items() if name not in blocked}


def selected_by_category(categories: Iterable[str] | None, selection: str, category: str | None) -> bool:
    """``all`` selects every event; ``category`` only those carrying the configured Outlook category
    (compared case-insensitively, as Outlook does)."""
    if selection == "all":
        return True
    wanted = _folded(category)
    return wanted is not None and any(_folded(c) == wanted for c in categories or ())


DEFAULT_PAST_DAYS = 30
DEFAULT_FUTURE_DAYS = 365


@dataclass(frozen=True)
class EventWindow:
    """The span of time whose events sync, on whole UTC days: [start, end)."""

    start: dt.datetime
    end: dt.datetime

    @classmethod
    def around(cls, now: dt.datetime, past_days: int = DEFAULT_PAST_DAYS,
               future_days: int = DEFAULT_FUTURE_DAYS) -> EventWindow:
        """From the start of the UTC day ``past_days`` ago to the end of the UTC day ``future_days``
        ahead. Whole days: the window moves once a day, not every cycle, so listings stay stable
        within a day."""
        today = now.astimezone(UTC).date()
        first = today - dt.timedelta(days=past_days)
        last = today + dt.timedelta(days=future_days + 1)
        return cls(dt.datetime.combine(first, dt.time(), UTC), dt.datetime.combine(last, dt.time(), UTC))

    @property
    def first_day(self) -> dt.date:
        return self.start.date()

    @property
    def end_day(self) -> dt.date:
        return self.end.date()

    def overlaps(self, start: str, end: str) -> bool:
        """An event belongs to the window when it overlaps it at all (CalendarView's and the SOQL
        listing's rule): an event straddling an edge is in. All-day events compare as dates, never
        through a zone, so both sides agree on them at the edges too."""
        if is_date_text(start):
            return dt.date.fromisoformat(start) < self.end_day and dt.date.fromisoformat(end) > self.first_day
        return parse_instant(start) < self.end and parse_instant(end) > self.start


def pairs_outside_window(pairs: Sequence[Pair], window: EventWindow) -> tuple[list[Pair], list[Pair]]:
    """(pairs to decide, pairs frozen because their last synced times left the window).

    Leaving the window is not a delete: a frozen pair is neither updated nor deleted on either
    side, and is kept so that an event moved back into the window resumes as the same pair."""
    inside, outside = [], []
    for pair in pairs:
        start, end = pair.base.get("Start"), pair.base.get("End")
        if isinstance(start, str) and isinstance(end, str) and not window.overlaps(start, end):
            outside.append(pair)
        else:
            inside.append(pair)
    return inside, outside


# -- recurrence -----------------------------------------------------------------------------------------

class ItemRole(str, Enum):
    """EWS CalendarItemType: a series master is not a record, its occurrences are."""

    SINGLE = "Single"
    OCCURRENCE = "Occurrence"
    EXCEPTION = "Exception"
    RECURRING_MASTER = "RecurringMaster"


@dataclass(frozen=True, order=True)
class OccurrenceKey:
    """The identity of one calendar entry across mailboxes and edits: the iCal UID, plus for an
    occurrence of a series its ORIGINAL start (canonical text), which moving it does not change."""

    uid: str
    original_start: str | None = None


def occurrence_key(uid: str, role: ItemRole, original_start: dt.datetime | None) -> OccurrenceKey:
    if role in (ItemRole.OCCURRENCE, ItemRole.EXCEPTION):
        if original_start is None:
            raise EventTimeError("an occurrence needs its original start")
        return OccurrenceKey(uid, instant_text(original_start))
    return OccurrenceKey(uid)


SALESFORCE_RECURRENCE_REASON = ("a Salesforce recurring series is not synced (its pattern has no faithful "
                                "Exchange form through the API); create the series in Exchange, whose "
                                "occurrences sync one by one")


def salesforce_recurrence_reason(is_recurrence_master: bool) -> str | None:
    return SALESFORCE_RECURRENCE_REASON if is_recurrence_master else None


# -- attendees ------------------------------------------------------------------------------------------

MAX_ATTENDEES = 50

NO_RESPONSE = "New"
"""The EventRelation status of an Exchange attendee who has not answered."""

RESPONSE_TO_STATUS: dict[str | None, str] = {
    "Accept": "Accepted", "Decline": "Declined", "Tentative": "Tentative",
    "NoResponseReceived": NO_RESPONSE, "Unknown": NO_RESPONSE, None: NO_RESPONSE,
}


def relation_status(response: str | None) -> str:
    return RESPONSE_TO_STATUS.get(response, NO_RESPONSE)


class RelationKind(str, Enum):
    USER = "User"
    LEAD = "Lead"
    CONTACT = "Contact"


MATCH_ORDER = (RelationKind.USER, RelationKind.LEAD, RelationKind.CONTACT)


@dataclass(frozen=True)
class Attendee:
    email: str
    response: str | None = None
    optional: bool = False


@dataclass(frozen=True)
class Invitee:
    relation_id: str
    kind: RelationKind
    email: str
    status: str


@dataclass(frozen=True)
class AttendeePlan:
    """EventRelations an Exchange attendee list asks for. ``unmatched`` are attendees with no
    unique Salesforce record; ``overflow`` those beyond the cap of 50 (reported, not synced)."""

    invitees: tuple[Invitee, ...]
    unmatched: tuple[str, ...]
    ambiguous: tuple[str, ...]
    overflow: tuple[str, ...]


AttendeeDirectory = Mapping[RelationKind, Mapping[str, Sequence[str]]]
"""Per kind, folded email -> ids of the records with that email (active Users only)."""


# An event synced from the copy of a meeting organised outside sync relates no Users: a User
# invitee would get a child event, duplicating the event that user's own copy already syncs.
OUTSIDE_ORGANIZER_KINDS = (RelationKind.LEAD, RelationKind.CONTACT)


def plan_attendees(attendees: Sequence[Attendee], directory: AttendeeDirectory,
                   exclude: Iterable[str] = (), kinds: Sequence[RelationKind] = MATCH_ORDER) -> AttendeePlan:
    """Match attendees by email to a User, else a Lead, else a Contact (the first kind with any
    match decides; two records of that kind with the email are ambiguous, never guessed).
    ``exclude`` (the organizer, the event's owner) never becomes an invitee; ``kinds`` narrows
    the kinds matched (:data:`OUTSIDE_ORGANIZER_KINDS` for a meeting organised outside sync)."""
    skip = {_folded(email) for email in exclude}
    seen: set[str] = set()
    ordered: list[Attendee] = []
    for attendee in attendees:
        key = _folded(attendee.email)
        if key is None or key in skip or key in seen:
            continue
        seen.add(key)
        ordered.append(attendee)
    invitees: list[Invitee] = []
    unmatched: list[str] = []
    ambiguous: list[str] = []
    for attendee in ordered[:MAX_ATTENDEES]:
        key = _folded(attendee.email) or ""
        for kind in kinds:
            ids = directory.get(kind, {}).get(key, ())
            if len(ids) == 1:
                invitees.append(Invitee(ids[0], kind, attendee.email, relation_status(attendee.response)))
                break
            if len(ids) > 1:
                ambiguous.append(attendee.email)
                break
        else:
            unmatched.append(attendee.email)
    return AttendeePlan(tuple(invitees), tuple(unmatched), tuple(ambiguous),
                        tuple(a.email for a in ordered[MAX_ATTENDEES:]))


def related_record(plan: AttendeePlan) -> str | None:
    """The WhoId "relate events to records" sets on first sync: the first Contact among the
    invitees, else the first Lead (a Contact is the customer of record; a Lead not yet)."""
    for kind in (RelationKind.CONTACT, RelationKind.LEAD):
        for invitee in plan.invitees:
            if invitee.kind is kind:
                return invitee.relation_id
    return None


SYNCED_ATTENDEES = BOOKKEEPING_PREFIX + "attendees"
"""The pair-base key that keeps the relation ids (User/Lead/Contact ids) synced on both sides at
the pair's last attendee sync, sorted. It is the merge base of the attendee list: without it a
relation missing on one side cannot be told apart from one just added on the other."""


def synced_attendees(base: Mapping[str, Any]) -> frozenset[str]:
    """The relation ids a pair's base records as synced (none for a pair that never synced attendees)."""
    return frozenset(base.get(SYNCED_ATTENDEES) or ())


ATTENDEES_RETRY = BOOKKEEPING_PREFIX + "attendees_retry"
"""The pair-base flag of an attendee merge whose writes did not all succeed: the pair keeps its
old :data:`SYNCED_ATTENDEES` and is merged again by the next apply, whether or not the event
changes (the change feeds have moved past what the failed merge read)."""


def first_attendee_sync(pair: Pair) -> bool:
    """The pair's attendees were never merged: every completed attendee merge stores
    :data:`SYNCED_ATTENDEES`, an empty list too, so a pair without it was made by a run that died
    (or failed an attendee write) before its first attendee step, or synced while attendees were
    off. Its next merge is a first attendee sync: nothing is removed, the two lists unite, WhoId
    may be set."""
    return SYNCED_ATTENDEES not in pair.base


def attendees_pending(pair: Pair) -> bool:
    """The next apply must merge the pair's attendees even if its event did not change: they were
    never merged (:func:`first_attendee_sync`), or the last merge failed (:data:`ATTENDEES_RETRY`)."""
    return first_attendee_sync(pair) or bool(pair.base.get(ATTENDEES_RETRY))


@dataclass(frozen=True)
class AttendeeChanges:
    """What a three-way merge of one event's attendee lists writes.

    ``create``/``update_status``/``delete`` are EventRelation writes (``delete`` holds relation
    ids); ``invite``/``uninvite`` are emails to add to / remove from the Exchange item; ``synced``
    is the new merge base once all of them succeed."""

    create: tuple[Invitee, ...]
    update_status: tuple[Invitee, ...]
    delete: tuple[str, ...]
    invite: tuple[str, ...]
    uninvite: tuple[str, ...]
    synced: tuple[str, ...]

    @property
    def writes(self) -> bool:
        return bool(self.create or self.update_status or self.delete or self.invite or self.uninvite)


def attendee_changes(plan: AttendeePlan, salesforce: Mapping[str, tuple[str, str | None]],
                     exchange_emails: Iterable[str], synced: Iterable[str], *, to_salesforce: bool = True,
                     to_exchange: bool = True) -> AttendeeChanges:
    """Merge an event's Exchange attendees (``plan``) and Salesforce invitees three-way, like fields.

    ``salesforce``: relation id -> (Status, email) of the event's invitee EventRelations;
    ``exchange_emails``: every attendee address on the item; ``synced``: the pair's
    :data:`SYNCED_ATTENDEES`. On each side, one present now but not in the base was added there
    and is added to the other side; one in the base but gone from a side was removed there and
    is removed from the other side. Responses flow from Exchange only, so a status is
    overwritten from Exchange, except by "no response" (:data:`NO_RESPONSE`), which carries no
    answer: an invitee added in Salesforce as Accepted and added to Exchange without an invitation
    has no response there, and stays Accepted. With one side not written (``to_salesforce``/``to_exchange``
    False: a one-way direction, or a copy whose attendee list is its organizer's), the other
    side is the source and wins outright. Salesforce invitees Exchange lists under an address the
    directory cannot match (ambiguous) are left alone."""
    wanted = {invitee.relation_id: invitee for invitee in plan.invitees}
    known = set(synced) if to_salesforce and to_exchange else set()
    present = {_folded(email) for email in exchange_emails}
    create = tuple(i for rid, i in sorted(wanted.items()) if rid not in salesforce and rid not in known)
    uninvite = tuple(i.email for rid, i in sorted(wanted.items()) if rid not in salesforce and rid in known)
    update = tuple(i for rid, i in sorted(wanted.items())
                   if rid in salesforce and salesforce[rid][0] != i.status and i.status != NO_RESPONSE)
    delete = tuple(sorted(rid for rid in salesforce if rid not in wanted and rid in set(synced)))
    invite = {rid: email for rid, (_status, email) in sorted(salesforce.items())
              if rid not in wanted and rid not in known and email and _folded(email) not in present}
    if not to_salesforce:
        create, update, delete = (), (), ()
    if not to_exchange:
        invite, uninvite = {}, ()
    synced_now = {rid for rid in wanted if rid in salesforce} | {i.relation_id for i in create} | set(invite)
    return AttendeeChanges(create, update, delete, tuple(invite.values()), uninvite, tuple(sorted(synced_now)))


# -- organizers, invitees' copies and child events --------------------------------------------------------

class CopyAction(str, Enum):
    PAIR_WITH_CHILD = "pair_with_child"   # the invitee's mailbox copy <-> the invitee's child event
    SKIP = "skip"                         # never synced as an event of its own
    OWN_EVENT = "own_event"               # synced as the mailbox owner's own event


@dataclass(frozen=True)
class CopyDecision:
    action: CopyAction
    reason: str
    salesforce_id: str | None = None


def is_organizers_item(mailbox: str, organizer_email: str | None, my_response_type: str | None) -> bool:
    """The organizer's item is the meeting itself (parent); every other mailbox holds a copy."""
    if my_response_type == "Organizer" or not organizer_email:
        return True
    return _folded(organizer_email) == _folded(mailbox)


def invitee_copy_decision(key: OccurrenceKey, response: str | None, organizer_syncs: bool,
                          parents: Mapping[OccurrenceKey, str], children: Mapping[str, str]) -> CopyDecision:
    """What to do with a meeting copy in an invitee's mailbox.

    ``parents``: occurrence key -> the Salesforce event paired with the ORGANIZER's item (from the
    organizer's pairs); ``children``: parent event id -> this invitee's child event id."""
    declined = response == "Decline"
    if not organizer_syncs:
        if declined:
            return CopyDecision(CopyAction.SKIP, "declined meeting organised by someone who does not sync")
        return CopyDecision(CopyAction.OWN_EVENT, "meeting organised by someone who does not sync: "
                                                  "synced as this user's own event")
    parent = parents.get(key)
    if parent is None:
        return CopyDecision(CopyAction.SKIP, "the organizer's event is not synced yet; the copy waits for it")
    if declined:
        return CopyDecision(CopyAction.SKIP, "declined: the invitee has no child event")
    child = children.get(parent)
    if child is None:
        return CopyDecision(CopyAction.SKIP, "the invitee's child event does not exist yet (not invited in "
                                             "Salesforce, or the relation is not written yet)")
    return CopyDecision(CopyAction.PAIR_WITH_CHILD, "the invitee's copy of a synced meeting", child)

