"""The mailbox's own time zone end to end: carol is an Auckland user in Salesforce whose mailbox is
in Los Angeles (OWA.UserOptions says Pacific Standard Time). What the sync creates in her mailbox
is in Los Angeles time, as Outlook in Los Angeles shows it; all-day dates never move either way."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from events_e2e.conftest import calendar, salesforce_events, subjects
from exchangelib import CalendarItem, EWSDate, EWSDateTime, EWSTimeZone
from exchangelib.recurrence import NumberedPattern, Recurrence, WeeklyPattern
from sandbox.ews_client import exchange
from sync_e2e.conftest import EXCHANGE, World

from reconciler.sync import CreateOp, UpdateOp, WriteStatus

CAROL, MAILBOX = "carol@acme.example", "carol@acme.example"
LA, AUCKLAND = "America/Los_Angeles", "Pacific/Auckland"


def stored(world: World, item_id: str) -> dict[str, Any]:
    """The item as the Exchange emulator keeps it: UTC instants and the zone's Windows name."""
    return exchange(world.sandbox).mailboxes[MAILBOX].items[item_id].fields


def la_midnight(day: str) -> str:
    """Midnight in Los Angeles starting ``day``, as the UTC instant Exchange stores."""
    midnight = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(), ZoneInfo(LA))
    return midnight.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_an_auckland_users_all_day_event_is_midnight_to_midnight_in_her_los_angeles_mailbox_both_ways(world: World):
    salesforce = salesforce_events(world, CAROL, AUCKLAND)
    [made] = salesforce.write([CreateOp({"Subject": "Waitangi Day", "StartDateTime": "2027-02-06",
                                         "EndDateTime": "2027-02-07", "IsAllDayEvent": "true"})])
    assert made.status is WriteStatus.OK
    # carol adds an all-day item in Outlook, in her mailbox's zone
    account = world.runtime.exchange(EXCHANGE).account(MAILBOX)
    la = EWSTimeZone(LA)
    anzac = CalendarItem(account=account, folder=account.calendar, subject="Anzac Day", is_all_day=True,
                         start=EWSDate(2027, 4, 25), end=EWSDate(2027, 4, 25), _start_timezone=la, _end_timezone=la)
    anzac.save()

    _, outcome = world.cycle()
    assert outcome.ok, outcome.records

    mailbox = calendar(world, MAILBOX, AUCKLAND)
    [waitangi] = subjects(world.everything(mailbox), "Waitangi Day")
    assert (waitangi.fields["Start"], waitangi.fields["End"], waitangi.fields["IsAllDayEvent"]) == (
        "2027-02-06", "2027-02-07", "true")
    item = stored(world, waitangi.id)
    assert item["StartTimeZone"]["Id"] == "Pacific Standard Time", "written in the mailbox's zone, not Auckland's"
    assert (item["Start"], item["End"]) == (la_midnight("2027-02-06"), la_midnight("2027-02-07"))
    [event] = subjects(world.everything(salesforce), "Anzac Day")
    assert (event.fields["StartDateTime"], event.fields["EndDateTime"], event.fields["IsAllDayEvent"]) == (
        "2027-04-25", "2027-04-26", "true")

    # Edits both ways: Waitangi Day is observed on Monday the 8th (Salesforce), Anzac Day moves a day (Outlook).
    [moved] = salesforce.write([UpdateOp(made.record_id, made.version, {"StartDateTime": "2027-02-08",
                                                                       "EndDateTime": "2027-02-09"})])
    assert moved.status is WriteStatus.OK
    anzac.start, anzac.end = EWSDate(2027, 4, 26), EWSDate(2027, 4, 26)
    anzac.save(update_fields=["start", "end"])
    _, outcome = world.cycle()
    assert outcome.ok, outcome.records

    [waitangi] = subjects(world.everything(mailbox), "Waitangi Day")
    assert (waitangi.fields["Start"], waitangi.fields["End"]) == ("2027-02-08", "2027-02-09")
    item = stored(world, waitangi.id)
    assert item["StartTimeZone"]["Id"] == "Pacific Standard Time"
    assert (item["Start"], item["End"]) == (la_midnight("2027-02-08"), la_midnight("2027-02-09"))
    [event] = subjects(world.everything(salesforce), "Anzac Day")
    assert (event.fields["StartDateTime"], event.fields["EndDateTime"]) == ("2027-04-26", "2027-04-27")


def test_a_new_timed_item_is_written_in_the_mailbox_zone_so_a_weekly_meeting_keeps_its_time_across_dst(world: World):
    """10:00 Los Angeles on Tuesday 9 March 2027 (PST), made weekly in Outlook: it stays at 10:00
    after the US change to PDT on 14 March. Written in Auckland's zone it would follow Auckland's
    clock (07:00 NZDT) and show 11:00 in Los Angeles from the 16th."""
    salesforce = salesforce_events(world, CAROL, AUCKLAND)
    [made] = salesforce.write([CreateOp({"Subject": "Pipeline review", "StartDateTime": "2027-03-09T18:00:00Z",
                                         "EndDateTime": "2027-03-09T19:00:00Z", "IsAllDayEvent": "false"})])
    assert made.status is WriteStatus.OK
    _, outcome = world.cycle()
    assert outcome.ok, outcome.records

    [review] = subjects(world.everything(calendar(world, MAILBOX, AUCKLAND)), "Pipeline review")
    assert stored(world, review.id)["StartTimeZone"]["Id"] == "Pacific Standard Time"

    account = world.runtime.exchange(EXCHANGE).account(MAILBOX)
    item = account.calendar.get(id=review.id)
    item.recurrence = Recurrence(pattern=WeeklyPattern(interval=1, weekdays=["Tuesday"]),
                                 boundary=NumberedPattern(start=EWSDate(2027, 3, 9), number=3))
    item.save(update_fields=["recurrence"])
    view = account.calendar.view(start=EWSDateTime(2027, 3, 1, tzinfo=EWSTimeZone("UTC")),
                                 end=EWSDateTime(2027, 4, 1, tzinfo=EWSTimeZone("UTC")))
    starts = sorted(o.start for o in view if o.subject == "Pipeline review")
    assert [s.astimezone(ZoneInfo(LA)).strftime("%m-%d %H:%M") for s in starts] == [
        "03-09 10:00", "03-16 10:00", "03-23 10:00"]
