"""Policy types of the sync core: what may be written where, and how conflicts and deletes resolve.

These mirror the configuration enums (the engine translates a loaded configuration into them), so
the sync core never depends on how the YAML is shaped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

from .ports import Side

if TYPE_CHECKING:  # mapping imports Direction from here
    from .mapping import FieldMapping


class Direction(str, Enum):
    """Which way data may flow, for an object or for a single field."""

    SALESFORCE_TO_EXCHANGE = "salesforce_to_exchange"
    EXCHANGE_TO_SALESFORCE = "exchange_to_salesforce"
    BOTH = "both"
    NONE = "none"

    def writes(self, side: Side) -> bool:
        """True when data may be written INTO ``side``."""
        if side is Side.EXCHANGE:
            return self in (Direction.SALESFORCE_TO_EXCHANGE, Direction.BOTH)
        return self in (Direction.EXCHANGE_TO_SALESFORCE, Direction.BOTH)

    def intersect(self, other: Direction) -> Direction:
        """The flows both directions allow: a field never syncs against its object's direction."""
        return Direction.from_flows(
            to_exchange=self.writes(Side.EXCHANGE) and other.writes(Side.EXCHANGE),
            to_salesforce=self.writes(Side.SALESFORCE) and other.writes(Side.SALESFORCE),
        )

    @staticmethod
    def from_flows(*, to_exchange: bool, to_salesforce: bool) -> Direction:
        if to_exchange and to_salesforce:
            return Direction.BOTH
        if to_exchange:
            return Direction.SALESFORCE_TO_EXCHANGE
        if to_salesforce:
            return Direction.EXCHANGE_TO_SALESFORCE
        return Direction.NONE


class ConflictPolicy(str, Enum):
    """Who wins a field changed on both sides to different values since the last sync."""

    SALESFORCE_WINS = "salesforce_wins"
    EXCHANGE_WINS = "exchange_wins"
    NEWEST_WINS = "newest_wins"   # by each side's modified_at; a tie or an unknown time -> Salesforce


class DeletePolicy(str, Enum):
    """What a delete (or a departure from the data set) on one side does to the other copy."""

    PROPAGATE = "propagate"   # delete the other copy too
    UNLINK = "unlink"         # keep the other copy, stop syncing it (a change the plan counts)
    IGNORE = "ignore"         # keep the other copy, stop syncing it, report it only as a skip


@dataclass(frozen=True)
class DeletePolicies:
    """Per direction: ``salesforce_to_exchange`` is what a Salesforce delete does in Exchange."""

    salesforce_to_exchange: DeletePolicy = DeletePolicy.PROPAGATE
    exchange_to_salesforce: DeletePolicy = DeletePolicy.UNLINK

    def for_delete_on(self, side: Side) -> DeletePolicy:
        """The policy for a delete that happened on ``side``."""
        return self.salesforce_to_exchange if side is Side.SALESFORCE else self.exchange_to_salesforce


@dataclass(frozen=True)
class Limits:
    """Per-user record limit and per-cycle mass-change thresholds (counted across a configuration)."""

    records_per_user: int = 50_000
    max_changes: int = 5_000
    max_deletes: int = 100


@dataclass(frozen=True)
class SyncPolicy:
    """Everything ``decide`` needs to know about one object type of one configuration.

    The object's direction lives in ``mapping`` (see :func:`reconciler.sync.mapping.build_mapping`),
    which has already intersected every field's direction with it: one source of truth.
    """

    mapping: FieldMapping
    conflict: ConflictPolicy = ConflictPolicy.SALESFORCE_WINS
    deletes: DeletePolicies = field(default_factory=DeletePolicies)
    limits: Limits = field(default_factory=Limits)

    @property
    def direction(self) -> Direction:
        return self.mapping.direction
