"""The attendee step takes the records its run created as the run wrote them, without reading them
back: an invitee added in Salesforce between the plan and the apply still reaches the meeting the
apply creates in Exchange, written with the ChangeKey that meeting's CreateItem returned."""

from __future__ import annotations

from events_e2e.conftest import calendar, salesforce_events, subjects
from sync_e2e.conftest import SALESFORCE, World

from reconciler.plan.records import record_entries
from reconciler.sync import ActionKind, WriteStatus

ALICE, LA = "alice@acme.example", "America/Los_Angeles"


def test_an_invitee_added_in_salesforce_after_the_plan_reaches_the_meeting_the_apply_creates(world: World):
    plan = world.plan()
    [entry] = [e for e in record_entries(plan.record_changes) if e.object == "event" and e.user == "alice"]
    [review] = subjects(world.everything(salesforce_events(world, ALICE, LA)), "Pipeline review")
    assert any(a.kind is ActionKind.CREATE_EXCHANGE and a.salesforce_id == review.id for a in entry.actions)
    assert sorted(c.who for c in entry.attendees if c.salesforce_id == review.id) == [
        "bob@acme.example", "monty@snpp.example", "raj.patel@initech.example"]

    # carol (a User) is invited in Salesforce after the plan; the event's SystemModstamp stays.
    [carol] = world.runtime.salesforce(SALESFORCE).query_all(
        "SELECT Id FROM User WHERE Email = 'carol@acme.example'", "finding the user")
    written = salesforce_events(world, ALICE, LA).write_relations([(review.id, carol["Id"], "New")], [], [])
    assert [r.status for r in written] == [WriteStatus.OK]

    outcome = world.apply(plan)
    assert outcome.ok, outcome.records
    [item] = subjects(world.everything(calendar(world, ALICE, LA)), "Pipeline review")
    assert sorted(a.email.lower() for a in item.fields["Attendees"]) == [
        "bob@acme.example", "carol@acme.example", "monty@snpp.example", "raj.patel@initech.example"]

    world.cycle()
    next_plan, outcome = world.cycle()
    assert outcome.ok, outcome.records
    assert not [c for e in record_entries(next_plan.record_changes) if e.object == "event" for c in e.attendees]
    assert all(r.written == 0 for r in outcome.records.results if r.object == "event")
