"""The in-memory store honours the RecordStore contract the sync core relies on."""

from __future__ import annotations

import pytest

from reconciler.sync import CreateOp, DeleteOp, RecordStore, Side, UpdateOp, WriteStatus
from reconciler.sync.fake import InMemoryRecordStore

from .harness import SyncHarness, contact_policy, exchange_store, salesforce_store


def store(**options) -> InMemoryRecordStore:
    return InMemoryRecordStore(Side.EXCHANGE, "E", **options)


def drain(target: InMemoryRecordStore, cursor: str | None):
    records, deleted, departed, pages = {}, set(), set(), 0
    while True:
        page = target.list_changes(cursor)
        pages += 1
        records.update((r.id, r) for r in page.records)
        deleted.update(page.deleted_ids)
        departed.update(page.departed_ids)
        cursor = page.cursor
        if page.complete:
            return records, deleted, departed, cursor, pages


def test_it_is_a_record_store() -> None:
    assert isinstance(store(), RecordStore) and store(batch_limit=100).max_batch == 100


def test_full_listing_pages_then_the_cursor_yields_only_changes() -> None:
    target = store(page_size=2)
    ids = [target.user_create({"Surname": f"S{n}"}) for n in range(5)]
    records, _, _, cursor, pages = drain(target, None)
    assert sorted(records) == ids and pages == 3
    target.user_update(ids[0], {"JobTitle": "CTO"})
    target.user_delete(ids[1])
    target.set_in_scope(ids[2], False)
    records, deleted, departed, cursor, _ = drain(target, cursor)
    assert (list(records), deleted, departed) == ([ids[0]], {ids[1]}, {ids[2]})
    assert drain(target, cursor)[:3] == ({}, set(), set())


def test_writes_are_conditional_on_the_version() -> None:
    target = store()
    (created,) = target.write([CreateOp({"Surname": "Doe"}, salesforce_id_stamp="003A")])
    assert created.status is WriteStatus.OK and target.fetch([created.record_id])[0].salesforce_id_stamp == "003A"
    stale, fresh = target.write([UpdateOp(created.record_id, "v0", {"JobTitle": "x"}),
                                 UpdateOp(created.record_id, created.version, {"JobTitle": "CTO"})])
    assert stale.status is WriteStatus.CONFLICT and fresh.status is WriteStatus.OK and fresh.version != created.version
    (late_delete,) = target.write([DeleteOp(created.record_id, created.version)])
    assert late_delete.status is WriteStatus.CONFLICT
    (gone,) = target.write([DeleteOp("E999", "v1")])
    assert gone.status is WriteStatus.NOT_FOUND


def test_batches_above_max_batch_are_refused() -> None:
    with pytest.raises(ValueError):
        store(batch_limit=2).write([CreateOp({"Surname": "x"})] * 3)


def test_only_exchange_items_take_a_stamp() -> None:
    salesforce = InMemoryRecordStore(Side.SALESFORCE, "003")
    (result,) = salesforce.write([CreateOp({"LastName": "x"}, salesforce_id_stamp="003A")])
    assert result.status is WriteStatus.FAILED and not result.retryable


def test_the_harness_batches_writes_by_max_batch_and_a_quiet_cycle_writes_nothing() -> None:
    salesforce, exchange = salesforce_store(), exchange_store()
    for n in range(250):
        salesforce.user_create({"LastName": f"Doe{n}"})
    harness = SyncHarness(contact_policy(), salesforce, exchange)
    harness.cycle()
    assert (exchange.write_calls, len(exchange.live())) == (3, 250)       # 100 + 100 + 50
    harness.settle()
    calls = (salesforce.write_calls, exchange.write_calls)
    assert harness.cycle().actions == () and (salesforce.write_calls, exchange.write_calls) == calls


def test_look_up_returns_what_fetch_finds_and_names_the_rest_missing() -> None:
    target = store()
    kept, gone = target.user_create({"Surname": "Kept"}), target.user_create({"Surname": "Gone"})
    target.user_delete(gone)
    found = target.look_up([kept, gone, kept])
    assert [r.id for r in found.records] == [kept]
    assert found.missing_ids == [gone] and found.departed_ids == []
