"""The state lock: one holder at a time, a loser told at once who holds it, and a way out."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import replace

import pytest
import sqlalchemy as sa

from reconciler.state import LockNotFound, StateLocked, StateStore
from reconciler.state.audit import this_host
from reconciler.state.models import StateLockRow


def test_lock_is_free_on_a_new_state(store: StateStore) -> None:
    assert store.current_lock() is None


def test_held_lock_refuses_a_second_acquire_at_once_naming_the_holder(store: StateStore) -> None:
    held = store.acquire_lock("apply", "alice@laptop (pid 1)")
    started = time.monotonic()
    with pytest.raises(StateLocked, match=r"alice@laptop \(pid 1\) for 'apply'") as refused:
        store.acquire_lock("plan", "ci@runner (pid 2)")
    assert time.monotonic() - started < 1.0
    assert refused.value.info == held
    assert store.current_lock() == held


def test_released_lock_can_be_taken_again(store: StateStore) -> None:
    first = store.acquire_lock("apply", "alice")
    store.release_lock(first.id)
    second = store.acquire_lock("apply", "bob")
    assert second.id != first.id
    assert store.current_lock().holder == "bob"


def test_force_unlock_needs_the_matching_id(store: StateStore) -> None:
    held = store.acquire_lock("apply", "crashed-run")
    with pytest.raises(LockNotFound, match="held by crashed-run"):
        store.force_unlock("00000000-0000-4000-8000-000000000000")
    assert store.current_lock() == held


def test_force_unlock_frees_the_state_and_is_audited(store: StateStore) -> None:
    held = store.acquire_lock("apply", "crashed-run")
    assert store.force_unlock(held.id) == held
    assert store.current_lock() is None
    [entry] = store.audit_log()
    assert entry.operation == "force-unlock"
    assert entry.summary["holder"] == "crashed-run" and entry.summary["lock_id"] == held.id


def test_releasing_a_lock_that_was_force_unlocked_is_reported(store: StateStore) -> None:
    held = store.acquire_lock("apply", "slow-run")
    store.force_unlock(held.id)
    with pytest.raises(LockNotFound, match="no lock is held"):
        store.release_lock(held.id)


def test_locked_block_holds_and_releases(store: StateStore) -> None:
    with store.locked("apply", "alice") as info:
        assert store.current_lock() == info
    assert store.current_lock() is None


def test_locked_block_releases_on_error_and_keeps_the_error(store: StateStore) -> None:
    with pytest.raises(RuntimeError, match="apply failed"):
        with store.locked("apply", "alice"):
            raise RuntimeError("apply failed")
    assert store.current_lock() is None


def test_two_stores_racing_for_the_lock_never_both_win(state_url: str) -> None:
    stores = [StateStore.open(state_url) for _ in range(4)]
    try:
        for round_number in range(5):
            start = threading.Barrier(len(stores))
            winners: list[str] = []
            losers: list[str] = []

            def contend(index: int) -> None:
                start.wait()
                try:
                    stores[index].acquire_lock("apply", f"contender-{index}")
                    winners.append(f"contender-{index}")
                except StateLocked as refused:
                    losers.append(refused.info.holder)

            threads = [threading.Thread(target=contend, args=(index,)) for index in range(len(stores))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            assert len(winners) == 1, f"round {round_number}: {winners}"
            assert set(losers) == set(winners)  # every loser was told who won
            stores[0].force_unlock(stores[0].current_lock().id)
    finally:
        for opened in stores:
            opened.close()


def _lock_left_by_a_dead_process(state_url: str) -> int:
    """A child process takes the lock and dies without releasing it; returns its pid."""
    script = ("import os, sys; from reconciler.state import StateStore; "
              "StateStore.open(sys.argv[1]).acquire_lock('apply', 'killed-run'); os._exit(0)")
    child = subprocess.Popen([sys.executable, "-c", script, state_url], stderr=subprocess.PIPE, text=True)
    _, errors = child.communicate(timeout=60)
    assert child.returncode == 0, errors
    return child.pid


def test_a_lock_whose_process_died_on_this_host_is_taken_over_audited_and_announced(
        store: StateStore, state_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    dead_pid = _lock_left_by_a_dead_process(state_url)
    dead = store.current_lock()
    assert dead is not None and dead.pid == dead_pid and dead.host == this_host()

    taken = store.acquire_lock("apply", "next-run")
    assert store.current_lock() == taken and taken.pid == os.getpid()
    [entry] = store.audit_log()
    assert entry.operation == "lock-takeover"
    assert entry.summary["lock_id"] == dead.id and entry.summary["pid"] == dead_pid
    assert f"process {dead_pid} no longer runs" in capsys.readouterr().err


def test_a_lock_from_another_host_is_never_taken_over(store: StateStore, state_url: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    _lock_left_by_a_dead_process(state_url)
    held = store.current_lock()
    monkeypatch.setattr("reconciler.state.store.this_host", lambda: "another-host")
    with pytest.raises(StateLocked):
        store.acquire_lock("apply", "next-run")
    assert store.current_lock() == held and store.audit_log() == []


def test_a_lock_whose_process_still_runs_is_not_taken_over(store: StateStore) -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        held = store.acquire_lock("apply", "live-run")
        with store._writing() as session:   # the lock as that live process would have taken it
            session.exec(sa.update(StateLockRow.__table__).values(pid=sleeper.pid))
        with pytest.raises(StateLocked):
            store.acquire_lock("apply", "next-run")
        assert store.current_lock() == replace(held, pid=sleeper.pid)
    finally:
        sleeper.kill()
        sleeper.wait()
