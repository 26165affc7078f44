"""Contract tests: the Exchange calendar store reads a calendar larger than the server's find count
limit (EWSFindCountLimit; the sandbox's set low) in date slices, with the real exchangelib over
HTTPS: every occurrence once, the same records as one unlimited CalendarView, and a calendar under
the limit still costs one CalendarView."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest
from exchangelib import CalendarItem, EWSDate, EWSDateTime, EWSTimeZone
from exchangelib.recurrence import EndDatePattern, Recurrence, WeeklyPattern
from sandbox.ews_client import exchange

from reconciler.connectors.errors import ConnectorError, ErrorKind
from reconciler.connectors.exchange import ExchangeConnector
from reconciler.connectors.exchange_events import ExchangeCalendarStore
from reconciler.connectors.http import ApiCallCounter
from reconciler.sandbox.server import Sandbox
from reconciler.sync.events import EventWindow
from reconciler.sync.ports import SourceRecord

MAILBOX = "alice@acme.example"
ZONE = ZoneInfo("America/Los_Angeles")


@pytest.fixture
def connector(service_account_exchange: ExchangeConnector) -> ExchangeConnector:
    return service_account_exchange


@pytest.fixture
def window() -> EventWindow:
    return EventWindow.around(dt.datetime.now(dt.timezone.utc), 30, 365)


def split_points(window: EventWindow) -> list[dt.datetime]:
    """Where the store's first halvings cut the window (at a quarter, a half, three quarters)."""
    span = window.end - window.start
    return [window.start + span * part / 4 for part in (1, 2, 3)]


@pytest.fixture
def busy_calendar(connector: ExchangeConnector, window: EventWindow) -> None:
    """About 330 occurrences over the window: 200 single events, three weekly series across the
    whole window (one of two-day occurrences, which straddle every slice boundary they meet), and at
    each first split point an all-day event on its day and a timed event across it."""
    account = connector.account(MAILBOX)
    calendar = account.calendar
    utc = EWSTimeZone("UTC")

    def ews(moment: dt.datetime) -> EWSDateTime:
        return EWSDateTime.from_datetime(moment.astimezone(dt.timezone.utc)).astimezone(utc)

    span = window.end - window.start
    items = [CalendarItem(account=account, folder=calendar, subject=f"Single {n}",
                          start=ews(window.start + span * n / 200), end=ews(window.start + span * n / 200)
                          + dt.timedelta(minutes=45)) for n in range(200)]
    for point in split_points(window):
        day = point.astimezone(ZONE).date()
        items.append(CalendarItem(account=account, folder=calendar, subject=f"All day {day}", is_all_day=True,
                                  start=EWSDate.from_date(day), end=EWSDate.from_date(day + dt.timedelta(days=1))))
        items.append(CalendarItem(account=account, folder=calendar, subject=f"Across {day}",
                                  start=ews(point - dt.timedelta(hours=1)), end=ews(point + dt.timedelta(hours=1))))
    first = window.start + dt.timedelta(hours=3)
    for name, length in (("Weekly short", dt.timedelta(minutes=30)), ("Weekly lunch", dt.timedelta(hours=1)),
                         ("Weekly two-day", dt.timedelta(hours=50))):
        weekday = first.astimezone(ZONE).isoweekday()
        items.append(CalendarItem(
            account=account, folder=calendar, subject=name, start=ews(first), end=ews(first + length),
            recurrence=Recurrence(pattern=WeeklyPattern(interval=1, weekdays=[weekday]),
                                  boundary=EndDatePattern(start=first.astimezone(ZONE).date(),
                                                          end=window.end.astimezone(ZONE).date()))))
    for chunk in range(0, len(items), 100):
        account.bulk_create(folder=calendar, items=items[chunk:chunk + 100])


def full_listing(connector: ExchangeConnector, window: EventWindow) -> list[SourceRecord]:
    page = ExchangeCalendarStore(connector, MAILBOX, window, ZONE).list_changes(None)
    assert page.complete
    return page.records


def find_items(counter: ApiCallCounter, listing: Callable[[], object]) -> int:
    before = counter.counts().get("FindItem", 0)
    listing()
    return counter.counts().get("FindItem", 0) - before


def test_a_calendar_over_the_limit_is_read_in_slices_with_every_occurrence_once(
        busy_calendar, connector: ExchangeConnector, window: EventWindow, sandbox: Sandbox,
        counter: ApiCallCounter) -> None:
    unlimited = full_listing(connector, window)
    assert len(unlimited) > 300
    exchange(sandbox).find_count_limit = 50
    sliced: list[SourceRecord] = []
    calls = find_items(counter, lambda: sliced.extend(full_listing(connector, window)))
    pages = -(-len(unlimited) // 50)
    assert pages < calls <= 2 * pages   # the cut slices are split by their TotalItemsInView
    ids = [r.id for r in sliced]
    assert len(ids) == len(set(ids))
    keys = [r.fields["OccurrenceKey"] for r in sliced]
    assert len(keys) == len(set(keys))
    assert {r.id: r.fields for r in sliced} == {r.id: r.fields for r in unlimited}
    by_subject = {r.fields["Subject"] for r in sliced}
    assert {f"Across {p.astimezone(ZONE).date()}" for p in split_points(window)} <= by_subject
    assert {f"All day {p.astimezone(ZONE).date()}" for p in split_points(window)} <= by_subject
    two_day = [r for r in sliced if r.fields["Subject"] == "Weekly two-day"]
    assert len(two_day) == len({r.fields["OriginalStart"] for r in two_day}) >= 52


def test_a_calendar_under_the_limit_is_one_calendar_view(busy_calendar, connector: ExchangeConnector,
                                                         window: EventWindow, counter: ApiCallCounter) -> None:
    assert find_items(counter, lambda: full_listing(connector, window)) == 1


def test_the_days_that_entered_the_window_are_read_in_slices_too(busy_calendar, connector: ExchangeConnector,
                                                                 window: EventWindow, sandbox: Sandbox) -> None:
    shorter = EventWindow(window.start, window.start + (window.end - window.start) / 2)
    cursor = ExchangeCalendarStore(connector, MAILBOX, shorter, ZONE).list_changes(None).cursor
    exchange(sandbox).find_count_limit = 20
    entered = ExchangeCalendarStore(connector, MAILBOX, window, ZONE).list_changes(cursor).records
    expected = [r for r in full_listing(connector, EventWindow(shorter.end, window.end))]
    assert sorted(r.id for r in entered) == sorted(r.id for r in expected)
    assert len(expected) > 100


def test_a_window_over_two_years_is_read_in_views_of_two_years_at_most(
        connector: ExchangeConnector, counter: ApiCallCounter) -> None:
    decades = EventWindow.around(dt.datetime.now(dt.timezone.utc), 3650, 3650)
    calls = find_items(counter, lambda: full_listing(connector, decades))
    assert (decades.end - decades.start).days == 7301
    assert calls == 11   # views of 730 days at most
    assert {r.fields["Subject"] for r in full_listing(connector, decades)} >= {"Weekly pipeline sync"}


def test_more_items_at_one_moment_than_the_limit_is_a_clear_error(connector: ExchangeConnector, window: EventWindow,
                                                                   sandbox: Sandbox) -> None:
    account = connector.account(MAILBOX)
    start = EWSDateTime.from_datetime(window.start + dt.timedelta(days=40))
    account.bulk_create(folder=account.calendar, items=[
        CalendarItem(account=account, folder=account.calendar, subject=f"Clash {n}", start=start,
                     end=start + dt.timedelta(hours=1)) for n in range(4)])
    exchange(sandbox).find_count_limit = 3
    with pytest.raises(ConnectorError) as failure:
        full_listing(connector, window)
    assert failure.value.kind is ErrorKind.CONFIGURATION   # waiting does not help; the policy must change
    assert "EWSFindCountLimit" in failure.value.message and MAILBOX in failure.value.message
