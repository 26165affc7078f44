"""A whole cycle as the CLI runs it: the configuration plan plus the record section, and its apply.

Plan: the configuration part (``build_config_plan``) and, when refreshing, every user's record plan
against the files' configuration (what apply makes the applied one). ``refresh`` defaults to on when
the files hold an active configuration; ``refresh=False`` makes no connector call at all (offline
CI). A targeted plan (``--target``/``--exclude``) covers configuration only: syncing records under a
configuration that is only partly applied would sync under rules nobody reviewed as a whole.

Apply: one state lock from the configuration part (``apply_plan_locked``: stale and replay checks)
to the record section's last batch. A plan's record section is applied at most once: its id is
written to the audit log (operation ``sync``) before the first record is written, so a plan file
replayed after a crash is refused and the operator plans afresh, where stamps, pairs and version
tokens pick up what the crashed run left.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

from reconciler.config import Diagnostic
from reconciler.connectors.errors import ConnectorError
from reconciler.connectors.retry import BackOff
from reconciler.plan import Plan
from reconciler.plan.records import has_record_changes, record_entries
from reconciler.state import AuditEntry, PlanAlreadyApplied, StateStore, git_commit_of, lock_holder
from reconciler.state.records import utc_now

from .configuration import ApplyOutcome, apply_plan_locked, build_config_plan, config_root, load_valid_config
from .errors import StalePlan
from .event_apply import apply_event_records
from .events import EVENT_OBJECT, plan_user_events
from .executor import RecordApplyOutcome, apply_records
from .records import DEFAULT_FULL_RESYNC_AFTER, DEFAULT_PARALLEL, Progress, _silent, plan_records
from .runtime import Runtime

SYNC_OPERATION = "sync"


def plan_cycle(config_path: Path, store: StateStore, targets: tuple[str, ...] = (), excludes: tuple[str, ...] = (),
               *, refresh: bool | None = None, parallel: int = DEFAULT_PARALLEL, progress: Progress = _silent,
               backoff: Callable[[], BackOff] = BackOff,
               full_resync_after: timedelta | None = DEFAULT_FULL_RESYNC_AFTER) -> tuple[Plan, list[Diagnostic]]:
    """The plan of the next cycle. ``refresh`` None means "when the files hold an active configuration",
    falling back to a configuration-only plan (with a warning) when a connection cannot be reached.
    ``full_resync_after``: see ``plan_records``."""
    plan, warnings = build_config_plan(config_path, store, targets, excludes)
    config = load_valid_config(config_path).config
    explicit = refresh is not None
    if refresh is None:
        refresh = any(c.active for c in config.configurations.values()) and not (targets or excludes)
    if not refresh or targets or excludes:
        return plan, warnings
    try:
        with Runtime(config, config_root(config_path), backoff=backoff) as runtime:
            entries = plan_records(config, runtime, store, parallel=parallel, progress=progress,
                                   object_planners=(plan_user_events,),
                                   full_resync_after=full_resync_after)
    except ConnectorError as error:
        if explicit:
            raise
        # The default refresh degrades to a configuration-only plan (CI without credentials keeps
        # its configuration review); asked for explicitly, an unreachable service is an error.
        progress(f"Warning: record changes were not planned: {error}. Pass --refresh=false to plan "
                 "configuration only without this warning, or --refresh=true to make it an error.")
        return plan, warnings
    return replace(plan, record_changes=tuple(entry.to_json() for entry in entries)), warnings


def plan_has_changes(plan: Plan) -> bool:
    """Configuration or record changes (what ``--detailed-exitcode`` reports)."""
    return plan.summary.has_changes or has_record_changes(plan.record_changes)


@dataclass(frozen=True)
class CycleOutcome:
    config: ApplyOutcome
    records: RecordApplyOutcome | None

    @property
    def ok(self) -> bool:
        return self.records is None or not self.records.errors


def _claim_record_section(plan: Plan, store: StateStore, expected_serial: int, root: Path) -> None:
    """Refuse a replayed or stale record section; otherwise log it as applied before any write."""
    for entry in store.audit_log():
        if entry.operation == SYNC_OPERATION and entry.plan_id == plan.plan_id:
            raise PlanAlreadyApplied(plan.plan_id, int(entry.summary.get("serial", 0)))
    meta = store.meta()
    if meta.lineage != plan.state_lineage or meta.serial != expected_serial:
        raise StalePlan([f"the state moved while the plan was applied (serial {meta.serial}, "
                         f"expected {expected_serial})"])
    store.record_audit(AuditEntry(
        time=utc_now(), actor=lock_holder(), git_commit=git_commit_of(root), plan_id=plan.plan_id, operation=SYNC_OPERATION,
        summary={"serial": meta.serial, "users": len(record_entries(plan.record_changes))}))


def apply_cycle(plan: Plan, store: StateStore, config_path: Path, actor: str, *, allow_mass_changes: bool = False,
                parallel: int = DEFAULT_PARALLEL, progress: Progress = _silent,
                backoff: Callable[[], BackOff] = BackOff) -> CycleOutcome:
    """Apply the configuration part, then the record section (if the plan has one), under one
    state lock: no other run can slip in between the configuration commit and the record batches."""
    with store.locked("apply", lock_holder()):
        config_outcome = apply_plan_locked(plan, store, config_path, actor)
        entries = record_entries(plan.record_changes)
        if not entries:
            return CycleOutcome(config_outcome, None)
        config = load_valid_config(config_path).config
        root = config_root(config_path)
        _claim_record_section(plan, store, config_outcome.serial, root)
        with Runtime(config, root, backoff=backoff) as runtime:
            progress(f"Syncing records of {len(entries)} user entr{'ies' if len(entries) != 1 else 'y'}...")
            # Contacts first: a user's Reset Sync (of every object type) runs with their contact entry.
            records = apply_records([e for e in entries if e.object != EVENT_OBJECT], config, runtime, store,
                                    allow_mass_changes=allow_mass_changes, parallel=parallel, progress=progress)
            events = apply_event_records([e for e in entries if e.object == EVENT_OBJECT], config, runtime, store,
                                         allow_mass_changes=allow_mass_changes, parallel=parallel, progress=progress)
    return CycleOutcome(config_outcome, RecordApplyOutcome(records.results + events.results))
