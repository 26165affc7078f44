"""The object-type descriptor: everything object-specific the generic sync engine needs.

Contacts and (next) events share pairs, merges, conflict and delete policies, guards and the
action model; what differs - the Exchange vocabulary, the default mapping, the first-sync matching
keys and how a record is named in a plan - lives behind an :class:`ObjectType`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass

from .mapping import FieldKind, FieldMap

CanonicalRecord = Mapping[str, object]


def always_compatible(salesforce: CanonicalRecord, exchange: CanonicalRecord) -> bool:
    return True


@dataclass(frozen=True)
class MatchRule:
    """One first-sync matching key, tried in order after the Salesforce Id stamp.

    ``key`` returns ``None`` when a record has no usable key (no email, no last name): such a record
    never matches by this rule. ``compatible`` vetoes a match whose records contradict each other on
    something the rule does not look at (two "Jane Doe" with different email addresses are two people).
    """

    name: str
    key: Callable[[CanonicalRecord], Hashable | None]
    compatible: Callable[[CanonicalRecord, CanonicalRecord], bool] = always_compatible


@dataclass(frozen=True)
class ObjectType:
    """``exchange_fields`` is the Exchange vocabulary (field -> how it is normalised); overrides may
    only name these. ``default_fields`` is the default mapping. ``display_name`` names a canonical
    record in a plan (text and JSON plans only; the markdown shows no personal data).

    ``merged_together``: groups of Exchange fields that hold one fact between them (an event's
    start, end and all-day flag). When both sides changed the group since the last sync, even
    different fields of it, the conflict policy gives the whole group to one side: taking the start
    of one side and the end of the other would make a value neither side holds, possibly one the
    services refuse (an end before its start)."""

    name: str
    exchange_fields: Mapping[str, FieldKind]
    default_fields: tuple[FieldMap, ...]
    match_rules: tuple[MatchRule, ...]
    display_name: Callable[[CanonicalRecord], str]
    merged_together: tuple[frozenset[str], ...] = ()
