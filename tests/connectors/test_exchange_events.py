"""Contract tests: the Exchange calendar store with the real exchangelib over HTTPS to the sandbox's
EWS emulator (alice's seeded calendar: a weekly series with one moved and one cancelled occurrence,
an all-day event, a private event, a categorised event, and a meeting delivered to bob)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sandbox.ews_client import at, exchange, local_day

from reconciler.connectors.exchange import ExchangeConnector
from reconciler.connectors.exchange_events import AttendeeEdit, ExchangeCalendarStore, SeriesChanged
from reconciler.connectors.http import ApiCallCounter
from reconciler.sandbox.server import Sandbox
from reconciler.sync.events import MASKED_SUBJECT, Attendee, EventWindow, OccurrenceKey, PrivateEvents, is_organizers_item
from reconciler.sync.ports import CreateOp, DeleteOp, SourceRecord, UpdateOp, WriteStatus
from reconciler.sync.time_rules import instant_text

LA = "America/Los_Angeles"
ZONES = {"alice": ZoneInfo(LA), "bob": ZoneInfo("Europe/London"), "carol": ZoneInfo(LA)}


@pytest.fixture
def connector(service_account_exchange: ExchangeConnector) -> ExchangeConnector:
    return service_account_exchange


@pytest.fixture
def store_for(connector: ExchangeConnector) -> Callable[..., ExchangeCalendarStore]:
    def make(user: str = "alice", past: int = 30, future: int = 365, zone: dt.tzinfo | None = None,
             **options: Any) -> ExchangeCalendarStore:
        window = EventWindow.around(dt.datetime.now(dt.timezone.utc), past, future)
        return ExchangeCalendarStore(connector, f"{user}@acme.example", window, zone or ZONES[user], **options)
    return make


def listing(store: ExchangeCalendarStore, cursor: str | None = None
            ) -> tuple[dict[str, SourceRecord], list[str], list[str], str]:
    records: dict[str, SourceRecord] = {}
    deleted: list[str] = []
    departed: list[str] = []
    while True:
        page = store.list_changes(cursor)
        records.update((r.id, r) for r in page.records)
        deleted += page.deleted_ids
        departed += page.departed_ids
        cursor = page.cursor
        if page.complete:
            return records, deleted, departed, cursor


def named(records: dict[str, SourceRecord], subject: str) -> list[SourceRecord]:
    return sorted((r for r in records.values() if r.fields["Subject"] == subject), key=lambda r: r.fields["Start"])


def utc(zone: str, day: int, clock: str) -> str:
    return instant_text(at(zone, day, clock))


def test_the_weekly_series_arrives_as_occurrences_keyed_by_uid_and_original_start(store_for) -> None:
    weekly = named(listing(store_for())[0], "Weekly pipeline sync")
    assert [(r.fields["Start"], r.fields["CalendarItemType"]) for r in weekly] == [
        (utc(LA, 1, "10:00"), "Occurrence"), (utc(LA, 9, "14:00"), "Exception"),   # the 2nd, moved
        (utc(LA, 22, "10:00"), "Occurrence"), (utc(LA, 29, "10:00"), "Occurrence"),  # the 3rd is cancelled
        (utc(LA, 36, "10:00"), "Occurrence")]
    uid = weekly[0].fields["UID"]
    assert [r.fields["OccurrenceKey"] for r in weekly] == [
        OccurrenceKey(uid, utc(LA, day, "10:00")) for day in (1, 8, 22, 29, 36)]
    assert all(r.salesforce_id_stamp is None for r in weekly)


def test_single_all_day_and_meeting_items_read_in_the_exchange_vocabulary(store_for) -> None:
    records = listing(store_for())[0]
    [offsite] = named(records, "Offsite planning")
    assert (offsite.fields["Start"], offsite.fields["End"], offsite.fields["IsAllDayEvent"]) == (
        local_day(LA, 3).isoformat(), local_day(LA, 4).isoformat(), "true")
    assert offsite.fields["LegacyFreeBusyStatus"] == "Free"
    [umbrella] = named(records, "Umbrella follow-up")
    assert (umbrella.fields["ReminderIsSet"], umbrella.fields["ReminderMinutesBeforeStart"]) == ("true", "15")
    [kickoff] = named(records, "Initech kickoff")
    assert kickoff.fields["Body"] == "Kickoff with Initech engineering."
    assert set(kickoff.fields["Attendees"]) == {Attendee("bob@acme.example", "NoResponseReceived"),
                                                Attendee("raj.patel@initech.example", "NoResponseReceived")}
    assert is_organizers_item("alice@acme.example", kickoff.fields["Organizer"], kickoff.fields["MyResponseType"])
    assert named(records, "Dentist") == []   # private, privateEvents: skip


def test_bobs_copy_of_alices_meeting_has_the_same_uid_and_is_not_his(store_for) -> None:
    [original] = named(listing(store_for("alice"))[0], "Initech kickoff")
    [copy] = named(listing(store_for("bob"))[0], "Initech kickoff")
    assert copy.fields["OccurrenceKey"] == original.fields["OccurrenceKey"] and copy.id != original.id
    assert not is_organizers_item("bob@acme.example", copy.fields["Organizer"], copy.fields["MyResponseType"])


@pytest.mark.parametrize(("mode", "subject", "location"), [
    (PrivateEvents.SYNC, "Dentist", None), (PrivateEvents.BUSY_ONLY, MASKED_SUBJECT, None)])
def test_private_items_follow_the_privacy_mode(store_for, mode, subject, location) -> None:
    private = [r for r in listing(store_for(private_events=mode))[0].values() if r.fields["Sensitivity"] == "Private"]
    assert [(r.fields["Subject"], r.fields["Location"], r.fields["LegacyFreeBusyStatus"]) for r in private] == [
        (subject, location, "OOF")]


def test_category_selection_lists_only_the_marked_items(store_for) -> None:
    records = listing(store_for(selection="category", category="salesforce"))[0]
    assert [r.fields["Subject"] for r in records.values()] == ["Umbrella follow-up"]


def test_a_cycle_without_changes_is_one_sync_folder_items_call(store_for, counter: ApiCallCounter) -> None:
    store = store_for()
    cursor = listing(store)[3]
    before = dict(counter.counts())
    assert listing(store, cursor)[:3] == ({}, [], [])
    assert {k: v - before.get(k, 0) for k, v in counter.counts().items() if v != before.get(k, 0)} == {
        "SyncFolderItems": 1}


def test_writes_are_conditional_and_show_in_the_feed(store_for) -> None:
    store = store_for()
    cursor = listing(store)[3]
    made = store.write([CreateOp({"Subject": "Contract call", "Start": utc(LA, 5, "09:00"), "End": utc(LA, 5, "09:30"),
                                  "IsAllDayEvent": "false", "LegacyFreeBusyStatus": "OOF", "Sensitivity": "Normal"},
                                 "00U000000000001AAA")])
    assert made[0].status is WriteStatus.OK
    records, _, _, cursor = listing(store, cursor)
    call = records[made[0].record_id]
    assert (call.fields["Start"], call.fields["LegacyFreeBusyStatus"], call.salesforce_id_stamp) == (
        utc(LA, 5, "09:00"), "OOF", "00U000000000001AAA")

    assert store.write([UpdateOp(call.id, "stale", {"Subject": "x"})])[0].status is WriteStatus.CONFLICT
    moved = store.write([UpdateOp(call.id, call.version, {"Start": utc(LA, 6, "09:00"), "End": utc(LA, 6, "09:30")})])
    assert moved[0].status is WriteStatus.OK and moved[0].version != call.version
    records, _, _, cursor = listing(store, cursor)
    assert records[call.id].fields["Start"] == utc(LA, 6, "09:00")
    gone = store.write([DeleteOp(call.id, moved[0].version)])
    assert gone[0].status is WriteStatus.OK
    assert listing(store, cursor)[1] == [call.id]


# exchangelib writes xsd:boolean as "1"/"0" (valid; Exchange answers "true"/"false"), so these also pin
# the emulator's normalisation of booleans.
def test_a_reminder_written_reads_back(store_for) -> None:
    store = store_for()
    made = store.write([CreateOp({"Subject": "Call", "Start": utc(LA, 5, "09:00"), "End": utc(LA, 5, "09:30"),
                                  "IsAllDayEvent": "false", "ReminderIsSet": "true", "ReminderMinutesBeforeStart": "10"})])
    [call] = store.fetch([made[0].record_id])
    assert (call.fields["ReminderIsSet"], call.fields["ReminderMinutesBeforeStart"]) == ("true", "10")


@pytest.mark.parametrize("zone", ["America/Los_Angeles", "Pacific/Auckland", "Pacific/Kiritimati"])
def test_an_all_day_event_written_in_the_mailbox_zone_reads_back_on_the_same_dates(store_for, sandbox: Sandbox,
                                                                                   zone) -> None:
    exchange(sandbox).mailboxes["alice@acme.example"].time_zone = zone   # alice set her zone in Outlook's options
    store = store_for(zone=ZoneInfo("Pacific/Pago_Pago"))                 # a user's zone 24 hours away from Kiritimati
    first = dt.datetime.now(dt.timezone.utc).date() + dt.timedelta(days=10)
    made = store.write([CreateOp({"Subject": "Trade fair", "Start": first.isoformat(),
                                  "End": (first + dt.timedelta(days=2)).isoformat(), "IsAllDayEvent": "true"})])
    [fair] = store.fetch([made[0].record_id])
    assert (fair.fields["Start"], fair.fields["End"], fair.fields["IsAllDayEvent"]) == (
        first.isoformat(), (first + dt.timedelta(days=2)).isoformat(), "true")
    stored = exchange(sandbox).mailboxes["alice@acme.example"].items[made[0].record_id].fields
    midnight = dt.datetime.combine(first, dt.time(), ZoneInfo(zone))
    assert stored["Start"] == instant_text(midnight), "midnight where the mailbox is, not where the user is"


def test_new_items_are_written_in_the_mailboxs_own_zone_asked_once_per_store(store_for, sandbox: Sandbox,
                                                                             connector) -> None:
    """An Auckland user (the store's zone) with a Los Angeles mailbox: what the sync creates is in
    Los Angeles time, as Outlook shows it; the zone is read once, by the first create."""
    auckland = store_for(zone=ZoneInfo("Pacific/Auckland"))
    sandbox.counters.reset()
    listing(auckland)
    assert "GetUserConfiguration" not in sandbox.counters.counts("exchange"), "reading never asks for the zone"
    first = auckland.write([CreateOp({"Subject": "Company holiday", "Start": "2027-03-01", "End": "2027-03-02",
                                      "IsAllDayEvent": "true"})])
    second = auckland.write([CreateOp({"Subject": "Pipeline review", "Start": utc(LA, 6, "10:00"),
                                       "End": utc(LA, 6, "11:00"), "IsAllDayEvent": "false"})])
    assert sandbox.counters.counts("exchange")["GetUserConfiguration"] == 1
    account = connector.account("alice@acme.example")
    holiday, review = (account.calendar.get(id=result.record_id) for result in (first[0], second[0]))
    assert holiday._start_timezone.key == review._start_timezone.key == LA
    assert (holiday.start, holiday.end) == (dt.date(2027, 3, 1), dt.date(2027, 3, 1))   # exchangelib: the last day
    stored = exchange(sandbox).mailboxes["alice@acme.example"].items[first[0].record_id].fields
    assert (stored["Start"], stored["End"]) == ("2027-03-01T08:00:00Z", "2027-03-02T08:00:00Z")
    assert review.start.astimezone(ZoneInfo(LA)).hour == 10


def test_a_mailbox_without_a_zone_of_its_own_gets_the_stores_zone(store_for, sandbox: Sandbox, connector) -> None:
    exchange(sandbox).mailboxes["dave@acme.example"].time_zone = None   # dave never opened Outlook's options
    store = store_for("dave", zone=ZoneInfo("Europe/Berlin"))
    [made] = store.write([CreateOp({"Subject": "Inventory day", "Start": "2027-03-01", "End": "2027-03-02",
                                    "IsAllDayEvent": "true"})])
    assert made.status is WriteStatus.OK
    assert connector.account("dave@acme.example").calendar.get(id=made.record_id)._start_timezone.key == "Europe/Berlin"
    stored = exchange(sandbox).mailboxes["dave@acme.example"].items[made.record_id].fields
    assert stored["Start"] == "2027-02-28T23:00:00Z"


def test_a_moved_or_cancelled_occurrence_re_lists_the_window(store_for) -> None:
    store = store_for()
    records, _, _, cursor = listing(store)
    weekly = named(records, "Weekly pipeline sync")
    fourth, fifth = weekly[3], weekly[4]
    moved = store.write([UpdateOp(fourth.id, fourth.version, {"Start": utc(LA, 29, "15:00"), "End": utc(LA, 29, "15:30")}),
                         DeleteOp(fifth.id, fifth.version)])
    assert [r.status for r in moved] == [WriteStatus.OK, WriteStatus.OK]
    with pytest.raises(SeriesChanged):
        store.list_changes(cursor)
    after = named(listing(store)[0], "Weekly pipeline sync")   # what the engine does next: list in full
    assert [(r.fields["Start"], r.fields["CalendarItemType"]) for r in after] == [
        (utc(LA, 1, "10:00"), "Occurrence"), (utc(LA, 9, "14:00"), "Exception"),
        (utc(LA, 22, "10:00"), "Occurrence"), (utc(LA, 29, "15:00"), "Exception")]
    assert after[3].fields["OccurrenceKey"] == fourth.fields["OccurrenceKey"]


def test_the_window_moving_lists_the_days_that_entered_it(store_for) -> None:
    cursor = listing(store_for(future=2))[3]
    entered = listing(store_for(future=5), cursor)[0]
    assert {r.fields["Subject"] for r in entered.values()} >= {"Offsite planning", "Umbrella follow-up"}
    assert "Globex quarterly review" not in {r.fields["Subject"] for r in entered.values()}


@pytest.mark.parametrize(("send", "delivered"), [(False, []), (True, ["Partner sync"])])
def test_attendees_added_from_salesforce_get_invitations_only_when_configured(store_for, send, delivered) -> None:
    alice = store_for(send_invitations=send)
    made = alice.write([CreateOp({"Subject": "Partner sync", "Start": utc(LA, 4, "08:00"), "End": utc(LA, 4, "08:30"),
                                  "IsAllDayEvent": "false"})])
    [invited] = alice.change_attendees([AttendeeEdit(made[0].record_id, made[0].version, ["bob@acme.example"], [])])
    assert invited.status is WriteStatus.OK
    [item] = alice.fetch([made[0].record_id])
    assert [a.email for a in item.fields["Attendees"]] == ["bob@acme.example"]
    bob = [r.fields["Subject"] for r in listing(store_for("bob"))[0].values() if r.fields["Subject"] == "Partner sync"]
    assert bob == delivered


def test_attendees_removed_in_salesforce_leave_the_item_conditionally(store_for) -> None:
    alice = store_for()
    [kickoff] = named(listing(alice)[0], "Initech kickoff")
    stale = kickoff.version
    [changed] = alice.change_attendees([AttendeeEdit(kickoff.id, kickoff.version, ["monty@snpp.example"],
                                                     ["RAJ.PATEL@initech.example"])])
    assert changed.status is WriteStatus.OK and changed.version != stale
    [item] = alice.fetch([kickoff.id])
    assert sorted(a.email for a in item.fields["Attendees"]) == ["bob@acme.example", "monty@snpp.example"]
    [refused] = alice.change_attendees([AttendeeEdit(kickoff.id, stale, [], ["bob@acme.example"])])
    assert refused.status is WriteStatus.CONFLICT


@pytest.mark.parametrize(("send", "delivered"), [(False, []), (True, ["Partner review"])])
def test_a_meeting_is_created_with_its_attendees_in_one_create_item(store_for, send, delivered) -> None:
    alice = store_for(send_invitations=send)
    [made] = alice.write([CreateOp({"Subject": "Partner review", "Start": utc(LA, 4, "09:00"),
                                    "End": utc(LA, 4, "09:30"), "IsAllDayEvent": "false",
                                    "Attendees": (Attendee("bob@acme.example", None, False),
                                                  Attendee("monty@snpp.example", None, True))})])
    assert made.status is WriteStatus.OK
    [item] = alice.fetch([made.record_id])
    assert [(a.email, a.optional) for a in item.fields["Attendees"]] == [("bob@acme.example", False),
                                                                         ("monty@snpp.example", True)]
    bob = [r.fields["Subject"] for r in listing(store_for("bob"))[0].values() if r.fields["Subject"] == "Partner review"]
    assert bob == delivered


@pytest.mark.parametrize(("send", "cancelled"), [(False, False), (True, True)])
def test_deleting_a_meeting_cancels_it_for_attendees_only_when_configured(store_for, send, cancelled) -> None:
    alice = store_for(send_cancellations=send)
    [kickoff] = named(listing(alice)[0], "Initech kickoff")
    assert alice.write([DeleteOp(kickoff.id, kickoff.version)])[0].status is WriteStatus.OK
    [copy] = named(listing(store_for("bob"))[0], "Initech kickoff")
    assert copy.fields["IsCancelled"] is cancelled


def test_a_series_created_or_deleted_in_the_mailbox_re_lists_the_window(store_for, connector) -> None:
    from exchangelib import CalendarItem, EWSDateTime, EWSTimeZone
    from exchangelib.recurrence import DailyPattern, NumberedPattern, Recurrence

    store = store_for()
    cursor = listing(store)[3]
    account = connector.account("alice@acme.example")
    start = EWSDateTime.from_datetime(at(LA, 3, "07:00")).astimezone(EWSTimeZone(LA))
    series = CalendarItem(account=account, folder=account.calendar, subject="Daily standup", start=start,
                          end=start + dt.timedelta(minutes=15), recurrence=Recurrence(
                              pattern=DailyPattern(interval=1), boundary=NumberedPattern(start=start.date(), number=3)))
    series.save()
    with pytest.raises(SeriesChanged):
        store.list_changes(cursor)
    records, _, _, cursor = listing(store)
    assert len(named(records, "Daily standup")) == 3
    account.calendar.get(subject="Weekly pipeline sync", type="RecurringMaster").delete()
    with pytest.raises(SeriesChanged):
        store.list_changes(cursor)
    assert named(listing(store)[0], "Weekly pipeline sync") == []


def test_busy_only_never_writes_the_placeholder_into_the_private_item(store_for) -> None:
    store = store_for(private_events=PrivateEvents.BUSY_ONLY)
    records, _, _, cursor = listing(store)
    [dentist] = [r for r in records.values() if r.fields["Sensitivity"] == "Private"]
    result = store.write([UpdateOp(dentist.id, dentist.version, {"Subject": "Lunch", "Location": "Cafe",
                                                                  "Start": utc(LA, 1, "15:30"), "End": utc(LA, 1, "16:30")})])
    assert result[0].status is WriteStatus.OK
    [real] = named(listing(store_for(private_events=PrivateEvents.SYNC))[0], "Dentist")
    assert (real.fields["Subject"], real.fields["Start"]) == ("Dentist", utc(LA, 1, "15:30"))


def test_an_item_losing_its_category_leaves_the_data_set(store_for, connector) -> None:
    store = store_for(selection="category", category="Salesforce")
    records, _, _, cursor = listing(store)
    [umbrella] = records.values()
    item = connector.account("alice@acme.example").calendar.get(subject="Umbrella follow-up")
    item.categories = ["Personal"]
    item.save(update_fields=["categories"])
    assert listing(store, cursor)[:3] == ({}, [], [umbrella.id])


def test_an_update_keeps_the_items_own_zone_whatever_the_stores_zone(store_for, connector) -> None:
    """Why the mailbox's own zone is not needed for updates: an item keeps the zone it was made in.
    An Auckland-zoned store (the user's Salesforce zone) moves an all-day item of a Los Angeles
    mailbox by a day, and a timed one by an hour: dates and wall-clock stay those of the item's zone."""
    auckland = store_for(zone=ZoneInfo("Pacific/Auckland"))
    records = listing(auckland)[0]
    [offsite], [review] = named(records, "Offsite planning"), named(records, "Globex quarterly review")
    moved_day = local_day(LA, 4)
    later = dt.datetime.fromisoformat(review.fields["Start"].replace("Z", "+00:00")) + dt.timedelta(hours=1)
    results = auckland.write([
        UpdateOp(offsite.id, offsite.version, {"Start": moved_day.isoformat(),
                                               "End": (moved_day + dt.timedelta(days=1)).isoformat()}),
        UpdateOp(review.id, review.version, {"Start": instant_text(later),
                                             "End": instant_text(later + dt.timedelta(hours=1))})])
    assert [r.status for r in results] == [WriteStatus.OK, WriteStatus.OK]
    account = connector.account("alice@acme.example")
    for item_id in (offsite.id, review.id):
        assert account.calendar.get(id=item_id)._start_timezone.key == "America/Los_Angeles"
    [offsite_now] = auckland.fetch([offsite.id])
    assert (offsite_now.fields["Start"], offsite_now.fields["End"]) == (
        moved_day.isoformat(), (moved_day + dt.timedelta(days=1)).isoformat())
    assert account.calendar.get(id=review.id).start.astimezone(ZoneInfo(LA)).hour == 10
