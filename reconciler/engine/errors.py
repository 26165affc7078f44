"""Errors the engine raises when it refuses to go on. Each message says what to do next."""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.config import Diagnostic


class EngineError(Exception):
    """Base class of the engine's refusals."""


class InvalidConfiguration(EngineError):
    """The configuration files have errors: no plan is made from them."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = list(diagnostics)
        errors = sum(1 for d in self.diagnostics if d.severity == "error")
        super().__init__(f"the configuration has {errors} error{'s' if errors != 1 else ''}; "
                         "fix them (see `reconcile validate`) and plan again")


class StalePlan(EngineError):
    """The world moved between plan and apply: the plan no longer describes what apply would do."""

    def __init__(self, reasons: Sequence[str]) -> None:
        self.reasons = list(reasons)
        listed = "\n".join(f"  - {reason}" for reason in self.reasons)
        super().__init__("the saved plan is stale and was not applied; nothing was changed:\n"
                         f"{listed}\nRun `reconcile plan` again, review it, and apply the new plan.")


class PartialTarget(EngineError):
    """A targeted plan would leave the applied configuration referring to resources it lacks."""

    def __init__(self, dangling: Sequence[tuple[str, str]]) -> None:
        self.dangling = list(dangling)
        listed = "\n".join(f"  - {source} refers to {target}" for source, target in self.dangling)
        missing = sorted({target for _, target in self.dangling})
        super().__init__("the targeted plan would leave references to resources that would not be applied:\n"
                         f"{listed}\nAdd {' '.join(f'--target {m}' for m in missing)} "
                         "(or drop the --exclude that removes them).")
