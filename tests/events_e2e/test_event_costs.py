"""A cycle with nothing to do costs the same API calls at 10 and at 200 events per user (read from
the sandbox's own counters)."""

from __future__ import annotations

from pathlib import Path

from sync_e2e.conftest import World
from sync_e2e.test_api_calls import CONFIG

from reconciler.engine.runtime import sandbox_dir
from reconciler.sandbox.generate import bench_user_address, generate_seed
from reconciler.sandbox.server import Sandbox

EVENTS_ONLY = CONFIG.replace("contacts: {{direction: both}}", "contacts: {{direction: none}}\n  events: {{direction: both}}")


def _no_change_cycle_calls(tmp_path: Path, events: int) -> dict[str, int]:
    config = tmp_path / f"events-{events}"
    config.mkdir()
    (config / "reconciler.yaml").write_text(EVENTS_ONLY.format(user=bench_user_address(1)), encoding="utf-8")
    seed = generate_seed(users=1, contacts_per_user=0, events_per_user=events)
    with Sandbox(data_dir=sandbox_dir(config), seed=seed) as sandbox:
        world = World(config, f"sqlite:///{config / 'state.db'}", sandbox)
        try:
            world.settle()
            return world.quiet_cycle_calls()
        finally:
            world.close()


def test_a_cycle_without_event_changes_costs_the_same_calls_at_10_and_at_200_events(tmp_path: Path):
    small = _no_change_cycle_calls(tmp_path, 10)
    large = _no_change_cycle_calls(tmp_path, 200)
    assert small == large
    assert sum(small.values()) <= 15, small
