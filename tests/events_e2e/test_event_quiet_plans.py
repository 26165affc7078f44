"""The quickstart's meeting between syncing users, planned again once everything is recorded: bob's
copy of alice's meeting pairs with his child event once, announced in that plan, and a later plan
with nothing to do does not announce the recorded pair again, even when it lists bob's calendar
in full."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sync_e2e.conftest import World

from reconciler.connectors import salesforce
from reconciler.plan.records import UserRecordPlan, has_record_changes, record_entries, render_records_text
from reconciler.sync import ActionKind

MEETING = "Initech kickoff"


def _bobs_events(plan) -> UserRecordPlan:
    return next(e for e in record_entries(plan.record_changes) if e.object == "event" and e.user == "bob")


def test_a_recorded_pair_of_a_meeting_copy_is_not_announced_again(world: World, monkeypatch: pytest.MonkeyPatch):
    # Every plan re-reads the org's changes since the seed: bob's unpaired child events among them,
    # so each plan lists his calendar in full (as a cycle soon after a change does) and sees the copy.
    monkeypatch.setattr(salesforce, "CURSOR_OVERLAP", timedelta(minutes=10))
    assert world.cycle()[1].ok   # the README's first command: alice's meeting reaches Salesforce
    plan, outcome = world.cycle()
    assert outcome.ok
    assert [a.kind for a in _bobs_events(plan).actions if a.display_name.startswith(MEETING)] == [ActionKind.PAIR]

    plan = world.plan()

    bob = _bobs_events(plan)
    assert "exchange" in bob.full_listings, "the copy was listed again"
    assert not [a for a in bob.actions if a.display_name.startswith(MEETING)]
    assert "nothing is written" not in "\n".join(render_records_text(plan.record_changes))
    assert not has_record_changes(plan.record_changes)
