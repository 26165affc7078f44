"""The configuration layer: versioned YAML in, a validated typed model and positioned diagnostics out.

Pure: no network, no database. ``load_config`` is the entry point; ``resolve_assignments`` and
``explain_user`` answer "which configuration does this user sync under, and why".
"""

from __future__ import annotations

from reconciler.config.assignment import (
    Assignment,
    DirectoryUser,
    UnknownUserError,
    explain_user,
    resolve_assignments,
)
from reconciler.config.diagnostics import Code, Diagnostic
from reconciler.config.loader import LoadResult, load_config
from reconciler.config.model import (
    SANDBOX_URL,
    Assign,
    ConfigSet,
    Connection,
    ContactDataSet,
    ContactSettings,
    Deletes,
    EventDataSet,
    EventSettings,
    ExchangeAuth,
    ExchangeCertificate,
    ExchangeConnection,
    FieldMapping,
    FilterRule,
    Limits,
    Metadata,
    Profile,
    Resource,
    SalesforceAuth,
    SalesforceConnection,
    SecretRef,
    SyncConfiguration,
    User,
)

__all__ = [
    "SANDBOX_URL",
    "Assign",
    "Assignment",
    "Code",
    "ConfigSet",
    "Connection",
    "ContactDataSet",
    "ContactSettings",
    "Deletes",
    "Diagnostic",
    "DirectoryUser",
    "EventDataSet",
    "EventSettings",
    "ExchangeAuth",
    "ExchangeCertificate",
    "ExchangeConnection",
    "FieldMapping",
    "FilterRule",
    "Limits",
    "LoadResult",
    "Metadata",
    "Profile",
    "Resource",
    "SalesforceAuth",
    "SalesforceConnection",
    "SecretRef",
    "SyncConfiguration",
    "UnknownUserError",
    "User",
    "explain_user",
    "load_config",
    "resolve_assignments",
]
