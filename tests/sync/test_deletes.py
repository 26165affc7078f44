"""Delete policies over several cycles: nothing deleted ever comes back by itself."""

from __future__ import annotations

import pytest

from reconciler.sync import ActionKind, DeletePolicies, DeletePolicy, Direction, CONTACT, SyncPolicy, build_mapping

from .harness import SyncHarness, contact_policy, exchange_store, salesforce_store


def synced(policy: SyncPolicy | None = None):
    """Jane Doe synced, plus a bystander: a side losing its only contact would trip the empty-side
    guard, which has tests of its own."""
    salesforce, exchange = salesforce_store(), exchange_store()
    contact = salesforce.user_create({"FirstName": "Jane", "LastName": "Doe", "Email": "jane@x.com"})
    salesforce.user_create({"FirstName": "Bo", "LastName": "Bystander"})
    harness = SyncHarness(policy or contact_policy(), salesforce, exchange)
    harness.settle()
    (item,) = [i for i, record in exchange.live().items() if record.salesforce_id_stamp == contact]
    return salesforce, exchange, harness, contact, item


def jane(store) -> dict:
    return {record_id: record for record_id, record in store.live().items()
            if record.fields.get("LastName", record.fields.get("Surname")) == "Doe"}


def quiet_for(harness: SyncHarness, cycles: int = 3) -> None:
    for _ in range(cycles):
        assert harness.cycle().actions == ()


def test_salesforce_delete_propagates_and_stays_deleted() -> None:
    salesforce, exchange, harness, contact, item = synced()
    salesforce.user_delete(contact)
    assert [a.kind for a in harness.cycle().actions] == [ActionKind.DELETE_EXCHANGE]
    assert jane(exchange) == {} and len(harness.pairs) == 1
    quiet_for(harness)
    harness.cursors = {side: None for side in harness.cursors}      # even a full re-listing
    quiet_for(harness)
    assert jane(exchange) == {} and jane(salesforce) == {}


@pytest.mark.parametrize("policy, kind", [(DeletePolicy.UNLINK, ActionKind.UNLINK),
                                          (DeletePolicy.IGNORE, ActionKind.SKIP)])
def test_exchange_delete_unlinked_or_ignored_is_never_recreated(policy: DeletePolicy, kind: ActionKind) -> None:
    salesforce, exchange, harness, contact, item = synced(
        contact_policy(deletes=DeletePolicies(DeletePolicy.PROPAGATE, policy)))
    exchange.user_delete(item)
    assert [a.kind for a in harness.cycle().actions] == [kind]
    quiet_for(harness)
    salesforce.user_update(contact, {"Title": "CTO"})           # even an edit of the survivor
    quiet_for(harness)
    harness.cursors = {side: None for side in harness.cursors}
    quiet_for(harness)
    assert jane(exchange) == {} and list(jane(salesforce)) == [contact]


def test_salesforce_undelete_after_unlink_does_not_duplicate() -> None:
    salesforce, exchange, harness, contact, item = synced(
        contact_policy(deletes=DeletePolicies(DeletePolicy.UNLINK, DeletePolicy.UNLINK)))
    salesforce.user_delete(contact)
    assert [a.kind for a in harness.cycle().actions] == [ActionKind.UNLINK]
    salesforce.user_undelete(contact)        # the recycle bin gives back the same id
    harness.cursors = {side: None for side in harness.cursors}
    quiet_for(harness)
    assert list(jane(exchange)) == [item] and list(jane(salesforce)) == [contact] and len(harness.pairs) == 1


def test_delete_plus_edit_on_the_other_side_recreates_the_edit() -> None:
    salesforce, exchange, harness, contact, item = synced()
    salesforce.user_delete(contact)
    exchange.user_update(item, {"JobTitle": "CEO"})
    decisions = harness.cycle()
    assert [a.kind for a in decisions.actions] == [ActionKind.CREATE_SALESFORCE]
    (recreated,) = jane(salesforce).values()
    assert recreated.fields["Title"] == "CEO" and recreated.id != contact
    harness.settle()
    assert exchange.live()[item].salesforce_id_stamp == recreated.id
    assert len(harness.pairs) == 2


def test_leaving_the_data_set_is_a_delete_on_that_side() -> None:
    salesforce, exchange, harness, contact, item = synced()
    salesforce.set_in_scope(contact, False)
    decisions = harness.cycle()
    assert [(a.kind, "left the salesforce data set" in a.reason) for a in decisions.actions] == [
        (ActionKind.DELETE_EXCHANGE, True)]
    assert jane(exchange) == {} and jane(salesforce) == {}
    quiet_for(harness)


def test_exchange_leaving_the_data_set_under_default_policy_unlinks() -> None:
    salesforce, exchange, harness, contact, item = synced()
    exchange.set_in_scope(item, False)       # e.g. moved out of the Salesforce_Sync folder
    assert [a.kind for a in harness.cycle().actions] == [ActionKind.UNLINK]
    exchange.set_in_scope(item, True)        # moved back: it is tombstoned, nothing is duplicated
    quiet_for(harness)
    assert len(jane(salesforce)) == 1 and len(salesforce.live()) == 2


def test_one_way_direction_never_deletes_against_it() -> None:
    policy = SyncPolicy(build_mapping(CONTACT, direction=Direction.SALESFORCE_TO_EXCHANGE),
                        deletes=DeletePolicies(DeletePolicy.PROPAGATE, DeletePolicy.PROPAGATE))
    salesforce, exchange, harness, contact, item = synced(policy)
    exchange.user_delete(item)
    assert [a.kind for a in harness.cycle().actions] == [ActionKind.UNLINK]
    assert list(jane(salesforce)) == [contact]
    quiet_for(harness)
    assert jane(exchange) == {}


def test_a_kept_copy_that_moves_mailbox_stays_unsynced() -> None:
    salesforce, exchange, harness, contact, item = synced(
        contact_policy(deletes=DeletePolicies(DeletePolicy.UNLINK, DeletePolicy.UNLINK)))
    salesforce.user_delete(contact)
    harness.cycle()
    kept = exchange.live()[item]
    exchange.user_delete(item)                                   # the mailbox moves: new id, same stamp
    moved = exchange.user_create(dict(kept.fields), stamp=kept.salesforce_id_stamp)
    harness.cursors = {side: None for side in harness.cursors}
    quiet_for(harness)
    assert list(jane(exchange)) == [moved] and jane(salesforce) == {}
