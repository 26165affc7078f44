"""A mailbox whose calendar holds more occurrences than the server answers in one FindItem (the
sandbox's EWSFindCountLimit set low) syncs every event exactly once, and the next cycle has nothing
to do."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from events_e2e.conftest import calendar, salesforce_events, window
from exchangelib import CalendarItem, EWSDateTime, EWSTimeZone
from exchangelib.recurrence import NumberedPattern, Recurrence, WeeklyPattern
from sandbox.ews_client import exchange
from sync_e2e.conftest import EXCHANGE, World

from reconciler.plan.records import has_record_changes

ALICE, LA = "alice@acme.example", "America/Los_Angeles"


def _fill_alices_calendar(world: World) -> None:
    """90 single events over the window and a weekly series of 30 occurrences (2 days long each)."""
    account = world.runtime.exchange(EXCHANGE).account(ALICE)
    utc = EWSTimeZone("UTC")
    span = window()
    first = EWSDateTime.from_datetime(span.start + dt.timedelta(days=2, hours=17)).astimezone(utc)
    step = (span.end - span.start) / 95
    items = [CalendarItem(account=account, folder=account.calendar, subject=f"Slice test {n}",
                          start=first + step * n, end=first + step * n + dt.timedelta(minutes=30))
             for n in range(90)]
    items.append(CalendarItem(
        account=account, folder=account.calendar, subject="Slice test weekly", start=first,
        end=first + dt.timedelta(hours=48), recurrence=Recurrence(
            pattern=WeeklyPattern(interval=1, weekdays=[first.astimezone(EWSTimeZone(LA)).isoweekday()]),
            boundary=NumberedPattern(start=first.astimezone(EWSTimeZone(LA)).date(), number=30))))
    account.bulk_create(folder=account.calendar, items=items)


def test_a_calendar_over_the_find_count_limit_syncs_every_event_once(world: World) -> None:
    _fill_alices_calendar(world)
    exchange(world.sandbox).find_count_limit = 20
    plan, outcome = world.cycle()
    assert outcome.ok, outcome.records

    mailbox = Counter((r.fields["Subject"], r.fields["Start"]) for r in world.everything(calendar(world, ALICE, LA))
                      if r.fields["Subject"].startswith("Slice test"))
    synced = Counter((r.fields["Subject"], r.fields["StartDateTime"])
                     for r in world.everything(salesforce_events(world, ALICE, LA))
                     if r.fields["Subject"].startswith("Slice test"))
    assert sum(mailbox.values()) == 120 and set(mailbox.values()) == {1}
    assert synced == mailbox

    plan, outcome = world.cycle()
    assert outcome.ok and not has_record_changes(plan.record_changes)
