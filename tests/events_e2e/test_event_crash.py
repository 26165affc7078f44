"""A process killed with SIGKILL in the middle of an event apply loses nothing and duplicates
nothing: the next runs take its state lock over (same host, dead pid: no force-unlock) and finish
the job, every event on both calendars exactly once, and the meetings' invitees neither lost nor
doubled (an EventRelation per invitee, an attendee per invitee). The attendee step a run never
completed for an event (killed before it, or an attendee write failed) is done by the next run,
whether or not the event changes again."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from events_e2e.conftest import calendar, edit_events, salesforce_events, subjects
from exchangelib import Attendee, Mailbox
from exchangelib.items import SEND_TO_NONE
from events_e2e.test_event_costs import EVENTS_ONLY
from sync_e2e.conftest import EXCHANGE, World, apply_killed_mid_way

from reconciler.connectors.salesforce import CURSOR_OVERLAP
from reconciler.engine.runtime import sandbox_dir
from reconciler.plan import Plan
from reconciler.plan.records import record_entries
from reconciler.sandbox.faults import FaultRule
from reconciler.sandbox.generate import bench_user_address, generate_seed
from reconciler.sandbox.server import Sandbox
from reconciler.state import StateStore

EVENTS = 150      # per side, none shared; Exchange's weekly series make more Salesforce events than that
MEETINGS = 6      # per side, spread through the calendar, each with two of the user's contacts invited
USER = bench_user_address(1)
ZONE = "America/Los_Angeles"   # the first bench user's zone


def _seed_with_meetings() -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The bench seed plus meetings on both sides (the generator makes none), and who each invites.

    Exchange meetings invite the user's Salesforce contacts (EventRelations to create in
    Salesforce); Salesforce meetings invite them too (attendees to add in Exchange). They sit among
    the generated events, so some are written before the kill and some after."""
    seed = generate_seed(users=1, contacts_per_user=2 * MEETINGS, events_per_user=EVENTS)
    emails = [c["Email"] for c in seed["salesforce"]["contacts"]]
    mailbox_events = seed["exchange"]["mailboxes"][0]["events"]
    salesforce_events_ = seed["salesforce"]["events"]
    invited: dict[str, list[str]] = {}
    for n in range(MEETINGS):
        guests = emails[2 * n:2 * n + 2]
        position = (n + 1) * EVENTS // (MEETINGS + 1)
        subject = f"Exchange meeting {n}"
        mailbox_events.insert(position, {"Subject": subject, "when": {"day": n + 1, "start": "07:00", "end": "07:30"},
                                         "RequiredAttendees": guests})
        invited[subject] = guests
        subject = f"Salesforce meeting {n}"
        salesforce_events_.insert(position, {"Subject": subject, "owner": USER, "invitees": guests,
                                             "when": {"day": n + 1, "start": "06:00", "end": "06:30"}})
        invited[subject] = guests
    return seed, invited


@pytest.mark.slow
@pytest.mark.parametrize("service, operation", [("salesforce", "composite_create"), ("exchange", "CreateItem")])
def test_an_event_apply_killed_mid_way_is_finished_by_the_next_runs_without_duplicates(tmp_path: Path, service: str,
                                                                                       operation: str):
    """Killed as soon as the second batch of creates reached Salesforce (its pairs not committed:
    the next run pairs those events by subject and times, and the Exchange meetings created before
    have no EventRelations yet), or reached Exchange (the items carry the stamp that pairs them)."""
    config = tmp_path / "config"
    config.mkdir()
    (config / "reconciler.yaml").write_text(EVENTS_ONLY.format(user=USER), encoding="utf-8")
    state = f"sqlite:///{tmp_path / 'state.db'}"
    seed, invited = _seed_with_meetings()
    with Sandbox(data_dir=sandbox_dir(config), seed=seed) as sandbox:
        killed = apply_killed_mid_way(config, state, sandbox, tmp_path, service, operation)

        with StateStore.open(state) as store:
            lock = store.current_lock()
            assert lock is not None and lock.pid == killed, "the killed run held the state lock"
            paired = len(store.pairs("bench", "event"))
            assert store.cursor("bench", "event", "exchange") is None, "cursors move only when a user is done"
        assert 0 < paired, "the kill landed after the first batch"

        world = World(config, state, sandbox)
        try:
            outcomes, quiet = world.cycles_until_quiet(4)
            assert all(o.ok for o in outcomes), [r.error for o in outcomes for r in o.records.results]
            assert quiet, "the re-runs did not settle in four cycles"
            with StateStore.open(state) as store:   # the first re-run took the dead run's lock over
                assert [e.summary["pid"] for e in store.audit_log() if e.operation == "lock-takeover"] == [killed]
                assert len(store.pairs("bench", "event")) > paired, "the re-runs finished what the kill cut short"
            events = world.everything(salesforce_events(world, USER, ZONE))
            items = world.everything(calendar(world, USER, ZONE))
        finally:
            world.close()

    salesforce = Counter((e.fields["Subject"], e.fields["StartDateTime"]) for e in events)
    exchange = Counter((i.fields["Subject"], i.fields["Start"]) for i in items)
    assert set(salesforce.values()) == set(exchange.values()) == {1}, "an event was written twice"
    assert salesforce == exchange, "an event is missing on one side"
    seeded = len(seed["salesforce"]["events"]) + sum(
        (item.get("Recurrence") or {}).get("NumberOfOccurrences", 1) for item in seed["exchange"]["mailboxes"][0]["events"])
    assert len(salesforce) == seeded, "every event, each occurrence of a series, is on both sides"

    for subject, guests in invited.items():
        [event] = [e for e in events if e.fields["Subject"] == subject]
        [item] = [i for i in items if i.fields["Subject"] == subject]
        relations = [row.email.lower() for row in event.fields["EventRelations"] if row.is_invitee]
        attendees = [a.email.lower() for a in item.fields["Attendees"]]
        expected = sorted(g.lower() for g in guests)
        assert sorted(relations) == expected, f"{subject}: EventRelations lost or doubled"
        assert sorted(attendees) == expected, f"{subject}: Exchange attendees lost or doubled"


def plan_attendee_writes(plan: Plan) -> list[object]:
    return [change for entry in record_entries(plan.record_changes) for change in entry.attendees]


def test_events_synced_before_their_attendee_step_get_their_attendees_from_the_next_run(world: World):
    """A pair whose attendee step never completed (the state a kill between the batches and the
    attendee step leaves; here reached by syncing with attendees off first) is merged by the next
    apply, whether or not the event changed meanwhile: invitees related, invited and WhoId set once.
    A failed attendee write (here the WhoId update) leaves the pair pending for the next cycle."""
    alice, zone = "alice@acme.example", "America/Los_Angeles"
    edit_events(world, attendees=False, relateToRecords=False)
    _, outcome = world.cycle()
    assert outcome.ok, outcome.records
    [kickoff] = subjects(world.everything(salesforce_events(world, alice, zone)), "Initech kickoff")
    assert not [row for row in kickoff.fields["EventRelations"] if row.is_invitee] and not kickoff.fields["WhoId"]

    edit_events(world, attendees=True, relateToRecords=True)
    world.sandbox.faults.add(FaultRule("record_failure", service="salesforce", operation="composite_update", times=1))
    _, outcome = world.cycle()
    assert [r.object for r in outcome.records.errors] == ["event"] and "WhoId" in outcome.records.errors[0].error
    for _ in range(2):   # the second cycle pairs bob's copy with the child event the first one made
        _, outcome = world.cycle()
        assert outcome.ok, outcome.records
    [kickoff] = subjects(world.everything(salesforce_events(world, alice, zone)), "Initech kickoff")
    invitees = sorted((row.relation_type, row.email) for row in kickoff.fields["EventRelations"] if row.is_invitee)
    assert invitees == [("Contact", "raj.patel@initech.example"), ("User", "bob@acme.example")]
    assert kickoff.fields["WhoId"] is not None, "a first attendee sync relates the Contact"
    [review] = subjects(world.everything(calendar(world, alice, zone)), "Pipeline review")
    assert sorted(a.email.lower() for a in review.fields["Attendees"]) == [
        "bob@acme.example", "monty@snpp.example", "raj.patel@initech.example"]

    plan, outcome = world.cycle()
    assert outcome.ok and not plan_attendee_writes(plan), "merged once: nothing left to write"
    assert all(r.written == 0 for r in outcome.records.results if r.object == "event")


def test_an_attendee_write_that_failed_is_retried_though_the_event_does_not_change_again(world: World):
    """An attendee added in Outlook to a synced meeting, whose EventRelation write fails, is related
    by the next cycle, though the change feeds have moved past the change (the pair is flagged to
    merge again, against the merge base it had); then the meeting is quiet."""
    alice, zone = "alice@acme.example", "America/Los_Angeles"
    world.cycle()
    world.cycle()
    item = world.runtime.exchange(EXCHANGE).account(alice).calendar.get(subject="Initech kickoff")
    item.required_attendees = [*item.required_attendees, Attendee(mailbox=Mailbox(email_address="monty@snpp.example"))]
    item.save(update_fields=["required_attendees"], send_meeting_invitations=SEND_TO_NONE)
    # Past the Salesforce feed's overlap: its invitee query no longer re-reports the relations the
    # first cycles wrote, which would merge this meeting again by chance.
    time.sleep(CURSOR_OVERLAP.total_seconds() + 1)

    world.sandbox.faults.add(FaultRule("record_failure", service="salesforce", operation="composite_create", times=1))
    _, outcome = world.cycle()
    assert [r.object for r in outcome.records.errors] == ["event"] and "EventRelation" in outcome.records.errors[0].error
    assert plan_attendee_writes(world.plan()), "the plan names the retried merge (--detailed-exitcode sees it)"
    _, outcome = world.cycle()
    assert outcome.ok, outcome.records
    [kickoff] = subjects(world.everything(salesforce_events(world, alice, zone)), "Initech kickoff")
    assert sorted((row.relation_type, row.email) for row in kickoff.fields["EventRelations"] if row.is_invitee) == [
        ("Contact", "raj.patel@initech.example"), ("Lead", "monty@snpp.example"), ("User", "bob@acme.example")]
    plan, outcome = world.cycle()
    assert outcome.ok and not plan_attendee_writes(plan)
    assert all(r.written == 0 for r in outcome.records.results if r.object == "event")
