"""connector_calls.py runs at a tiny size and its call counts are what the batch sizes promise.

Not a timed test: only that the benchmark runs end to end, writes its results, and that every
phase's main operation stays at its lower bound (a batching regression shows up here first)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import harness
import pytest

BENCHMARKS_DIR = Path(harness.__file__).resolve().parent
SIZE = 250  # two Salesforce collections, three CreateItem batches, one SyncFolderItems page


@pytest.mark.slow
def test_connector_calls_runs_and_reports_calls_at_the_batch_lower_bounds(tmp_path: Path) -> None:
    finished = subprocess.run(
        [sys.executable, str(BENCHMARKS_DIR / "connector_calls.py"), "--sizes", str(SIZE),
         "--results-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert finished.returncode == 0, finished.stderr
    assert "salesforce write" in finished.stdout and "exchange full listing" in finished.stdout
    [results] = tmp_path.glob("connector_calls-*.json")
    document = json.loads(results.read_text(encoding="utf-8"))
    assert document["machine"]["cpus"] >= 1
    [run] = document["runs"]
    phases = {phase["name"]: phase for phase in run["phases"]}
    calls = {name: phase["calls"] for name, phase in phases.items()}

    assert calls["salesforce write"]["salesforce.composite_create"] == phases["salesforce write"]["lower_bound"] == 2
    assert calls["salesforce full listing"] == {"salesforce.query": 1}
    assert calls["salesforce no-change listing"].get("salesforce.deleted") == 1
    assert calls["exchange write"]["exchange.CreateItem"] == phases["exchange write"]["lower_bound"] == 3
    assert calls["exchange full listing"] == {"exchange.SyncFolderItems": 1, "exchange.GetItem": 3}
    assert calls["exchange no-change listing"] == {"exchange.SyncFolderItems": 1}
    for phase in phases.values():
        assert phase["lower_bound"] <= phase["total_calls"] <= 2 * phase["lower_bound"] + 3, phase
        assert phase["wall_seconds"] > 0 and phase["max_rss_mb"] > 0 and phase["heap_peak_mb"] is not None
    assert phases["salesforce full listing"]["heap_peak_mb"] > 0
