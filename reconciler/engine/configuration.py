"""Plan and apply of the configuration: the files in git against what the state says was applied.

``build_config_plan`` reads both and asks the pure ``plan`` package for the difference and its
effects on users. ``apply_plan`` carries out exactly a saved plan, under the state lock, after
checking that nothing the plan was computed from has moved: the state (lineage, serial), the files
(digest) and the plan itself (never applied before). Anything moved means a refusal that changes
nothing and says what moved, the terraform saved-plan rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.config import ConfigSet, Diagnostic, load_config, resolve_assignments
from reconciler.config.model import build_resource
from reconciler.plan import (Plan, apply_changes, dangling_references, diff_config, select_changes,
                             user_effects)
from reconciler.state import (AuditEntry, PlanAlreadyApplied, StateStore, UserAssignment, git_commit_of,
                              lock_holder)
from reconciler.state.records import utc_now

from .errors import InvalidConfiguration, PartialTarget, StalePlan


@dataclass(frozen=True)
class LoadedConfig:
    """A configuration without errors, with the warnings found while loading it."""

    config: ConfigSet
    warnings: list[Diagnostic]


@dataclass(frozen=True)
class ApplyOutcome:
    """What an apply did: the state serial it produced (unchanged when the plan had no changes)."""

    plan: Plan
    serial: int
    changed: bool


def config_root(config_path: Path) -> Path:
    """The directory relative paths in the configuration are anchored to (and git is asked about)."""
    return config_path if config_path.is_dir() else config_path.parent


def load_valid_config(config_path: Path) -> LoadedConfig:
    """Load the files; raise ``InvalidConfiguration`` (with every diagnostic) when any has an error."""
    result = load_config(config_path)
    if not result.ok:
        raise InvalidConfiguration(result.diagnostics)
    return LoadedConfig(result.config, result.warnings)


def config_set_of(resources: Mapping[str, dict[str, Any]], root: Path) -> ConfigSet:
    """The typed configuration of normalised resources (those the state holds as applied), so the
    applied side is read by the same code as the files: assignments, digest."""
    return ConfigSet(resources={address: build_resource(doc, root) for address, doc in sorted(resources.items())},
                     _normalized=dict(sorted(resources.items())), _origins={})


def _assigned_configurations(resources: Mapping[str, dict[str, Any]], root: Path) -> dict[str, str | None]:
    config = config_set_of(resources, root)
    return {name: assignment.configuration for name, assignment in resolve_assignments(config).items()}


def build_config_plan(config_path: Path, store: StateStore, targets: Iterable[str] = (),
                      excludes: Iterable[str] = ()) -> tuple[Plan, list[Diagnostic]]:
    """The plan that turns the applied configuration into the files' one (restricted to
    ``targets``/``excludes`` when given), and the configuration's warnings."""
    loaded = load_valid_config(config_path)
    targets, excludes = tuple(targets), tuple(excludes)
    root = config_root(config_path)
    meta = store.meta()
    applied = store.applied_config()
    desired = loaded.config.normalized()
    changes = select_changes(diff_config(applied.resources, desired), {*applied.resources, *desired},
                             targets, excludes)
    result = apply_changes(applied.resources, changes)
    if targets or excludes:
        dangling = dangling_references(result)
        if dangling:
            raise PartialTarget(dangling)
    effects = user_effects(applied.resources, result, _assigned_configurations(applied.resources, root),
                           _assigned_configurations(result, root))
    plan = Plan(config_digest=loaded.config.digest(), state_lineage=meta.lineage, state_serial=meta.serial,
                config_changes=tuple(changes), effects=tuple(effects), targets=targets, excludes=excludes)
    return plan, loaded.warnings


def _user_assignments(before: Mapping[str, dict[str, Any]], after: Mapping[str, dict[str, Any]],
                      root: Path) -> list[UserAssignment]:
    """Rows for every user of either side; users that left the configuration get no configuration."""
    assigned = _assigned_configurations(after, root)
    rows = []
    for address in sorted({*before, *after}):
        if not address.startswith("User/"):
            continue
        name = address.split("/", 1)[1]
        spec = (after.get(address) or before[address])["spec"]
        rows.append(UserAssignment(
            user=name,
            configuration=assigned.get(name) if address in after else None,
            salesforce_username=spec["salesforceUsername"],
            mailbox=spec.get("mailbox"),
            reset_generation=int(spec.get("resetSync", 0)),
        ))
    return rows


def _stale_reasons(plan: Plan, store: StateStore, config_path: Path) -> list[str]:
    reasons = []
    meta = store.meta()
    if meta.lineage != plan.state_lineage:
        reasons.append(f"the plan was made for another state (lineage {plan.state_lineage}); this state is "
                       f"lineage {meta.lineage}: check --state / RECONCILER_STATE")
    elif meta.serial != plan.state_serial:
        reasons.append(f"the state moved: the plan was made at serial {plan.state_serial}, the state is now "
                       f"at serial {meta.serial} (another apply ran in between)")
    try:
        digest = load_valid_config(config_path).config.digest()
    except InvalidConfiguration as exc:
        reasons.append(f"the configuration files changed since the plan and now have errors ({exc})")
    else:
        if digest != plan.config_digest:
            reasons.append(f"the configuration files changed since the plan was made (digest "
                           f"{plan.config_digest[:12]} then, {digest[:12]} now)")
    return reasons


def _refuse_replay(plan: Plan, store: StateStore) -> None:
    for entry in store.audit_log():
        if entry.operation == "apply" and entry.plan_id == plan.plan_id:
            raise PlanAlreadyApplied(plan.plan_id, int(entry.summary.get("serial", 0)))


def apply_plan(plan: Plan, store: StateStore, config_path: Path, actor: str) -> ApplyOutcome:
    """Carry out ``plan`` exactly, holding the state lock throughout.

    Refuses (``StateLocked``, ``PlanAlreadyApplied``, ``StalePlan``) before writing anything. The
    commit itself is a compare-and-set on the serial, so even a writer that ignored the lock could
    not make two applies of one serial both succeed.
    """
    with store.locked("apply", lock_holder()):
        return apply_plan_locked(plan, store, config_path, actor)


def apply_plan_locked(plan: Plan, store: StateStore, config_path: Path, actor: str) -> ApplyOutcome:
    """``apply_plan`` for a caller that already holds the state lock (an apply that goes on to sync
    records keeps one lock from the configuration commit to its last record batch)."""
    root = config_root(config_path)
    _refuse_replay(plan, store)
    reasons = _stale_reasons(plan, store, config_path)
    if reasons:
        raise StalePlan(reasons)
    if not plan.config_changes:
        return ApplyOutcome(plan, plan.state_serial, changed=False)
    applied = store.applied_config()
    resources = apply_changes(applied.resources, plan.config_changes)
    new_serial = plan.state_serial + 1
    audit = AuditEntry(
        time=utc_now(), actor=actor, git_commit=git_commit_of(root), plan_id=plan.plan_id, operation="apply",
        summary={**plan.summary.to_dict(), "serial": new_serial,
                 "targets": list(plan.targets), "excludes": list(plan.excludes)},
    )
    serial = store.commit_apply(
        expected_lineage=plan.state_lineage, expected_serial=plan.state_serial, plan_id=plan.plan_id,
        digest=config_set_of(resources, root).digest(), resources=resources,
        assignments=_user_assignments(applied.resources, resources, root), audit=audit,
    )
    return ApplyOutcome(plan, serial, changed=True)
