"""The plan: configuration changes and their effects on users, its JSON form and its renderers.

Pure: no I/O. The engine feeds it normalised resources and assignments and stores what it returns.
"""

from __future__ import annotations

from .diff import (TargetingError, address_matches, apply_changes, dangling_references, diff_config,
                   diff_values, references, select_changes)
from .effects import user_effects
from .model import (ABSENT, FORMAT_VERSION, Action, EffectKind, FieldChange, Plan, PlanFormatError,
                    PlanSummary, ResourceChange, UserEffect)
from .render import describe_effect, format_value, render_markdown, render_text

__all__ = [
    "ABSENT", "FORMAT_VERSION", "Action", "EffectKind", "FieldChange", "Plan", "PlanFormatError",
    "PlanSummary", "ResourceChange", "TargetingError", "UserEffect", "address_matches", "apply_changes",
    "dangling_references", "describe_effect", "diff_config", "diff_values", "format_value", "references",
    "render_markdown", "render_text", "select_changes", "user_effects",
]
