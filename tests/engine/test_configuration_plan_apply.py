"""Plan and apply of the configuration against a real state store, on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from reconciler.engine import InvalidConfiguration, PartialTarget, StalePlan, apply_plan, build_config_plan
from reconciler.plan import Action, EffectKind, TargetingError
from reconciler.state import PlanAlreadyApplied, StateLocked, StateStore

from .editing import edit_resource, set_spec


def snapshot(store: StateStore):
    """Everything an apply could change: serial, applied configuration and the audit log."""
    return store.meta(), store.applied_config(), store.audit_log()


def assigned_users(store: StateStore) -> dict[str, str]:
    return {u.user: u.configuration for u in store.user_statuses() if u.configuration}


def test_plan_apply_and_replan(config_dir: Path, store: StateStore):
    plan, warnings = build_config_plan(config_dir, store)
    assert plan.state_serial == 0 and plan.state_lineage == store.meta().lineage
    assert plan.config_changes and all(c.action is Action.CREATE for c in plan.config_changes)
    starting = {e.user for e in plan.effects if e.kind is EffectKind.START_SYNC}
    assert starting and len(starting) == len(plan.effects)

    outcome = apply_plan(plan, store, config_dir, actor="ci-bot")

    assert outcome.changed and outcome.serial == 1 == store.meta().serial
    applied = store.applied_config()
    assert applied.resources == {c.address: c.after for c in plan.config_changes}
    assert applied.digest == plan.config_digest
    assert set(assigned_users(store)) == starting
    [entry] = store.audit_log()
    assert (entry.operation, entry.actor, entry.plan_id, entry.git_commit) == ("apply", "ci-bot", plan.plan_id, None)
    assert entry.summary["add"] == len(plan.config_changes) and entry.summary["serial"] == 1

    again, _ = build_config_plan(config_dir, store)
    assert again.config_changes == () and again.effects == () and again.state_serial == 1


def test_edits_show_as_field_changes_and_user_effects(config_dir: Path, store: StateStore):
    apply_plan(build_config_plan(config_dir, store)[0], store, config_dir, actor="ci-bot")
    users = sorted(assigned_users(store))
    configuration = assigned_users(store)[users[0]]
    disabled, reset, removed = users[0], users[1], users[2]
    edit_resource(config_dir, f"User/{disabled}", set_spec("enabled", False))
    edit_resource(config_dir, f"User/{reset}", set_spec("resetSync", 1))
    edit_resource(config_dir, f"SyncConfiguration/{configuration}", set_spec("contacts.direction", "salesforce_to_exchange"))
    for profile in store.applied_config().resources.values():  # the removed user leaves every list naming it
        if profile["kind"] == "Profile" and removed in profile["spec"]["members"]:
            members = [m for m in profile["spec"]["members"] if m != removed]
            edit_resource(config_dir, f"Profile/{profile['metadata']['name']}", set_spec("members", members))
        if profile["kind"] == "SyncConfiguration" and removed in profile["spec"]["assign"]["users"]:
            listed = [u for u in profile["spec"]["assign"]["users"] if u != removed]
            edit_resource(config_dir, f"SyncConfiguration/{profile['metadata']['name']}", set_spec("assign.users", listed))
    edit_resource(config_dir, f"User/{removed}", lambda document: None)

    plan, _ = build_config_plan(config_dir, store)

    by_address = {c.address: c for c in plan.config_changes}
    assert by_address[f"User/{removed}"].action is Action.DELETE
    assert [(f.path, f.before, f.after) for f in by_address[f"User/{disabled}"].changes] == [("spec.enabled", True, False)]
    effects = {(e.user, e.kind) for e in plan.effects}
    assert (disabled, EffectKind.DISABLE) in effects
    assert (reset, EffectKind.RESET) in effects and (reset, EffectKind.DIRECTION_CHANGE) in effects
    assert (removed, EffectKind.STOP_SYNC) in effects

    apply_plan(plan, store, config_dir, actor="ci-bot")
    statuses = {u.user: u for u in store.user_statuses()}
    assert statuses[disabled].configuration is None and statuses[removed].configuration is None
    assert statuses[reset].reset_generation == 1


def test_a_plan_is_stale_once_another_apply_moved_the_serial(config_dir: Path, store: StateStore):
    first, _ = build_config_plan(config_dir, store)
    second, _ = build_config_plan(config_dir, store)
    apply_plan(second, store, config_dir, actor="someone-else")
    before = snapshot(store)

    with pytest.raises(StalePlan, match="the plan was made at serial 0, the state is now at serial 1"):
        apply_plan(first, store, config_dir, actor="ci-bot")
    assert snapshot(store) == before and store.current_lock() is None


def test_a_plan_is_stale_once_the_files_changed(config_dir: Path, store: StateStore):
    plan, _ = build_config_plan(config_dir, store)
    user = next(c.address for c in plan.config_changes if c.kind == "User")
    edit_resource(config_dir, user, set_spec("resetSync", 5))
    before = snapshot(store)

    with pytest.raises(StalePlan, match="the configuration files changed since the plan was made") as refused:
        apply_plan(plan, store, config_dir, actor="ci-bot")
    assert "Run `reconcile plan` again" in str(refused.value)
    assert snapshot(store) == before


def test_a_plan_for_another_state_is_refused(config_dir: Path, store: StateStore, tmp_path: Path):
    with StateStore.open(f"sqlite:///{tmp_path / 'other.db'}") as other:
        plan, _ = build_config_plan(config_dir, other)
    before = snapshot(store)
    with pytest.raises(StalePlan, match="the plan was made for another state"):
        apply_plan(plan, store, config_dir, actor="ci-bot")
    assert snapshot(store) == before


def test_a_plan_is_applied_at_most_once(config_dir: Path, store: StateStore):
    plan, _ = build_config_plan(config_dir, store)
    apply_plan(plan, store, config_dir, actor="ci-bot")
    before = snapshot(store)
    with pytest.raises(PlanAlreadyApplied, match=plan.plan_id):
        apply_plan(plan, store, config_dir, actor="ci-bot")
    assert snapshot(store) == before


def test_an_apply_while_another_holds_the_lock_fails_at_once(config_dir: Path, store: StateStore):
    plan, _ = build_config_plan(config_dir, store)
    held = store.acquire_lock("apply", "pipeline-42@runner (pid 7)")
    before = snapshot(store)
    with pytest.raises(StateLocked) as refused:
        apply_plan(plan, store, config_dir, actor="ci-bot")
    assert "pipeline-42@runner (pid 7)" in str(refused.value) and held.id in str(refused.value)
    assert snapshot(store) == before and store.current_lock() == held


def test_targeted_plans_change_only_their_targets(config_dir: Path, store: StateStore):
    connections, _ = build_config_plan(config_dir, store, targets=["Connection/*"])
    assert connections.targets == ("Connection/*",)
    assert connections.config_changes and {c.kind for c in connections.config_changes} == {"Connection"}
    assert connections.effects == ()
    apply_plan(connections, store, config_dir, actor="ci-bot")
    assert store.applied_config().digest != connections.config_digest  # only part of the files is applied

    users, _ = build_config_plan(config_dir, store, excludes=["Profile/*", "SyncConfiguration/*"])
    assert {c.kind for c in users.config_changes} == {"User"} and users.effects == ()
    apply_plan(users, store, config_dir, actor="ci-bot")

    rest, _ = build_config_plan(config_dir, store)
    assert rest.config_changes and not {c.kind for c in rest.config_changes} & {"Connection", "User"}
    assert {e.kind for e in rest.effects} == {EffectKind.START_SYNC}


def test_a_target_that_would_leave_a_reference_dangling_or_matches_nothing_is_refused(
        config_dir: Path, store: StateStore):
    with pytest.raises(PartialTarget, match="--target Connection/"):
        build_config_plan(config_dir, store, targets=["SyncConfiguration/*", "Profile/*", "User/*"])
    with pytest.raises(TargetingError, match="'Conection/\\*'"):
        build_config_plan(config_dir, store, targets=["Conection/*"])
    assert store.meta().serial == 0


def test_no_plan_from_invalid_files(config_dir: Path, store: StateStore):
    user = next(iter(sorted(config_dir.rglob("*.yaml"))))
    user.write_text(user.read_text(encoding="utf-8") + "\n---\nkind: User\nmetadata: {name: x}\nspec: {}\n",
                    encoding="utf-8")
    with pytest.raises(InvalidConfiguration) as refused:
        build_config_plan(config_dir, store)
    assert refused.value.diagnostics and store.meta().serial == 0


def test_of_two_racing_applies_exactly_one_wins(config_dir: Path, store: StateStore, state_url: str):
    plans = [build_config_plan(config_dir, store)[0] for _ in range(2)]
    barrier = threading.Barrier(2)

    def race(plan) -> BaseException | None:
        with StateStore.open(state_url) as own_store:  # as a second process would
            barrier.wait()
            try:
                apply_plan(plan, own_store, config_dir, actor="racer")
            except (StateLocked, StalePlan) as refused:
                return refused
        return None

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(race, plans))

    assert sorted(result is None for result in results) == [False, True]
    assert store.meta().serial == 1 and len(store.audit_log()) == 1 and store.current_lock() is None


def test_the_audit_entry_names_the_commit_of_a_git_work_tree(config_dir: Path, store: StateStore):
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(config_dir), *args], check=True, capture_output=True,
                              text=True).stdout.strip()

    git("init", "-q")
    git("-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "--allow-empty", "-m", "config")
    plan, _ = build_config_plan(config_dir, store)
    apply_plan(plan, store, config_dir, actor="ci-bot")
    assert store.audit_log()[0].git_commit == git("rev-parse", "HEAD")
