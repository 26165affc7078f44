"""Which configuration each user syncs under, and why.

Lightning Sync decides this from Setup screens nobody can diff; here it is a pure function of the
configuration (plus, at sync time, the Salesforce user directory), with one explanation per user.

Precedence, in order (docs/configuration.md repeats it for users):

1. A disabled User (``spec.enabled: false``) or a user inactive in Salesforce syncs nowhere.
2. Only active configurations apply.
3. An individual assignment (``assign.users``) beats any profile assignment.
4. Among profile assignments the smallest ``priority`` wins.
5. Equal priorities meeting on one user are a validation error, so the answer is always unique.
   If directory data reveals such a tie only at sync time, the user is not synced and the
   assignment says why, rather than picking one silently.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from reconciler.config.model import ConfigSet, Profile, SyncConfiguration, User

Via = Literal["individual", "profile"]


@dataclass(frozen=True)
class DirectoryUser:
    """A Salesforce user as the org reports it at sync time."""

    username: str
    email: str
    profile: str
    active: bool


@dataclass(frozen=True)
class Assignment:
    """The configuration one user syncs under (None: nowhere), how it was reached, and why.

    ``resolved_at_sync_time`` is true when a profile that names Salesforce profiles could still
    change the answer once the user's Salesforce profile is known (resolution without a directory).
    """

    user: str
    configuration: str | None
    via: Via | None
    profile: str | None
    reason: str
    also_matched: list[str] = field(default_factory=list)
    resolved_at_sync_time: bool = False


@dataclass(frozen=True)
class _Match:
    """One configuration reaching one user: how, and whether that is certain yet."""

    configuration: SyncConfiguration
    via: Via
    profile: Profile | None
    how: str
    pending: bool = False  # reaches the user only if their Salesforce profile matches

    @property
    def rank(self) -> tuple[int, int, str]:
        return (0 if self.via == "individual" else 1, self.configuration.priority, self.configuration.name)


class UnknownUserError(LookupError):
    """``explain_user`` was asked about someone neither the configuration nor the directory knows."""


@dataclass(frozen=True)
class _Subject:
    key: str
    user: User | None
    directory_user: DirectoryUser | None


def _directory_index(directory: Mapping[str, DirectoryUser] | None) -> dict[str, DirectoryUser]:
    return {} if directory is None else {u.username.lower(): u for u in directory.values()}


def _matches(config: ConfigSet, subject: _Subject, with_directory: bool) -> list[_Match]:
    """Every configuration (active or not) that reaches the user, best way per configuration."""
    found: dict[str, _Match] = {}
    sf_profile = subject.directory_user.profile if subject.directory_user else None
    for configuration in config.configurations.values():
        candidates: list[_Match] = []
        if subject.user is not None and subject.user.name in configuration.assign.users:
            candidates.append(_Match(configuration, "individual", None, "assigned individually (assign.users)"))
        for profile_name in configuration.assign.profiles:
            profile = config.profiles.get(profile_name)
            if profile is None:
                continue
            if subject.user is not None and subject.user.name in profile.members:
                candidates.append(_Match(configuration, "profile", profile, f"member of profile '{profile.name}'"))
            elif sf_profile is not None and sf_profile in profile.salesforce_profiles:
                how = f"Salesforce profile '{sf_profile}' is listed by profile '{profile.name}'"
                candidates.append(_Match(configuration, "profile", profile, how))
            elif not with_directory and profile.salesforce_profiles:
                names = ", ".join(f"'{n}'" for n in profile.salesforce_profiles)
                how = f"profile '{profile.name}' matches Salesforce profiles {names} (resolved at sync time)"
                candidates.append(_Match(configuration, "profile", profile, how, pending=True))
        if candidates:
            found[configuration.name] = min(candidates, key=lambda m: (m.pending, m.rank))
    ordered = sorted(found.values(), key=lambda m: (not m.configuration.active, m.pending, m.rank))
    return _could_matter(subject, ordered)


def _could_matter(subject: _Subject, matches: list[_Match]) -> list[_Match]:
    """Drop sync-time (Salesforce profile) matches that could not change the answer.

    Without a directory every profile naming Salesforce profiles might reach anyone; listing those
    that would lose anyway would bury the explanation in noise.
    """
    if subject.user is not None and not subject.user.enabled:
        return [m for m in matches if not m.pending]
    best = next((m for m in matches if m.configuration.active and not m.pending), None)

    def matters(m: _Match) -> bool:
        if not m.pending:
            return True
        if not m.configuration.active:
            return False
        # An equal priority matters too: it would make a tie, and a tie syncs the user nowhere.
        return best is None or (best.via == "profile" and m.configuration.priority <= best.configuration.priority)

    return [m for m in matches if matters(m)]


def _decide(subject: _Subject, matches: list[_Match]) -> tuple[Assignment, dict[str, str]]:
    """The assignment and, for each configuration that matched but lost, why it lost."""
    lost: dict[str, str] = {}
    user, directory_user = subject.user, subject.directory_user
    for match in matches:
        if not match.configuration.active:
            lost[match.configuration.name] = "inactive: only active configurations apply"
    active = [m for m in matches if m.configuration.active]
    everyone = [m.configuration.name for m in matches]

    def nowhere(reason: str) -> tuple[Assignment, dict[str, str]]:
        for m in active:
            lost[m.configuration.name] = reason
        return Assignment(subject.key, None, None, None, reason, everyone), lost

    if user is not None and not user.enabled:
        return nowhere("the User is disabled (spec.enabled: false): a disabled user syncs nowhere")
    if directory_user is not None and not directory_user.active:
        return nowhere("the user is inactive in Salesforce: inactive users sync nowhere")

    definite = [m for m in active if not m.pending]
    pending = [m for m in active if m.pending]
    if not definite:
        for m in pending:
            lost[m.configuration.name] = "resolved at sync time: depends on the user's Salesforce profile"
        if pending:
            names = ", ".join(m.configuration.name for m in pending)
            reason = f"resolved at sync time: configurations {names} apply only if the user's Salesforce profile matches"
            return Assignment(subject.key, None, None, None, reason, everyone, resolved_at_sync_time=True), lost
        return Assignment(subject.key, None, None, None, "not assigned to any active configuration", everyone), lost

    winner = definite[0]
    tied = [
        m for m in definite[1:] if m.via == "profile" and winner.via == "profile" and m.configuration.priority == winner.configuration.priority
    ]
    if tied:
        names = ", ".join(m.configuration.name for m in [winner, *tied])
        reason = (
            f"ambiguous: configurations {names} reach this user through profiles with equal priority "
            f"{winner.configuration.priority}; the user is not synced until their priorities differ"
        )
        return nowhere(reason)

    for m in definite[1:]:
        if m.via == "individual":
            why = f"also assigned individually; {winner.configuration.name} wins (a user may be assigned individually once)"
        elif winner.via == "individual":
            why = "an individual assignment beats a profile assignment"
        else:
            why = f"priority {m.configuration.priority} loses to {winner.configuration.priority} (the smallest priority wins)"
        lost[m.configuration.name] = why
    for m in pending:  # _could_matter kept only the sync-time matches that would win or tie
        lost[m.configuration.name] = (
            f"resolved at sync time: priority {m.configuration.priority} would win or tie if the user's Salesforce "
            "profile matches"
        )
    if winner.via == "individual":
        reason = f"assigned individually in {winner.configuration.name} (assign.users)"
    else:
        reason = f"{winner.how}, assigned by {winner.configuration.name} (priority {winner.configuration.priority})"
    if pending:
        names = ", ".join(m.configuration.name for m in pending)
        reason += f"; may change at sync time: {names} would win or tie if the Salesforce profile matches"
    profile = winner.profile.name if winner.profile is not None else None
    others = [name for name in everyone if name != winner.configuration.name]
    assignment = Assignment(
        subject.key, winner.configuration.name, winner.via, profile, reason, others, resolved_at_sync_time=bool(pending)
    )
    return assignment, lost


def _subjects(config: ConfigSet, directory: Mapping[str, DirectoryUser] | None) -> Iterable[_Subject]:
    index = _directory_index(directory)
    declared = set()
    for user in config.users.values():
        declared.add(user.salesforce_username.lower())
        yield _Subject(user.name, user, index.get(user.salesforce_username.lower()))
    for username, directory_user in sorted(index.items()):
        if username not in declared:
            yield _Subject(directory_user.username, None, directory_user)


def resolve_assignments(
    config: ConfigSet, directory: Mapping[str, DirectoryUser] | None = None
) -> dict[str, Assignment]:
    """User name -> Assignment, for every declared User and every directory user some configuration reaches.

    Users known only from ``directory`` are keyed by their Salesforce username; directory users no
    configuration reaches are left out. Without a directory only declared users and explicit
    profile members count; Salesforce-profile matches are marked ``resolved_at_sync_time``.
    """
    result: dict[str, Assignment] = {}
    for subject in _subjects(config, directory):
        matches = _matches(config, subject, with_directory=directory is not None)
        if subject.user is None and not matches:
            continue
        result[subject.key] = _decide(subject, matches)[0]
    return result


def _find_subject(config: ConfigSet, name: str, directory: Mapping[str, DirectoryUser] | None) -> _Subject:
    index = _directory_index(directory)
    user = config.users.get(name) or next(
        (u for u in config.users.values() if u.salesforce_username.lower() == name.lower()), None
    )
    if user is not None:
        return _Subject(user.name, user, index.get(user.salesforce_username.lower()))
    if name.lower() in index:
        return _Subject(index[name.lower()].username, None, index[name.lower()])
    known = list(config.users) + [u.salesforce_username for u in config.users.values()] + [u.username for u in index.values()]
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    raise UnknownUserError(f"no User named '{name}' and no Salesforce user with that username{hint}")


def explain_user(config: ConfigSet, name: str, directory: Mapping[str, DirectoryUser] | None = None) -> str:
    """A multi-line explanation: which configuration applies to the user and why, who else matched and why they lost.

    ``name`` is a User resource name or a Salesforce username. Raises UnknownUserError otherwise.
    """
    subject = _find_subject(config, name, directory)
    matches = _matches(config, subject, with_directory=directory is not None)
    assignment, lost = _decide(subject, matches)
    lines = []
    if subject.user is not None:
        user = subject.user
        mailbox = user.mailbox or "the Salesforce Email (known at sync time)"
        state = "" if user.enabled else ", disabled"
        lines.append(f"User {user.name} (Salesforce username {user.salesforce_username}, mailbox {mailbox}{state})")
    else:
        lines.append(f"Salesforce user {subject.key} (not declared as a User resource)")
    if subject.directory_user is not None:
        du = subject.directory_user
        lines.append(f"  Salesforce: profile '{du.profile}', email {du.email}, {'active' if du.active else 'inactive'}")
    if assignment.configuration is not None:
        lines.append(f"Syncs under SyncConfiguration/{assignment.configuration}")
        lines.append(f"  because: {assignment.reason}")
    else:
        lines.append("Syncs nowhere")
        lines.append(f"  because: {assignment.reason}")
    others = [m for m in matches if m.configuration.name != assignment.configuration]
    if others:
        lines.append("Also matched:")
        for m in others:
            state = "" if m.configuration.active else ", inactive"
            lines.append(
                f"  - SyncConfiguration/{m.configuration.name} (priority {m.configuration.priority}{state}): {m.how}"
            )
            lines.append(f"    lost: {lost[m.configuration.name]}")
    lines.append(
        "Precedence: disabled or inactive users sync nowhere; only active configurations apply; an individual "
        "assignment beats a profile assignment; among profiles the smallest priority wins."
    )
    return "\n".join(lines)
