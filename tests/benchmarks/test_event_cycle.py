"""event_cycle.py runs at tiny sizes: the initial cycle syncs every event both ways with their
attendees and no duplicates, and a cycle with nothing changed costs the same calls whether the user
has 30 events a side or 120. Not a timed test."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import harness
import pytest

BENCHMARKS_DIR = Path(harness.__file__).resolve().parent
PHASES = ["initial plan", "initial apply", "second plan", "second apply", "no-change plan", "no-change apply"]


@pytest.mark.slow
def test_event_cycle_syncs_every_event_once_and_a_no_change_cycle_costs_the_same_at_any_size(tmp_path: Path) -> None:
    finished = subprocess.run(
        [sys.executable, str(BENCHMARKS_DIR / "event_cycle.py"), "--sizes", "30,120", "--no-heap",
         "--results-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert finished.returncode == 0, finished.stderr
    [results] = tmp_path.glob("event_cycle-*.json")
    runs = json.loads(results.read_text(encoding="utf-8"))["runs"]
    assert [run["args"] for run in runs] == [[30, 0.2, 3], [120, 0.2, 3]]
    small, large = ({phase["name"]: phase for phase in run["phases"]} for run in runs)

    for run, events in zip(runs, (30, 120)):
        checked = run["checked"]
        assert checked["salesforce_events"] == checked["exchange_events"] == checked["pairs"] == 2 * events
        assert checked["salesforce_ids_paired"] == checked["exchange_ids_paired"] == 2 * events
        assert checked["meetings"] > 0 and checked["invitees"] > 0
        phases = {phase["name"]: phase for phase in run["phases"]}
        assert list(phases) == PHASES
        assert phases["initial plan"]["records"] == phases["initial apply"]["records"] == 2 * events
        for phase in phases.values():
            assert phase["total_calls"] >= phase["lower_bound"], phase
            assert phase["wall_seconds"] > 0 and phase["max_rss_mb"] > 0
    apply = large["initial apply"]["calls"]
    assert apply["salesforce.composite_create"] >= 2   # events, then EventRelations
    assert apply["exchange.CreateItem"] >= 2           # 120 events, 100 a call
    assert "relations" in large["initial apply"]["bound_rule"]
    assert small["no-change plan"]["calls"] == large["no-change plan"]["calls"]
    assert large["no-change plan"]["calls"]["exchange.SyncFolderItems"] == 1
    assert "exchange.GetItem" not in large["no-change plan"]["calls"]
    assert "exchange.UpdateItem" not in large["no-change apply"]["calls"]
