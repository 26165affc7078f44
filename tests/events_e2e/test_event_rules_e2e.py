"""The event rules end to end: a series changed in Exchange, privacy modes, category selection,
edits on both sides, a meeting across a DST change, and convergence under injected faults."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
from events_e2e.conftest import calendar, edit_events, salesforce_events, subjects
from sync_e2e.conftest import EXCHANGE, World

from reconciler.plan.records import record_entries
from reconciler.sandbox.faults import FaultRule
from reconciler.sync import ActionKind, CreateOp, UpdateOp, WriteStatus

ALICE, BOB = "alice@acme.example", "bob.sf@acme.example.crm"
LA, LONDON = "America/Los_Angeles", "Europe/London"


def _edit(store, record, **fields) -> None:
    [result] = store.write([UpdateOp(record.id, record.version, fields)])
    assert result.status is WriteStatus.OK, result


def test_a_change_to_the_series_updates_every_occurrence_in_salesforce(world: World):
    world.cycle()
    account = world.runtime.exchange(EXCHANGE).account(ALICE)
    master = account.calendar.get(subject="Weekly pipeline sync", type="RecurringMaster")
    master.location = "Room 7"
    master.save(update_fields=["location"])

    _, outcome = world.cycle()
    assert outcome.ok, outcome.records
    series = subjects(world.everything(salesforce_events(world, ALICE, LA)), "Weekly pipeline sync")
    assert len(series) == 5
    # The moved occurrence is an exception: it keeps its own location, as Exchange does.
    assert Counter(e.fields["Location"] for e in series)["Room 7"] >= 4


@pytest.mark.parametrize("mode", ["skip", "sync", "busy_only"])
def test_private_events_under_each_mode(world: World, mode: str):
    edit_events(world, privateEvents=mode)
    _, outcome = world.cycle()
    assert outcome.ok, outcome.records
    salesforce = world.everything(salesforce_events(world, ALICE, LA))
    exchange = world.everything(calendar(world, ALICE, LA))
    private_in_salesforce = [e for e in salesforce if e.fields["IsPrivate"] == "Private"]
    private_in_exchange = [e for e in exchange if e.fields["Sensitivity"] == "Private"]
    if mode == "skip":
        # Each side keeps its own Dentist appointment; nothing private crosses.
        assert [e.fields["Subject"] for e in private_in_salesforce] == ["Dentist"]
        assert [e.fields["Subject"] for e in private_in_exchange] == ["Dentist"]
    elif mode == "sync":
        assert sorted(e.fields["Subject"] for e in private_in_salesforce) == ["Dentist", "Dentist"]
        assert sorted(e.fields["Subject"] for e in private_in_exchange) == ["Dentist", "Dentist"]
    else:
        # Each side's appointment reaches the other as a private time block called "Busy".
        assert sorted(e.fields["Subject"] for e in private_in_salesforce) == ["Busy", "Dentist"]
        assert sorted(e.fields["Subject"] for e in private_in_exchange) == ["Busy", "Dentist"]
        [block] = [e for e in private_in_salesforce if e.fields["Subject"] == "Busy"]
        assert block.fields["Location"] is None and block.fields["Description"] is None


def test_category_selection_syncs_only_categorised_items_and_tags_what_it_creates(world: World):
    edit_events(world, dataSet={"selection": "category", "category": "Salesforce"})
    _, outcome = world.cycle()
    assert outcome.ok, outcome.records
    salesforce = world.everything(salesforce_events(world, ALICE, LA))
    assert subjects(salesforce, "Weekly pipeline sync") == [], "uncategorised items stay out of Salesforce"
    assert len(subjects(salesforce, "Umbrella follow-up")) == 2   # Salesforce's own, and the categorised item
    created = subjects(world.everything(calendar(world, ALICE, LA)), "Sales kickoff")
    assert created and all("Salesforce" in (i.fields["Categories"] or ()) for i in created)


def test_an_event_edited_on_both_sides_merges_fields_and_settles_the_same_field_by_policy(world: World):
    world.cycle()
    salesforce, exchange = salesforce_events(world, BOB, LONDON), calendar(world, "bob@acme.example", LONDON)
    [event] = subjects(world.everything(salesforce), "Focus time")
    [item] = subjects(world.everything(exchange), "Focus time")
    _edit(salesforce, event, Location="Library", Description="from Salesforce")
    _edit(exchange, item, Body="from Exchange", LegacyFreeBusyStatus="OOF")

    _, outcome = world.cycle()
    assert outcome.ok, outcome.records
    [event] = [e for e in world.everything(salesforce) if e.id == event.id]
    [item] = [i for i in world.everything(exchange) if i.id == item.id]
    assert (event.fields["Location"], item.fields["Location"]) == ("Library", "Library")
    assert (event.fields["ShowAs"], item.fields["LegacyFreeBusyStatus"]) == ("OOF", "OOF")
    assert event.fields["Description"] == item.fields["Body"].strip() == "from Salesforce"   # salesforce_wins


def test_a_meeting_across_a_dst_change_keeps_its_instants_and_its_local_time_in_the_mailbox(world: World):
    exchange = calendar(world, ALICE, LA)
    # 2027-03-14 is the spring-forward night in Los Angeles: 01:00 PST to 04:00 PDT is two hours.
    [made] = exchange.write([CreateOp({"Subject": "Night shift", "Start": "2027-03-14T09:00:00Z",
                                       "End": "2027-03-14T11:00:00Z", "IsAllDayEvent": "false"})])
    salesforce = salesforce_events(world, ALICE, LA)
    [after] = salesforce.write([CreateOp({"Subject": "After the change", "StartDateTime": "2027-03-15T17:00:00Z",
                                          "EndDateTime": "2027-03-15T18:00:00Z", "IsAllDayEvent": "false"})])
    assert made.status is after.status is WriteStatus.OK

    _, outcome = world.cycle()
    assert outcome.ok, outcome.records
    [shift] = subjects(world.everything(salesforce), "Night shift")
    assert (shift.fields["StartDateTime"], shift.fields["EndDateTime"]) == ("2027-03-14T09:00:00Z", "2027-03-14T11:00:00Z")
    [item] = subjects(world.everything(exchange), "After the change")
    fetched = world.runtime.exchange(EXCHANGE).account(ALICE).calendar.get(id=item.id)
    local = dt.datetime.fromtimestamp(fetched.start.timestamp(), ZoneInfo(LA))
    assert (local.hour, local.minute) == (10, 0)   # 17:00 UTC is 10:00 PDT
    assert str(fetched._start_timezone.key) == LA


def test_injected_faults_converge_after_re_runs_with_every_event_once(world: World):
    faults = world.sandbox.faults
    faults.add(FaultRule("http_503", service="exchange", times=2))
    faults.add(FaultRule("request_limit", service="salesforce", times=2))
    faults.add(FaultRule("record_failure", service="salesforce", times=2))
    faults.add(FaultRule("record_failure", service="exchange", times=2))
    results, _ = world.cycles_until_quiet(5)
    assert results[-1].ok
    assert all(rule.fired == rule.times for rule in faults._rules)
    # Every event once on each side (private ones and Salesforce child events stay on their side).
    salesforce = Counter((e.fields["Subject"], e.fields["StartDateTime"])
                         for e in world.everything(salesforce_events(world, ALICE, LA))
                         if e.fields["IsPrivate"] != "Private" and not e.fields["IsChild"])
    exchange = Counter((i.fields["Subject"], i.fields["Start"]) for i in world.everything(calendar(world, ALICE, LA))
                       if i.fields["Sensitivity"] != "Private")
    assert salesforce == exchange and set(salesforce.values()) == {1}


def test_events_leaving_the_window_are_not_deleted_and_resume_when_it_widens(world: World):
    world.cycle()
    edit_events(world, dataSet={"futureDays": 5})
    # A series change makes the mailbox list the (narrower) window in full: the occurrences beyond it
    # are absent from that listing, and must not count as deleted.
    master = world.runtime.exchange(EXCHANGE).account(ALICE).calendar.get(subject="Weekly pipeline sync",
                                                                         type="RecurringMaster")
    master.location = "Room 7"
    master.save(update_fields=["location"])
    plan, outcome = world.cycle()
    assert outcome.ok, outcome.records
    [alice] = [e for e in record_entries(plan.record_changes) if e.user == "alice" and e.object == "event"]
    assert not [a for a in alice.actions if a.delete_count], alice.actions
    assert len(subjects(world.everything(salesforce_events(world, ALICE, LA)), "Weekly pipeline sync")) == 5

    edit_events(world, dataSet={"futureDays": 365})
    plan, outcome = world.cycle()
    assert outcome.ok, outcome.records
    [alice] = [e for e in record_entries(plan.record_changes) if e.user == "alice" and e.object == "event"]
    # The frozen pairs resume: nothing is created twice, and the series change reaches them now.
    assert {a.kind for a in alice.actions if a.writes} <= {ActionKind.UPDATE_SALESFORCE}
    series = subjects(world.everything(salesforce_events(world, ALICE, LA)), "Weekly pipeline sync")
    assert len(series) == 5 and Counter(e.fields["Location"] for e in series)["Room 7"] >= 4
