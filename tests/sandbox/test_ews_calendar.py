"""Contract tests: calendars through exchangelib 5.6: CalendarView expansion, exceptions, meetings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from exchangelib import UTC, Attendee, CalendarItem, EWSDate, EWSDateTime, EWSTimeZone, Mailbox
from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY
from exchangelib.recurrence import (AbsoluteMonthlyPattern, DailyPattern, NumberedPattern, Recurrence,
                                    WeeklyPattern)
from sandbox.ews_client import at, basic_account, exchange, local_day, stamp_registered, trusting_sandbox

from reconciler.sandbox.server import Sandbox

LA = "America/Los_Angeles"


@pytest.fixture
def accounts(sandbox: Sandbox) -> Iterator[dict]:
    with trusting_sandbox(sandbox), stamp_registered():
        yield {name: basic_account(sandbox, f"{name}@acme.example") for name in ("alice", "bob", "carol")}


def ews(value: dt.datetime) -> EWSDateTime:
    """exchangelib wants its own datetime and zone classes."""
    return EWSDateTime(*value.astimezone(dt.timezone.utc).timetuple()[:6], tzinfo=UTC)


def window(days: int = 40) -> tuple[EWSDateTime, EWSDateTime]:
    start = ews(at(LA, 0, "00:00"))
    return start, start + dt.timedelta(days=days)


def utc(value: dt.datetime) -> dt.datetime:
    """Any aware datetime (exchangelib's included) as a plain UTC datetime."""
    return dt.datetime.fromtimestamp(value.timestamp(), dt.timezone.utc)


def test_the_seeded_series_expands_with_its_moved_occurrence_and_without_the_cancelled_one(accounts) -> None:
    start, end = window()
    shown = [i for i in accounts["alice"].calendar.view(start=start, end=end) if i.subject == "Weekly pipeline sync"]
    assert [(utc(i.start), i.type) for i in shown] == [
        (utc(at(LA, 1, "10:00")), "Occurrence"),
        (utc(at(LA, 9, "14:00")), "Exception"),   # the 2nd occurrence, moved a day later to 14:00
        (utc(at(LA, 22, "10:00")), "Occurrence"),  # the 3rd (day 15) is cancelled
        (utc(at(LA, 29, "10:00")), "Occurrence"),
        (utc(at(LA, 36, "10:00")), "Occurrence"),
    ]
    moved = shown[1]
    assert utc(moved.original_start) == utc(at(LA, 8, "10:00"))
    master = accounts["alice"].calendar.get(subject="Weekly pipeline sync")
    assert master.type == "RecurringMaster"
    assert isinstance(master.recurrence.pattern, WeeklyPattern)
    assert isinstance(master.recurrence.boundary, NumberedPattern) and master.recurrence.boundary.number == 6
    assert [utc(o.start) for o in master.deleted_occurrences] == [utc(at(LA, 15, "10:00"))]
    assert [utc(o.original_start) for o in master.modified_occurrences] == [utc(at(LA, 8, "10:00"))]


def test_seeded_single_all_day_private_and_categorised_events_read_back(accounts) -> None:
    start, end = window(10)
    by_subject = {i.subject: i for i in accounts["alice"].calendar.view(start=start, end=end)}
    offsite = accounts["alice"].calendar.get(id=by_subject["Offsite planning"].id)
    assert offsite.is_all_day and offsite.start == EWSDate.from_date(local_day(LA, 3))
    review = accounts["alice"].calendar.get(id=by_subject["Globex quarterly review"].id)
    assert (review.type, review.location, utc(review.start)) == ("Single", "Globex HQ", utc(at(LA, 1, "09:00")))
    assert review._start_timezone == EWSTimeZone(LA)
    assert accounts["alice"].calendar.get(subject="Dentist").sensitivity == "Private"
    assert accounts["alice"].calendar.get(subject="Umbrella follow-up").categories == ["Salesforce"]


def test_the_seeded_meeting_has_its_copy_in_bobs_calendar(accounts, sandbox: Sandbox) -> None:
    original = accounts["alice"].calendar.get(subject="Initech kickoff")
    copy = accounts["bob"].calendar.get(subject="Initech kickoff")
    assert copy.uid == original.uid and copy.id != original.id
    assert copy.organizer.email_address == "alice@acme.example"
    assert copy.my_response_type == "NoResponseReceived" and original.my_response_type == "Organizer"
    assert {a.mailbox.email_address for a in original.required_attendees} == {
        "bob@acme.example", "raj.patel@initech.example"}
    assert original.is_meeting
    [invitation] = exchange(sandbox).outbox("alice@acme.example")
    assert invitation["kind"] == "invitation" and invitation["uid"] == original.uid


def test_a_meeting_sent_to_all_is_delivered_updated_and_cancelled(accounts, sandbox: Sandbox) -> None:
    alice, carol = accounts["alice"], accounts["carol"]
    begin = ews(at(LA, 5, "08:00"))
    meeting = CalendarItem(account=alice, folder=alice.calendar, subject="Soylent supply review",
                           start=begin, end=begin + dt.timedelta(hours=1), location="Room 2",
                           required_attendees=[Attendee(mailbox=Mailbox(email_address="carol@acme.example"))],
                           optional_attendees=[Attendee(mailbox=Mailbox(email_address="sol.roth@soylent.example"))])
    meeting.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    copy = carol.calendar.get(subject="Soylent supply review")
    assert copy.uid == alice.calendar.get(id=meeting.id).uid and copy.my_response_type == "NoResponseReceived"
    assert utc(copy.start) == utc(begin)

    meeting.start, meeting.end = begin + dt.timedelta(hours=2), begin + dt.timedelta(hours=3)
    meeting.required_attendees.append(Attendee(mailbox=Mailbox(email_address="bob@acme.example")))
    meeting.save(update_fields=["start", "end", "required_attendees"],
                 send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    assert utc(carol.calendar.get(subject="Soylent supply review").start) == utc(begin + dt.timedelta(hours=2))
    assert utc(accounts["bob"].calendar.get(subject="Soylent supply review").start) == utc(
        begin + dt.timedelta(hours=2))  # bob, added by the update, gets his copy now

    meeting.delete(send_meeting_cancellations=SEND_TO_ALL_AND_SAVE_COPY)
    assert carol.calendar.get(subject="Soylent supply review").is_cancelled
    sent = [(e["kind"], e["subject"]) for e in exchange(sandbox).outbox("alice@acme.example")]
    assert sent[-3:] == [("invitation", "Soylent supply review"), ("update", "Soylent supply review"),
                         ("cancellation", "Soylent supply review")]
    assert exchange(sandbox).outbox()[-1]["recipients"] == ["carol@acme.example", "bob@acme.example",
                                                            "sol.roth@soylent.example"]


def test_a_meeting_saved_without_sending_reaches_nobody(accounts, sandbox: Sandbox) -> None:
    alice = accounts["alice"]
    begin = ews(at(LA, 6, "08:00"))
    CalendarItem(account=alice, folder=alice.calendar, subject="Draft meeting", start=begin,
                 end=begin + dt.timedelta(hours=1),
                 required_attendees=[Attendee(mailbox=Mailbox(email_address="bob@acme.example"))]).save()
    assert not accounts["bob"].calendar.filter(subject="Draft meeting").exists()
    assert [e["subject"] for e in exchange(sandbox).outbox()] == ["Initech kickoff"]


def test_occurrences_can_be_changed_or_deleted_one_at_a_time(accounts) -> None:
    alice = accounts["alice"]
    tz = EWSTimeZone(LA)
    first = ews(at(LA, 2, "07:30"))
    series = CalendarItem(account=alice, folder=alice.calendar, subject="Stand-up", start=first.astimezone(tz),
                          end=(first + dt.timedelta(minutes=15)).astimezone(tz),
                          recurrence=Recurrence(pattern=DailyPattern(interval=1), start=local_day(LA, 2), number=5))
    series.save()
    start, end = window(10)
    occurrences = [i for i in alice.calendar.view(start=start, end=end) if i.subject == "Stand-up"]
    assert len(occurrences) == 5
    occurrences[1].subject = "Stand-up (demo day)"
    occurrences[1].save(update_fields=["subject"])
    occurrences[3].delete()
    shown = [(i.subject, i.type) for i in alice.calendar.view(start=start, end=end) if i.subject.startswith("Stand-up")]
    assert shown == [("Stand-up", "Occurrence"), ("Stand-up (demo day)", "Exception"), ("Stand-up", "Occurrence"),
                     ("Stand-up", "Occurrence")]
    master = alice.calendar.get(id=series.id)
    assert len(master.modified_occurrences) == 1 and len(master.deleted_occurrences) == 1


def test_monthly_series_keep_their_wall_clock_time(accounts) -> None:
    alice = accounts["alice"]
    tz = EWSTimeZone(LA)
    begin = EWSDateTime(2027, 1, 15, 9, 0, tzinfo=tz)
    CalendarItem(account=alice, folder=alice.calendar, subject="Board report", start=begin,
                 end=begin + dt.timedelta(hours=1),
                 recurrence=Recurrence(pattern=AbsoluteMonthlyPattern(interval=1, day_of_month=15),
                                       start=dt.date(2027, 1, 15), end=dt.date(2027, 5, 31))).save()
    shown = alice.calendar.view(start=EWSDateTime(2027, 1, 1, tzinfo=UTC), end=EWSDateTime(2027, 7, 1, tzinfo=UTC))
    starts = [i.start.astimezone(tz) for i in shown if i.subject == "Board report"]
    assert [(s.month, s.day, s.hour) for s in starts] == [(1, 15, 9), (2, 15, 9), (3, 15, 9), (4, 15, 9), (5, 15, 9)]
    assert [s.utcoffset() for s in starts][::2] == [dt.timedelta(hours=-8), dt.timedelta(hours=-7),
                                                    dt.timedelta(hours=-7)]
