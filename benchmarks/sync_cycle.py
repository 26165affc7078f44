"""API calls, time and memory of whole sync cycles (plan + apply) through the engine, against the sandbox.

Each case seeds the sandbox with bench users whose contacts exist on both sides (``--overlap`` of
them the same people, paired on first sync; the rest created on the other side), syncs contacts
both ways under one SyncConfiguration, and measures:

1. the initial cycle: plan (full listings of both sides, first-sync matching) and apply (creates
   both ways, Salesforce Id stamps on paired Exchange items);
2. a follow-up cycle with nothing changed anywhere: it still re-reads, as echoes, the Salesforce
   writes whose stamps fell inside the change window when the initial apply listed its sides;
3. a no-change cycle (the steady state): its calls per user must not grow with the number of
   records, which is what keeps a 5-minute cycle affordable.

Cases: ``--sizes`` contacts per side for one user, and ``--fleet USERSxCONTACTS`` for many users.
Usage: ``python benchmarks/sync_cycle.py --sizes 1000,10000,50000 --fleet 50x200``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from harness import (Case, Phase, SandboxProcess, argument_parser, batches, measured, parse_sizes, run_benchmark,
                     quiet_cycles, sandbox_connections, wait_past_change_window)

from reconciler.connectors.exchange import EWS_BATCH, SYNC_PAGE
from reconciler.connectors.salesforce import COLLECTION_SIZE, IN_LIST_SIZE, QUERY_PAGE_SIZE
from reconciler.engine.configuration import config_root
from reconciler.engine.cycle import apply_cycle, plan_cycle
from reconciler.engine.records import CONTACT_OBJECT
from reconciler.engine.runtime import sandbox_dir
from reconciler.plan.records import record_entries
from reconciler.sandbox.generate import bench_user_address
from reconciler.state import StateStore, resolve_state_url
from reconciler.sync.ports import CreateOp, Side, UpdateOp

BENCHMARK = "sync_cycle"
DEFAULT_OVERLAP = 0.5
_BATCH = {Side.SALESFORCE: COLLECTION_SIZE, Side.EXCHANGE: EWS_BATCH}


def _config_documents(users: int, records_per_user: int) -> list[dict[str, Any]]:
    """Connections to the sandbox, one User per bench user, and a two-way contacts configuration
    whose limits let the largest case through (the benchmark measures a cycle, not the guards)."""
    names = [f"user{n:05d}" for n in range(1, users + 1)]
    return [
        *sandbox_connections(),
        *({"apiVersion": "reconciler/v1", "kind": "User", "metadata": {"name": name},
           "spec": {"salesforceUsername": bench_user_address(number)}}
          for number, name in enumerate(names, start=1)),
        {"apiVersion": "reconciler/v1", "kind": "Profile", "metadata": {"name": "bench"}, "spec": {"members": names}},
        {"apiVersion": "reconciler/v1", "kind": "SyncConfiguration", "metadata": {"name": "bench-two-way"},
         "spec": {"salesforceConnection": "bench-salesforce", "exchangeConnection": "bench-exchange",
                  "assign": {"profiles": ["bench"]},
                  "contacts": {"direction": "both", "dataSet": {"scope": "owned"}},
                  "events": {"direction": "none"},
                  "limits": {"recordsPerUser": 2 * records_per_user, "maxChanges": 2 * users * records_per_user}}},
    ]


def _write_bounds(entries: Iterable[Any]) -> tuple[int, int]:
    """(writes the plan holds, the fewest calls that carry them and the stamps they imply).

    Each side writes each kind of op in batches of its own (creates, updates and deletes are
    separate calls on both APIs). A contact created in Salesforce from an Exchange item also costs
    an Exchange update, which stamps the new Salesforce Id on the item (the stable identity; the Id
    exists only once the create returns)."""
    calls = 0
    writes = 0
    for entry in entries:
        kinds: Counter[tuple[Side, type]] = Counter()
        for action in entry.actions:
            writes += len(action.writes)
            for side, op in action.writes.items():
                kinds[(side, type(op))] += 1
            if isinstance(action.salesforce_write, CreateOp) and action.exchange_id:
                kinds[(Side.EXCHANGE, UpdateOp)] += 1
        calls += sum(batches(n, _BATCH[side]) for (side, _), n in kinds.items() if n)
    return writes, calls


def _listing_bound(users: int, per_side: int) -> int:
    """Full listings of every user's two sides, plus one directory query per 200 users."""
    per_user = batches(per_side, QUERY_PAGE_SIZE) + batches(per_side, SYNC_PAGE) + batches(per_side, EWS_BATCH)
    return users * per_user + batches(users, IN_LIST_SIZE)


def run_case(users: int, contacts_per_user: int, overlap: float, trace_heap: bool) -> dict[str, Any]:
    """Both cycles for one case; raises when a cycle does not do what it should."""
    phases: list[Phase] = []
    shared = round(overlap * contacts_per_user)
    per_side_after = 2 * contacts_per_user - shared   # every record ends up on both sides
    with tempfile.TemporaryDirectory(prefix="reconciler-bench-") as scratch:
        config_dir = Path(scratch) / "config"
        config_dir.mkdir()
        (config_dir / "bench.yaml").write_text(
            yaml.safe_dump_all(_config_documents(users, contacts_per_user), sort_keys=False), encoding="utf-8")
        root = config_root(config_dir)
        with SandboxProcess(sandbox_dir(root), users=users, contacts_per_user=contacts_per_user, events_per_user=0,
                            overlap=overlap) as sandbox, \
                StateStore.open(resolve_state_url(None, root)) as store:
            with measured(sandbox, Phase("initial plan", 2 * users * contacts_per_user,
                                         _listing_bound(users, contacts_per_user),
                                         "full listings of both sides per user + directory"), trace_heap) as phase:
                plan, _ = plan_cycle(config_dir, store, refresh=True)
            phases.append(phase)
            # Contacts only: events do not sync in this benchmark (their entries say "skipped").
            entries = [e for e in record_entries(plan.record_changes) if e.object == CONTACT_OBJECT]
            writes, bound = _write_bounds(entries)
            expected = users * (2 * (contacts_per_user - shared) + shared)   # creates both ways + stamps
            if writes != expected or any(e.status != "planned" for e in entries):
                raise RuntimeError(f"the initial plan holds {writes} writes (expected {expected}): "
                                   f"{[(e.user, e.status, e.reason, e.counts) for e in entries][:3]}")
            with measured(sandbox, Phase("initial apply", writes, bound,
                                         "each side's creates/updates in batches of 200 (SF) / 100 (EWS)"),
                          trace_heap) as phase:
                outcome = apply_cycle(plan, store, config_dir, "benchmark", allow_mass_changes=True)
            phases.append(phase)
            if not outcome.ok or outcome.records is None or outcome.records.written != writes:
                raise RuntimeError(f"the initial apply failed or fell short: {outcome}")
            wait_past_change_window(p.salesforce_version for e in entries for p in store.pairs(e.user, e.object))

            phases += quiet_cycles(sandbox, store, config_dir, ("follow-up", "no-change"), users + 2,
                                   "1 org-wide SOQL + 1 getDeleted + 1 SyncFolderItems per user", trace_heap)
            pairs = sum(len(store.pairs(e.user, e.object)) for e in entries)
            if pairs != users * per_side_after:
                raise RuntimeError(f"{pairs} pairs after the initial cycle, expected {users * per_side_after}")
    return {"phases": [p.to_json() for p in phases]}


def parse_fleet(text: str) -> list[tuple[int, int]]:
    """``"50x200,10x1000"`` -> ``[(50, 200), (10, 1000)]`` (argparse ``type``)."""
    try:
        fleet = [(int(users), int(contacts)) for users, contacts in
                 (item.lower().split("x") for item in text.split(",") if item.strip())]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected USERSxCONTACTS[,...], got {text!r}") from None
    if any(users < 1 or contacts < 1 for users, contacts in fleet):
        raise argparse.ArgumentTypeError("users and contacts must be positive")
    return fleet


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser(__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=parse_sizes, default="1000,10000,50000",
                        help="contacts per side for one user (default 1000,10000,50000)")
    parser.add_argument("--fleet", type=parse_fleet, default="50x200",
                        help="USERSxCONTACTS cases with many users (default 50x200)")
    parser.add_argument("--overlap", type=float, default=DEFAULT_OVERLAP,
                        help=f"share of each user's contacts on both sides at the start (default {DEFAULT_OVERLAP})")
    args = parser.parse_args(argv)
    cases = [Case(f"one user, {n} contacts per side, overlap {args.overlap}", (1, n, args.overlap))
             for n in args.sizes]
    cases += [Case(f"{users} users x {n} contacts per side, overlap {args.overlap}", (users, n, args.overlap))
              for users, n in args.fleet]
    path = run_benchmark(BENCHMARK, cases, run_case, args.results_dir, args.heap)
    print(f"\nresults: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
