"""Orchestration: plan and apply of the configuration against the state store, and status."""

from __future__ import annotations

from .configuration import (ApplyOutcome, LoadedConfig, apply_plan, build_config_plan, config_root,
                            load_valid_config)
from .errors import EngineError, InvalidConfiguration, PartialTarget, StalePlan
from .status import StatusReport, state_status

__all__ = [
    "ApplyOutcome", "EngineError", "InvalidConfiguration", "LoadedConfig", "PartialTarget", "StalePlan",
    "StatusReport", "apply_plan", "build_config_plan", "config_root", "load_valid_config", "state_status",
]
