"""Property tests: all-day events never move by a day, for any pair of user and mailbox zones, and
timed events keep their instant (and the mailbox's wall clock) whatever DST does."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given, settings, strategies as st

from reconciler.sync.events import ExchangeEventCodec, ExchangeEventValues, SalesforceEventCodec
from reconciler.sync.time_rules import UTC, EventSpan, midnight, salesforce_time_fields

# Zones that break naive date handling: +14 / -11 extremes, 45- and 30-minute offsets, half-hour DST
# (Lord Howe), DST changes at midnight (Santiago, Havana, Beirut, Asuncion), Ramadan DST (Casablanca),
# a two-hour DST shift (Troll), and the usual suspects.
TRICKY_ZONES = [
    "Pacific/Kiritimati", "Pacific/Pago_Pago", "Pacific/Chatham", "Asia/Kathmandu", "America/St_Johns",
    "Australia/Lord_Howe", "Pacific/Auckland", "America/Los_Angeles", "Europe/London", "UTC",
    "America/Santiago", "America/Havana", "Asia/Beirut", "America/Asuncion", "Africa/Casablanca",
    "Antarctica/Troll", "Australia/Eucla", "Pacific/Marquesas", "Asia/Tehran", "Pacific/Apia",
]
zones = st.sampled_from(TRICKY_ZONES).map(ZoneInfo)
# Daily dates 2012-2040 (Pacific/Apia skipped 30 December 2011 altogether: no all-day event exists there).
dates = st.dates(min_value=dt.date(2012, 1, 1), max_value=dt.date(2040, 12, 31))
lengths = st.integers(min_value=1, max_value=3)


def exchange_reports(moment: dt.datetime) -> dt.datetime:
    """EWS answers in UTC ("...Z"), whatever zone the item was saved in."""
    return moment.astimezone(UTC)


def exchange_read(codec: ExchangeEventCodec, start: dt.date | dt.datetime, end: dt.date | dt.datetime,
                  all_day: bool) -> dict[str, object]:
    return codec.read(ExchangeEventValues(start, end, all_day, "Busy", "Normal", False, None))


@settings(max_examples=400, deadline=None)
@given(day=dates, days=lengths, user_zone=zones, mailbox_zone=zones)
def test_a_salesforce_all_day_event_keeps_its_dates_in_exchange_and_back(day, days, user_zone, mailbox_zone) -> None:
    salesforce = SalesforceEventCodec(user_zone)
    stored = salesforce_time_fields(EventSpan.days(day, day + dt.timedelta(days=days)))   # what Salesforce holds
    canonical = salesforce.read({**stored, "Subject": "Offsite"})
    assert (canonical["StartDateTime"], canonical["EndDateTime"]) == (
        day.isoformat(), (day + dt.timedelta(days=days)).isoformat())

    exchange = ExchangeEventCodec(mailbox_zone)
    times = exchange.write_times({"Start": canonical["StartDateTime"], "End": canonical["EndDateTime"],
                                  "IsAllDayEvent": canonical["IsAllDayEvent"]}, None)
    assert times is not None
    first, end, all_day = times
    # The server saves midnight to midnight in the mailbox's zone and answers in UTC.
    read_back = exchange_read(exchange, exchange_reports(midnight(first, mailbox_zone)),
                              exchange_reports(midnight(end, mailbox_zone)), all_day)
    assert (read_back["Start"], read_back["End"]) == (canonical["StartDateTime"], canonical["EndDateTime"])

    body = salesforce.write({"StartDateTime": read_back["Start"], "EndDateTime": read_back["End"],
                             "IsAllDayEvent": read_back["IsAllDayEvent"]}, canonical)
    assert body["ActivityDate"] == day.isoformat() and body["DurationInMinutes"] == days * 1440


@settings(max_examples=400, deadline=None)
@given(day=dates, days=lengths, user_zone=zones, mailbox_zone=zones)
def test_an_exchange_all_day_event_keeps_its_dates_in_salesforce_and_back(day, days, user_zone, mailbox_zone) -> None:
    exchange = ExchangeEventCodec(mailbox_zone)
    end_day = day + dt.timedelta(days=days)
    canonical = exchange_read(exchange, exchange_reports(midnight(day, mailbox_zone)),
                              exchange_reports(midnight(end_day, mailbox_zone)), True)
    assert (canonical["Start"], canonical["End"]) == (day.isoformat(), end_day.isoformat())

    salesforce = SalesforceEventCodec(user_zone)
    body = salesforce.write({"StartDateTime": canonical["Start"], "EndDateTime": canonical["End"],
                             "IsAllDayEvent": canonical["IsAllDayEvent"]}, None)
    assert body["ActivityDate"] == day.isoformat()
    # Salesforce derives StartDateTime/EndDateTime (midnight UTC of the first and last day) itself.
    read_back = salesforce.read({"IsAllDayEvent": True, "ActivityDate": body["ActivityDate"],
                                 "DurationInMinutes": body["DurationInMinutes"],
                                 "StartDateTime": body["StartDateTime"], "EndDateTime": body["EndDateTime"]})
    assert (read_back["StartDateTime"], read_back["EndDateTime"]) == (canonical["Start"], canonical["End"])


@settings(max_examples=300, deadline=None)
@given(day=dates, minute=st.integers(min_value=0, max_value=24 * 60 - 1), mailbox_zone=zones)
def test_a_timed_event_keeps_its_instant_through_the_mailbox_zone(day, minute, mailbox_zone) -> None:
    start = dt.datetime.combine(day, dt.time(), UTC) + dt.timedelta(minutes=minute)
    end = start + dt.timedelta(minutes=30)
    span = EventSpan.timed(start, end)
    exchange = ExchangeEventCodec(mailbox_zone)
    times = exchange.write_times({"Start": span.start, "End": span.end}, None)
    assert times is not None and times[0].tzinfo is mailbox_zone and times[2] is False
    # As UTC: Python's == between zones is always False for a wall time in a repeated hour (PEP 495).
    assert times[0].astimezone(UTC) == start and times[1].astimezone(UTC) == end
    assert exchange_read(exchange, exchange_reports(times[0]), exchange_reports(times[1]), False)["Start"] == span.start


@given(week=st.integers(min_value=0, max_value=60), zone_name=st.sampled_from(
    ["America/Los_Angeles", "Europe/London", "Pacific/Auckland", "Australia/Lord_Howe", "America/St_Johns"]))
def test_a_weekly_series_keeps_its_local_wall_clock_across_dst(week, zone_name) -> None:
    """An occurrence stored as UTC (as Exchange answers) is written back at the same local time:
    10:00 stays 10:00 in the mailbox's zone, even though the UTC hour moves at DST changes."""
    zone = ZoneInfo(zone_name)
    first = dt.datetime(2026, 1, 5, 10, 0, tzinfo=zone)
    occurrence = dt.datetime.combine(first.date() + dt.timedelta(weeks=week), first.time(), zone)
    span = EventSpan.timed(exchange_reports(occurrence), exchange_reports(occurrence + dt.timedelta(hours=1)))
    times = ExchangeEventCodec(zone).write_times({"Start": span.start, "End": span.end}, None)
    assert times is not None
    assert (times[0].hour, times[0].minute) == (10, 0)
