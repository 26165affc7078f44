"""The engine stores the sync core's pairs as they are: "not known" hashes stay None and the
stamp flag survives the round trip through the state store."""

from __future__ import annotations

from reconciler.engine.records import pair_from_record, pair_to_record
from reconciler.state import StateStore
from reconciler.sync import Pair


def test_a_pair_with_unknown_hashes_and_no_stamp_yet_round_trips_through_the_store(store: StateStore):
    pair = Pair("003A", "AAMk1", "2026-11-25T09:00:00.000+0000", "CK1", None, None, {"Surname": "Doe"},
                exchange_stamped=False)
    store.commit_batch("alice", "contact", [pair_to_record(pair)], [], [])
    [stored] = store.pairs("alice", "contact")
    assert stored.salesforce_hash is None and stored.exchange_hash is None
    assert pair_from_record(stored) == pair
