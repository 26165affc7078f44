"""What an incremental change feed cannot show: a change read in one cycle but deferred (it must be
read again next cycle), and a delete getDeleted no longer reports (a periodic full listing finds it)."""

from __future__ import annotations

import time
from datetime import timedelta

from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.plan.records import has_record_changes
from reconciler.sandbox.server import Sandbox
from reconciler.state import StateStore
from reconciler.sync import ActionKind

from .conftest import World

ALICE, ALICE_MAILBOX = "alice@acme.example", "alice@acme.example"
BOB, BOB_MAILBOX = "bob.sf@acme.example.crm", "bob@acme.example"
CHANGE_WINDOW_OVERLAP_SECONDS = 5   # the Salesforce cursor re-reads this much of the previous window


def test_an_update_deferred_by_a_conflict_is_applied_on_the_following_cycle(world: World):
    world.cycle()
    jane_sf = world.by_email(world.salesforce_contacts(ALICE), "Email", "jane.doe@globex.example")[0]
    world.user_edit(world.salesforce_store(ALICE), jane_sf, Title="Planned Title")
    # The plan's change window must start after the edit, or the next one would re-read it anyway.
    time.sleep(CHANGE_WINDOW_OVERLAP_SECONDS + 1.5)
    plan = world.plan()
    assert ActionKind.UPDATE_EXCHANGE in world.kinds(plan, "alice")
    jane_ex = world.by_email(world.exchange_contacts(ALICE_MAILBOX), "EmailAddress1", "jane.doe@globex.example")[0]
    world.user_edit(world.exchange_store(ALICE_MAILBOX), jane_ex, Department="Logistics")

    outcome = world.apply(plan)
    [alice] = [r for r in outcome.records.results if r.user == "alice" and r.object == "contact"]
    assert len(alice.deferred) == 1 and alice.state == "in_sync"
    with StateStore.open(world.state) as store:
        revisits = {ref.record_id for ref in store.revisits("alice", "contact")}
        assert revisits == {jane_sf.id, jane_ex.id} | _awaiting_a_person(world)

    plan, outcome = world.cycle()
    assert outcome.ok and ActionKind.UPDATE_BOTH in world.kinds(plan, "alice")
    jane_ex = world.by_email(world.exchange_contacts(ALICE_MAILBOX), "EmailAddress1", "jane.doe@globex.example")[0]
    jane_sf = world.by_email(world.salesforce_contacts(ALICE), "Email", "jane.doe@globex.example")[0]
    assert jane_ex.fields["JobTitle"] == "Planned Title" and jane_sf.fields["Department"] == "Logistics"
    with StateStore.open(world.state) as store:
        assert {ref.record_id for ref in store.revisits("alice", "contact")} == _awaiting_a_person(world)
    assert not has_record_changes(world.plan().record_changes)


def _awaiting_a_person(world: World) -> set[str]:
    """alice's seeded ambiguity (two Salesforce contacts and a mailbox contact share one email): its
    records are revisited every cycle until someone settles it."""
    salesforce = world.by_email(world.salesforce_contacts(ALICE), "Email", "dup@hooli.example")
    exchange = world.by_email(world.exchange_contacts(ALICE_MAILBOX), "EmailAddress1", "dup@hooli.example")
    return {r.id for r in salesforce + exchange}


def _purge_from_the_recycle_bin(sandbox: Sandbox, record_id: str) -> None:
    """What a recycle-bin purge does: the deleted contact is gone for good, getDeleted included."""
    store = sandbox.services["salesforce"].store
    store.tables["contact"].pop(record_id)
    for index in store.indexes["contact"].values():
        for ids in index.values():
            ids.discard(record_id)


def test_a_purged_salesforce_delete_is_found_by_the_periodic_full_listing(world: World):
    world.cycle()
    with StateStore.open(world.state) as store:
        assert store.last_full_listing("bob", "contact", "salesforce") is not None
    pepper = world.by_email(world.salesforce_contacts(BOB), "Email", "pepper@stark.example")[0]
    world.user_delete(world.salesforce_store(BOB), pepper)
    _purge_from_the_recycle_bin(world.sandbox, pepper.id)

    incremental = world.plan()   # the last full listing is recent: the change feed alone misses it
    assert ActionKind.DELETE_EXCHANGE not in world.kinds(incremental, "bob")
    hourly = world.plan(full_resync_after=timedelta(hours=1))
    assert ActionKind.DELETE_EXCHANGE not in world.kinds(hourly, "bob") and not world.entry(hourly, "bob").full_listings

    runner = CliRunner()
    applied = runner.invoke(cli, ["apply", "-c", str(world.config_dir), "--state", world.state, "--auto-approve",
                                  "--full-resync-after", "0"], catch_exceptions=False)
    assert applied.exit_code == 0, applied.output
    assert "delete_exchange" in applied.output
    assert not world.by_email(world.exchange_contacts(BOB_MAILBOX), "EmailAddress1", "pepper@stark.example")
    assert not has_record_changes(world.plan(full_resync_after=timedelta(0)).record_changes)
