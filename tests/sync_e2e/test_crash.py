"""A process killed with SIGKILL in the middle of apply loses nothing and duplicates nothing: the
next runs take its state lock over (same host, dead pid: no force-unlock) and finish the job, every
contact synced exactly once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from reconciler.engine.runtime import sandbox_dir
from reconciler.sandbox.generate import bench_user_address, generate_seed
from reconciler.sandbox.server import Sandbox
from reconciler.state import StateStore

from .conftest import World, apply_killed_mid_way
from .test_api_calls import CONFIG

CONTACTS = 400   # per side; none shared, so each side creates 400 on the other


@pytest.mark.slow
def test_an_apply_killed_mid_way_is_finished_by_the_next_runs_without_duplicates(tmp_path: Path):
    config = tmp_path / "config"
    config.mkdir()
    (config / "reconciler.yaml").write_text(CONFIG.format(user=bench_user_address(1)), encoding="utf-8")
    state = f"sqlite:///{tmp_path / 'state.db'}"
    seed = generate_seed(users=1, contacts_per_user=CONTACTS, events_per_user=0, overlap=0.0)
    with Sandbox(data_dir=sandbox_dir(config), seed=seed) as sandbox:
        killed = apply_killed_mid_way(config, state, sandbox, tmp_path, "salesforce", "composite_create")

        with StateStore.open(state) as store:
            lock = store.current_lock()
            assert lock is not None and lock.pid == killed, "the killed run held the state lock"
            paired = len(store.pairs("bench", "contact"))
            assert store.cursor("bench", "contact", "exchange") is None, "cursors move only when a user is done"
        assert 0 < paired < 2 * CONTACTS, "the kill landed mid-way"

        world = World(config, state, sandbox)
        try:
            outcomes, _ = world.cycles_until_quiet(3)
            assert all(o.ok for o in outcomes), [r.error for o in outcomes for r in o.records.results]
            with StateStore.open(state) as store:   # the first re-run took the dead run's lock over
                assert [e.summary["pid"] for e in store.audit_log() if e.operation == "lock-takeover"] == [killed]
            user = bench_user_address(1)
            salesforce = Counter(r.fields["Email"].lower() for r in world.salesforce_contacts(user))
            exchange = Counter(r.fields["EmailAddress1"].lower() for r in world.exchange_contacts(user))
        finally:
            world.close()
    assert len(salesforce) == len(exchange) == 2 * CONTACTS
    assert set(salesforce.values()) == set(exchange.values()) == {1}
    assert salesforce.keys() == exchange.keys()
