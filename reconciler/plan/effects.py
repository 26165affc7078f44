"""What a configuration change means for each user's sync.

Reviewers care less about "spec.assign.profiles changed" than about "40 users start an initial
sync" or "bob stops syncing". These functions turn the configuration before and after a plan, plus
the configuration each user is assigned to on each side, into one effect per user and kind.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .model import ABSENT, EffectKind, FieldChange, UserEffect

SYNCED_OBJECTS = ("contacts", "events")


def _user(resources: Mapping[str, dict[str, Any]], name: str) -> dict[str, Any] | None:
    return resources.get(f"User/{name}")


def _enabled(user: dict[str, Any] | None) -> bool:
    return user is not None and user.get("spec", {}).get("enabled", True) is not False


def _reset_generation(user: dict[str, Any] | None) -> int:
    return int(user.get("spec", {}).get("resetSync", 0) or 0) if user is not None else 0


def _directions(resources: Mapping[str, dict[str, Any]], configuration: str | None) -> dict[str, Any]:
    spec = resources.get(f"SyncConfiguration/{configuration}", {}).get("spec", {}) if configuration else {}
    return {obj: spec.get(obj, {}).get("direction", ABSENT) for obj in SYNCED_OBJECTS}


def _direction_changes(before: Mapping[str, dict[str, Any]], configuration_before: str | None,
                       after: Mapping[str, dict[str, Any]], configuration_after: str | None) -> tuple[FieldChange, ...]:
    old, new = _directions(before, configuration_before), _directions(after, configuration_after)
    return tuple(FieldChange(f"{obj}.direction", old[obj], new[obj])
                 for obj in SYNCED_OBJECTS if old[obj] != new[obj])


def user_effects(before: Mapping[str, dict[str, Any]], after: Mapping[str, dict[str, Any]],
                 assigned_before: Mapping[str, str | None],
                 assigned_after: Mapping[str, str | None]) -> list[UserEffect]:
    """Effects on users of going from configuration ``before`` to ``after`` (normalised resources by
    address). ``assigned_*`` map a User resource name to the configuration it syncs under (None when
    none applies), as ``resolve_assignments`` decides. A user syncs when it exists, is enabled and has
    a configuration. Sorted by user, then by effect kind.
    """
    names = {a.split("/", 1)[1] for a in (*before, *after) if a.startswith("User/")}
    names |= set(assigned_before) | set(assigned_after)
    effects: list[UserEffect] = []
    for name in sorted(names):
        user_before, user_after = _user(before, name), _user(after, name)
        config_before = assigned_before.get(name) if _enabled(user_before) else None
        config_after = assigned_after.get(name) if _enabled(user_after) else None
        if config_before is None and config_after is not None:
            effects.append(UserEffect(name, EffectKind.START_SYNC, None, config_after))
            continue  # an initial sync pairs everything afresh: a reset would add nothing
        if config_before is not None and config_after is None:
            kind = EffectKind.DISABLE if user_after is not None and not _enabled(user_after) else EffectKind.STOP_SYNC
            effects.append(UserEffect(name, kind, config_before, None))
            continue
        if config_before is None or config_after is None:
            continue  # not syncing before or after
        directions = _direction_changes(before, config_before, after, config_after)
        if config_before != config_after:
            effects.append(UserEffect(name, EffectKind.MOVE, config_before, config_after, directions))
        elif directions:
            effects.append(UserEffect(name, EffectKind.DIRECTION_CHANGE, config_before, config_after, directions))
        old_generation, new_generation = _reset_generation(user_before), _reset_generation(user_after)
        if new_generation > old_generation:
            effects.append(UserEffect(name, EffectKind.RESET, config_before, config_after,
                                      (FieldChange("resetSync", old_generation, new_generation),)))
    return effects
