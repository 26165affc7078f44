"""Checks across resources beyond the broken examples: the edges of each rule."""

from __future__ import annotations

from .conftest import Loader, codes


def sync(name: str, body: str) -> str:
    return (
        f"---\napiVersion: reconciler/v1\nkind: SyncConfiguration\nmetadata: {{name: {name}}}\n"
        f"spec: {{salesforceConnection: sf, exchangeConnection: ex, contacts: {{direction: both}}, {body}}}\n"
    )


def profile(name: str, body: str) -> str:
    return f"---\napiVersion: reconciler/v1\nkind: Profile\nmetadata: {{name: {name}}}\nspec: {{{body}}}\n"


def user(name: str, body: str = "") -> str:
    return (
        f"---\napiVersion: reconciler/v1\nkind: User\nmetadata: {{name: {name}}}\n"
        f"spec: {{salesforceUsername: {name}@acme.example{body}}}\n"
    )


def test_profile_members_must_exist(load_yaml: Loader) -> None:
    result = load_yaml(profile("team", "members: [alice, alicia]"))
    assert [(d.code, d.message) for d in result.diagnostics] == [
        ("unresolved-reference", "no User named 'alicia'; did you mean 'alice'?")
    ]


def test_a_reference_to_an_invalid_resource_does_not_pile_on(load_yaml: Loader) -> None:
    result = load_yaml(user("bob", ", enabled: maybe") + sync("a", "assign: {users: [bob]}"))
    assert codes(result) == ["wrong-type"]


def test_individual_assignment_in_an_inactive_configuration_is_allowed(load_yaml: Loader) -> None:
    result = load_yaml(sync("a", "assign: {users: [alice]}") + sync("b", "active: false, assign: {users: [alice]}"))
    assert codes(result) == []


def test_equal_priorities_meeting_on_an_explicit_member_are_ambiguous(load_yaml: Loader) -> None:
    resources = user("bob") + profile("p", "members: [alice, bob]") + profile("q", "members: [bob]")
    resources += sync("a", "priority: 7, assign: {profiles: [p]}") + sync("b", "priority: 7, assign: {profiles: [q]}")
    result = load_yaml(resources)
    assert codes(result) == ["ambiguous-priority"]
    assert "both reach User 'bob' through profiles 'p' and 'q'" in result.diagnostics[0].message


def test_the_same_profile_in_two_configurations_of_equal_priority_is_ambiguous(load_yaml: Loader) -> None:
    resources = profile("p", "members: [alice]") + sync("a", "assign: {profiles: [p]}") + sync("b", "assign: {profiles: [p]}")
    result = load_yaml(resources)
    assert codes(result) == ["ambiguous-priority"]
    assert "both have priority 100 and both reach User 'alice' through profile 'p'" in result.diagnostics[0].message
    assert result.diagnostics[0].line == 15  # b writes no priority: its assign.profiles is pointed at


def test_a_shared_member_settled_by_an_individual_assignment_is_not_ambiguous(load_yaml: Loader) -> None:
    resources = user("bob") + profile("p", "members: [bob]") + profile("q", "members: [bob]")
    resources += sync("a", "priority: 7, assign: {profiles: [p]}") + sync("b", "priority: 7, assign: {profiles: [q]}")
    resources += sync("c", "assign: {users: [bob]}")
    assert codes(load_yaml(resources)) == []


def test_different_priorities_or_an_inactive_configuration_are_not_ambiguous(load_yaml: Loader) -> None:
    p = profile("p", 'salesforceProfiles: ["Sales User"]')
    assert codes(load_yaml(p + sync("a", "priority: 1, assign: {profiles: [p]}") + sync("b", "priority: 2, assign: {profiles: [p]}"))) == []
    assert codes(load_yaml(p + sync("a", "assign: {profiles: [p]}") + sync("b", "active: false, assign: {profiles: [p]}"))) == []


def test_mailbox_check_follows_the_configuration_that_applies(load_yaml: Loader) -> None:
    resources = user("erin", ", mailbox: erin@partner.example") + profile("p", "members: [erin]")
    resources += sync("a", "assign: {profiles: [p]}")
    result = load_yaml(resources)
    assert [(d.severity, d.code) for d in result.diagnostics] == [("warning", "mailbox-outside-domains")]
    assert result.ok  # warnings do not fail validation


def test_mailbox_of_an_unassigned_user_is_not_checked(load_yaml: Loader) -> None:
    assert codes(load_yaml(user("erin", ", mailbox: erin@partner.example"))) == []


def test_disabled_user_assigned_individually_is_a_warning(load_yaml: Loader) -> None:
    result = load_yaml(user("dave", ", enabled: false") + sync("a", "assign: {users: [dave]}"))
    assert [(d.severity, d.code) for d in result.diagnostics] == [("warning", "disabled-user-assigned")]


def test_active_configuration_assigning_nobody_is_a_warning(load_yaml: Loader) -> None:
    assert codes(load_yaml(sync("a", "assign: {}"))) == ["nobody-assigned"]
    assert codes(load_yaml(sync("a", "active: false"))) == []


def test_empty_profile_is_a_warning(load_yaml: Loader) -> None:
    assert codes(load_yaml(profile("p", ""))) == ["empty-profile"]


def test_limits_that_contradict_each_other_are_a_warning(load_yaml: Loader) -> None:
    result = load_yaml(sync("a", "assign: {users: [alice]}, limits: {maxChanges: 10, maxDeletes: 50}"))
    assert codes(result) == ["limits-inconsistent"]


def test_ews_against_exchange_online_is_a_warning_that_names_the_fix(load_yaml: Loader) -> None:
    result = load_yaml(
        """
        apiVersion: reconciler/v1
        kind: Connection
        metadata: {name: online}
        spec:
          exchange:
            ewsUrl: https://outlook.office365.com/EWS/Exchange.asmx
            domains: [acme.example]
            auth: {type: service_account, username: svc@acme.example, password: {secretRef: {env: P}}}
        """
    )
    (diagnostic,) = result.diagnostics
    assert (diagnostic.severity, diagnostic.code, diagnostic.line) == ("warning", "exchange-online-ews", 6)
    assert "use auth.type oauth_client_credentials" in diagnostic.message


def test_wrong_exchange_connection_type_is_reported(load_yaml: Loader) -> None:
    result = load_yaml(
        "apiVersion: reconciler/v1\nkind: SyncConfiguration\nmetadata: {name: a}\n"
        "spec: {salesforceConnection: sf, exchangeConnection: sf, assign: {users: [alice]}, events: {direction: both}}\n"
    )
    assert [(d.code, d.message) for d in result.diagnostics] == [
        ("wrong-connection-type", "Connection 'sf' is not an Exchange connection; exchangeConnection needs one with spec.exchange")
    ]
