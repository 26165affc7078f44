"""First-sync matching: pair what already exists on both sides before anything is created.

Order: the Salesforce Id stamped on the Exchange item (stable identity, survives a Reset Sync, a
lost state store or a mailbox move), then the object type's rules (contacts: email, then first +
last name). A match needs exactly one candidate on each side. When a key groups more than one
compatible candidate on either side, none of them is paired *or created*: they are reported as
ambiguous with the candidate ids, because guessing is how duplicates and merged strangers are made.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .objects import MatchRule, always_compatible
from .ports import SourceRecord

STAMP_RULE = "stamp"


@dataclass(frozen=True)
class Unpaired:
    """A record no pair holds, with its canonical form (what the rules' keys read)."""

    record: SourceRecord
    canonical: Mapping[str, Any]


@dataclass(frozen=True)
class Match:
    salesforce: Unpaired
    exchange: Unpaired
    rule: str


@dataclass(frozen=True)
class Ambiguity:
    rule: str
    salesforce_ids: tuple[str, ...]
    exchange_ids: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class MatchResult:
    matches: tuple[Match, ...]
    ambiguities: tuple[Ambiguity, ...]
    unmatched_salesforce: tuple[Unpaired, ...]
    unmatched_exchange: tuple[Unpaired, ...]


def match_records(
    salesforce: Sequence[Unpaired], exchange: Sequence[Unpaired], rules: Sequence[MatchRule]
) -> MatchResult:
    """Match unpaired records of both sides, deterministically (inputs are processed by id)."""
    salesforce_pool = {item.record.id: item for item in sorted(salesforce, key=lambda u: u.record.id)}
    exchange_pool = {item.record.id: item for item in sorted(exchange, key=lambda u: u.record.id)}
    matches: list[Match] = []
    ambiguities: list[Ambiguity] = []

    stamped: dict[str, list[str]] = defaultdict(list)
    for exchange_id, item in exchange_pool.items():
        if item.record.salesforce_id_stamp is not None:
            stamped[item.record.salesforce_id_stamp].append(exchange_id)
    _resolve_groups(
        {stamp: ([stamp] if stamp in salesforce_pool else [], ids) for stamp, ids in stamped.items()},
        STAMP_RULE, always_compatible, salesforce_pool, exchange_pool, matches, ambiguities,
    )

    for rule in rules:
        groups: dict[Hashable, tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
        for salesforce_id, item in salesforce_pool.items():
            key = rule.key(item.canonical)
            if key is not None:
                groups[key][0].append(salesforce_id)
        for exchange_id, item in exchange_pool.items():
            key = rule.key(item.canonical)
            if key is not None:
                groups[key][1].append(exchange_id)
        _resolve_groups(groups, rule.name, rule.compatible, salesforce_pool, exchange_pool, matches, ambiguities)

    return MatchResult(
        matches=tuple(matches),
        ambiguities=tuple(ambiguities),
        unmatched_salesforce=tuple(salesforce_pool.values()),
        unmatched_exchange=tuple(exchange_pool.values()),
    )


def _resolve_groups(
    groups: Mapping[Hashable, tuple[list[str], list[str]]],
    rule_name: str,
    compatible: Callable[[Mapping[str, Any], Mapping[str, Any]], bool],
    salesforce_pool: dict[str, Unpaired],
    exchange_pool: dict[str, Unpaired],
    matches: list[Match],
    ambiguities: list[Ambiguity],
) -> None:
    """Within each key group, link compatible records; a 1:1 component is a match, a larger one is
    ambiguous (its records leave the pools: neither paired nor created). Records without any
    compatible candidate stay in the pools for the next rule."""
    for salesforce_ids, exchange_ids in groups.values():
        if not salesforce_ids or not exchange_ids:
            continue
        edges = {(s, e) for s in salesforce_ids for e in exchange_ids
                 if compatible(salesforce_pool[s].canonical, exchange_pool[e].canonical)}
        for component_sf, component_ex in _components(edges):
            if len(component_sf) == 1 and len(component_ex) == 1:
                salesforce_id, exchange_id = component_sf[0], component_ex[0]
                matches.append(Match(salesforce_pool.pop(salesforce_id), exchange_pool.pop(exchange_id), rule_name))
                continue
            for salesforce_id in component_sf:
                salesforce_pool.pop(salesforce_id)
            for exchange_id in component_ex:
                exchange_pool.pop(exchange_id)
            ambiguities.append(Ambiguity(
                rule=rule_name,
                salesforce_ids=tuple(component_sf),
                exchange_ids=tuple(component_ex),
                reason=(f"{len(component_sf)} Salesforce and {len(component_ex)} Exchange records share "
                        f"the same {rule_name}; pair them by hand (or make the {rule_name} unique)"),
            ))


def _components(edges: set[tuple[str, str]]) -> list[tuple[list[str], list[str]]]:
    """Connected components of a bipartite graph given as (salesforce_id, exchange_id) edges."""
    adjacency: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
    for salesforce_id, exchange_id in edges:
        adjacency[("sf", salesforce_id)].add(("ex", exchange_id))
        adjacency[("ex", exchange_id)].add(("sf", salesforce_id))
    seen: set[tuple[str, str]] = set()
    components: list[tuple[list[str], list[str]]] = []
    for start in sorted(adjacency):
        if start in seen:
            continue
        stack, members = [start], []
        seen.add(start)
        while stack:
            node = stack.pop()
            members.append(node)
            for neighbour in adjacency[node]:
                if neighbour not in seen:
                    seen.add(neighbour)
                    stack.append(neighbour)
        components.append((sorted(i for s, i in members if s == "sf"), sorted(i for s, i in members if s == "ex")))
    return components
