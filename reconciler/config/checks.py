"""Checks across resources: references, uniqueness, assignment conflicts and best-practice warnings.

The schema sees one document at a time; these checks see the whole configuration. Each problem is
pinned to the place a person would edit (the second of two duplicates, the unresolved name in its
list) and mentions the other place involved by file and line.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from reconciler.config.assignment import resolve_assignments
from reconciler.config.diagnostics import Code, Diagnostic
from reconciler.config.model import ConfigSet, Connection, Profile, Resource, SyncConfiguration, User
from reconciler.config.yamlsource import JsonPath, SourceDocument

# Exchange Online hosts: EWS there is off by default since 1 October 2026 and gone on 1 April 2027.
_EXCHANGE_ONLINE_HOSTS = ("outlook.office365.com", "outlook.office.com")


@dataclass(frozen=True)
class LoadedResource:
    """A valid resource and the document it came from (for positions)."""

    resource: Resource
    document: SourceDocument

    def where(self) -> str:
        return f"{self.document.file}:{self.document.start.line}"


def _did_you_mean(name: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


class _Checker:
    def __init__(self, config: ConfigSet, loaded: list[LoadedResource], declared: Mapping[str, set[str]]) -> None:
        self.config = config
        self.loaded = loaded
        self.declared = declared  # kind -> every name written, including invalid documents
        self.by_address = {entry.resource.address: entry for entry in loaded}
        self.diagnostics: list[Diagnostic] = []

    def error(self, entry: LoadedResource, path: JsonPath, code: str, message: str, *, at_key: bool = False) -> None:
        self.diagnostics.append(entry.document.diagnostic(path, "error", code, message, at_key=at_key))

    def warning(self, entry: LoadedResource, path: JsonPath, code: str, message: str, *, at_key: bool = False) -> None:
        self.diagnostics.append(entry.document.diagnostic(path, "warning", code, message, at_key=at_key))

    def entries(self, kind: type) -> list[LoadedResource]:
        return [e for e in self.loaded if isinstance(e.resource, kind)]

    def run(self) -> list[Diagnostic]:
        self.references()
        self.individual_assignments()
        self.salesforce_usernames()
        self.equal_priorities()
        self.mailbox_domains()
        self.best_practice()
        return self.diagnostics

    # -- references ----------------------------------------------------------------------------

    def _reference(self, entry: LoadedResource, path: JsonPath, kind: str, name: str, known: Mapping[str, object]) -> bool:
        """Report ``name`` if no ``kind`` of that name exists; True when it resolves."""
        if name in known:
            return True
        if name in self.declared.get(kind, set()):
            return False  # declared but invalid: its own errors say why; don't pile on
        self.error(entry, path, Code.UNRESOLVED_REFERENCE, f"no {kind} named '{name}'{_did_you_mean(name, known)}")
        return False

    def references(self) -> None:
        connections = self.config.connections
        for entry in self.entries(SyncConfiguration):
            cfg: SyncConfiguration = entry.resource  # type: ignore[assignment]
            for key, name, wanted in (
                ("salesforceConnection", cfg.salesforce_connection, "salesforce"),
                ("exchangeConnection", cfg.exchange_connection, "exchange"),
            ):
                of_type = {n: c for n, c in connections.items() if c.type == wanted}
                if name in connections and name not in of_type:
                    label = "a Salesforce" if wanted == "salesforce" else "an Exchange"
                    self.error(
                        entry,
                        ("spec", key),
                        Code.WRONG_CONNECTION_TYPE,
                        f"Connection '{name}' is not {label} connection; {key} needs one with spec.{wanted}"
                        + _did_you_mean(name, of_type),
                    )
                elif name not in connections:
                    self._reference(entry, ("spec", key), "Connection", name, of_type)
            for index, user in enumerate(cfg.assign.users):
                self._reference(entry, ("spec", "assign", "users", index), "User", user, self.config.users)
            for index, profile in enumerate(cfg.assign.profiles):
                self._reference(entry, ("spec", "assign", "profiles", index), "Profile", profile, self.config.profiles)
        for entry in self.entries(Profile):
            for index, member in enumerate(entry.resource.members):  # type: ignore[union-attr]
                self._reference(entry, ("spec", "members", index), "User", member, self.config.users)

    # -- uniqueness ----------------------------------------------------------------------------

    def individual_assignments(self) -> None:
        first: dict[str, LoadedResource] = {}
        for entry in self.entries(SyncConfiguration):
            cfg: SyncConfiguration = entry.resource  # type: ignore[assignment]
            if not cfg.active:
                continue
            for index, user in enumerate(cfg.assign.users):
                if user in first:
                    other = first[user]
                    self.error(
                        entry,
                        ("spec", "assign", "users", index),
                        Code.USER_ASSIGNED_TWICE,
                        f"User '{user}' is already assigned individually to active SyncConfiguration "
                        f"'{other.resource.name}' ({other.where()}); a user may be assigned individually to one "
                        "active configuration: remove one of the two",
                    )
                else:
                    first[user] = entry

    def salesforce_usernames(self) -> None:
        first: dict[str, LoadedResource] = {}
        for entry in self.entries(User):
            username = entry.resource.salesforce_username.lower()  # type: ignore[union-attr]
            if username in first:
                other = first[username]
                self.error(
                    entry,
                    ("spec", "salesforceUsername"),
                    Code.DUPLICATE_SALESFORCE_USERNAME,
                    f"User '{entry.resource.name}' has the same salesforceUsername as User '{other.resource.name}' "
                    f"({other.where()}); one Salesforce user can be one User resource only: remove or merge them",
                )
            else:
                first[username] = entry

    def equal_priorities(self) -> None:
        """Two active configurations of equal priority whose profiles meet on someone: ambiguous."""
        individually = {u for c in self.config.configurations.values() if c.active for u in c.assign.users}
        disabled = {u.name for u in self.config.users.values() if not u.enabled}
        active = [e for e in self.entries(SyncConfiguration) if e.resource.active]  # type: ignore[union-attr]
        for later_index, later in enumerate(active):
            b: SyncConfiguration = later.resource  # type: ignore[assignment]
            for earlier in active[:later_index]:
                a: SyncConfiguration = earlier.resource  # type: ignore[assignment]
                if a.priority != b.priority:
                    continue
                overlap = self._profile_overlap(a, b, individually | disabled)
                if overlap is None:
                    continue
                path: JsonPath = ("spec", "priority") if later.document.has(("spec", "priority")) else ("spec", "assign", "profiles")
                self.error(
                    later,
                    path,
                    Code.AMBIGUOUS_PRIORITY,
                    f"SyncConfiguration '{b.name}' and '{a.name}' ({earlier.where()}) both have priority {b.priority} "
                    f"and both reach {overlap}; give them different priorities (the smallest wins)",
                )

    def _profile_overlap(self, a: SyncConfiguration, b: SyncConfiguration, settled: set[str]) -> str | None:
        for pa in a.assign.profiles:
            for pb in b.assign.profiles:
                profile_a, profile_b = self.config.profiles.get(pa), self.config.profiles.get(pb)
                if profile_a is None or profile_b is None:
                    continue
                through = f"through profile '{pa}'" if pa == pb else f"through profiles '{pa}' and '{pb}'"
                shared_sf = [n for n in profile_a.salesforce_profiles if n in profile_b.salesforce_profiles]
                if shared_sf:
                    return f"users with Salesforce profile '{shared_sf[0]}' {through}"
                shared = [m for m in profile_a.members if m in profile_b.members and m not in settled]
                if shared:
                    return f"User '{shared[0]}' {through}"
        return None

    # -- warnings ------------------------------------------------------------------------------

    def mailbox_domains(self) -> None:
        assignments = resolve_assignments(self.config)
        for entry in self.entries(User):
            user: User = entry.resource  # type: ignore[assignment]
            assignment = assignments.get(user.name)
            if user.mailbox is None or assignment is None or assignment.configuration is None:
                continue
            cfg = self.config.configurations[assignment.configuration]
            connection: Connection | None = self.config.connections.get(cfg.exchange_connection)
            if connection is None or connection.exchange is None or connection.exchange.serves(user.mailbox):
                continue
            domains = ", ".join(connection.exchange.domains)
            self.warning(
                entry,
                ("spec", "mailbox"),
                Code.MAILBOX_OUTSIDE_DOMAINS,
                f"mailbox {user.mailbox} is outside the domains of Exchange connection '{connection.name}' ({domains}) "
                f"that SyncConfiguration '{cfg.name}' uses for this user; it would fail at every cycle: correct the "
                "mailbox, add its domain to the connection, or assign the user elsewhere",
            )

    def best_practice(self) -> None:
        for entry in self.entries(SyncConfiguration):
            cfg: SyncConfiguration = entry.resource  # type: ignore[assignment]
            if cfg.contacts.direction == "none" and cfg.events.direction == "none":
                path: JsonPath = ("spec", "contacts", "direction") if entry.document.has(("spec", "contacts", "direction")) else ("spec",)
                self.warning(
                    entry,
                    path,
                    Code.NOTHING_TO_SYNC,
                    f"SyncConfiguration '{cfg.name}' syncs neither contacts nor events (both directions are none); "
                    "set contacts.direction or events.direction, or delete the configuration",
                )
            if cfg.active and not cfg.assign.users and not cfg.assign.profiles:
                self.warning(
                    entry,
                    ("spec", "assign") if entry.document.has(("spec", "assign")) else ("spec",),
                    Code.NOBODY_ASSIGNED,
                    f"active SyncConfiguration '{cfg.name}' assigns nobody; add assign.users (start with one user) "
                    "or assign.profiles",
                    at_key=True,
                )
            for index, name in enumerate(cfg.assign.users):
                user = self.config.users.get(name)
                if cfg.active and user is not None and not user.enabled:
                    self.warning(
                        entry,
                        ("spec", "assign", "users", index),
                        Code.DISABLED_USER_ASSIGNED,
                        f"User '{name}' is disabled (spec.enabled: false) and syncs nowhere; remove it from assign.users",
                    )
            if cfg.limits.max_deletes > cfg.limits.max_changes:
                self.warning(
                    entry,
                    ("spec", "limits", "maxDeletes"),
                    Code.LIMITS_INCONSISTENT,
                    f"limits.maxDeletes ({cfg.limits.max_deletes}) exceeds limits.maxChanges ({cfg.limits.max_changes}), "
                    "so maxChanges stops deletes first; lower maxDeletes",
                )
        for entry in self.entries(Profile):
            profile: Profile = entry.resource  # type: ignore[assignment]
            if not profile.members and not profile.salesforce_profiles:
                self.warning(
                    entry,
                    ("spec",),
                    Code.EMPTY_PROFILE,
                    f"Profile '{profile.name}' has neither members nor salesforceProfiles and reaches nobody",
                    at_key=True,
                )
        for entry in self.entries(Connection):
            connection: Connection = entry.resource  # type: ignore[assignment]
            exchange = connection.exchange
            if exchange is None or exchange.ews_url is None:
                continue
            if (urlsplit(exchange.ews_url).hostname or "").lower() in _EXCHANGE_ONLINE_HOSTS:
                advice = (
                    "; service accounts lost ApplicationImpersonation there in February 2025: use "
                    "auth.type oauth_client_credentials"
                    if exchange.auth.type == "service_account"
                    else ""
                )
                self.warning(
                    entry,
                    ("spec", "exchange", "ewsUrl"),
                    Code.EXCHANGE_ONLINE_EWS,
                    "Exchange Online serves EWS only to allow-listed tenants since 1 October 2026 and not at all "
                    f"after 1 April 2027{advice}",
                )


def cross_resource_diagnostics(
    config: ConfigSet, loaded: list[LoadedResource], declared: Mapping[str, set[str]]
) -> list[Diagnostic]:
    """Every problem that needs more than one document to see."""
    return _Checker(config, loaded, declared).run()
