"""A meeting between syncing users, a Lead and a Contact, answered in Exchange: one parent event,
child events for the User invitees who did not decline, EventRelations of every kind with the
Exchange responses, and no second event from an invitee's copy."""

from __future__ import annotations

import datetime as dt

from events_e2e.conftest import calendar, salesforce_events, subjects
from exchangelib import Attendee, CalendarItem, EWSDateTime, Mailbox
from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY
from sync_e2e.conftest import EXCHANGE, World

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
