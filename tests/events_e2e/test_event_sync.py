"""Events sync through plan/apply alongside contacts: series as occurrences, all-day dates across
zones, meetings between syncing users, and a cycle with nothing to do."""

from __future__ import annotations

import pytest
from events_e2e.conftest import calendar, edit_events, salesforce_events, subjects
from sandbox.ews_client import exchange
from sync_e2e.conftest import World

from reconciler.plan import Plan
from reconciler.plan.records import UserRecordPlan, record_entries
from reconciler.sync import ActionKind, CreateOp, DeleteOp, WriteStatus

ALICE, BOB, CAROL = "alice@acme.example", "bob.sf@acme.example.crm", "carol@acme.example"
LA, AUCKLAND, LONDON = "America/Los_Angeles", "Pacific/Auckland", "Europe/London"


def _event_entries(plan: Plan) -> dict[str, UserRecordPlan]:
    return {e.user: e for e in record_entries(plan.record_changes) if e.object == "event"}


def test_a_weekly_series_reaches_salesforce_as_occurrences_and_a_cancelled_one_removes_its_event(world: World):
    world.cycle()
    series = subjects(world.everything(salesforce_events(world, ALICE, LA)), "Weekly pipeline sync")
    occurrences = subjects(world.everything(calendar(world, "alice@acme.example", LA)), "Weekly pipeline sync")
    # Six occurrences, one cancelled in the seed: five events, the moved one at its moved time.
    assert len(series) == len(occurrences) == 5
    assert sorted(r.fields["StartDateTime"] for r in series) == sorted(r.fields["Start"] for r in occurrences)

    plan, outcome = world.cycle()
    assert outcome.ok
    assert not [a for a in _event_entries(plan)["alice"].actions if a.writes], "occurrences are never re-stamped"

    cancelled = occurrences[-1]
    [result] = calendar(world, "alice@acme.example", LA).write([DeleteOp(cancelled.id, cancelled.version)])
    assert result.status is WriteStatus.OK
    plan, outcome = world.cycle()
    assert outcome.ok
    kinds = [a.kind for a in _event_entries(plan)["alice"].actions]
    assert kinds.count(ActionKind.DELETE_SALESFORCE) == 1
    remaining = subjects(world.everything(salesforce_events(world, ALICE, LA)), "Weekly pipeline sync")
    assert sorted(r.fields["StartDateTime"] for r in remaining) == sorted(
        r.fields["Start"] for r in occurrences[:-1])


def test_an_all_day_event_of_an_auckland_user_with_a_los_angeles_mailbox_keeps_its_date_both_ways(world: World):
    salesforce = salesforce_events(world, CAROL, AUCKLAND)
    [made] = salesforce.write([CreateOp({"Subject": "Waitangi Day", "StartDateTime": "2027-02-06",
                                         "EndDateTime": "2027-02-07", "IsAllDayEvent": "true"})])
    assert made.status is WriteStatus.OK
    mailbox = calendar(world, "carol@acme.example", LA)
    [result] = mailbox.write([CreateOp({"Subject": "Anzac Day", "Start": "2027-04-25", "End": "2027-04-26",
                                        "IsAllDayEvent": "true"})])
    assert result.status is WriteStatus.OK

    plan, outcome = world.cycle()
    assert outcome.ok, outcome.records

    [item] = subjects(world.everything(mailbox), "Waitangi Day")
    assert (item.fields["Start"], item.fields["End"], item.fields["IsAllDayEvent"]) == ("2027-02-06", "2027-02-07", "true")
    [event] = subjects(world.everything(salesforce), "Anzac Day")
    assert (event.fields["StartDateTime"], event.fields["EndDateTime"]) == ("2027-04-25", "2027-04-26")
    assert event.fields["IsAllDayEvent"] == "true"


def test_a_meeting_between_two_syncing_users_is_one_parent_and_one_child_never_a_duplicate(world: World):
    world.cycle()
    world.cycle()
    alice = subjects(world.everything(salesforce_events(world, ALICE, LA)), "Initech kickoff")
    bob = subjects(world.everything(salesforce_events(world, BOB, LONDON)), "Initech kickoff")
    assert [e.fields["IsChild"] for e in alice] == [False]
    assert [e.fields["IsChild"] for e in bob] == [True], "bob's copy pairs with his child event, never a second event"
    relations = {row.relation_type: row for row in alice[0].fields["EventRelations"] if row.is_invitee}
    assert relations["User"].email == "bob@acme.example"
    plan, _ = world.cycle()
    assert not [a for a in _event_entries(plan)["bob"].actions if a.writes]


def test_a_cycle_with_nothing_to_do_writes_no_event(world: World):
    world.cycle()
    world.cycle()
    plan, outcome = world.cycle()
    assert outcome.ok
    for entry in _event_entries(plan).values():
        assert entry.change_count == 0, entry.actions
    assert all(r.written == 0 for r in outcome.records.results if r.object == "event")


@pytest.mark.parametrize("send", [False, True])
def test_salesforce_invitees_become_exchange_attendees_and_invitations_go_only_when_configured(world: World, send: bool):
    edit_events(world, sendInvitations=send)
    _, outcome = world.cycle()
    assert outcome.ok, outcome.records
    [item] = subjects(world.everything(calendar(world, "alice@acme.example", LA)), "Pipeline review")
    invited = sorted(a.email.lower() for a in item.fields["Attendees"])
    assert invited == ["bob@acme.example", "monty@snpp.example", "raj.patel@initech.example"]
    sent = [entry["subject"] for entry in exchange(world.sandbox).outbox("alice@acme.example")]
    assert ("Pipeline review" in sent) is send
