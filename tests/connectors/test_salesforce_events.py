"""Contract tests: the Salesforce event store with the real simple-salesforce client over HTTPS to the
sandbox org (seeded events of alice, bob and carol; times count from the seeding day, UTC)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from reconciler.connectors.http import ApiCallCounter
from reconciler.connectors.retry import BackOff
from reconciler.connectors import salesforce
from reconciler.connectors.salesforce import SalesforceConnector
from reconciler.connectors.salesforce_events import DEFAULT_EVENT_FIELDS, SalesforceEventStore, entered_slice, read_event_feed
from reconciler.connectors.settings import SalesforceSettings
from reconciler.sync.events import MASKED_SUBJECT, EventWindow, PrivateEvents, RelationKind
from reconciler.sync.ports import CreateOp, DeleteOp, SourceRecord, UpdateOp, WriteStatus

LA = ZoneInfo("America/Los_Angeles")


def today() -> date:
    return datetime.now(timezone.utc).date()


def day(offset: int) -> str:
    return (today() + timedelta(days=offset)).isoformat()


def at(offset: int, clock: str) -> str:
    return f"{day(offset)}T{clock}:00Z"


@pytest.fixture
def connector(salesforce_settings: Callable[..., SalesforceSettings], counter: ApiCallCounter,
              backoff: BackOff) -> SalesforceConnector:
    return SalesforceConnector(salesforce_settings("client_credentials"), counter, backoff)


@pytest.fixture
def user_ids(connector: SalesforceConnector) -> dict[str, str]:
    users = connector.users_by_username(["alice@acme.example", "bob.sf@acme.example.crm", "carol@acme.example"])
    return {name.split("@")[0].split(".")[0]: user.id for name, user in users.items()}


@pytest.fixture
def store_for(connector: SalesforceConnector, user_ids: dict[str, str]) -> Callable[..., SalesforceEventStore]:
    def make(user: str = "alice", past: int = 30, future: int = 365, **options: Any) -> SalesforceEventStore:
        window = EventWindow.around(datetime.now(timezone.utc), past, future)
        return SalesforceEventStore(connector, user_ids[user], window, LA, **options)
    return make


@pytest.fixture
def no_overlap(monkeypatch: pytest.MonkeyPatch) -> None:
    """The feed re-reads a few seconds before its cursor (stamps are per second); the seed is older
    than that only by a moment, so tests of what a feed shows start it exactly at the listing."""
    monkeypatch.setattr(salesforce, "CURSOR_OVERLAP", timedelta(0))


def listing(store: SalesforceEventStore, cursor: str | None = None) -> tuple[dict[str, SourceRecord], list[str], list[str], str]:
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


def by_subject(records: dict[str, SourceRecord]) -> dict[str, SourceRecord]:
    return {str(r.fields["Subject"]): r for r in records.values()}


def test_lists_the_users_events_in_the_window_with_canonical_values(store_for) -> None:
    events = by_subject(listing(store_for())[0])
    assert set(events) == {"Globex quarterly review", "Pipeline review", "Offsite planning", "Sales kickoff",
                           "Umbrella follow-up", "Soylent tasting"}   # Dentist is private: skipped
    review = events["Globex quarterly review"].fields
    assert (review["StartDateTime"], review["EndDateTime"], review["IsAllDayEvent"]) == (
        at(1, "16:00"), at(1, "17:00"), "false")
    offsite, kickoff = events["Offsite planning"].fields, events["Sales kickoff"].fields
    assert (offsite["StartDateTime"], offsite["EndDateTime"], offsite["IsAllDayEvent"]) == (day(3), day(4), "true")
    assert (kickoff["StartDateTime"], kickoff["EndDateTime"], kickoff["ShowAs"]) == (day(8), day(10), "OOF")
    umbrella = events["Umbrella follow-up"].fields   # seeded with IsReminderSet but no ReminderDateTime
    assert (umbrella["IsReminderSet"], umbrella["ReminderDateTime"]) == ("false", None)


def test_a_child_event_is_listed_as_such_for_its_invitee(store_for) -> None:
    events = by_subject(listing(store_for())[0])
    assert events["Soylent tasting"].fields["IsChild"] is True     # carol organises, alice accepted
    assert events["Pipeline review"].fields["IsChild"] is False


def test_event_relations_are_read_alongside(store_for, user_ids) -> None:
    relations = by_subject(listing(store_for())[0])["Pipeline review"].fields["EventRelations"]
    invitees = {(r.relation_type, r.email) for r in relations if r.is_invitee}
    assert invitees == {("User", "bob@acme.example"), ("Lead", "monty@snpp.example"),
                        ("Contact", "raj.patel@initech.example")}
    assert {r.relation_id for r in relations if r.relation_type == "User"} == {user_ids["bob"]}


@pytest.mark.parametrize(("mode", "subject", "private"), [
    (PrivateEvents.SYNC, "Dentist", "Private"), (PrivateEvents.BUSY_ONLY, MASKED_SUBJECT, "Private"),
])
def test_private_events_follow_the_privacy_mode(store_for, mode, subject, private) -> None:
    records = listing(store_for(private_events=mode))[0]
    dentist = [r for r in records.values() if r.fields["IsPrivate"] == "Private"]
    assert [(r.fields["Subject"], r.fields["Location"], r.fields["ShowAs"]) for r in dentist] == [(subject, None, "OOF")]


def test_the_window_bounds_the_listing_not_the_data_set(store_for) -> None:
    narrow = store_for(past=0, future=2)
    events = by_subject(listing(narrow)[0])
    assert set(events) == {"Globex quarterly review", "Pipeline review"}
    kickoff = by_subject(listing(store_for())[0])["Sales kickoff"]   # day 8: outside the narrow window
    assert [r.id for r in narrow.fetch([kickoff.id])] == [kickoff.id]


def test_a_cycle_without_changes_costs_the_same_few_calls(store_for, counter: ApiCallCounter, no_overlap) -> None:
    store = store_for()
    cursor = listing(store)[3]
    before = dict(counter.counts())
    records, deleted, departed, cursor = listing(store, cursor)
    calls = {k: v - before.get(k, 0) for k, v in counter.counts().items() if v != before.get(k, 0)}
    assert (records, deleted, departed) == ({}, [], [])
    assert sum(calls.values()) == 3   # changed events, getDeleted, departures: no relation reads


def test_writes_are_conditional_and_changes_show_in_the_feed(store_for) -> None:
    store = store_for()
    cursor = listing(store)[3]
    timed = CreateOp({"Subject": "Contract call", "StartDateTime": at(5, "17:00"), "EndDateTime": at(5, "17:30"),
                      "IsAllDayEvent": "false", "ShowAs": "OOF", "IsPrivate": "Normal",
                      "IsReminderSet": "true", "ReminderDateTime": "10"})
    all_day = CreateOp({"Subject": "Trade fair", "StartDateTime": day(6), "EndDateTime": day(8), "IsAllDayEvent": "true"})
    created = store.write([timed, all_day])
    assert [r.status for r in created] == [WriteStatus.OK, WriteStatus.OK] and all(r.version for r in created)
    changed = listing(store, cursor)[0]
    call, fair = changed[created[0].record_id].fields, changed[created[1].record_id].fields
    assert (call["StartDateTime"], call["ShowAs"], call["ReminderDateTime"]) == (at(5, "17:00"), "OOF", "10")
    assert (fair["StartDateTime"], fair["EndDateTime"], fair["IsAllDayEvent"]) == (day(6), day(8), "true")

    stale = store.write([UpdateOp(created[0].record_id, "2000-01-01T00:00:00.000+0000", {"Subject": "x"})])
    assert stale[0].status is WriteStatus.CONFLICT
    moved = store.write([UpdateOp(created[0].record_id, created[0].version,
                                  {"StartDateTime": at(6, "17:00"), "EndDateTime": at(6, "17:30")})])
    assert moved[0].status is WriteStatus.OK and moved[0].version
    [now] = store.fetch([created[0].record_id])
    assert (now.fields["StartDateTime"], now.fields["ReminderDateTime"]) == (at(6, "17:00"), "10")
    gone = store.write([DeleteOp(created[1].record_id, created[1].version), DeleteOp("00U000000000000AAA", "v")])
    assert [r.status for r in gone] == [WriteStatus.OK, WriteStatus.NOT_FOUND]
    assert created[1].record_id in listing(store, cursor)[1]


def test_a_child_event_is_never_written(store_for) -> None:
    store = store_for()
    child = by_subject(listing(store)[0])["Soylent tasting"]
    [result] = store.write([UpdateOp(child.id, child.version, {"Subject": "Soylent tasting (moved)"})])
    assert result.status is WriteStatus.FAILED and not result.retryable


def test_inviting_a_user_creates_a_child_event_and_declining_removes_it(store_for, user_ids) -> None:
    alice, bob = store_for("alice"), store_for("bob")
    review = by_subject(listing(alice)[0])["Globex quarterly review"]
    [ok] = alice.write_relations([(review.id, user_ids["bob"], "New")], [], [])
    assert ok.status is WriteStatus.OK
    children = [r for r in listing(bob)[0].values() if r.fields["Subject"] == "Globex quarterly review"]
    assert [c.fields["IsChild"] for c in children] == [True]
    [relation] = [r for r in alice.fetch([review.id])[0].fields["EventRelations"] if r.relation_id == user_ids["bob"]]
    [declined] = alice.write_relations([], [(relation.id, "Declined")], [])
    assert declined.status is WriteStatus.OK
    assert "Globex quarterly review" not in by_subject(listing(bob)[0])


def test_invitees_added_or_removed_show_as_changed_events_without_moving_the_event(store_for, user_ids,
                                                                                 no_overlap) -> None:
    alice = store_for("alice")
    kickoff = by_subject(listing(alice)[0])["Globex quarterly review"]
    assert alice.write_relations([(kickoff.id, user_ids["bob"], "New")], [], [])[0].status is WriteStatus.OK
    time.sleep(1.1)   # stamps have whole seconds: the cursor starts after that write
    cursor = listing(alice)[3]
    assert alice.invitees_changed_since(cursor) == []
    [grouped] = alice.fetch([kickoff.id])
    [relation] = [r for r in grouped.fields["EventRelations"] if r.relation_id == user_ids["bob"]]
    assert alice.write_relations([], [], [relation.id])[0].status is WriteStatus.OK
    assert listing(alice, cursor)[0] == {}, "the event feed does not show it"
    assert alice.invitees_changed_since(cursor) == [kickoff.id]
    assert store_for("bob").invitees_changed_since(cursor) == [], "only the owner's events"
    assert alice.invitees_changed_since(None) == []


def test_attendees_are_matched_against_users_leads_and_contacts(store_for, user_ids) -> None:
    directory = store_for().attendee_directory(["Bob@acme.example", "monty@snpp.example",
                                                "raj.patel@initech.example", "nobody@nowhere.example"])
    assert directory[RelationKind.USER] == {"bob@acme.example": [user_ids["bob"]]}
    assert set(directory[RelationKind.LEAD]) == {"monty@snpp.example"}
    assert set(directory[RelationKind.CONTACT]) == {"raj.patel@initech.example"}


def test_salesforce_recurring_series_are_reported_and_not_listed(store_for, connector: SalesforceConnector,
                                                                  user_ids) -> None:
    answer = connector.call("seeding a series", lambda sf: sf.Event.create({
        "Subject": "Weekly standup series", "StartDateTime": at(2, "16:00"), "EndDateTime": at(2, "16:15"),
        "IsRecurrence": True, "OwnerId": user_ids["alice"]}))
    store = store_for()
    [series] = store.unsynced_series()
    assert (series.id, series.subject) == (answer["id"], "Weekly standup series") and "not synced" in series.reason
    assert answer["id"] not in listing(store)[0]


def test_an_event_turned_private_leaves_the_data_set_under_skip(store_for, connector: SalesforceConnector) -> None:
    store = store_for()
    records, _, _, cursor = listing(store)
    review = by_subject(records)["Globex quarterly review"]
    connector.call("making an event private", lambda sf: sf.Event.update(review.id, {"IsPrivate": True}))
    changed, deleted, departed, _ = listing(store, cursor)
    assert (review.id in changed, deleted, review.id in departed) == (False, [], True)
    assert store.fetch([review.id]) == []


def test_the_window_moving_lists_the_days_that_entered_it(store_for, no_overlap) -> None:
    cursor = listing(store_for(past=0, future=2))[3]
    entered = by_subject(listing(store_for(past=0, future=5), cursor)[0])
    assert {"Offsite planning"} <= set(entered) and "Globex quarterly review" not in entered


def test_the_org_event_feed_serves_each_owner_its_share_with_no_call_of_its_own(
        store_for, connector: SalesforceConnector, counter: ApiCallCounter, user_ids, no_overlap) -> None:
    alice = store_for("alice")
    events, _, _, cursor = listing(alice)
    bob_cursor = listing(store_for("bob"))[3]
    review, umbrella, pipeline, kickoff = (by_subject(events)[s] for s in (
        "Globex quarterly review", "Umbrella follow-up", "Pipeline review", "Sales kickoff"))
    [monty] = connector.query_all("SELECT Id FROM Lead WHERE Email = 'monty@snpp.example'", "finding the lead")
    [dropped] = alice.write([CreateOp({"Subject": "Dropped", "StartDateTime": at(4, "09:00"),
                                       "EndDateTime": at(4, "10:00"), "IsAllDayEvent": "false"})])
    alice.write([DeleteOp(dropped.record_id or "", dropped.version or "")])
    alice.write([UpdateOp(review.id, review.version, {"Subject": "Globex quarterly review (moved)"}),
                 UpdateOp(kickoff.id, kickoff.version, {"Location": "Hall B"})])
    alice.write_relations([(review.id, monty["Id"], "New")], [], [])
    connector.call("handing an event to bob", lambda sf: sf.Event.update(umbrella.id, {"OwnerId": user_ids["bob"]}))
    connector.call("making an event private", lambda sf: sf.Event.update(pipeline.id, {"IsPrivate": True}))

    counter.reset()
    feed = read_event_feed(connector, [user_ids["alice"], user_ids["bob"]], DEFAULT_EVENT_FIELDS,
                           datetime.fromisoformat(salesforce.decode_change_cursor(cursor)["since"]))
    # series, getDeleted, changed events, their relations, invitee changes: for every user at once
    assert counter.counts() == {"query": 3, "queryAll": 1, "sobjects/deleted": 1}, counter.counts()

    counter.reset()
    changed, deleted, departed, _ = listing(store_for("alice", feed=feed), cursor)
    bobs, _, bob_departed, _ = listing(store_for("bob", feed=feed), bob_cursor)
    narrow, _, narrow_departed, _ = listing(store_for("alice", past=0, future=2, feed=feed), cursor)
    invitees = store_for("alice", feed=feed).invitees_changed_since(cursor)
    series = store_for("alice", feed=feed).unsynced_series()
    assert counter.counts() == {}

    assert changed[review.id].fields["Subject"] == "Globex quarterly review (moved)"
    assert {r.email for r in changed[review.id].fields["EventRelations"] if r.is_invitee} == {"monty@snpp.example"}
    assert dropped.record_id in deleted
    assert umbrella.id in departed and umbrella.id in bobs, "handed over: leaves alice, enters bob"
    assert pipeline.id in departed and pipeline.id not in changed, "private under skip: leaves the data set"
    assert review.id in bob_departed and umbrella.id not in bob_departed
    assert kickoff.id in changed and kickoff.id not in narrow and kickoff.id not in narrow_departed, \
        "changed outside a window: neither listed nor gone"
    assert invitees == [review.id] and series == []


def test_the_days_that_entered_the_window_come_from_the_feed_once_for_every_owner(
        store_for, connector: SalesforceConnector, counter: ApiCallCounter, user_ids, no_overlap) -> None:
    cursors = {user: listing(store_for(user, past=0, future=2))[3] for user in ("alice", "bob")}
    moved = store_for(past=0, future=5).window   # the window a few days later
    state = salesforce.decode_change_cursor(cursors["alice"])
    days = entered_slice(state, moved)
    assert days is not None and entered_slice(state, store_for(past=0, future=2).window) is None

    counter.reset()
    feed = read_event_feed(connector, [user_ids["alice"], user_ids["bob"]], DEFAULT_EVENT_FIELDS,
                           datetime.fromisoformat(state["since"]), {days: [user_ids["alice"], user_ids["bob"]]})
    # series, changed events, the entered days of both owners, their relations
    assert counter.counts()["query"] == 4, counter.counts()
    counter.reset()
    entered = by_subject(listing(store_for(past=0, future=5, feed=feed), cursors["alice"])[0])
    listing(store_for("bob", past=0, future=5, feed=feed), cursors["bob"])
    assert counter.counts() == {}
    assert {"Offsite planning"} <= set(entered) and "Globex quarterly review" not in entered
    assert {r.fields["OwnerId"] for r in entered.values()} == {user_ids["alice"]}, "bob's days are bob's"
