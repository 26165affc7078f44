"""ResolveNames only where it tells something: a fleet syncing contacts and events resolves each
mailbox once on its first sync (not once per object type) and never in a cycle of a mailbox synced
before; a mailbox that vanishes after its first sync is reported by its own listing, plainly and
with the fix, and nothing is deleted in Salesforce because of it. Calls are the sandbox's own
counters, through the real exchangelib and simple-salesforce."""

from __future__ import annotations

import time
from pathlib import Path

from reconciler.connectors.salesforce import CURSOR_OVERLAP
from reconciler.engine.runtime import sandbox_dir
from reconciler.plan.records import UserSyncStatus, has_record_changes, record_entries
from reconciler.sandbox.generate import bench_user_address, generate_seed
from reconciler.sandbox.server import Sandbox
from reconciler.state import StateStore

from .conftest import World
from .test_org_feed import PARALLEL, _fleet_config

CONTACTS, EVENTS = 3, 2
MISSING_FIX = "check the user's mailbox address (User spec.mailbox or the Salesforce Email)"


def _contacts_and_events(users: int) -> str:
    return _fleet_config(users).replace("contacts: {direction: both}",
                                        "contacts: {direction: both}\n  events: {direction: both}")


def _fleet(tmp_path: Path, users: int) -> tuple[Path, Sandbox]:
    config = tmp_path / f"fleet-{users}"
    config.mkdir()
    (config / "reconciler.yaml").write_text(_contacts_and_events(users), encoding="utf-8")
    seed = generate_seed(users=users, contacts_per_user=CONTACTS, events_per_user=EVENTS, overlap=1.0)
    return config, Sandbox(data_dir=sandbox_dir(config), seed=seed)


def _cycle(world: World) -> None:
    assert world.apply(world.plan(parallel=PARALLEL), parallel=PARALLEL).ok


def no_change_cycle_calls(tmp_path: Path, users: int) -> tuple[dict[str, int], dict[str, int]]:
    """The calls of the first sync's plan and of a no-change cycle (plan and apply) of ``users``
    users syncing contacts and events, all of their changes read back before it."""
    config, sandbox = _fleet(tmp_path, users)
    with sandbox:
        world = World(config, f"sqlite:///{config / 'state.db'}", sandbox)
        try:
            plan = world.plan(parallel=PARALLEL)
            first = sandbox.counters.counts()
            assert world.apply(plan, parallel=PARALLEL).ok
            _cycle(world)   # reads its own writes back
            time.sleep(CURSOR_OVERLAP.total_seconds() + 1)   # the org feeds re-read their overlap
            _cycle(world)
            sandbox.counters.reset()
            plan = world.plan(parallel=PARALLEL)
            assert world.apply(plan, parallel=PARALLEL).ok and not has_record_changes(plan.record_changes)
            return first, sandbox.counters.counts()
        finally:
            world.close()


def test_a_fleet_resolves_each_mailbox_once_on_its_first_sync_and_never_in_a_no_change_cycle(tmp_path: Path):
    users = 3
    first, quiet = no_change_cycle_calls(tmp_path, users)
    assert first["exchange.ResolveNames"] == users   # one per mailbox, not one per object type
    assert "exchange.ResolveNames" not in quiet, quiet
    exchange = {op: n for op, n in quiet.items() if op.startswith("exchange.")}
    assert exchange == {"exchange.SyncFolderItems": 2 * users}, exchange   # contacts and calendar folder


def test_a_mailbox_gone_after_its_first_sync_is_reported_plainly_and_deletes_nothing_in_salesforce(tmp_path: Path):
    config, sandbox = _fleet(tmp_path, 2)
    with sandbox:
        world = World(config, f"sqlite:///{config / 'state.db'}", sandbox)
        try:
            for _ in range(2):
                _cycle(world)
            gone = bench_user_address(1)
            owned = {"contact": len(world.salesforce_contacts(gone))}
            assert owned["contact"] == CONTACTS
            del sandbox.services["exchange"].mailboxes[gone.lower()]   # the mailbox is removed in Exchange
            sandbox.counters.reset()

            plan = world.plan(parallel=PARALLEL)
            assert "exchange.ResolveNames" not in sandbox.counters.counts()   # the listing tells
            entries = [e for e in record_entries(plan.record_changes) if e.user == "bench1"]
            assert sorted(e.object for e in entries) == ["contact", "event"]
            for entry in entries:
                assert entry.status == UserSyncStatus.SKIPPED and not entry.actions
                assert entry.reason == f"no mailbox {gone} in Exchange (fix: {MISSING_FIX})"
            assert world.entry(plan, "bench2").status == UserSyncStatus.PLANNED
            outcome = world.apply(plan, parallel=PARALLEL)
            assert len(world.salesforce_contacts(gone)) == CONTACTS   # nothing deleted in Salesforce
            assert sorted((r.object, r.state) for r in outcome.records.results if r.user == "bench1") == [
                ("contact", "disabled"), ("event", "disabled")]

            sandbox.counters.reset()
            again = world.plan(parallel=PARALLEL)   # unlinked by the skip: ResolveNames says the same
            assert sandbox.counters.counts("exchange").get("ResolveNames") == 1
            assert {e.reason for e in record_entries(again.record_changes) if e.user == "bench1"} == {
                f"no mailbox {gone} in Exchange (fix: {MISSING_FIX})"}
            with StateStore.open(world.state) as store:
                assert len(store.pairs("bench1", "contact")) == CONTACTS   # kept for when it comes back
        finally:
            world.close()


def test_a_changed_mailbox_and_a_reset_sync_are_resolved_again(world: World):
    for _ in range(2):
        assert world.cycle()[1].ok
    world.sandbox.counters.reset()
    world.plan()
    assert "ResolveNames" not in world.sandbox.counters.counts("exchange")

    world.edit_user("carol", mailbox="nobody@acme.example")
    world.edit_user("alice", resetSync=1)
    world.sandbox.counters.reset()
    plan = world.plan()
    assert world.sandbox.counters.counts("exchange")["ResolveNames"] == 2   # alice's and carol's new one, once each
    carol = [e for e in record_entries(plan.record_changes) if e.user == "carol"]
    assert {(e.object, e.status, e.reason) for e in carol} == {
        (object, UserSyncStatus.SKIPPED, f"no mailbox nobody@acme.example in Exchange (fix: {MISSING_FIX})")
        for object in ("contact", "event")}
    assert all(e.reset and e.status == UserSyncStatus.PLANNED
               for e in record_entries(plan.record_changes) if e.user == "alice")
