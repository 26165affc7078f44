"""Contract tests: meeting responses through exchangelib 5.6 (``accept()``, ``tentatively_accept()``,
``decline()``: CreateItem of an AcceptItem / TentativelyAcceptItem / DeclineItem with a ReferenceItemId)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from exchangelib import Attendee, CalendarItem, Mailbox
from exchangelib.errors import ErrorInvalidOperation, ErrorInvalidReferenceItem
from exchangelib.items import SAVE_ONLY, SEND_ONLY, SEND_TO_ALL_AND_SAVE_COPY, AcceptItem
from exchangelib.properties import ReferenceItemId
from sandbox.ews_client import at, basic_account, exchange, stamp_registered, trusting_sandbox

from reconciler.sandbox.server import Sandbox

LA = "America/Los_Angeles"


@pytest.fixture
def accounts(sandbox: Sandbox) -> Iterator[dict]:
    with trusting_sandbox(sandbox), stamp_registered():
        yield {name: basic_account(sandbox, f"{name}@acme.example") for name in ("alice", "bob", "carol")}


def responses(organizer_item: CalendarItem) -> dict[str, str]:
    attendees = list(organizer_item.required_attendees or []) + list(organizer_item.optional_attendees or [])
    return {a.mailbox.email_address: a.response_type for a in attendees}


def test_a_decline_moves_the_copy_to_deleted_items_and_reaches_the_organizer(accounts, sandbox: Sandbox) -> None:
    alice, bob = accounts["alice"], accounts["bob"]
    list(bob.calendar.sync_items())
    bob_state = bob.calendar.item_sync_state
    list(alice.calendar.sync_items())
    alice_state = alice.calendar.item_sync_state

    copy = bob.calendar.get(subject="Initech kickoff")
    assert copy.decline() is True

    assert not bob.calendar.filter(subject="Initech kickoff").exists()
    [trashed] = bob.trash.filter(subject="Initech kickoff")
    assert trashed.my_response_type == "Decline"
    assert [(m.subject, m.item_class) for m in bob.sent.all()] == [
        ("Declined: Initech kickoff", "IPM.Schedule.Meeting.Resp.Neg")]
    original = alice.calendar.get(subject="Initech kickoff")
    assert responses(original) == {"bob@acme.example": "Decline", "raj.patel@initech.example": "NoResponseReceived"}
    assert [a.last_response_time is not None for a in original.required_attendees] == [True, False]

    # Both calendars' change feeds report it: gone from bob's, changed in alice's.
    bob.calendar.item_sync_state = bob_state
    assert [(kind, item.id) for kind, item in bob.calendar.sync_items(only_fields=["subject"])] == [
        ("delete", copy.id)]
    alice.calendar.item_sync_state = alice_state
    assert [(kind, item.subject) for kind, item in alice.calendar.sync_items(only_fields=["subject"])] == [
        ("update", "Initech kickoff")]
    [reply] = exchange(sandbox).outbox("bob@acme.example")
    assert (reply["kind"], reply["recipients"], reply["uid"]) == ("decline", ["alice@acme.example"], original.uid)


def test_accept_and_tentative_answers_show_on_both_sides(accounts) -> None:
    alice, bob, carol = accounts["alice"], accounts["bob"], accounts["carol"]
    begin = at(LA, 4, "09:00")
    CalendarItem(account=alice, folder=alice.calendar, subject="Hooli pricing", start=begin,
                 end=begin + dt.timedelta(hours=1),
                 required_attendees=[Attendee(mailbox=Mailbox(email_address="bob@acme.example"))],
                 optional_attendees=[Attendee(mailbox=Mailbox(email_address="carol@acme.example"))],
                 ).save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)

    bob.calendar.get(subject="Hooli pricing").accept(message_disposition=SEND_ONLY)
    carol.calendar.get(subject="Hooli pricing").tentatively_accept()

    bob_copy, carol_copy = bob.calendar.get(subject="Hooli pricing"), carol.calendar.get(subject="Hooli pricing")
    assert (bob_copy.my_response_type, bob_copy.legacy_free_busy_status) == ("Accept", "Busy")
    assert (carol_copy.my_response_type, carol_copy.legacy_free_busy_status) == ("Tentative", "Tentative")
    assert responses(alice.calendar.get(subject="Hooli pricing")) == {
        "bob@acme.example": "Accept", "carol@acme.example": "Tentative"}
    assert not list(bob.sent.all()), "SendOnly keeps no copy of the response"


def test_an_organizer_cannot_answer_their_own_meeting_and_drafts_are_refused(accounts) -> None:
    original = accounts["alice"].calendar.get(subject="Initech kickoff")
    with pytest.raises(ErrorInvalidReferenceItem):
        original.decline()
    copy = accounts["bob"].calendar.get(subject="Initech kickoff")
    draft = AcceptItem(account=accounts["bob"], folder=accounts["bob"].sent,
                       reference_item_id=ReferenceItemId(id=copy.id, changekey=copy.changekey))
    with pytest.raises(ErrorInvalidOperation):
        draft.send(message_disposition=SAVE_ONLY)
    assert accounts["bob"].calendar.get(id=copy.id).my_response_type == "NoResponseReceived"


def test_an_update_after_a_decline_delivers_the_meeting_again(accounts) -> None:
    alice, bob = accounts["alice"], accounts["bob"]
    bob.calendar.get(subject="Initech kickoff").decline()
    original = alice.calendar.get(subject="Initech kickoff")
    original.location = "Initech HQ, room 4"
    original.save(update_fields=["location"], send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    again = bob.calendar.get(subject="Initech kickoff")
    assert (again.location, again.my_response_type) == ("Initech HQ, room 4", "NoResponseReceived")
