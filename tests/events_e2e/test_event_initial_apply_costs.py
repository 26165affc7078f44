"""The initial sync of a calendar of Salesforce meetings writes them into Exchange in CreateItems of
100, their invitees inside (no GetItem and UpdateItem per meeting, and the attendee step does not
read the new items back), and the cycle after it costs what a cycle without changes costs, but for
the Salesforce feed's overlap re-reading the apply's last writes: the apply's cursors move past the
attendee step's writes too. Calls are read from the sandbox's own counters."""

from __future__ import annotations

import math
import time
from typing import Any

import pytest

from events_e2e.test_event_costs import EVENTS_ONLY
from sync_e2e.conftest import World

from reconciler.connectors.salesforce import CURSOR_OVERLAP
from reconciler.engine.runtime import sandbox_dir
from reconciler.plan.records import has_record_changes, record_entries
from reconciler.sandbox.generate import bench_user_address, generate_seed
from reconciler.sandbox.server import Sandbox
from reconciler.sync import ActionKind

WITH_ATTENDEES = EVENTS_ONLY.replace("events: {{direction: both}}",
                                     "events: {{direction: both, attendees: true, relateToRecords: true}}")
SALESFORCE_EVENTS = 330   # every other timed one a meeting with three invitees: about 150 meetings


@pytest.fixture(scope="module")
def three_cycles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A user whose Salesforce calendar holds SALESFORCE_EVENTS events and whose mailbox is empty:
    the initial sync (its plan and the calls of its apply), the cycle after it and one without
    changes (the calls of each)."""
    config = tmp_path_factory.mktemp("meetings")
    (config / "reconciler.yaml").write_text(WITH_ATTENDEES.format(user=bench_user_address(1)), encoding="utf-8")
    seed = generate_seed(users=1, contacts_per_user=20, events_per_user=SALESFORCE_EVENTS, attendees=3)
    for mailbox in seed["exchange"]["mailboxes"]:
        mailbox["events"] = []
    with Sandbox(data_dir=sandbox_dir(config), seed=seed) as sandbox:
        world = World(config, f"sqlite:///{config / 'state.db'}", sandbox)
        try:
            plan = world.plan()
            sandbox.counters.reset()
            outcome = world.apply(plan)
            assert outcome.ok, outcome.records
            initial = sandbox.counters.counts("exchange")
            # Past the Salesforce feed's overlap with the initial sync's writes, as a cycle minutes later is.
            time.sleep(CURSOR_OVERLAP.total_seconds() + 2)
            cycles = []
            for _ in range(2):
                sandbox.counters.reset()
                next_plan, outcome = world.cycle()
                assert outcome.ok and not has_record_changes(next_plan.record_changes), outcome.records
                cycles.append(sandbox.counters.counts())
            return {"plan": plan, "initial": initial, "second": cycles[0], "steady": cycles[1]}
        finally:
            world.close()


def test_salesforce_meetings_are_created_in_exchange_with_their_invitees_100_a_call(three_cycles: dict[str, Any]):
    [entry] = [e for e in record_entries(three_cycles["plan"].record_changes) if e.object == "event"]
    created = [a for a in entry.actions if a.kind is ActionKind.CREATE_EXCHANGE]
    meetings = {c.salesforce_id for c in entry.attendees if c.change == "invite"}
    assert len(created) == SALESFORCE_EVENTS and len(meetings) >= 150
    calls = three_cycles["initial"]
    assert calls["CreateItem"] == math.ceil(len(created) / 100), calls
    # Nothing is added to an item after its create, and the items are read once, 100 a GetItem: by
    # the cursor move past the creates. The attendee merge takes each new item as its CreateItem
    # wrote it instead of reading it back.
    assert "UpdateItem" not in calls, calls
    assert calls["GetItem"] == math.ceil(len(created) / 100), calls


def test_the_cycle_after_an_initial_sync_costs_a_no_change_cycle_plus_the_salesforce_feed_overlap(three_cycles: dict[str, Any]):
    second, steady = dict(three_cycles["second"]), dict(three_cycles["steady"])
    # The Salesforce feed re-reads the few seconds before its cursor (SystemModstamp has whole
    # seconds), where the attendee step's last writes are: those events come back as echoes that
    # match their pairs, and their invitees with them (one query per 200 events); nothing else.
    echo_queries = second.pop("salesforce.query") - steady.pop("salesforce.query")
    assert 0 <= echo_queries <= math.ceil(SALESFORCE_EVENTS / 200), three_cycles
    second.pop("salesforce.token", None), steady.pop("salesforce.token", None)   # a login per worker thread
    assert second == steady
