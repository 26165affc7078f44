"""One Salesforce event feed per org and cycle: a no-change cycle costs the same Salesforce calls
for 12 users as for 3 (and its apply none but logins), the shared feed still brings each user's own
Salesforce changes (an edit, a delete, an invitee added) to that user's mailbox and nobody else's,
and a user whose cursor is past getDeleted's 15-day horizon lists on their own. Calls are the
sandbox's own counters."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from events_e2e.conftest import calendar, salesforce_events, subjects
from sync_e2e.conftest import SALESFORCE, World
from sync_e2e.test_org_feed import PARALLEL, _fleet_config

from reconciler.connectors.batching import encode_cursor
from reconciler.connectors.salesforce import decode_change_cursor
from reconciler.engine.runtime import sandbox_dir
from reconciler.plan.records import UserRecordPlan, has_record_changes, record_entries
from reconciler.sandbox.generate import generate_seed
from reconciler.sandbox.server import Sandbox
from reconciler.state import StateStore
from reconciler.sync import ActionKind, CreateOp, DeleteOp, UpdateOp, WriteStatus

ALICE, BOB, CAROL = "alice@acme.example", "bob.sf@acme.example.crm", "carol@acme.example"
LA, LONDON, AUCKLAND = "America/Los_Angeles", "Europe/London", "Pacific/Auckland"


def _events_only(config: str) -> str:
    return config.replace("contacts: {direction: both}", "contacts: {direction: none}\n  events: {direction: both}")


def _no_change_cycle_calls(tmp_path: Path, users: int) -> tuple[dict[str, int], dict[str, int]]:
    """Salesforce calls of a no-change cycle's plan, then of its apply."""
    config = tmp_path / f"fleet-{users}"
    config.mkdir()
    (config / "reconciler.yaml").write_text(_events_only(_fleet_config(users)), encoding="utf-8")
    seed = generate_seed(users=users, contacts_per_user=0, events_per_user=2)
    with Sandbox(data_dir=sandbox_dir(config), seed=seed) as sandbox:
        world = World(config, f"sqlite:///{config / 'state.db'}", sandbox)
        try:
            world.settle(parallel=PARALLEL)
            sandbox.counters.reset()
            plan = world.plan(parallel=PARALLEL)
            planned = sandbox.counters.counts("salesforce")
            assert not has_record_changes(plan.record_changes)
            sandbox.counters.reset()
            assert world.apply(plan, parallel=PARALLEL).ok
            return planned, sandbox.counters.counts("salesforce")
        finally:
            world.close()


def test_a_no_change_cycle_costs_the_same_salesforce_calls_for_12_users_as_for_3(tmp_path: Path):
    three, three_applied = _no_change_cycle_calls(tmp_path, 3)
    twelve, twelve_applied = _no_change_cycle_calls(tmp_path, 12)
    assert three == twelve
    # the directory look-up, the recurring series of every user (one query per 200 users), one
    # change query and one getDeleted for the org's Events, one queryAll of the invitee changes,
    # all on the planning thread's one login: the worker threads planning the users make none
    assert three == {"token": 1, "query": 3, "deleted": 1, "query_all": 1}, three
    # apply reads nothing back when nothing was written (the owner's zone comes with the plan):
    # at most a login per worker thread
    for applied in (three_applied, twelve_applied):
        assert set(applied) <= {"token"} and applied.get("token", 0) <= PARALLEL, applied


def _event_entry(plan, user: str) -> UserRecordPlan:
    return next(e for e in record_entries(plan.record_changes) if e.object == "event" and e.user == user)


def _create(world: World, username: str, zone: str, subject: str) -> None:
    start = dt.datetime.now(dt.timezone.utc).replace(minute=0, second=0, microsecond=0) + dt.timedelta(days=5)
    [made] = salesforce_events(world, username, zone).write([CreateOp({
        "Subject": subject, "StartDateTime": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "EndDateTime": (start + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"), "IsAllDayEvent": "false"})])
    assert made.status is WriteStatus.OK, made


def test_salesforce_changes_reach_their_owners_mailbox_through_the_one_feed(world: World):
    world.edit_configuration("sales-two-way", direction="none")   # events only: every call counted is theirs
    for username, zone, subject in ((ALICE, LA, "Feed: alice"), (BOB, LONDON, "Feed: bob"),
                                    (CAROL, AUCKLAND, "Feed: carol")):
        _create(world, username, zone, subject)
    world.settle(parallel=PARALLEL)

    [alices] = subjects(world.everything(salesforce_events(world, ALICE, LA)), "Feed: alice")
    [edited] = salesforce_events(world, ALICE, LA).write([UpdateOp(alices.id, alices.version,
                                                                   {"Subject": "Feed: alice, moved room"})])
    assert edited.status is WriteStatus.OK
    bobs_store = salesforce_events(world, BOB, LONDON)
    [bobs] = subjects(world.everything(bobs_store), "Feed: bob")
    assert [r.status for r in bobs_store.write([DeleteOp(bobs.id, bobs.version)])] == [WriteStatus.OK]
    carols_store = salesforce_events(world, CAROL, AUCKLAND)
    [carols] = subjects(world.everything(carols_store), "Feed: carol")
    [monty] = world.runtime.salesforce(SALESFORCE).query_all(
        "SELECT Id FROM Lead WHERE Email = 'monty@snpp.example'", "finding the lead")
    assert [r.status for r in carols_store.write_relations([(carols.id, monty["Id"], "New")], [], [])] == [
        WriteStatus.OK]

    world.sandbox.counters.reset()
    plan = world.plan(parallel=PARALLEL)
    counts = world.sandbox.counters.counts("salesforce")
    assert counts["deleted"] == 1 and counts["query_all"] == 1, counts   # one feed for the three users

    alice, bob, carol = (_event_entry(plan, user) for user in ("alice", "bob", "carol"))
    assert [a.kind for a in alice.actions if a.salesforce_id == alices.id] == [ActionKind.UPDATE_EXCHANGE]
    assert [a.kind for a in bob.actions if a.salesforce_id == bobs.id] == [ActionKind.DELETE_EXCHANGE]
    assert [(c.change, c.who) for c in carol.attendees] == [("invite", "monty@snpp.example")]
    owned = {"alice": alices.id, "bob": bobs.id, "carol": carols.id}
    for entry in (alice, bob, carol):   # each change reaches its owner only
        named = {a.salesforce_id for a in entry.actions} | {c.salesforce_id for c in entry.attendees}
        assert named & set(owned.values()) <= {owned[entry.user]}, (entry.user, named)

    assert world.apply(plan, parallel=PARALLEL).ok
    assert subjects(world.everything(calendar(world, ALICE, LA)), "Feed: alice, moved room")
    assert not subjects(world.everything(calendar(world, "bob@acme.example", LONDON)), "Feed: bob")
    [item] = subjects(world.everything(calendar(world, CAROL, AUCKLAND)), "Feed: carol")
    assert [a.email for a in item.fields["Attendees"]] == ["monty@snpp.example"]


def test_a_user_past_the_deleted_horizon_lists_on_their_own_and_the_others_keep_the_feed(world: World):
    world.edit_configuration("sales-two-way", direction="none")
    world.settle(parallel=PARALLEL)
    with StateStore.open(world.state) as store:
        cursor = decode_change_cursor(store.cursor("alice", "event", "salesforce") or "")
        old = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=16)
        store.commit_batch("alice", "event", [], [], [], {"salesforce": encode_cursor({**cursor, "since": old.isoformat()})})

    world.sandbox.counters.reset()
    plan = world.plan(parallel=PARALLEL)

    # The feed starts at bob's and carol's cursors (getDeleted would refuse alice's): one getDeleted.
    assert world.sandbox.counters.counts("salesforce")["deleted"] == 1
    assert "salesforce" in _event_entry(plan, "alice").full_listings   # alice's store listed the window itself
    for user in ("bob", "carol"):
        assert "salesforce" not in _event_entry(plan, user).full_listings
    assert not has_record_changes(plan.record_changes), "a full listing of an unchanged calendar changes nothing"
    assert world.apply(plan, parallel=PARALLEL).ok
