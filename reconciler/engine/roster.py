"""Who syncs this cycle, and for the others why not.

Assignment needs the Salesforce directory (profiles, active flags, emails): one batched query per
Salesforce connection for the declared usernames and one for the assigned Salesforce profiles, so
the cost does not grow with the number of users. ``resolve_assignments`` then decides which
configuration each user gets. Users that cannot sync - inactive, unknown in Salesforce, without a
mailbox, or with a mailbox outside the Exchange connection's domains - are reported with the reason
and skipped, never attempted and failed every cycle (the incumbents' classic log spam).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from reconciler.config import ConfigSet, DirectoryUser, SyncConfiguration, resolve_assignments
from reconciler.connectors.salesforce import SalesforceUser
from reconciler.plan.records import UserSyncStatus

from .runtime import Runtime


@dataclass(frozen=True)
class MailboxProblem:
    """Why a user's mailbox is not listed this cycle, as every object type's plan entry of the user
    reports it: Exchange has no such mailbox (skipped), or ResolveNames failed (error)."""

    status: UserSyncStatus
    reason: str


@dataclass(frozen=True)
class RosterEntry:
    """One user as this cycle sees them. ``skip_reason`` None means the user syncs under
    ``configuration`` as ``salesforce_user`` with ``mailbox``, unless the plan finds a
    ``mailbox_problem`` (``records.confirm_mailbox``, or a listing Exchange answers "no mailbox")."""

    name: str
    configuration: SyncConfiguration | None
    salesforce_user: SalesforceUser | None
    mailbox: str | None
    reset_generation: int
    skip_reason: str | None = None
    mailbox_problem: MailboxProblem | None = None


def _active_configurations(config: ConfigSet) -> list[SyncConfiguration]:
    return [c for c in config.configurations.values() if c.active]


def directory_lookup(config: ConfigSet, runtime: Runtime) -> dict[str, dict[str, SalesforceUser]]:
    """Per Salesforce connection used by an active configuration: its users by lower-case username
    (the declared users, and everyone holding a Salesforce profile an assigned Profile lists)."""
    usernames = sorted({user.salesforce_username for user in config.users.values()})
    found: dict[str, dict[str, SalesforceUser]] = {}
    for connection in sorted({c.salesforce_connection for c in _active_configurations(config)}):
        profile_names = sorted({
            salesforce_profile
            for configuration in _active_configurations(config) if configuration.salesforce_connection == connection
            for profile in configuration.assign.profiles if profile in config.profiles
            for salesforce_profile in config.profiles[profile].salesforce_profiles
        })
        connector = runtime.salesforce(connection)
        users = dict(connector.users_by_username(usernames)) if usernames else {}
        for user in connector.users_by_profile(profile_names) if profile_names else []:
            users.setdefault(user.username.lower(), user)
        found[connection] = users
    return found


def build_roster(config: ConfigSet, directories: Mapping[str, Mapping[str, SalesforceUser]]) -> list[RosterEntry]:
    """Every user some configuration mentions, with their configuration or the reason they sync nowhere."""
    merged = {username: user for users in directories.values() for username, user in users.items()}
    directory = {username: DirectoryUser(username=user.username, email=user.email or "",
                                         profile=user.profile_name or "", active=user.is_active)
                 for username, user in merged.items()}
    roster: list[RosterEntry] = []
    for name, assignment in sorted(resolve_assignments(config, directory).items()):
        declared = config.users.get(name)
        username = (declared.salesforce_username if declared is not None else name).lower()
        reset = declared.reset_sync if declared is not None else 0
        configuration = config.configurations.get(assignment.configuration or "")
        if configuration is None:
            roster.append(RosterEntry(name, None, merged.get(username), None, reset, assignment.reason))
            continue
        salesforce_user = directories.get(configuration.salesforce_connection, {}).get(username)
        if salesforce_user is None:
            roster.append(RosterEntry(name, configuration, None, None, reset,
                                      f"no Salesforce user {username} in Connection/"
                                      f"{configuration.salesforce_connection}"))
            continue
        mailbox = (declared.mailbox if declared is not None and declared.mailbox else salesforce_user.email) or None
        exchange = config.connections[configuration.exchange_connection].exchange
        assert exchange is not None
        if mailbox is None:
            reason = "no mailbox: the User names none and the Salesforce user has no Email"
        elif not exchange.serves(mailbox):
            reason = (f"mailbox {mailbox} is outside the domains of Connection/{configuration.exchange_connection} "
                      f"({', '.join(exchange.domains)})")
        else:
            reason = None
        roster.append(RosterEntry(name, configuration, salesforce_user, mailbox, reset, reason))
    return roster
