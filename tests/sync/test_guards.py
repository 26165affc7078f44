"""Guards against mass changes, listing errors and the per-user record limit."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from reconciler.sync import (
    OVER_LIMIT, ActionKind, DeletePolicies, DeletePolicy, Guard, Limits, Side, SourceRecord,
    cycle_violations, decide,
)
from reconciler.sync.fake import LogicalClock

from .cases import EX_ID, SF_ID, T0, edited, salesforce_record, snapshot, synced_pair
from .harness import NOW, SyncHarness, contact_policy, exchange_store, salesforce_store


def test_a_side_listing_nothing_halts_the_user_instead_of_deleting_everything() -> None:
    salesforce, exchange = salesforce_store(), exchange_store()
    for n in range(3):
        salesforce.user_create({"LastName": f"Doe{n}"})
    harness = SyncHarness(contact_policy(), salesforce, exchange)
    harness.settle()
    for item in list(exchange.live()):
        exchange.set_in_scope(item, False)     # e.g. a permission lost: the folder reads empty
    harness.cursors[Side.EXCHANGE] = None      # and the feed restarts with a full listing
    decisions = harness.cycle()
    assert decisions.halt is not None and decisions.halt.guard is Guard.EMPTY_SIDE
    assert decisions.halt.side is Side.EXCHANGE and decisions.halt.observed == 3
    assert len(decisions.actions) == 3                        # shown in the plan, not applied
    assert len(salesforce.live()) == 3 and len(harness.pairs) == 3


def test_an_incremental_feed_deleting_every_pair_also_halts() -> None:
    decisions = decide(contact_policy(), [synced_pair()], snapshot(deleted=(SF_ID,)), snapshot(), now=NOW)
    assert decisions.halt is not None and decisions.halt.side is Side.SALESFORCE


def test_a_partial_delete_does_not_halt() -> None:
    other = replace(synced_pair(edited(GivenName="Joe")), salesforce_id="003B", exchange_id="AAMkB")
    decisions = decide(contact_policy(), [synced_pair(), other], snapshot(deleted=(SF_ID,)), snapshot(), now=NOW)
    assert decisions.halt is None and [a.kind for a in decisions.actions] == [ActionKind.DELETE_EXCHANGE]


def test_listing_errors_defer_deletes_creates_and_pairings_but_not_updates() -> None:
    other = replace(synced_pair(), salesforce_id="003B", exchange_id="AAMkB")
    new = SourceRecord("003N", "s1", {"LastName": "New"}, None, T0)
    decisions = decide(contact_policy(), [synced_pair(), other],
                       snapshot(new, salesforce_record(edited(JobTitle="CTO"), record_id="003B")),
                       snapshot(deleted=(EX_ID,)), listing_errors=True, now=NOW)
    kinds = {(a.salesforce_id, a.kind) for a in decisions.actions}
    assert kinds == {(SF_ID, ActionKind.DEFER), ("003B", ActionKind.UPDATE_EXCHANGE), ("003N", ActionKind.DEFER)}
    deferred = [a for a in decisions.actions if a.kind is ActionKind.DEFER]
    assert all(not a.writes and a.next_pair is None and not a.tombstones for a in deferred)
    assert decisions.delete_count == 0


def test_mass_change_thresholds_count_across_users() -> None:
    policy = contact_policy(deletes=DeletePolicies(DeletePolicy.PROPAGATE, DeletePolicy.PROPAGATE))
    def user_deleting(count: int):
        pairs = [replace(synced_pair(), salesforce_id=f"003{n}", exchange_id=f"AAMk{n}") for n in range(count + 1)]
        return decide(policy, pairs, snapshot(deleted=tuple(f"003{n}" for n in range(count))), snapshot(), now=NOW)
    decisions = {"alice": [user_deleting(3)], "bob": [user_deleting(3)], "carol": [user_deleting(0)]}
    violations = cycle_violations(decisions, Limits(max_changes=5, max_deletes=5))
    assert [(v.guard, v.observed, v.limit, v.users) for v in violations] == [
        (Guard.MAX_CHANGES, 6, 5, ("alice", "bob")), (Guard.MAX_DELETES, 6, 5, ("alice", "bob"))]
    assert violations[1].describe()["overridable_with"] == "--allow-mass-changes"
    assert cycle_violations(decisions, Limits()) == ()


def test_a_halted_user_is_a_cycle_violation() -> None:
    halted = decide(contact_policy(), [synced_pair()], snapshot(full=True), snapshot(), now=NOW)
    (violation,) = cycle_violations({"dave": [halted]}, Limits())
    assert (violation.guard, violation.users) == (Guard.EMPTY_SIDE, ("dave",))


def test_per_user_limit_gives_slots_to_the_oldest_records_first() -> None:
    policy = contact_policy(limits=Limits(records_per_user=3))
    records = [SourceRecord(f"003{n}", "s1", {"LastName": f"Doe{n}"}, None, T0 + timedelta(minutes=10 - n))
               for n in range(4)]
    decisions = decide(policy, [synced_pair()], snapshot(*records), snapshot(), now=NOW)
    created = [a.salesforce_id for a in decisions.of_kind(ActionKind.CREATE_EXCHANGE)]
    skipped = [(a.salesforce_id, a.reason) for a in decisions.of_kind(ActionKind.SKIP)]
    assert created == ["0033", "0032"]                     # 1 pair + 2 new = the limit of 3
    assert skipped == [("0031", OVER_LIMIT), ("0030", OVER_LIMIT)]
    assert all(not a.writes for a in decisions.of_kind(ActionKind.SKIP))


def test_slots_freed_by_deletes_in_the_same_cycle_are_reused() -> None:
    policy = contact_policy(limits=Limits(records_per_user=2))
    others = [replace(synced_pair(), salesforce_id="003B", exchange_id="AAMkB")]
    new = SourceRecord("003N", "s1", {"LastName": "New"}, None, T0)
    decisions = decide(policy, [synced_pair(), *others], snapshot(new, deleted=(SF_ID,)), snapshot(), now=NOW)
    assert {a.kind for a in decisions.actions} == {ActionKind.DELETE_EXCHANGE, ActionKind.CREATE_EXCHANGE}


def test_logical_clock_is_monotonic() -> None:
    clock = LogicalClock()
    assert clock() < clock()
