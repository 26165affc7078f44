"""The pure two-way sync core: ports, mapping, pairs, matching, decisions, guards.

No network, no database, no clock: the engine lists both sides through :mod:`.ports`, calls
:func:`decide`, executes the actions' writes in batches and commits :func:`apply_results`.
"""

from .actions import (
    Action, ActionKind, Decisions, FieldChange, FieldConflict, Outcome, PairUpdate, apply_results,
)
from .contacts import CONTACT
from .decide import OVER_LIMIT, LookupIndexes, decide
from .guards import Guard, GuardViolation, cycle_violations, empty_side_violation
from .mapping import (
    FieldKind, FieldMap, FieldMapping, FieldOverride, InvalidFieldValue, MappingError, build_mapping,
    canonical_hash, normalise,
)
from .matching import Ambiguity, Match, MatchResult, Unpaired, match_records
from .objects import MatchRule, ObjectType
from .policy import ConflictPolicy, DeletePolicies, DeletePolicy, Direction, Limits, SyncPolicy
from .ports import (
    ChangePage, CreateOp, DeleteOp, LookedUp, RecordStore, Side, SourceRecord, UpdateOp, WriteOp,
    WriteResult, WriteStatus,
)
from .status import Pair, SideSnapshot, Tombstone

__all__ = [
    "Action", "ActionKind", "Ambiguity", "CONTACT", "ChangePage", "ConflictPolicy", "CreateOp",
    "Decisions", "DeleteOp", "DeletePolicies", "DeletePolicy", "Direction", "FieldChange",
    "FieldConflict", "FieldKind", "FieldMap", "FieldMapping", "FieldOverride", "Guard",
    "GuardViolation", "InvalidFieldValue", "Limits", "LookedUp", "LookupIndexes", "MappingError", "Match",
    "MatchResult", "MatchRule", "OVER_LIMIT", "ObjectType", "Outcome", "Pair", "PairUpdate",
    "RecordStore", "Side", "SideSnapshot", "SourceRecord", "SyncPolicy", "Tombstone", "Unpaired",
    "UpdateOp", "WriteOp", "WriteResult", "WriteStatus", "apply_results", "build_mapping",
    "canonical_hash", "cycle_violations", "decide", "empty_side_violation", "match_records",
    "normalise",
]
