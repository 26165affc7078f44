"""Field-level differences between the applied and the desired configuration, and address filters.

Pure functions over normalised resources (``{"apiVersion", "kind", "metadata", "spec"}`` dicts keyed
by ``Kind/name`` address), so the same inputs always give the same changes in the same order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase
from typing import Any

from .model import ABSENT, Action, FieldChange, ResourceChange

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class TargetingError(ValueError):
    """A ``--target``/``--exclude`` pattern that cannot be honoured (matches nothing, leaves a gap)."""


def _is_leaf(value: Any) -> bool:
    """Lists and secret references are compared and shown whole; only plain mappings are descended.

    A secret reference (``{"secretRef": {...}}``) is one value: "password now comes from env X" reads
    better than a path into the reference, and it never holds the secret itself.
    """
    if not isinstance(value, Mapping):
        return True
    return set(value) == {"secretRef"}


def _join(prefix: str, key: str) -> str:
    if _PLAIN_KEY.match(key):
        return f"{prefix}.{key}" if prefix else key
    quoted = key.replace("\\", "\\\\").replace('"', '\\"')
    return f'{prefix}["{quoted}"]'


def diff_values(before: Any, after: Any, prefix: str = "") -> list[FieldChange]:
    """Leaf-level changes from ``before`` to ``after`` (either may be ``ABSENT``), ordered by key."""
    if before == after:
        return []
    if before is ABSENT and not _is_leaf(after):
        before_map: Mapping[str, Any] = {}
        after_map: Mapping[str, Any] = after
    elif after is ABSENT and not _is_leaf(before):
        before_map, after_map = before, {}
    elif before is not ABSENT and after is not ABSENT and not _is_leaf(before) and not _is_leaf(after):
        before_map, after_map = before, after
    else:
        return [FieldChange(prefix, before, after)]
    changes: list[FieldChange] = []
    for key in sorted(set(before_map) | set(after_map)):
        changes.extend(diff_values(before_map.get(key, ABSENT), after_map.get(key, ABSENT), _join(prefix, key)))
    return changes


def diff_config(applied: Mapping[str, dict[str, Any]],
                desired: Mapping[str, dict[str, Any]]) -> list[ResourceChange]:
    """Resource changes that turn ``applied`` into ``desired``, sorted by address."""
    changes: list[ResourceChange] = []
    for address in sorted(set(applied) | set(desired)):
        before, after = applied.get(address), desired.get(address)
        if before == after:
            continue
        if before is None:
            action = Action.CREATE
        elif after is None:
            action = Action.DELETE
        else:
            action = Action.UPDATE
        fields = diff_values(ABSENT if before is None else before, ABSENT if after is None else after)
        changes.append(ResourceChange(address, action, before, after, tuple(fields)))
    return changes


def address_matches(address: str, patterns: Iterable[str]) -> bool:
    """True when ``address`` matches one of the patterns (exact ``Kind/name`` or a glob: ``User/*``)."""
    return any(fnmatchcase(address, pattern) for pattern in patterns)


def select_changes(changes: Iterable[ResourceChange], known_addresses: Iterable[str],
                   targets: Iterable[str] = (), excludes: Iterable[str] = ()) -> list[ResourceChange]:
    """Keep the changes whose address matches a target (all when there are none) and no exclude.

    Every pattern must match at least one address that exists in the applied or desired
    configuration: a mistyped ``--target`` would otherwise report "No changes" and mislead.
    """
    targets, excludes = tuple(targets), tuple(excludes)
    known = set(known_addresses)
    unmatched = [p for p in (*targets, *excludes) if not any(fnmatchcase(a, p) for a in known)]
    if unmatched:
        raise TargetingError(
            "no resource matches " + ", ".join(repr(p) for p in unmatched)
            + " (addresses are Kind/name, e.g. SyncConfiguration/sales or User/*)")
    return [c for c in changes
            if (not targets or address_matches(c.address, targets)) and not address_matches(c.address, excludes)]


def apply_changes(applied: Mapping[str, dict[str, Any]],
                  changes: Iterable[ResourceChange]) -> dict[str, dict[str, Any]]:
    """The configuration that results from carrying out ``changes`` on ``applied``."""
    result = dict(applied)
    for change in changes:
        if change.action is Action.DELETE:
            result.pop(change.address, None)
        else:
            assert change.after is not None
            result[change.address] = change.after
    return result


def references(resource: Mapping[str, Any]) -> list[str]:
    """Addresses a resource refers to: a configuration's connections, users and profiles; a
    profile's member users."""
    kind, spec = resource.get("kind"), resource.get("spec", {})
    if kind == "SyncConfiguration":
        assign = spec.get("assign", {})
        return ([f"Connection/{spec[key]}" for key in ("salesforceConnection", "exchangeConnection") if spec.get(key)]
                + [f"User/{name}" for name in assign.get("users", [])]
                + [f"Profile/{name}" for name in assign.get("profiles", [])])
    if kind == "Profile":
        return [f"User/{name}" for name in spec.get("members", [])]
    return []


def dangling_references(resources: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, str]]:
    """(referring address, missing address) pairs, sorted. The validated files never have any; a
    targeted plan can, when it creates a configuration without the connection it names, or deletes a
    user a profile still lists."""
    return sorted((address, target) for address, resource in resources.items()
                  for target in references(resource) if target not in resources)
