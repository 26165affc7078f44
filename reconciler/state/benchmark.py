"""Measure the record-sync hot paths of a state database: ``python -m reconciler.state.benchmark``.

Times ``commit_batch`` of 1,000 pairs (new and updated, with a cursor move) and ``pairs()`` of a
user with 50,000 pairs (the per-user contact limit), on the database given by ``--state``
(default: a temporary SQLite file). Point it at an empty scratch database: it writes pairs for a
user named ``benchmark-user``. Useful to check an operator's PostgreSQL before rollout.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from .records import PairRecord
from .store import StateStore

BENCHMARK_USER = "benchmark-user"


def synthetic_pair(number: int, version: int) -> PairRecord:
    """A pair shaped like a real contact pair: EWS-length ids and a full canonical snapshot."""
    return PairRecord(
        salesforce_id=f"003Hs{number:013d}",
        exchange_id=f"AAMkADk0ZjYxMDQ3LTBiNTMtNGE2Zi05ZjQ2LTk0YzQ4NGI2ZDBmMgBGAAAAAAD{number:020d}AAA=",
        salesforce_version=f"2026-11-25T09:{version % 60:02d}:00.000+0000",
        exchange_version=f"EQAAABYAAAC{version:08d}{number:010d}",
        salesforce_hash=f"{number:032x}{version:032x}",
        exchange_hash=f"{version:032x}{number:032x}",
        base={
            "FirstName": f"First{number}",
            "LastName": f"Last{number}",
            "Email": f"contact{number}@customer.example",
            "Phone": "+64 9 555 0100",
            "MobilePhone": "+64 21 555 0101",
            "Title": "Procurement Manager",
            "Department": "Operations",
            "CompanyName": "Customer Ltd",
            "MailingStreet": "1 Queen Street",
            "MailingCity": "Auckland",
            "MailingPostalCode": "1010",
            "MailingCountry": "NZ",
            "Description": f"Notes revision {version}",
        },
    )


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def run(store: StateStore, total_pairs: int = 50_000, batch_size: int = 1_000, reads: int = 3) -> dict[str, float]:
    """Fill one user with ``total_pairs`` in batches, rewrite one batch, read everything back.

    Returns seconds: median insert batch, update batch, and median full read.
    """
    insert_times = [
        _timed(
            lambda start=start: store.commit_batch(
                BENCHMARK_USER,
                "contact",
                [synthetic_pair(n, 1) for n in range(start, min(start + batch_size, total_pairs))],
                [],
                [],
                {"salesforce": f"cursor-{start}"},
            )
        )
        for start in range(0, total_pairs, batch_size)
    ]
    update_time = _timed(
        lambda: store.commit_batch(
            BENCHMARK_USER,
            "contact",
            [synthetic_pair(n, 2) for n in range(batch_size)],
            [],
            [],
            {"salesforce": "cursor-updated", "exchange": "sync-state"},
        )
    )
    read_times = []
    for _ in range(reads):
        read_times.append(_timed(lambda: store.pairs(BENCHMARK_USER, "contact")))
    if len(store.pairs(BENCHMARK_USER, "contact")) != total_pairs:
        raise RuntimeError("the benchmark user does not hold the pairs just written; was the database empty?")
    return {
        "commit_batch_insert_s": statistics.median(insert_times),
        "commit_batch_update_s": update_time,
        "pairs_read_s": statistics.median(read_times),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state", help="state URL or SQLite path (default: a temporary SQLite file)")
    parser.add_argument("--pairs", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=1_000)
    arguments = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        url = arguments.state or str(Path(scratch) / "benchmark.db")
        with StateStore.open(url) as store:
            results = run(store, arguments.pairs, arguments.batch)
            print(f"state: {store.redacted_url} ({store.backend})")
    print(f"commit_batch of {arguments.batch} new pairs (median): {results['commit_batch_insert_s'] * 1000:.0f} ms")
    print(f"commit_batch of {arguments.batch} updated pairs:      {results['commit_batch_update_s'] * 1000:.0f} ms")
    print(f"pairs() of {arguments.pairs} pairs (median):        {results['pairs_read_s'] * 1000:.0f} ms")


if __name__ == "__main__":
    main()
