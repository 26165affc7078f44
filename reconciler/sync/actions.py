"""What ``decide`` returns: one action per record, self-contained enough to execute and to show.

An action carries the WriteOp for each side it writes (with the expected version token: every
update is conditional), the pair row to commit when the writes succeed, the tombstones to record,
and a JSON-able description for the plan. Executing is the engine's job; turning the write results
back into state changes is :func:`apply_results`, pure, so the rules for partial failure live here
beside the rules that made the writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from .guards import GuardViolation
from .ports import CreateOp, DeleteOp, Side, UpdateOp, WriteOp, WriteResult, WriteStatus
from .status import Pair, Tombstone


class ActionKind(str, Enum):
    CREATE_EXCHANGE = "create_exchange"
    CREATE_SALESFORCE = "create_salesforce"
    UPDATE_EXCHANGE = "update_exchange"
    UPDATE_SALESFORCE = "update_salesforce"
    UPDATE_BOTH = "update_both"
    RESOLVE_CONFLICT = "resolve_conflict"   # an update in which a field changed on both sides
    DELETE_EXCHANGE = "delete_exchange"
    DELETE_SALESFORCE = "delete_salesforce"
    UNLINK = "unlink"                       # keep both copies, stop syncing them (tombstoned)
    PAIR = "pair"                           # first-sync match or a re-pair by stamp
    SKIP = "skip"
    AMBIGUOUS = "ambiguous"
    DEFER = "defer"


@dataclass(frozen=True)
class FieldChange:
    """One field written on ``side`` (``field`` in that side's vocabulary, ``key`` canonical)."""

    side: Side
    key: str
    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class FieldConflict:
    """A field changed on both sides to different values, settled by the conflict policy."""

    key: str
    salesforce_value: Any
    exchange_value: Any
    winner: Side
    rule: str


@dataclass(frozen=True)
class Action:
    """One record's decision.

    ``next_pair`` is the pair row to store once every write succeeded; for a side being created its
    id and version are filled from the write result (placeholders are ``""``), for a side being
    updated its version. ``previous_pair`` is the row it replaces or removes.
    """

    kind: ActionKind
    object_type: str
    salesforce_id: str | None
    exchange_id: str | None
    display_name: str
    reason: str
    changes: tuple[FieldChange, ...] = ()
    conflicts: tuple[FieldConflict, ...] = ()
    issues: tuple[str, ...] = ()
    salesforce_write: WriteOp | None = None
    exchange_write: WriteOp | None = None
    previous_pair: Pair | None = None
    next_pair: Pair | None = None
    tombstones: tuple[Tombstone, ...] = ()
    candidates: Mapping[str, tuple[str, ...]] | None = None

    @property
    def writes(self) -> dict[Side, WriteOp]:
        found = {Side.SALESFORCE: self.salesforce_write, Side.EXCHANGE: self.exchange_write}
        return {side: op for side, op in found.items() if op is not None}

    @property
    def is_change(self) -> bool:
        """Counts toward ``maxChanges``: it writes a record, or stops syncing one."""
        return bool(self.writes) or self.kind is ActionKind.UNLINK

    @property
    def delete_count(self) -> int:
        return sum(isinstance(op, DeleteOp) for op in self.writes.values())

    def describe(self, *, include_values: bool) -> dict[str, Any]:
        """The plan entry. Without ``include_values`` (the markdown/PR form) it names fields but
        shows no values and no display name: no personal data leaves through a pull request."""
        entry: dict[str, Any] = {
            "kind": self.kind.value,
            "object": self.object_type,
            "salesforce_id": self.salesforce_id,
            "exchange_id": self.exchange_id,
            "reason": self.reason,
            "fields": [
                {"side": change.side.value, "field": change.field, "key": change.key,
                 **({"before": change.before, "after": change.after} if include_values else {})}
                for change in self.changes
            ],
            "conflicts": [
                {"field": conflict.key, "winner": conflict.winner.value, "rule": conflict.rule,
                 **({"salesforce": conflict.salesforce_value, "exchange": conflict.exchange_value}
                    if include_values else {})}
                for conflict in self.conflicts
            ],
            "issues": list(self.issues),
            "expected_versions": {
                side.value: op.expected_version for side, op in self.writes.items()
                if isinstance(op, UpdateOp | DeleteOp)
            },
        }
        if include_values:
            entry["name"] = self.display_name
        if self.candidates is not None:
            entry["candidates"] = {side: list(ids) for side, ids in self.candidates.items()}
        return entry


class Outcome(str, Enum):
    APPLIED = "applied"
    DEFERRED = "deferred"   # a record moved (or vanished) since the plan: the next cycle decides again
    FAILED = "failed"


@dataclass(frozen=True)
class PairUpdate:
    """State changes to commit: drop ``remove`` (if any), store ``store`` (if any), add
    ``tombstones``. Also used for bookkeeping without writes (a version token that moved on an
    echo, a pair both of whose records are gone).

    ``revisit`` names the records of a deferred or failed action, and every candidate of an
    ambiguity: the engine must put them in the next cycle's snapshots (``fetch``), because an
    incremental feed would not list a record whose change was read in this cycle but never carried
    over, nor records left alone until a person settles which of them belong together (without
    them the next plan would say nothing is left to do while the duplicate still waits).
    """

    outcome: Outcome
    remove: Pair | None = None
    store: Pair | None = None
    tombstones: tuple[Tombstone, ...] = ()
    message: str = ""
    retryable: bool = False
    revisit: tuple[tuple[Side, str], ...] = ()


def apply_results(action: Action, results: Mapping[Side, WriteResult]) -> PairUpdate:
    """Turn the results of an action's writes into the state update.

    Any conflict defers the whole action and leaves the pair untouched, even when the other side's
    write succeeded: the next cycle sees that write as a change against the unchanged merge base and
    merges again, which loses nothing. Updating half a pair instead would make one side's edit look
    already synced. A delete answered ``not_found`` is done; an update answered ``not_found`` is
    deferred (the next listing reports the delete and the delete policy decides).
    """
    writes = action.writes
    revisit = tuple((side, record_id) for side, record_id in
                    ((Side.SALESFORCE, action.salesforce_id), (Side.EXCHANGE, action.exchange_id)) if record_id)
    if set(results) != set(writes):
        raise ValueError(f"results for {sorted(s.value for s in results)}, writes for "
                         f"{sorted(s.value for s in writes)}")
    failures = {side: result for side, result in results.items()
                if result.status is WriteStatus.FAILED}
    if failures:
        return PairUpdate(
            Outcome.FAILED,
            message="; ".join(f"{side.value}: {result.message}" for side, result in sorted(failures.items())),
            retryable=all(result.retryable for result in failures.values()),
            revisit=revisit,
        )
    deferred = {
        side: result for side, result in results.items()
        if result.status is WriteStatus.CONFLICT
        or (result.status is WriteStatus.NOT_FOUND and not isinstance(writes[side], DeleteOp))
    }
    if deferred:
        return PairUpdate(
            Outcome.DEFERRED,
            message="; ".join(f"{side.value}: {result.message}" for side, result in sorted(deferred.items())),
            revisit=revisit,
        )
    if action.kind is ActionKind.AMBIGUOUS:
        return PairUpdate(Outcome.APPLIED, revisit=tuple(
            (Side(side), record_id) for side, ids in sorted((action.candidates or {}).items()) for record_id in ids))
    stored = action.next_pair
    if stored is not None:
        for side, op in writes.items():
            stored = _with_result(stored, side, op, results[side])
    return PairUpdate(Outcome.APPLIED, remove=action.previous_pair, store=stored, tombstones=action.tombstones)


def _with_result(pair: Pair, side: Side, op: WriteOp, result: WriteResult) -> Pair:
    if isinstance(op, DeleteOp):
        return pair
    if result.version is None or (isinstance(op, CreateOp) and result.record_id is None):
        raise ValueError(f"an ok {type(op).__name__} on {side.value} must report the id and new version")
    if side is Side.SALESFORCE:
        new_id = result.record_id if isinstance(op, CreateOp) else pair.salesforce_id
        return replace(pair, salesforce_id=new_id, salesforce_version=result.version)
    new_id = result.record_id if isinstance(op, CreateOp) else pair.exchange_id
    return replace(pair, exchange_id=new_id, exchange_version=result.version)


@dataclass(frozen=True)
class Decisions:
    """Everything ``decide`` concluded for one user and object type.

    ``halt`` is set when a guard stopped this user's sync (a side that suddenly lists nothing): the
    actions are still listed so the plan shows what would happen, but the engine applies none of
    them unless the operator allows mass changes.
    """

    object_type: str
    actions: tuple[Action, ...]
    bookkeeping: tuple[PairUpdate, ...] = ()
    halt: GuardViolation | None = None

    @property
    def change_count(self) -> int:
        return sum(action.is_change for action in self.actions)

    @property
    def delete_count(self) -> int:
        return sum(action.delete_count for action in self.actions)

    def of_kind(self, kind: ActionKind) -> tuple[Action, ...]:
        return tuple(action for action in self.actions if action.kind is kind)

    def describe(self, *, include_values: bool) -> list[dict[str, Any]]:
        return [action.describe(include_values=include_values) for action in self.actions]
