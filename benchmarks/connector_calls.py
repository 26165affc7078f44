"""API calls, time and memory of the connectors' batch writes and listings, against the sandbox.

For each size N, one bench user (``user00001@bench.example``) and an empty sandbox:

1. Salesforce: write N contacts (sObject collections of 200), list them all (SOQL pages of 2,000),
   then list changes with nothing changed.
2. Exchange: write the same N people into the mailbox's Salesforce_Sync folder, stamped with their
   Salesforce Ids as an initial sync would (CreateItem batches of 100), list them all
   (SyncFolderItems pages of 512, GetItem chunks of 100), then list changes with nothing changed.

Usage: ``python benchmarks/connector_calls.py --sizes 1000,10000,50000``
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness import (Case, Phase, SandboxProcess, argument_parser, batches, measured, parse_sizes, run_benchmark,
                     wait_past_change_window)

from reconciler.connectors.exchange import EWS_BATCH, SYNC_PAGE, ExchangeConnector
from reconciler.connectors.salesforce import COLLECTION_SIZE, QUERY_PAGE_SIZE, SalesforceConnector
from reconciler.sandbox.generate import bench_user_address, generate_seed
from reconciler.sync.ports import CreateOp, RecordStore, WriteResult, WriteStatus

BENCHMARK = "connector_calls"
# Salesforce field -> Exchange field for the people both sides get (the default mapping's pairs).
_TO_EXCHANGE = {"FirstName": "GivenName", "LastName": "Surname", "Email": "EmailAddress1", "Phone": "BusinessPhone",
                "Title": "JobTitle"}


def _salesforce_fields(contact: Mapping[str, Any], owner_id: str) -> dict[str, Any]:
    fields = {name: contact[name] for name in _TO_EXCHANGE if name in contact}
    fields["OwnerId"] = owner_id
    return fields


def _write_all(store: RecordStore, ops: list[CreateOp]) -> list[WriteResult]:
    """Write ``ops`` in the store's largest batches; every result, in order."""
    results: list[WriteResult] = []
    for start in range(0, len(ops), store.max_batch):
        batch = store.write(ops[start:start + store.max_batch])
        failed = [r for r in batch if r.status is not WriteStatus.OK or not r.record_id]
        if failed:
            raise RuntimeError(f"{len(failed)} writes failed, first: {failed[0].message}")
        results.extend(batch)
    return results


def _list_all(store: RecordStore, cursor: str | None) -> tuple[int, str]:
    """Page through ``list_changes`` until complete: (records seen, the cursor to resume from)."""
    seen = 0
    while True:
        page = store.list_changes(cursor)
        seen += len(page.records)
        cursor = page.cursor
        if page.complete:
            return seen, cursor


def run_size(size: int, trace_heap: bool) -> dict[str, Any]:
    """All phases for ``size`` contacts, in a sandbox seeded with the bench user and nothing else."""
    people = generate_seed(users=1, contacts_per_user=size, events_per_user=0)["salesforce"]["contacts"]
    phases: list[Phase] = []
    with tempfile.TemporaryDirectory(prefix="reconciler-bench-") as scratch, \
            SandboxProcess(Path(scratch) / "sandbox", users=1, contacts_per_user=0, events_per_user=0) as sandbox:
        salesforce = SalesforceConnector(sandbox.salesforce_settings())
        owner_id = salesforce.users_by_username([bench_user_address(1)])[bench_user_address(1)].id
        contacts = salesforce.contact_store(owner_id)

        with measured(sandbox, Phase("salesforce write", size, batches(size, COLLECTION_SIZE),
                                     f"ceil(N/{COLLECTION_SIZE}) collection calls"), trace_heap) as phase:
            written = _write_all(contacts, [CreateOp(_salesforce_fields(c, owner_id)) for c in people])
        phases.append(phase)
        wait_past_change_window(str(r.version) for r in written)
        with measured(sandbox, Phase("salesforce full listing", size, batches(size, QUERY_PAGE_SIZE),
                                     f"ceil(N/{QUERY_PAGE_SIZE}) query pages"), trace_heap) as phase:
            listed, cursor = _list_all(contacts, None)
        phases.append(phase)
        with measured(sandbox, Phase("salesforce no-change listing", 0, 2,
                                     "1 changed-since query + 1 getDeleted"), trace_heap) as phase:
            changed, _ = _list_all(contacts, cursor)
        phases.append(phase)
        if (listed, changed) != (size, 0):
            raise RuntimeError(f"Salesforce listed {listed} of {size} contacts and {changed} changes (expected 0)")

        exchange = ExchangeConnector(sandbox.exchange_settings())
        try:
            items = exchange.contact_store(bench_user_address(1))
            ops = [CreateOp({_TO_EXCHANGE[k]: v for k, v in c.items() if k in _TO_EXCHANGE}, salesforce_id_stamp=sf_id)
                   for c, sf_id in zip(people, (r.record_id for r in written))]
            with measured(sandbox, Phase("exchange write", size, batches(size, EWS_BATCH),
                                         f"ceil(N/{EWS_BATCH}) CreateItem calls"), trace_heap) as phase:
                _write_all(items, ops)
            phases.append(phase)
            with measured(sandbox, Phase("exchange full listing", size,
                                         batches(size, SYNC_PAGE) + batches(size, EWS_BATCH),
                                         f"ceil(N/{SYNC_PAGE}) SyncFolderItems + ceil(N/{EWS_BATCH}) GetItem"),
                          trace_heap) as phase:
                listed, cursor = _list_all(items, None)
            phases.append(phase)
            with measured(sandbox, Phase("exchange no-change listing", 0, 1, "1 SyncFolderItems"), trace_heap) as phase:
                changed, _ = _list_all(items, cursor)
            phases.append(phase)
        finally:
            exchange.close()
        if (listed, changed) != (size, 0):
            raise RuntimeError(f"Exchange listed {listed} of {size} contacts and {changed} changes (expected 0)")
    return {"phases": [p.to_json() for p in phases]}


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser(__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=parse_sizes, default="1000,10000,50000",
                        help="comma-separated contact counts (default 1000,10000,50000)")
    args = parser.parse_args(argv)
    cases = [Case(f"{size} contacts, one user", (size,)) for size in args.sizes]
    path = run_benchmark(BENCHMARK, cases, run_size, args.results_dir, args.heap)
    print(f"\nresults: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
