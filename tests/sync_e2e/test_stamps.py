"""A contact created in Salesforce from an Exchange item is stamped in the same apply, and the
pair remembers it: the next cycle sends nothing to Exchange."""

from __future__ import annotations

from reconciler.plan.records import has_record_changes
from reconciler.state import StateStore
from reconciler.sync import ActionKind

from .conftest import World

ALICE_MAILBOX = "alice@acme.example"


def test_the_cycle_after_an_exchange_to_salesforce_create_costs_no_ews_update(world: World):
    world.cycle()
    world.user_create(world.exchange_store(ALICE_MAILBOX), GivenName="Nia", Surname="Okafor",
                      EmailAddress1="nia.okafor@wakanda.example")
    plan, outcome = world.cycle()
    assert outcome.ok and ActionKind.CREATE_SALESFORCE in world.kinds(plan, "alice")
    [item] = world.by_email(world.exchange_contacts(ALICE_MAILBOX), "EmailAddress1", "nia.okafor@wakanda.example")
    with StateStore.open(world.state) as store:
        [pair] = [p for p in store.pairs("alice", "contact") if p.exchange_id == item.id]
    assert pair.exchange_stamped and item.salesforce_id_stamp == pair.salesforce_id

    world.sandbox.counters.reset()
    plan, outcome = world.cycle()
    assert outcome.ok and not has_record_changes(plan.record_changes)
    assert world.sandbox.counters.counts("exchange").get("UpdateItem", 0) == 0
