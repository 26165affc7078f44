"""A meeting between syncing users, a Lead and a Contact, answered in Exchange: one parent event,
child events for the User invitees who did not decline, EventRelations of every kind with the
Exchange responses, and no second event from an invitee's copy."""

from __future__ import annotations

import datetime as dt
import time

from events_e2e.conftest import calendar, salesforce_events, subjects
from exchangelib import Attendee, CalendarItem, EWSDateTime, Mailbox
from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY
from sync_e2e.conftest import EXCHANGE, SALESFORCE, World

from reconciler.connectors.salesforce import CURSOR_OVERLAP
from reconciler.plan.records import record_entries, render_records_markdown, render_records_text
from reconciler.sync import UpdateOp, WriteStatus

ALICE, BOB, CAROL = "alice@acme.example", "bob.sf@acme.example.crm", "carol@acme.example"
LA, LONDON, AUCKLAND = "America/Los_Angeles", "Europe/London", "Pacific/Auckland"
SUBJECT = "Initech and Springfield joint review"
# raj.patel@initech.example is a Contact of alice's, monty@snpp.example a Lead (sandbox seed).
GUESTS = ("bob@acme.example", "carol@acme.example", "raj.patel@initech.example", "monty@snpp.example")


def organise_meeting(world: World) -> None:
    """alice invites bob, carol, a Contact and a Lead, three days ahead (invitations delivered)."""
    account = world.runtime.exchange(EXCHANGE).account(ALICE)
    begin = EWSDateTime.from_datetime(dt.datetime.now(dt.timezone.utc).replace(minute=0, second=0, microsecond=0)
                                      + dt.timedelta(days=3))
    CalendarItem(account=account, folder=account.calendar, subject=SUBJECT, start=begin,
                 end=begin + dt.timedelta(hours=1),
                 required_attendees=[Attendee(mailbox=Mailbox(email_address=address)) for address in GUESTS],
                 ).save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)


def answer(world: World, mailbox: str, response: str) -> None:
    """The invitee answers in Outlook: accept, tentatively_accept or decline (a decline removes the copy)."""
    account = world.runtime.exchange(EXCHANGE).account(mailbox)
    getattr(account.calendar.get(subject=SUBJECT), response)()


def relations(world: World) -> dict[tuple[str | None, str | None], str | None]:
    [parent] = subjects(world.everything(salesforce_events(world, ALICE, LA)), SUBJECT)
    assert parent.fields["IsChild"] is False
    return {(row.relation_type, row.email): row.status for row in parent.fields["EventRelations"] if row.is_invitee}


def test_a_declining_invitee_loses_the_child_event_and_the_relations_carry_every_answer(world: World):
    organise_meeting(world)
    world.cycle()
    _, outcome = world.cycle()   # the invitees' copies pair with the child events the first cycle made
    assert outcome.ok, outcome.records
    assert relations(world) == {("User", "bob@acme.example"): "New", ("User", "carol@acme.example"): "New",
                                ("Contact", "raj.patel@initech.example"): "New",
                                ("Lead", "monty@snpp.example"): "New"}
    assert [e.fields["IsChild"] for e in subjects(world.everything(salesforce_events(world, CAROL, AUCKLAND)),
                                                  SUBJECT)] == [True]

    answer(world, "bob@acme.example", "accept")
    answer(world, "carol@acme.example", "decline")
    _, outcome = world.cycle()
    assert outcome.ok, outcome.records
    world.cycle()

    assert relations(world) == {("User", "bob@acme.example"): "Accepted", ("User", "carol@acme.example"): "Declined",
                                ("Contact", "raj.patel@initech.example"): "New",
                                ("Lead", "monty@snpp.example"): "New"}
    assert [e.fields["IsChild"] for e in subjects(world.everything(salesforce_events(world, BOB, LONDON)),
                                                  SUBJECT)] == [True], "bob's copy is his child event, never a second"
    assert subjects(world.everything(salesforce_events(world, CAROL, AUCKLAND)), SUBJECT) == [], \
        "carol declined: her child event is gone"
    assert subjects(world.everything(calendar(world, CAROL, LA)), SUBJECT) == [], "and so is her copy"
    # Bob's copy is still in his calendar, paired; nothing more to do in a further cycle.
    assert len(subjects(world.everything(calendar(world, "bob@acme.example", LONDON)), SUBJECT)) == 1
    plan, outcome = world.cycle()
    assert outcome.ok
    assert all(r.written == 0 for r in outcome.records.results if r.object == "event")


def _edit(store, record, **fields) -> None:
    [result] = store.write([UpdateOp(record.id, record.version, fields)])
    assert result.status is WriteStatus.OK, result


def _kickoff(world: World):
    [parent] = subjects(world.everything(salesforce_events(world, ALICE, LA)), "Initech kickoff")
    return parent


def _exchange_attendees(world: World) -> list[str]:
    [item] = subjects(world.everything(calendar(world, ALICE, LA)), "Initech kickoff")
    return sorted(a.email.lower() for a in item.fields["Attendees"])


def _invitees(world: World) -> dict[str, str | None]:
    return {row.email: row.relation_type for row in _kickoff(world).fields["EventRelations"] if row.is_invitee}


def test_attendees_added_or_removed_on_either_side_follow_on_the_other(world: World):
    world.cycle()
    world.cycle()
    assert _invitees(world) == {"bob@acme.example": "User", "raj.patel@initech.example": "Contact"}

    # Exchange: alice takes Raj off the meeting; his EventRelation goes, Bob's stays.
    account = world.runtime.exchange(EXCHANGE).account(ALICE)
    meeting = account.calendar.get(subject="Initech kickoff")
    meeting.required_attendees = [a for a in meeting.required_attendees if a.mailbox.email_address == "bob@acme.example"]
    meeting.save(update_fields=["required_attendees"])
    raj = next(r for r in _kickoff(world).fields["EventRelations"] if r.email == "raj.patel@initech.example")
    plan = world.plan()
    # The plan itemises the attendee writes (text and JSON); the markdown counts them, naming no one.
    [entry] = [e for e in record_entries(plan.record_changes) if e.object == "event" and e.user == "alice"]
    assert [(c.change, c.who, c.kind, c.salesforce_id) for c in entry.attendees] == [
        ("delete_relation", raj.relation_id, "Contact", raj.event_id)]
    assert entry.change_count >= 1
    text = "\n".join(render_records_text(plan.record_changes))
    assert f"@ delete relation {raj.relation_id} (Contact) of Initech kickoff" in text
    markdown = "\n".join(render_records_markdown(plan.record_changes))
    assert "attendee delete relation: 1" in markdown and raj.relation_id not in markdown
    outcome = world.apply(plan)
    assert outcome.ok, outcome.records
    assert _invitees(world) == {"bob@acme.example": "User"}

    # Salesforce: Monty (a Lead) is invited to the synced event and nothing else changes (the
    # event's SystemModstamp stays: the cycles first move the feed past the event's last change).
    time.sleep(CURSOR_OVERLAP.total_seconds() + 1)
    world.cycle()
    salesforce = salesforce_events(world, ALICE, LA)
    [monty] = world.runtime.salesforce(SALESFORCE).query_all(
        "SELECT Id FROM Lead WHERE Email = 'monty@snpp.example'", "finding the lead")
    parent = _kickoff(world)
    assert [r.status for r in salesforce.write_relations([(parent.id, monty["Id"], "New")], [], [])] == [WriteStatus.OK]
    assert _kickoff(world).version == parent.version
    plan = world.plan()
    [entry] = [e for e in record_entries(plan.record_changes) if e.object == "event" and e.user == "alice"]
    assert [(c.change, c.who) for c in entry.attendees] == [("invite", "monty@snpp.example")]
    outcome = world.apply(plan)
    assert outcome.ok, outcome.records
    assert _exchange_attendees(world) == ["bob@acme.example", "monty@snpp.example"]
    assert _invitees(world) == {"bob@acme.example": "User", "monty@snpp.example": "Lead"}, "Raj stays removed"

    # Salesforce: Monty is uninvited again (with an edit of the event); Exchange drops him.
    [row] = [r for r in _kickoff(world).fields["EventRelations"] if r.relation_id == monty["Id"]]
    assert [r.status for r in salesforce.write_relations([], [], [row.id])] == [WriteStatus.OK]
    _edit(salesforce, _kickoff(world), Location="Room 9")
    _, outcome = world.cycle()
    assert outcome.ok, outcome.records
    assert _exchange_attendees(world) == ["bob@acme.example"]
    assert _invitees(world) == {"bob@acme.example": "User"}

    world.cycle()
    _, outcome = world.cycle()
    assert all(r.written == 0 for r in outcome.records.results if r.object == "event")
