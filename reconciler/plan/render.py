"""Plan renderers: text for the terminal, markdown for pull-request comments (the JSON form is
``Plan.to_json``).

The text form follows terraform (``+`` create, ``~`` update, ``-`` delete, a closing ``Plan:`` line)
so operators read it without learning anything new. The markdown form is posted where many people
read it, so it carries counts, configuration names and field names, never personal data: no user
names (they are often people's names), mailboxes or values.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

from .model import ABSENT, Action, EffectKind, FieldChange, Plan, ResourceChange, UserEffect
from .records import render_records_markdown, render_records_text

_SYMBOL = {Action.CREATE: "+", Action.UPDATE: "~", Action.DELETE: "-"}
_COLOUR = {"+": "green", "~": "yellow", "-": "red"}
_ANSI = {"green": "32", "yellow": "33", "red": "31", "bold": "1"}
_VERB = {Action.CREATE: "will be created", Action.UPDATE: "will be updated in place",
         Action.DELETE: "will be destroyed"}
EFFECT_TITLES = {
    EffectKind.START_SYNC: "start syncing (initial sync pending)",
    EffectKind.STOP_SYNC: "stop syncing",
    EffectKind.MOVE: "move to another configuration",
    EffectKind.DIRECTION_CHANGE: "change sync direction",
    EffectKind.RESET: "reset sync (pairings rebuilt)",
    EffectKind.DISABLE: "disabled",
}
PERSONAL_KINDS = frozenset({"User"})


def _paint(text: str, style: str, color: bool) -> str:
    return f"\x1b[{_ANSI[style]}m{text}\x1b[0m" if color else text


def format_value(value: Any) -> str:
    """A JSON value in one line; a field that does not exist reads ``(absent)``."""
    if value is ABSENT:
        return "(absent)"
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(", ", ": "))


def _field_line(change: FieldChange, paint: Callable[[str, str], str]) -> str:
    if change.before is ABSENT:
        return f"{paint('+', _COLOUR['+'])} {change.path}: {format_value(change.after)}"
    if change.after is ABSENT:
        return f"{paint('-', _COLOUR['-'])} {change.path}: {format_value(change.before)}"
    return f"{paint('~', _COLOUR['~'])} {change.path}: {format_value(change.before)} -> {format_value(change.after)}"


def targeting_note(plan: Plan) -> str:
    parts = []
    if plan.targets:
        parts.append("only " + ", ".join(plan.targets))
    if plan.excludes:
        parts.append("excluding " + ", ".join(plan.excludes))
    return "; ".join(parts)


def describe_effect(effect: UserEffect) -> str:
    """One sentence for one user, naming configurations and per-object direction changes."""
    details = "; ".join(f"{c.path.split('.')[0]} direction {format_value(c.before)} -> {format_value(c.after)}"
                        for c in effect.changes if c.path.endswith(".direction"))
    if effect.kind is EffectKind.START_SYNC:
        text = f"starts syncing under {effect.configuration_after} (initial sync pending)"
    elif effect.kind is EffectKind.STOP_SYNC:
        text = f"stops syncing (was under {effect.configuration_before})"
    elif effect.kind is EffectKind.DISABLE:
        text = f"is disabled and stops syncing (was under {effect.configuration_before})"
    elif effect.kind is EffectKind.MOVE:
        text = f"moves from {effect.configuration_before} to {effect.configuration_after}"
    elif effect.kind is EffectKind.DIRECTION_CHANGE:
        text = f"under {effect.configuration_after}"
    else:
        generation = effect.changes[0] if effect.changes else None
        text = "reset sync requested: pairings are rebuilt on the next cycle"
        if generation is not None:
            text += f" (resetSync {generation.before} -> {generation.after})"
    return f"{text}: {details}" if details else text


def render_text(plan: Plan, color: bool = False) -> str:
    """The terminal form. ``color`` adds ANSI colours (the CLI enables it only on a TTY)."""

    def paint(text: str, style: str) -> str:
        return _paint(text, style, color)

    lines: list[str] = []
    if plan.is_targeted:
        lines += [paint("Warning: resource targeting is in effect", "bold"),
                  f"  This plan covers {targeting_note(plan)}. The files may hold further changes;",
                  "  run `reconcile plan` without --target/--exclude to see the whole picture.", ""]
    summary = plan.summary
    if not plan.config_changes:
        lines.append("No changes. The applied configuration matches the files.")
        return "\n".join(lines + render_records_text(plan.record_changes)) + "\n"
    lines.append("Configuration changes:")
    for change in plan.config_changes:
        symbol = _SYMBOL[change.action]
        lines.append("")
        lines.append(f"  # {change.address} {_VERB[change.action]}")
        lines.append(f"  {paint(symbol, _COLOUR[symbol])} {paint(change.address, 'bold')}")
        for field_change in change.changes:
            lines.append("      " + _field_line(field_change, paint))
    if plan.effects:
        lines += ["", "Effects on users:"]
        for effect in plan.effects:
            lines.append(f"  {effect.user}: {describe_effect(effect)}")
    lines += ["", paint(f"Plan: {summary.add} to add, {summary.change} to change, "
                        f"{summary.destroy} to destroy.", "bold")]
    return "\n".join(lines + render_records_text(plan.record_changes)) + "\n"


def _public_pattern(pattern: str) -> bool:
    """A target pattern safe to show in markdown: it names a literal kind other than User."""
    kind = pattern.split("/", 1)[0]
    return "/" in pattern and not any(ch in kind for ch in "*?[") and kind not in PERSONAL_KINDS


def _markdown_patterns(patterns: tuple[str, ...]) -> str:
    shown = [f"`{p}`" for p in patterns if _public_pattern(p)]
    hidden = len(patterns) - len(shown)
    if hidden:
        shown.append(f"{hidden} user pattern{'s' if hidden != 1 else ''}")
    return ", ".join(shown)


def _resource_rows(changes: tuple[ResourceChange, ...]) -> list[str]:
    rows: list[str] = []
    personal: Counter[Action] = Counter()
    for change in changes:
        if change.kind in PERSONAL_KINDS:
            personal[change.action] += 1
            continue
        fields = ", ".join(f"`{c.path}`" for c in change.changes) if change.action is Action.UPDATE else ""
        rows.append(f"| {_SYMBOL[change.action]} {change.action.value} | `{change.address}` | {fields} |")
    for action in Action:
        if personal[action]:
            count = personal[action]
            rows.append(f"| {_SYMBOL[action]} {action.value} | {count} User resource{'s' if count != 1 else ''} | |")
    return rows


def render_markdown(plan: Plan) -> str:
    """The pull-request comment: counts, configuration addresses and field names only."""
    summary = plan.summary
    lines = ["### reconcile plan", ""]
    if plan.is_targeted:
        parts = []
        if plan.targets:
            parts.append("targets " + _markdown_patterns(plan.targets))
        if plan.excludes:
            parts.append("excludes " + _markdown_patterns(plan.excludes))
        lines += [f"> **Warning:** resource targeting is in effect ({'; '.join(parts)}); "
                  "the files may hold further changes.", ""]
    if not plan.config_changes:
        lines.append("**No changes.** The applied configuration matches the files.")
        return "\n".join(lines + render_records_markdown(plan.record_changes)) + "\n"
    lines += [f"**Plan: {summary.add} to add, {summary.change} to change, {summary.destroy} to destroy.**", "",
              "| Action | Resource | Changed fields |", "| --- | --- | --- |", *_resource_rows(plan.config_changes)]
    if plan.effects:
        per_kind = Counter(effect.kind for effect in plan.effects)
        lines += ["", "#### Effects on users", "", "| Effect | Users |", "| --- | ---: |"]
        lines += [f"| {EFFECT_TITLES[kind]} | {per_kind[kind]} |" for kind in EffectKind if per_kind[kind]]
        per_configuration: dict[str, Counter[str]] = defaultdict(Counter)
        for effect in plan.effects:
            if effect.kind is EffectKind.MOVE:
                per_configuration[effect.configuration_before or ""]["moved out"] += 1
                per_configuration[effect.configuration_after or ""]["moved in"] += 1
            else:
                configuration = effect.configuration_after or effect.configuration_before or ""
                per_configuration[configuration][EFFECT_TITLES[effect.kind]] += 1
        lines += ["", "| Configuration | Users affected |", "| --- | --- |"]
        for configuration in sorted(per_configuration):
            counts = ", ".join(f"{title}: {n}" for title, n in sorted(per_configuration[configuration].items()))
            lines.append(f"| `SyncConfiguration/{configuration}` | {counts} |")
    return "\n".join(lines + render_records_markdown(plan.record_changes)) + "\n"

