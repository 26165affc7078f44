"""Diagnostics: one problem in the configuration, pinned to file, line and column.

Pipelines run ``reconcile validate`` and people fix what it prints, so every diagnostic names the
place (1-based line and column, the way editors count) and, where one is obvious, the fix. The
``code`` is stable so tests, editors and CI annotations can key on it while messages improve.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

Severity = Literal["error", "warning"]


class Code(StrEnum):
    """Stable identifiers of every kind of problem the configuration layer reports."""

    # Reading files
    FILE_UNREADABLE = "file-unreadable"
    NO_RESOURCES = "no-resources"
    YAML_SYNTAX = "yaml-syntax"
    DUPLICATE_KEY = "duplicate-key"
    NOT_A_RESOURCE = "not-a-resource"
    UNKNOWN_KIND = "unknown-kind"
    # Schema
    UNKNOWN_KEY = "unknown-key"
    MISSING_KEY = "missing-key"
    KEY_NOT_ALLOWED = "key-not-allowed"
    WRONG_TYPE = "wrong-type"
    YAML_COERCION = "yaml-coercion"
    INVALID_VALUE = "invalid-value"
    INLINE_SECRET = "inline-secret"
    ONE_OF = "one-of"
    # Across resources
    DUPLICATE_NAME = "duplicate-name"
    UNRESOLVED_REFERENCE = "unresolved-reference"
    WRONG_CONNECTION_TYPE = "wrong-connection-type"
    USER_ASSIGNED_TWICE = "user-assigned-twice"
    AMBIGUOUS_PRIORITY = "ambiguous-priority"
    DUPLICATE_SALESFORCE_USERNAME = "duplicate-salesforce-username"
    # Warnings (best practice, Lightning Sync FAQ)
    MAILBOX_OUTSIDE_DOMAINS = "mailbox-outside-domains"
    NOTHING_TO_SYNC = "nothing-to-sync"
    NOBODY_ASSIGNED = "nobody-assigned"
    EMPTY_PROFILE = "empty-profile"
    DISABLED_USER_ASSIGNED = "disabled-user-assigned"
    EXCHANGE_ONLINE_EWS = "exchange-online-ews"
    LIMITS_INCONSISTENT = "limits-inconsistent"


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem: where it is (1-based line and column), how bad, what it is and how to fix it.

    Messages never contain secret values: the configuration layer only ever quotes keys, names and
    values of non-secret fields.
    """

    file: str
    line: int
    col: int
    severity: Severity
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.severity}: {self.message}"

    def to_json(self) -> dict[str, object]:
        """A plain dict for ``--output json`` and CI annotations."""
        return {
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "severity": self.severity,
            "code": str(self.code),
            "message": self.message,
        }
