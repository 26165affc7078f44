"""A meeting with more attendees than sync (50) is reported in the plan, per event, before apply
leaves the rest out: text and JSON name the event and the reason, markdown counts it."""

from __future__ import annotations

import datetime as dt

from exchangelib import Attendee, CalendarItem, EWSDateTime, Mailbox
from exchangelib.items import SEND_TO_NONE
from sync_e2e.conftest import EXCHANGE, World

from reconciler.plan.records import record_entries, render_records_markdown, render_records_text
from reconciler.sync import ActionKind

ALICE = "alice@acme.example"
SUBJECT = "Partner summit"


def test_a_meeting_with_53_guests_is_planned_with_3_attendees_reported_as_not_synced(world: World):
    account = world.runtime.exchange(EXCHANGE).account(ALICE)
    begin = EWSDateTime.from_datetime(dt.datetime.now(dt.timezone.utc).replace(minute=0, second=0, microsecond=0)
                                      + dt.timedelta(days=4))
    guests = [Attendee(mailbox=Mailbox(email_address=f"guest{n:02}@partners.example")) for n in range(53)]
    CalendarItem(account=account, folder=account.calendar, subject=SUBJECT, start=begin,
                 end=begin + dt.timedelta(hours=2), required_attendees=guests).save(send_meeting_invitations=SEND_TO_NONE)

    plan = world.plan()

    [entry] = [e for e in record_entries(plan.record_changes) if e.object == "event" and e.user == "alice"]
    [created] = [a for a in entry.actions if a.display_name.startswith(SUBJECT)]
    assert created.kind is ActionKind.CREATE_SALESFORCE
    [overflow] = entry.attendee_overflow
    assert (overflow.event, overflow.salesforce_id, overflow.exchange_id, overflow.attendees) == (
        created.display_name, None, created.exchange_id, 3)
    [doc] = [d for d in plan.record_changes if d.get("object") == "event" and d.get("user") == "alice"]
    assert doc["attendee_overflow"][0]["reason"] == "3 attendees beyond the first 50 are not synced"
    assert f"! attendees of {created.display_name}: 3 attendees beyond the first 50 are not synced" in "\n".join(
        render_records_text(plan.record_changes))
    markdown = "\n".join(render_records_markdown(plan.record_changes))
    assert "events with attendees beyond 50 not synced: 1" in markdown and SUBJECT not in markdown
