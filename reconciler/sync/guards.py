"""Guards against mass changes, pure.

Users of the incumbents lost data to sync runs that "worked": a mailbox that briefly listed empty,
a filter edit that took every contact out of the data set, a mass update that flooded the other
side. Each guard returns a structured :class:`GuardViolation` that plan and apply show; only an
explicit ``--allow-mass-changes`` lets a cycle with violations apply.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from .policy import Limits
from .ports import Side

if TYPE_CHECKING:  # actions imports GuardViolation from here
    from .actions import Decisions
    from .status import Pair, SideSnapshot


class Guard(str, Enum):
    EMPTY_SIDE = "empty_side"
    MAX_CHANGES = "max_changes"
    MAX_DELETES = "max_deletes"


@dataclass(frozen=True)
class GuardViolation:
    guard: Guard
    message: str
    observed: int
    limit: int | None = None
    users: tuple[str, ...] = ()
    side: Side | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "guard": self.guard.value,
            "message": self.message,
            "observed": self.observed,
            "limit": self.limit,
            "users": list(self.users),
            "side": self.side.value if self.side else None,
            "overridable_with": "--allow-mass-changes",
        }


def empty_side_violation(side: Side, pairs: Sequence[Pair], snapshot: SideSnapshot) -> GuardViolation | None:
    """A side that lists nothing while pairs exist (or reports every paired record gone at once)
    is far more likely broken - a wrong folder, a lost permission, an emptied filter - than emptied
    by its user: stop this user's sync instead of deleting everything on the other side."""
    if not pairs:
        return None
    paired_ids = {pair.id_on(side) for pair in pairs}
    gone = set(snapshot.deleted_ids | snapshot.departed_ids)
    if snapshot.full:
        gone |= paired_ids - {record.id for record in snapshot.records}
    if not paired_ids <= gone:
        return None
    return GuardViolation(
        guard=Guard.EMPTY_SIDE,
        message=(f"{side.value} lists none of the {len(paired_ids)} synced records: sync stopped for this "
                 f"user instead of carrying that over"),
        observed=len(paired_ids),
        side=side,
    )


def cycle_violations(decisions_by_user: Mapping[str, Sequence[Decisions]], limits: Limits) -> tuple[GuardViolation, ...]:
    """The mass-change guards of one configuration's cycle, counted across all its users and object
    types (a mass change spread over many users is still a mass change), plus each user's halt."""
    violations: list[GuardViolation] = []
    changes = {user: sum(d.change_count for d in decisions) for user, decisions in decisions_by_user.items()}
    deletes = {user: sum(d.delete_count for d in decisions) for user, decisions in decisions_by_user.items()}
    total_changes, total_deletes = sum(changes.values()), sum(deletes.values())
    if total_changes > limits.max_changes:
        violations.append(GuardViolation(
            guard=Guard.MAX_CHANGES,
            message=f"{total_changes} record changes this cycle, more than maxChanges ({limits.max_changes})",
            observed=total_changes, limit=limits.max_changes,
            users=tuple(sorted(user for user, count in changes.items() if count)),
        ))
    if total_deletes > limits.max_deletes:
        violations.append(GuardViolation(
            guard=Guard.MAX_DELETES,
            message=f"{total_deletes} record deletes this cycle, more than maxDeletes ({limits.max_deletes})",
            observed=total_deletes, limit=limits.max_deletes,
            users=tuple(sorted(user for user, count in deletes.items() if count)),
        ))
    for user in sorted(decisions_by_user):
        for decisions in decisions_by_user[user]:
            if decisions.halt is not None:
                violations.append(GuardViolation(
                    guard=decisions.halt.guard, message=decisions.halt.message,
                    observed=decisions.halt.observed, limit=decisions.halt.limit,
                    users=(user,), side=decisions.halt.side,
                ))
    return tuple(violations)
