"""The plan: what ``reconcile apply`` will do, as a value that can be saved, reviewed and replayed.

A plan is a contract between the moment it was made and the moment it is applied. It carries the
digest of the configuration files and the state lineage and serial it was computed against, so that
apply can refuse it when the world moved in between (the terraform saved-plan rule). The JSON form
is versioned by ``format_version`` so an older reconciler never half-understands a newer plan, and
a newer one never applies an older plan that lacks what apply now relies on (terraform refuses a
plan made by another version for the same reason: a plan lives minutes, planning again is cheap).
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Any

FORMAT_VERSION = 2   # 2: record entries carry the owner's Salesforce zone
PLAN_FILE_KIND = "reconciler-plan"


class PlanFormatError(ValueError):
    """A plan file this reconciler cannot read (not a plan, corrupt, or written by another version)."""


class _Absent:
    """Marks a field that does not exist on one side of a change (distinct from an explicit null)."""

    _instance: _Absent | None = None

    def __new__(cls) -> _Absent:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT = _Absent()


class Action(str, Enum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


class EffectKind(str, Enum):
    """What a configuration change means for one user's sync. Declaration order is display order."""

    START_SYNC = "start_sync"          # begins syncing: an initial sync is pending
    STOP_SYNC = "stop_sync"            # no longer synced (unassigned, configuration inactive or deleted)
    MOVE = "move"                      # synced under another configuration from now on
    DIRECTION_CHANGE = "direction_change"  # same configuration, an object's sync direction changed
    RESET = "reset"                    # resetSync raised: pairings are rebuilt on the next cycle
    DISABLE = "disable"                # the User resource was disabled (enabled: false)


@dataclass(frozen=True)
class FieldChange:
    """One leaf of a difference: ``path`` is a JSON path such as ``spec.contacts.direction``.

    ``before``/``after`` are JSON values, or ``ABSENT`` where the field does not exist on that side.
    Lists and secret references are leaves: they are compared and shown whole.
    """

    path: str
    before: Any = ABSENT
    after: Any = ABSENT

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"path": self.path}
        if self.before is not ABSENT:
            doc["before"] = self.before
        if self.after is not ABSENT:
            doc["after"] = self.after
        return doc

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> FieldChange:
        return cls(path=doc["path"], before=doc.get("before", ABSENT), after=doc.get("after", ABSENT))


@dataclass(frozen=True)
class ResourceChange:
    """A resource to create, update or delete, with its whole normalised form on each side.

    Apply writes ``after`` (or removes the resource) exactly as planned, so the plan, not a second
    reading of the files, decides what becomes the applied configuration.
    """

    address: str
    action: Action
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    changes: tuple[FieldChange, ...]

    @property
    def kind(self) -> str:
        return self.address.split("/", 1)[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "action": self.action.value,
            "before": self.before,
            "after": self.after,
            "changes": [change.to_dict() for change in self.changes],
        }

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> ResourceChange:
        return cls(
            address=doc["address"],
            action=Action(doc["action"]),
            before=doc.get("before"),
            after=doc.get("after"),
            changes=tuple(FieldChange.from_dict(change) for change in doc.get("changes", [])),
        )


@dataclass(frozen=True)
class UserEffect:
    """What happens to one user's sync. ``changes`` holds the details (per-object direction
    ``contacts.direction``, the ``resetSync`` generation); the configurations say where from and to."""

    user: str
    kind: EffectKind
    configuration_before: str | None
    configuration_after: str | None
    changes: tuple[FieldChange, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "kind": self.kind.value,
            "configuration_before": self.configuration_before,
            "configuration_after": self.configuration_after,
            "changes": [change.to_dict() for change in self.changes],
        }

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> UserEffect:
        return cls(
            user=doc["user"],
            kind=EffectKind(doc["kind"]),
            configuration_before=doc.get("configuration_before"),
            configuration_after=doc.get("configuration_after"),
            changes=tuple(FieldChange.from_dict(change) for change in doc.get("changes", [])),
        )


@dataclass(frozen=True)
class PlanSummary:
    add: int
    change: int
    destroy: int
    effects: dict[str, int]

    @property
    def has_changes(self) -> bool:
        return bool(self.add or self.change or self.destroy)

    def to_dict(self) -> dict[str, Any]:
        return {"add": self.add, "change": self.change, "destroy": self.destroy, "effects": dict(self.effects)}


@dataclass(frozen=True)
class Plan:
    """Configuration changes and their effects on users, bound to the state and files they came from.

    ``state_serial`` is 0 for a state that was never applied to.
    ``targets``/``excludes`` record address filters: a targeted plan is partial and says so.
    ``record_changes`` stays empty until the record sync fills it.
    """

    config_digest: str
    state_lineage: str
    state_serial: int
    config_changes: tuple[ResourceChange, ...]
    effects: tuple[UserEffect, ...]
    targets: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    record_changes: tuple[dict[str, Any], ...] = ()
    plan_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    created_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    format_version: int = FORMAT_VERSION

    @property
    def is_targeted(self) -> bool:
        return bool(self.targets or self.excludes)

    @property
    def summary(self) -> PlanSummary:
        actions = Counter(change.action for change in self.config_changes)
        effects = Counter(effect.kind.value for effect in self.effects)
        return PlanSummary(
            add=actions[Action.CREATE],
            change=actions[Action.UPDATE],
            destroy=actions[Action.DELETE],
            effects={kind.value: effects[kind.value] for kind in EffectKind if effects[kind.value]},
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": PLAN_FILE_KIND,
            "format_version": self.format_version,
            "plan_id": self.plan_id,
            "created_at": self.created_at.isoformat(),
            "config_digest": self.config_digest,
            "state_lineage": self.state_lineage,
            "state_serial": self.state_serial,
            "targets": list(self.targets),
            "excludes": list(self.excludes),
            "summary": self.summary.to_dict(),
            "config_changes": [change.to_dict() for change in self.config_changes],
            "effects": [effect.to_dict() for effect in self.effects],
            "record_changes": list(self.record_changes),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Plan:
        """Read a plan file. Refuses anything that is not a plan of a format this version knows."""
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PlanFormatError(f"not a plan file: invalid JSON ({exc.msg} at line {exc.lineno})") from None
        if not isinstance(doc, dict) or doc.get("kind") != PLAN_FILE_KIND:
            raise PlanFormatError("not a plan file: it lacks \"kind\": \"reconciler-plan\" "
                                  "(write plans with `reconcile plan --out FILE`)")
        version = doc.get("format_version")
        if not isinstance(version, int) or version < 1:
            raise PlanFormatError(f"not a plan file: format_version {version!r} is not a positive integer")
        if version > FORMAT_VERSION:
            raise PlanFormatError(
                f"this plan has format_version {version}, newer than this reconciler understands "
                f"({FORMAT_VERSION}); apply it with the reconciler version that wrote it, or run "
                "`reconcile plan` again with this one")
        if version < FORMAT_VERSION:
            raise PlanFormatError(
                f"this plan has format_version {version}, written by an older reconciler; "
                f"run `reconcile plan` again with this one (format_version {FORMAT_VERSION})")
        try:
            return cls(
                plan_id=str(doc["plan_id"]),
                created_at=datetime.fromisoformat(doc["created_at"]),
                config_digest=str(doc["config_digest"]),
                state_lineage=str(doc["state_lineage"]),
                state_serial=int(doc["state_serial"]),
                targets=tuple(doc.get("targets", ())),
                excludes=tuple(doc.get("excludes", ())),
                config_changes=tuple(ResourceChange.from_dict(c) for c in doc.get("config_changes", [])),
                effects=tuple(UserEffect.from_dict(e) for e in doc.get("effects", [])),
                record_changes=tuple(doc.get("record_changes", ())),
                format_version=version,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise PlanFormatError(f"corrupt plan file: {type(exc).__name__}: {exc}") from None
