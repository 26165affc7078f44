"""Canonical event times: UTC instants for timed events, date ranges for all-day events.

Why two shapes: a timed meeting is one moment everywhere (Salesforce stores UTC, Exchange any zone),
while an all-day event is a *calendar date* - the 3rd of March is the 3rd of March for a user in
Auckland and a mailbox in Los Angeles. Converting an all-day date through an instant and back in a
different zone is how it moves by a day, so all-day values never pass through an instant here:

* timed: ``"2026-03-03T17:00:00Z"`` (UTC, whole seconds);
* all-day: ``"2026-03-03"`` for the start and the *exclusive* end date (``"2026-03-04"`` for one day),
  as Exchange and iCalendar count; Salesforce's ActivityDate + DurationInMinutes convert losslessly.

The shape of a canonical start says which kind an event is, so a write can be translated without
re-reading the record. Exchange keeps its items' zones: a timed write carries the mailbox's zone, so
the wall-clock time a user sees (and a series' repetition across DST) is the mailbox's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

UTC = dt.timezone.utc
MINUTES_PER_DAY = 1440


class EventTimeError(ValueError):
    """An event time that cannot be made canonical (naive datetimes, an end before the start)."""


def instant_text(moment: dt.datetime) -> str:
    """An aware datetime as canonical UTC text; naive datetimes are refused (their zone is unknown)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise EventTimeError("a timed event needs an aware datetime")
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_instant(text: str) -> dt.datetime:
    """Canonical or Salesforce/EWS UTC text (``...Z``, ``...+0000``, ``.000``) as an aware UTC datetime."""
    value = text.strip().replace("Z", "+00:00")
    if value.endswith("+0000"):
        value = value[:-5] + "+00:00"
    moment = dt.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise EventTimeError("a timed event needs a time zone offset")
    return moment.astimezone(UTC)


def is_date_text(value: object) -> bool:
    """True for a canonical all-day value (``YYYY-MM-DD``), False for an instant."""
    return isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-"


@dataclass(frozen=True)
class EventSpan:
    """One event's canonical start and end (see the module docstring for the two shapes)."""

    start: str
    end: str

    @property
    def all_day(self) -> bool:
        return is_date_text(self.start)

    @classmethod
    def timed(cls, start: dt.datetime, end: dt.datetime) -> EventSpan:
        if end < start:
            raise EventTimeError("the event ends before it starts")
        return cls(instant_text(start), instant_text(end))

    @classmethod
    def days(cls, first: dt.date, end_exclusive: dt.date) -> EventSpan:
        if end_exclusive <= first:
            raise EventTimeError("an all-day event lasts at least one day")
        return cls(first.isoformat(), end_exclusive.isoformat())

    def dates(self) -> tuple[dt.date, dt.date]:
        """(first day, exclusive end day) of an all-day span."""
        return dt.date.fromisoformat(self.start), dt.date.fromisoformat(self.end)

    def instants(self, zone: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
        """The span as aware datetimes in ``zone``: an all-day span is midnight to midnight there."""
        if self.all_day:
            first, end = self.dates()
            return midnight(first, zone), midnight(end, zone)
        return parse_instant(self.start).astimezone(zone), parse_instant(self.end).astimezone(zone)


def midnight(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    """The first moment of ``day`` in ``zone``. Where a DST change skips midnight (America/Santiago,
    Asia/Beirut ...) zoneinfo's fold rules give the wall time 00:00 with the pre-transition offset;
    normalising through UTC lands on the first real moment of the day, which is still that date."""
    naive = dt.datetime.combine(day, dt.time())
    candidate = naive.replace(tzinfo=zone)
    normalised = candidate.astimezone(UTC).astimezone(zone)
    return normalised if normalised.date() == day else candidate


# -- Exchange ----------------------------------------------------------------------------------------

def exchange_span(start: dt.date | dt.datetime, end: dt.date | dt.datetime, all_day: bool,
                  mailbox_zone: dt.tzinfo) -> EventSpan:
    """An Exchange item's times as a canonical span.

    All-day items are midnight to midnight in the zone they were made in; a client library may hand
    them over as dates (already in that zone) or as instants (read them in the mailbox's zone, never
    the user's, never UTC). Timed items are instants whatever zone they carry."""
    if all_day:
        return EventSpan.days(_local_date(start, mailbox_zone), _local_date(end, mailbox_zone))
    if not isinstance(start, dt.datetime) or not isinstance(end, dt.datetime):
        raise EventTimeError("a timed Exchange item needs datetimes")
    return EventSpan.timed(start, end)


def _local_date(value: dt.date | dt.datetime, zone: dt.tzinfo) -> dt.date:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise EventTimeError("an Exchange time needs a time zone")
        return value.astimezone(zone).date()
    return value


# -- Salesforce --------------------------------------------------------------------------------------

def salesforce_span(*, all_day: bool, activity_date: str | None, duration_minutes: int | None,
                    start: str | None, end: str | None) -> EventSpan:
    """A Salesforce Event's times as a canonical span.

    All-day: ActivityDate is the first day and has no zone; DurationInMinutes counts whole days
    (StartDateTime/EndDateTime are midnight UTC of the first and last day, ignored here because
    reading them in any zone west of UTC moves the date). Timed: StartDateTime/EndDateTime (UTC)."""
    if all_day:
        if not activity_date:
            raise EventTimeError("an all-day Salesforce event needs its ActivityDate")
        first = dt.date.fromisoformat(activity_date[:10])
        days = max(1, (duration_minutes or MINUTES_PER_DAY) // MINUTES_PER_DAY)
        return EventSpan.days(first, first + dt.timedelta(days=days))
    if not start or not end:
        raise EventTimeError("a timed Salesforce event needs StartDateTime and EndDateTime")
    return EventSpan.timed(parse_instant(start), parse_instant(end))


def salesforce_time_fields(span: EventSpan) -> dict[str, object]:
    """The Salesforce Event fields that express ``span`` (what a create or an update sends)."""
    if span.all_day:
        first, end = span.dates()
        days = (end - first).days
        return {"IsAllDayEvent": True, "ActivityDate": first.isoformat(),
                "StartDateTime": instant_text(midnight(first, UTC)),
                "EndDateTime": instant_text(midnight(end - dt.timedelta(days=1), UTC)),
                "DurationInMinutes": days * MINUTES_PER_DAY}
    start, end = parse_instant(span.start), parse_instant(span.end)
    return {"IsAllDayEvent": False, "StartDateTime": span.start, "EndDateTime": span.end,
            "DurationInMinutes": int((end - start).total_seconds() // 60)}

