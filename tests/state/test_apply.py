"""Lineage, serial and applying a configuration: one winner, no replay, nothing half-written."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest

from reconciler.state import (
    AuditEntry,
    PlanAlreadyApplied,
    StaleState,
    StateStore,
    UserAssignment,
)

DIGEST_A = "a" * 64
DIGEST_B = "b" * 64
ALICE = UserAssignment(user="alice", configuration="sales-two-way", salesforce_username="alice@acme.example")


def audit(plan_id: str, operation: str = "apply") -> AuditEntry:
    return AuditEntry(
        time=datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc),
        actor="ci-bot",
        git_commit="0" * 40,
        plan_id=plan_id,
        operation=operation,
        summary={"add": 1},
    )


def apply(store: StateStore, plan_id: str, *, serial: int | None = None, lineage: str | None = None, **changes) -> int:
    meta = store.meta()
    arguments = {
        "digest": DIGEST_A,
        "resources": {"User/alice": {"kind": "User", "metadata": {"name": "alice"}}},
        "assignments": [ALICE],
    }
    arguments.update(changes)
    return store.commit_apply(
        expected_lineage=lineage or meta.lineage,
        expected_serial=meta.serial if serial is None else serial,
        plan_id=plan_id,
        audit=audit(plan_id),
        **arguments,
    )


def test_new_state_has_a_lineage_and_serial_zero_before_anything_is_applied(store: StateStore) -> None:
    meta = store.meta()
    assert len(meta.lineage) == 36 and meta.serial == 0
    assert store.applied_config().digest is None
    assert store.applied_config().resources == {}


def test_lineage_survives_reopening(state_url: str) -> None:
    with StateStore.open(state_url) as first:
        lineage = first.meta().lineage
    with StateStore.open(state_url) as again:
        assert again.meta().lineage == lineage


def test_apply_records_config_assignments_and_audit_and_bumps_serial(store: StateStore) -> None:
    assert apply(store, "plan-1") == 1
    applied = store.applied_config()
    assert (applied.digest, applied.serial) == (DIGEST_A, 1)
    assert applied.resources == {"User/alice": {"kind": "User", "metadata": {"name": "alice"}}}
    [alice] = store.user_statuses()
    assert (alice.user, alice.configuration, alice.salesforce_username) == ("alice", "sales-two-way", "alice@acme.example")
    [entry] = store.audit_log()
    assert entry == audit("plan-1")


def test_apply_replaces_resources_wholesale(store: StateStore) -> None:
    apply(store, "plan-1", resources={"User/alice": {"v": 1}, "User/bob": {"v": 1}})
    apply(store, "plan-2", resources={"User/alice": {"v": 2}}, digest=DIGEST_B)
    applied = store.applied_config()
    assert applied.resources == {"User/alice": {"v": 2}}
    assert (applied.digest, applied.serial) == (DIGEST_B, 2)


def test_assignments_are_upserted_and_unlisted_users_keep_their_row(store: StateStore) -> None:
    bob = UserAssignment("bob", "sales-two-way", "bob@acme.example", mailbox="bob@mail.acme.example")
    apply(store, "plan-1", assignments=[ALICE, bob])
    apply(store, "plan-2", assignments=[UserAssignment("alice", None, "alice@acme.example", reset_generation=1)])
    statuses = {status.user: status for status in store.user_statuses()}
    assert statuses["alice"].configuration is None
    assert statuses["alice"].reset_pending
    assert statuses["bob"].configuration == "sales-two-way"
    assert statuses["bob"].mailbox == "bob@mail.acme.example"


def test_stale_serial_is_refused_and_nothing_changes(store: StateStore) -> None:
    apply(store, "plan-1")
    with pytest.raises(StaleState, match="serial 0.*now at serial 1"):
        apply(store, "plan-2", serial=0, digest=DIGEST_B, resources={}, assignments=[])
    applied = store.applied_config()
    assert (applied.digest, applied.serial) == (DIGEST_A, 1)
    assert list(applied.resources) == ["User/alice"]
    assert [entry.plan_id for entry in store.audit_log()] == ["plan-1"]
    # The refused plan id was not burnt: a fresh plan with that id may still apply.
    assert apply(store, "plan-2") == 2


def test_plan_for_another_state_is_refused(store: StateStore) -> None:
    with pytest.raises(StaleState, match="lineage"):
        apply(store, "plan-1", lineage="00000000-0000-4000-8000-000000000000")
    assert store.meta().serial == 0
    assert store.audit_log() == []


def test_replayed_plan_is_refused(store: StateStore) -> None:
    apply(store, "plan-1")
    with pytest.raises(PlanAlreadyApplied, match="plan-1.*serial 1"):
        apply(store, "plan-1")
    assert store.meta().serial == 1
    assert len(store.audit_log()) == 1


def test_concurrent_applies_from_threads_exactly_one_wins(state_url: str) -> None:
    with StateStore.open(state_url) as setup:
        lineage = setup.meta().lineage
    stores = [StateStore.open(state_url) for _ in range(2)]
    start = threading.Barrier(2)
    outcomes: list[object] = [None, None]

    def run(index: int) -> None:
        start.wait()
        try:
            outcomes[index] = stores[index].commit_apply(
                expected_lineage=lineage,
                expected_serial=0,
                plan_id=f"plan-{index}",
                digest=DIGEST_A,
                resources={f"User/u{index}": {"by": index}},
                assignments=[],
                audit=audit(f"plan-{index}"),
            )
        except StaleState as refused:
            outcomes[index] = refused

    threads = [threading.Thread(target=run, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for opened in stores:
        opened.close()

    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["StaleState", "int"]
    winner = outcomes.index(1)
    with StateStore.open(state_url) as after:
        assert after.meta().serial == 1
        assert after.applied_config().resources == {f"User/u{winner}": {"by": winner}}
        assert [entry.plan_id for entry in after.audit_log()] == [f"plan-{winner}"]


APPLY_IN_CHILD = textwrap.dedent(
    """
    import sys
    from datetime import datetime, timezone
    from reconciler.state import AuditEntry, StaleState, StateStore

    url, lineage, plan_id = sys.argv[1], sys.argv[2], sys.argv[3]
    store = StateStore.open(url)
    print("ready", flush=True)
    sys.stdin.readline()  # the parent says go once both children are ready
    try:
        serial = store.commit_apply(
            expected_lineage=lineage, expected_serial=0, plan_id=plan_id, digest="c" * 64,
            resources={"User/" + plan_id: {}}, assignments=[],
            audit=AuditEntry(datetime.now(timezone.utc), "child", None, plan_id, "apply", {}),
        )
        print("won", serial)
    except StaleState:
        print("stale")
    """
)


def test_concurrent_applies_from_two_processes_exactly_one_wins(state_url: str, tmp_path: Path) -> None:
    with StateStore.open(state_url) as setup:
        lineage = setup.meta().lineage
    children = [
        subprocess.Popen(
            [sys.executable, "-c", APPLY_IN_CHILD, state_url, lineage, f"plan-{index}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for index in range(2)
    ]
    assert [child.stdout.readline().strip() for child in children] == ["ready", "ready"]
    for child in children:
        child.stdin.write("go\n")
        child.stdin.flush()
    results = [child.communicate(timeout=90) for child in children]
    assert all(child.returncode == 0 for child in children), [err for _, err in results]
    assert sorted(out.strip() for out, _ in results) == ["stale", "won 1"]
    with StateStore.open(state_url) as after:
        assert after.meta().serial == 1
        assert len(after.audit_log()) == 1
