"""sync_cycle.py runs at tiny sizes: the initial cycle syncs, and a cycle with nothing changed costs
the same calls per user whether the user has 20 contacts or 600 (more than one SyncFolderItems
page), and the same Salesforce calls for three users as for one. Not a timed test."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import harness
import pytest

BENCHMARKS_DIR = Path(harness.__file__).resolve().parent


@pytest.mark.slow
def test_sync_cycle_runs_and_a_no_change_cycle_costs_the_same_per_user_at_any_size(tmp_path: Path) -> None:
    finished = subprocess.run(
        [sys.executable, str(BENCHMARKS_DIR / "sync_cycle.py"), "--sizes", "20,600", "--fleet", "3x20", "--no-heap",
         "--results-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert finished.returncode == 0, finished.stderr
    [results] = tmp_path.glob("sync_cycle-*.json")
    runs = json.loads(results.read_text(encoding="utf-8"))["runs"]
    assert [run["args"] for run in runs] == [[1, 20, 0.5], [1, 600, 0.5], [3, 20, 0.5]]
    phases = [{phase["name"]: phase for phase in run["phases"]} for run in runs]
    small, large, fleet = phases

    assert large["initial apply"]["records"] == 900            # 300 creates each way, 300 stamps
    assert large["initial apply"]["calls"]["salesforce.composite_create"] >= 2   # 300 creates, 200 a call
    assert large["initial apply"]["calls"]["exchange.CreateItem"] >= 3          # 300 creates, 100 a call
    assert large["initial plan"]["calls"]["exchange.SyncFolderItems"] == 2
    assert small["no-change plan"]["calls"] == large["no-change plan"]["calls"]
    assert large["no-change plan"]["calls"]["exchange.SyncFolderItems"] == 1
    single, many = small["no-change plan"]["calls"], fleet["no-change plan"]["calls"]
    for per_mailbox_operation in ("exchange.ResolveNames", "exchange.SyncFolderItems"):
        assert many.get(per_mailbox_operation, 0) == 3 * single.get(per_mailbox_operation, 0)
    salesforce = [op for op in single if op.startswith("salesforce.") and op != "salesforce.token"]
    # Salesforce's change feed and directory are org-wide: three users cost no more than one each.
    assert sum(many.get(op, 0) for op in salesforce) <= 3 * sum(single[op] for op in salesforce)
    for run in phases:
        assert run["no-change apply"]["total_calls"] == 0
        for phase in run.values():
            assert phase["total_calls"] >= phase["lower_bound"]
