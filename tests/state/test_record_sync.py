"""Record pairs, cursors and tombstones: round trips, all-or-nothing batches, Reset Sync."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from reconciler.state import (
    CycleOutcome,
    PairConflict,
    PairRecord,
    RecordRef,
    StateStore,
    TombstoneRecord,
    UserAssignment,
)
from reconciler.state.records import AuditEntry


def pair(
    number: int, *, exchange_id: str | None = None, version: str = "1", stamped: bool = True, hashed: bool = True
) -> PairRecord:
    return PairRecord(
        salesforce_id=f"003{number:015d}",
        exchange_id=exchange_id or f"AAMkAG{number:08d}=",
        salesforce_version=f"2026-11-2{version}T09:00:00.000+0000",
        exchange_version=f"CQAAABYAAAD{version}",
        salesforce_hash=f"sf-{number}-{version}",
        exchange_hash=f"ex-{number}-{version}" if hashed else None,
        base={"FirstName": "Zoë", "LastName": f"Name{number}", "Emails": [f"z{number}@acme.example"], "v": version},
        exchange_stamped=stamped,
    )


def without_time(pairs: list[PairRecord]) -> list[PairRecord]:
    return [PairRecord(**{**p.__dict__, "updated_at": None}) for p in pairs]


def test_pairs_round_trip_with_every_field(store: StateStore) -> None:
    written = [pair(3, hashed=False), pair(2, stamped=False), pair(1)]
    store.commit_batch("alice", "contact", written, [], [], None)
    read = store.pairs("alice", "contact")
    assert without_time(read) == [pair(1), pair(2, stamped=False), pair(3, hashed=False)]  # by Salesforce id
    assert all(p.updated_at is not None and p.updated_at.tzinfo is not None for p in read)


def test_pairs_are_scoped_by_user_and_object(store: StateStore) -> None:
    store.commit_batch("alice", "contact", [pair(1)], [], [], {"salesforce": "alice-c"})
    store.commit_batch("alice", "event", [pair(1)], [], [], {"salesforce": "alice-e"})
    store.commit_batch("bob", "contact", [pair(1), pair(2)], [], [], {"salesforce": "bob-c"})
    assert len(store.pairs("alice", "contact")) == 1
    assert len(store.pairs("bob", "contact")) == 2
    assert store.cursor("alice", "event", "salesforce") == "alice-e"
    assert store.cursor("bob", "contact", "exchange") is None


def test_upsert_updates_an_existing_pair_by_salesforce_id(store: StateStore) -> None:
    store.commit_batch("alice", "contact", [pair(1), pair(2)], [], [], None)
    store.commit_batch("alice", "contact", [pair(1, version="2")], [], [], None)
    assert without_time(store.pairs("alice", "contact")) == [pair(1, version="2"), pair(2)]


def test_batch_deletes_pairs_and_records_tombstones_and_moves_cursors_together(store: StateStore) -> None:
    store.commit_batch("alice", "contact", [pair(1), pair(2), pair(3)], [], [], {"salesforce": "c1", "exchange": "s1"})
    gone = TombstoneRecord(
        side="salesforce", record_id=pair(2).salesforce_id, reason="deleted in Exchange, propagated",
        deleted_at=datetime(2026, 11, 25, 9, 30, tzinfo=timezone.utc),
    )
    store.commit_batch("alice", "contact", [], [pair(2).salesforce_id], [gone], {"exchange": "s2"})
    assert [p.salesforce_id for p in store.pairs("alice", "contact")] == [pair(1).salesforce_id, pair(3).salesforce_id]
    assert store.tombstones("alice", "contact") == [gone]
    assert (store.cursor("alice", "contact", "salesforce"), store.cursor("alice", "contact", "exchange")) == ("c1", "s2")


def test_a_repeated_tombstone_keeps_the_first(store: StateStore) -> None:
    first = TombstoneRecord("exchange", "AAMk1", "unlinked", datetime(2026, 1, 1, tzinfo=timezone.utc))
    again = TombstoneRecord("exchange", "AAMk1", "deleted again", datetime(2026, 2, 1, tzinfo=timezone.utc))
    store.commit_batch("alice", "contact", [], [], [first], None)
    store.commit_batch("alice", "contact", [], [], [again], None)
    assert store.tombstones("alice", "contact") == [first]


def test_exchange_item_can_move_to_another_salesforce_record_in_one_batch(store: StateStore) -> None:
    store.commit_batch("alice", "contact", [pair(1, exchange_id="AAMk-shared")], [], [], None)
    store.commit_batch("alice", "contact", [pair(9, exchange_id="AAMk-shared")], [pair(1).salesforce_id], [], None)
    assert [(p.salesforce_id, p.exchange_id) for p in store.pairs("alice", "contact")] == [
        (pair(9).salesforce_id, "AAMk-shared")
    ]


def test_failing_batch_leaves_nothing_half_written(store: StateStore) -> None:
    store.commit_batch("alice", "contact", [pair(1), pair(2)], [], [], {"salesforce": "before"})
    before = store.pairs("alice", "contact")
    # The delete, the new pair 3 and the tombstone would all succeed; pair 4 claims the Exchange
    # item pair 2 still holds, so the database rejects the batch part-way through.
    with pytest.raises(PairConflict, match="nothing of the batch was written"):
        store.commit_batch(
            "alice",
            "contact",
            [pair(3), pair(4, exchange_id=pair(2).exchange_id)],
            [pair(1).salesforce_id],
            [TombstoneRecord("exchange", "AAMk-gone", "deleted")],
            {"salesforce": "after"},
        )
    assert store.pairs("alice", "contact") == before
    assert store.tombstones("alice", "contact") == []
    assert store.cursor("alice", "contact", "salesforce") == "before"


@pytest.mark.parametrize(
    "batch",
    [[pair(1), pair(1, version="2")], [pair(1, exchange_id="AAMk-x"), pair(2, exchange_id="AAMk-x")]],
    ids=["same Salesforce id", "same Exchange id"],
)
def test_batch_pairing_one_record_twice_is_refused_before_writing(store: StateStore, batch: list[PairRecord]) -> None:
    with pytest.raises(ValueError, match="appears twice"):
        store.commit_batch("alice", "contact", batch, [], [], {"salesforce": "c"})
    assert store.cursor("alice", "contact", "salesforce") is None


@pytest.mark.parametrize(
    ("object", "side"), [("account", "salesforce"), ("contact", "outlook")], ids=["object", "side"]
)
def test_misspelt_object_or_side_is_refused(store: StateStore, object: str, side: str) -> None:
    with pytest.raises(ValueError, match="unknown"):
        store.commit_batch("alice", object, [], [], [], {side: "c"})


def test_large_batches_are_committed_in_full(store: StateStore) -> None:
    store.commit_batch("alice", "contact", [pair(n) for n in range(2500)], [], [], None)
    store.commit_batch("alice", "contact", [], [pair(n).salesforce_id for n in range(0, 2500, 2)], [], None)
    assert len(store.pairs("alice", "contact")) == 1250


def seed_user(store: StateStore) -> None:
    meta = store.meta()
    store.commit_apply(
        expected_lineage=meta.lineage,
        expected_serial=meta.serial,
        plan_id=f"plan-{meta.serial}",
        digest="a" * 64,
        resources={},
        assignments=[UserAssignment("alice", "sales", "alice@acme.example", reset_generation=1)],
        audit=AuditEntry(datetime.now(timezone.utc), "t", None, None, "apply", {}),
    )


def test_reset_user_forgets_pairs_and_cursors_but_keeps_tombstones(store: StateStore) -> None:
    seed_user(store)
    tombstone = TombstoneRecord("salesforce", pair(5).salesforce_id, "deleted in Exchange")
    for object in ("contact", "event"):
        store.commit_batch("alice", object, [pair(1)], [], [tombstone], {"salesforce": "c", "exchange": "s"})
        store.record_cycle("alice", object, CycleOutcome("salesforce_to_exchange", "in_sync", {"created": 1}))
    store.record_cycle("alice", "contact", CycleOutcome("exchange_to_salesforce", "disabled"))
    store.commit_batch("bob", "contact", [pair(1)], [], [], {"salesforce": "bob"})

    store.reset_user("alice", "contact")

    assert store.pairs("alice", "contact") == []
    assert store.cursor("alice", "contact", "salesforce") is None
    assert store.tombstones("alice", "contact") == [tombstone]
    assert len(store.pairs("alice", "event")) == 1 and len(store.pairs("bob", "contact")) == 1
    [alice] = store.user_statuses()
    assert alice.direction("contact", "salesforce_to_exchange").state == "pending_initial_sync"
    assert alice.direction("contact", "exchange_to_salesforce").state == "disabled"
    assert alice.direction("event", "salesforce_to_exchange").state == "in_sync"
    assert alice.reset_pending  # only a reset of every object completes the requested generation

    store.reset_user("alice")
    assert store.pairs("alice", "event") == []
    assert store.tombstones("alice", "event") == [tombstone]
    assert not store.user_statuses()[0].reset_pending
    assert store.cursor("bob", "contact", "salesforce") == "bob"


def test_reset_user_can_forget_tombstones_when_asked(store: StateStore) -> None:
    tombstone = TombstoneRecord("exchange", "AAMk-unlinked", "unlinked")
    store.commit_batch("alice", "contact", [pair(1)], [], [tombstone], None)
    store.commit_batch("alice", "event", [], [], [tombstone], None)
    store.reset_user("alice", "contact", forget_tombstones=True)
    assert store.tombstones("alice", "contact") == []
    assert store.tombstones("alice", "event") == [tombstone]


def test_benchmark_fills_updates_and_reads_back_a_user(store: StateStore) -> None:
    from reconciler.state.benchmark import BENCHMARK_USER, run

    timings = run(store, total_pairs=30, batch_size=10, reads=1)
    assert set(timings) == {"commit_batch_insert_s", "commit_batch_update_s", "pairs_read_s"}
    assert store.cursor(BENCHMARK_USER, "contact", "exchange") == "sync-state"
    assert store.pairs(BENCHMARK_USER, "contact")[0].base["Description"] == "Notes revision 2"


def test_revisits_are_kept_until_a_cycle_is_done_with_them_and_re_added_ones_stay(store: StateStore) -> None:
    jane, item = RecordRef("salesforce", "003A"), RecordRef("exchange", "AAMk1")
    store.commit_batch("alice", "contact", [], [], [], revisits_added=[jane, item, jane])
    assert store.revisits("alice", "contact") == [item, jane]
    assert store.revisits("bob", "contact") == []
    store.commit_batch("alice", "contact", [], [], [], {"salesforce": "c2"}, revisits_done=[jane, item],
                       revisits_added=[item])
    assert store.revisits("alice", "contact") == [item]
    store.reset_user("alice")
    assert store.revisits("alice", "contact") == []


def test_a_full_listing_time_is_recorded_with_its_cursor(store: StateStore) -> None:
    listed = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
    assert store.last_full_listing("alice", "contact", "salesforce") is None
    store.commit_batch("alice", "contact", [], [], [], {"salesforce": "c1"}, full_listings={"salesforce": listed})
    store.commit_batch("alice", "contact", [], [], [], {"salesforce": "c2"})
    assert store.last_full_listing("alice", "contact", "salesforce") == listed
    assert store.cursor("alice", "contact", "salesforce") == "c2"
