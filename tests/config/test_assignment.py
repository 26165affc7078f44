"""Assignment precedence: which configuration each user syncs under, and the explanation."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from reconciler.config import ConfigSet, DirectoryUser, UnknownUserError, explain_user, load_config, resolve_assignments

from .conftest import BASE

USERS = "".join(
    f"---\napiVersion: reconciler/v1\nkind: User\nmetadata: {{name: {name}}}\nspec: {{salesforceUsername: {name}@acme.example{extra}}}\n"
    for name, extra in [("bob", ""), ("carol", ""), ("dave", ", enabled: false")]
)


def _config(tmp_path: Path, resources: str) -> ConfigSet:
    """BASE (sf, ex, alice) + bob, carol, disabled dave + the given profiles and configurations."""
    (tmp_path / "base.yaml").write_text(BASE + USERS)
    (tmp_path / "config.yaml").write_text(textwrap.dedent(resources))
    result = load_config(tmp_path)
    assert result.ok, [str(d) for d in result.errors]
    return result.config


def _sync(name: str, priority: int, users: list[str] = [], profiles: list[str] = [], active: bool = True) -> str:  # noqa: B006
    return (
        f"---\napiVersion: reconciler/v1\nkind: SyncConfiguration\nmetadata: {{name: {name}}}\n"
        f"spec: {{salesforceConnection: sf, exchangeConnection: ex, priority: {priority}, active: {str(active).lower()}, "
        f"assign: {{users: {users}, profiles: {profiles}}}, contacts: {{direction: both}}}}\n".replace("'", "")
    )


def _profile(name: str, members: list[str] = [], salesforce: list[str] = []) -> str:  # noqa: B006
    return (
        f"---\napiVersion: reconciler/v1\nkind: Profile\nmetadata: {{name: {name}}}\n"
        f"spec: {{members: {members}, salesforceProfiles: {salesforce}}}\n".replace("'", '"')
    )


# (case, resources, user, expected configuration, via, profile)
PRECEDENCE = [
    ("individual", _sync("a", 10, users=["alice"]), "alice", "a", "individual", None),
    ("explicit profile member", _profile("p", ["alice"]) + _sync("a", 10, profiles=["p"]), "alice", "a", "profile", "p"),
    (
        "individual beats profile even with a larger priority",
        _profile("p", ["alice"]) + _sync("by-profile", 1, profiles=["p"]) + _sync("by-user", 50, users=["alice"]),
        "alice", "by-user", "individual", None,
    ),
    (
        "smallest priority wins among profiles",
        _profile("p", ["alice"]) + _profile("q", ["alice"]) + _sync("ten", 10, profiles=["p"]) + _sync("five", 5, profiles=["q"]),
        "alice", "five", "profile", "q",
    ),
    (
        "inactive configurations never apply",
        _sync("retired", 1, users=["alice"], active=False) + _profile("p", ["alice"]) + _sync("live", 99, profiles=["p"]),
        "alice", "live", "profile", "p",
    ),
    ("disabled user syncs nowhere", _sync("a", 10, users=["dave"]), "dave", None, None, None),
    ("unassigned user syncs nowhere", _sync("a", 10, users=["alice"]), "bob", None, None, None),
]


@pytest.mark.parametrize(("case", "resources", "user", "configuration", "via", "profile"), PRECEDENCE, ids=[p[0] for p in PRECEDENCE])
def test_precedence(tmp_path: Path, case: str, resources: str, user: str, configuration: str | None, via: str | None, profile: str | None) -> None:
    assignment = resolve_assignments(_config(tmp_path, resources))[user]
    assert (assignment.user, assignment.configuration, assignment.via, assignment.profile) == (user, configuration, via, profile)
    assert assignment.reason


def test_losers_are_listed_in_also_matched(tmp_path: Path) -> None:
    resources = _profile("p", ["alice"]) + _sync("by-profile", 1, profiles=["p"]) + _sync("by-user", 50, users=["alice"])
    assignment = resolve_assignments(_config(tmp_path, resources))["alice"]
    assert assignment.also_matched == ["by-profile"]


SALES_PROFILES = _profile("sales", salesforce=["Sales User"]) + _profile("managers", salesforce=["Sales Manager"])


def test_without_a_directory_salesforce_profile_matches_are_left_to_sync_time(tmp_path: Path) -> None:
    config = _config(tmp_path, SALES_PROFILES + _sync("sales", 10, profiles=["sales"]))
    assignment = resolve_assignments(config)["alice"]
    assert assignment.configuration is None and assignment.resolved_at_sync_time
    assert "resolved at sync time" in assignment.reason


def test_a_definite_match_is_provisional_when_a_better_sync_time_match_may_exist(tmp_path: Path) -> None:
    resources = SALES_PROFILES + _profile("p", ["alice"]) + _sync("sales", 5, profiles=["sales"]) + _sync("team", 10, profiles=["p"])
    assignment = resolve_assignments(_config(tmp_path, resources))["alice"]
    assert (assignment.configuration, assignment.resolved_at_sync_time) == ("team", True)
    assert "may change at sync time: sales would win or tie" in assignment.reason


def test_an_equal_priority_sync_time_match_makes_the_answer_provisional(tmp_path: Path) -> None:
    resources = SALES_PROFILES + _profile("p", ["alice"]) + _sync("sales", 10, profiles=["sales"]) + _sync("team", 10, profiles=["p"])
    assignment = resolve_assignments(_config(tmp_path, resources))["alice"]
    assert (assignment.configuration, assignment.resolved_at_sync_time) == ("team", True)


def test_directory_decides_salesforce_profile_matches_and_adds_undeclared_users(tmp_path: Path) -> None:
    config = _config(tmp_path, SALES_PROFILES + _sync("sales", 10, profiles=["sales"]) + _sync("managers", 20, profiles=["managers"]))
    directory = {
        u.username: u
        for u in [
            DirectoryUser("alice@acme.example", "alice@acme.example", "Sales User", True),
            DirectoryUser("bob@acme.example", "bob@acme.example", "Sales Manager", True),
            DirectoryUser("carol@acme.example", "carol@acme.example", "Sales User", False),
            DirectoryUser("zoe@acme.example", "zoe@acme.example", "Sales Manager", True),
            DirectoryUser("yan@acme.example", "yan@acme.example", "Support User", True),
        ]
    }
    assignments = resolve_assignments(config, directory)
    assert assignments["alice"].configuration == "sales"
    assert assignments["bob"].configuration == "managers"
    assert assignments["carol"].configuration is None and "inactive in Salesforce" in assignments["carol"].reason
    assert assignments["zoe@acme.example"].configuration == "managers"  # undeclared: keyed by username
    assert "yan@acme.example" not in assignments  # reached by nothing
    assert not any(a.resolved_at_sync_time for a in assignments.values())


def test_equal_priorities_met_only_at_sync_time_sync_nobody(tmp_path: Path) -> None:
    resources = _profile("sales", salesforce=["Sales User"]) + _profile("team", ["alice"])
    resources += _sync("a", 10, profiles=["sales"]) + _sync("b", 10, profiles=["team"])
    config = _config(tmp_path, resources)
    directory = {"alice@acme.example": DirectoryUser("alice@acme.example", "alice@acme.example", "Sales User", True)}
    assignment = resolve_assignments(config, directory)["alice"]
    assert assignment.configuration is None
    assert assignment.reason.startswith("ambiguous: configurations a, b reach this user through profiles with equal priority 10")


def test_explain_user_says_who_won_and_why_the_others_lost(tmp_path: Path) -> None:
    resources = _profile("p", ["alice"]) + _profile("q", ["alice"])
    resources += _sync("by-user", 50, users=["alice"]) + _sync("by-profile", 1, profiles=["p"]) + _sync("old", 1, users=["alice"], active=False)
    text = explain_user(_config(tmp_path, resources), "alice")
    assert text.splitlines()[:2] == [
        "User alice (Salesforce username alice@acme.example, mailbox the Salesforce Email (known at sync time))",
        "Syncs under SyncConfiguration/by-user",
    ]
    assert "  because: assigned individually in by-user (assign.users)" in text
    assert "  - SyncConfiguration/by-profile (priority 1): member of profile 'p'" in text
    assert "    lost: an individual assignment beats a profile assignment" in text
    assert "  - SyncConfiguration/old (priority 1, inactive): assigned individually (assign.users)" in text
    assert "    lost: inactive: only active configurations apply" in text


def test_explain_user_accepts_a_salesforce_username_and_rejects_strangers(tmp_path: Path) -> None:
    config = _config(tmp_path, _sync("a", 10, users=["alice"]))
    assert "Syncs under SyncConfiguration/a" in explain_user(config, "ALICE@acme.example")
    with pytest.raises(UnknownUserError, match="did you mean 'alice'"):
        explain_user(config, "alcie")


def test_acme_example_exercises_each_rule() -> None:
    config = load_config(Path(__file__).resolve().parents[2] / "examples" / "configs" / "acme").config
    assignments = resolve_assignments(config)
    assert (assignments["kyle"].configuration, assignments["kyle"].via) == ("support-contacts", "individual")
    assert assignments["oscar"].configuration == "executives"  # priority 5 beats sales-two-way's 10
    assert assignments["bob"].configuration == "sales-two-way"  # priority 10 beats support-contacts' 20
    assert assignments["dave"].configuration is None  # disabled
