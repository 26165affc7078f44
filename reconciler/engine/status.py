"""What ``reconcile status`` reports: the applied state, the last apply, and each user's sync."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reconciler.state import AuditEntry, LockInfo, StateStore, UserStatus

from .configuration import load_valid_config
from .errors import InvalidConfiguration


@dataclass(frozen=True)
class StatusReport:
    """``files_digest`` is None when the files have errors; compare it with ``applied_digest`` to
    tell whether a plan would show changes."""

    state: str
    lineage: str
    serial: int
    applied_digest: str | None
    files_digest: str | None
    last_apply: AuditEntry | None
    lock: LockInfo | None
    users: list[UserStatus]

    @property
    def files_in_step(self) -> bool:
        return self.files_digest is not None and self.files_digest == self.applied_digest


def state_status(store: StateStore, config_path: Path) -> StatusReport:
    """Read everything ``status`` shows; the files are only read to compare digests."""
    meta = store.meta()
    applied = store.applied_config()
    try:
        files_digest: str | None = load_valid_config(config_path).config.digest()
    except InvalidConfiguration:
        files_digest = None
    last_apply = next((entry for entry in store.audit_log() if entry.operation == "apply"), None)
    return StatusReport(state=store.redacted_url, lineage=meta.lineage, serial=meta.serial,
                        applied_digest=applied.digest, files_digest=files_digest, last_apply=last_apply,
                        lock=store.current_lock(), users=store.user_statuses())
