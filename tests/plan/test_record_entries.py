"""The record section's attendee overflow: an event with more attendees than sync is reported per
event in the plan (text and JSON with the reason; markdown as a count, naming nothing), and is not
counted as a change."""

from __future__ import annotations

import json

from reconciler.plan.records import (AttendeeOverflow, UserRecordPlan, UserSyncStatus, has_record_changes,
                                     record_entries, render_records_markdown, render_records_text)

OVERFLOWING = AttendeeOverflow("All hands", "00UALLHANDS000001", "AAMkAllHands", attendees=7)


def _plan() -> list[dict]:
    entry = UserRecordPlan(user="alice", object="event", status=UserSyncStatus.PLANNED, configuration="sales",
                           mailbox="alice@acme.example", attendee_overflow=(OVERFLOWING,))
    return [json.loads(json.dumps(entry.to_json()))]


def test_the_overflow_survives_the_json_round_trip_with_its_reason():
    [doc] = _plan()
    assert doc["attendee_overflow"] == [{"event": "All hands", "salesforce_id": "00UALLHANDS000001",
                                         "exchange_id": "AAMkAllHands", "attendees": 7,
                                         "reason": "7 attendees beyond the first 50 are not synced"}]
    [entry] = record_entries(_plan())
    assert entry.attendee_overflow == (OVERFLOWING,)


def test_the_text_names_the_event_and_why_and_the_markdown_only_counts():
    text = "\n".join(render_records_text(_plan()))
    assert ("! attendees of All hands: 7 attendees beyond the first 50 are not synced "
            "[salesforce 00UALLHANDS000001, exchange AAMkAllHands]") in text
    markdown = "\n".join(render_records_markdown(_plan()))
    assert "events with attendees beyond 50 not synced: 1" in markdown
    assert not any(secret in markdown for secret in ("All hands", "00UALLHANDS000001", "AAMkAllHands", "alice"))


def test_an_overflow_alone_is_no_change():
    assert not has_record_changes(_plan())
