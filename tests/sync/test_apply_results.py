"""Write results -> state updates, including conflicts between plan and apply."""

from __future__ import annotations

import pytest

from reconciler.sync import ActionKind, Outcome, Pair, Side, WriteResult, apply_results, decide

from .cases import EX_ID, SF_ID, edited, exchange_record, salesforce_record, snapshot, synced_pair
from .harness import NOW, SyncHarness, contact_policy, exchange_store, salesforce_store


def update_both():
    decisions = decide(contact_policy(), [synced_pair()], snapshot(salesforce_record(edited(JobTitle="CTO"))),
                       snapshot(exchange_record(edited(Surname="Smith"))), now=NOW)
    (action,) = decisions.actions
    assert action.kind is ActionKind.UPDATE_BOTH
    return action


def test_all_ok_stores_the_next_pair_with_the_new_versions() -> None:
    action = update_both()
    update = apply_results(action, {Side.SALESFORCE: WriteResult.ok(SF_ID, "s3"),
                                    Side.EXCHANGE: WriteResult.ok(EX_ID, "e3")})
    assert update.outcome is Outcome.APPLIED and update.remove == synced_pair()
    assert (update.store.salesforce_version, update.store.exchange_version) == ("s3", "e3")
    assert update.store.base["JobTitle"] == "CTO" and update.store.base["Surname"] == "Smith"


def test_a_conflict_on_one_side_defers_and_leaves_the_pair_untouched() -> None:
    update = apply_results(update_both(), {Side.SALESFORCE: WriteResult.ok(SF_ID, "s3"),
                                           Side.EXCHANGE: WriteResult.conflict()})
    assert update.outcome is Outcome.DEFERRED and update.store is None and update.remove is None
    assert set(update.revisit) == {(Side.SALESFORCE, SF_ID), (Side.EXCHANGE, EX_ID)}


def test_a_failure_reports_whether_a_retry_can_help() -> None:
    update = apply_results(update_both(), {Side.SALESFORCE: WriteResult.failed("busy", retryable=True),
                                           Side.EXCHANGE: WriteResult.failed("quota", retryable=False)})
    assert (update.outcome, update.retryable, update.store) == (Outcome.FAILED, False, None)
    assert "salesforce: busy" in update.message and "exchange: quota" in update.message


def test_deleting_what_is_already_gone_is_done_but_updating_it_is_deferred() -> None:
    delete = decide(contact_policy(), [synced_pair()], snapshot(deleted=(SF_ID,)), snapshot(), now=NOW).actions[0]
    assert apply_results(delete, {Side.EXCHANGE: WriteResult.not_found()}).outcome is Outcome.APPLIED
    update = decide(contact_policy(), [synced_pair()], snapshot(salesforce_record(edited(JobTitle="CTO"))),
                    snapshot(), now=NOW).actions[0]
    assert apply_results(update, {Side.EXCHANGE: WriteResult.not_found()}).outcome is Outcome.DEFERRED


def test_results_must_answer_exactly_the_writes() -> None:
    with pytest.raises(ValueError):
        apply_results(update_both(), {Side.SALESFORCE: WriteResult.ok(SF_ID, "s3")})


def test_create_fills_in_the_new_id() -> None:
    salesforce, exchange = salesforce_store(), exchange_store()
    salesforce.user_create({"LastName": "Doe"})
    (action,) = SyncHarness(contact_policy(), salesforce, exchange).plan()[0].actions
    update = apply_results(action, {Side.EXCHANGE: WriteResult.ok("AAMkNEW", "e1")})
    assert (update.store.exchange_id, update.store.exchange_version) == ("AAMkNEW", "e1")
    assert update.store.exchange_stamped


def test_an_edit_made_between_plan_and_apply_is_merged_next_cycle_not_overwritten() -> None:
    salesforce, exchange = salesforce_store(), exchange_store()
    contact = salesforce.user_create({"FirstName": "Jane", "LastName": "Doe"})
    harness = SyncHarness(contact_policy(), salesforce, exchange)
    harness.settle()
    (item,) = exchange.live()
    salesforce.user_update(contact, {"Title": "CTO"})
    decisions, cursors = harness.plan()
    exchange.user_update(item, {"MobilePhone": "+1 555 0142"})       # lands after the plan was made
    harness.execute(decisions)
    harness.cursors = cursors
    assert exchange.live()[item].fields.get("JobTitle") is None        # the write was refused
    harness.settle()
    assert exchange.live()[item].fields["JobTitle"] == "CTO"
    assert salesforce.live()[contact].fields["MobilePhone"] == "+1 555 0142"


def test_pairs_round_trip_through_json_for_the_state_store() -> None:
    pair = synced_pair()
    assert Pair.from_json(pair.to_json()) == pair
