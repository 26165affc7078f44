"""Loading: discovery, positions, diagnostics' form, every problem at once, paths of secrets."""

from __future__ import annotations

import gc
import json
import os
from pathlib import Path

from reconciler.config import ConfigSet, Diagnostic, load_config

from .conftest import BASE, Loader, codes


def test_diagnostic_prints_like_a_compiler_and_serialises_to_json() -> None:
    diagnostic = Diagnostic("conf/users.yaml", 3, 7, "error", "unknown-key", "unknown key 'x' in spec")
    assert str(diagnostic) == "conf/users.yaml:3:7: error: unknown key 'x' in spec"
    assert diagnostic.to_json() == {
        "file": "conf/users.yaml", "line": 3, "col": 7, "severity": "error",
        "code": "unknown-key", "message": "unknown key 'x' in spec",
    }
    assert json.loads(json.dumps(diagnostic.to_json())) == diagnostic.to_json()


def test_directory_is_searched_recursively_and_hidden_directories_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "nested" / "deeper").mkdir(parents=True)
    (tmp_path / "base.yml").write_text(BASE)
    (tmp_path / "nested" / "deeper" / "bob.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: User\nmetadata: {name: bob}\nspec: {salesforceUsername: bob@acme.example}\n"
    )
    for hidden in (".reconciler", ".git"):
        (tmp_path / hidden).mkdir()
        (tmp_path / hidden / "junk.yaml").write_text("this: [is not: a resource\n")
    (tmp_path / "notes.txt").write_text("not yaml")
    result = load_config(tmp_path)
    assert result.diagnostics == ()
    assert set(result.config.users) == {"alice", "bob"}
    assert [Path(f).relative_to(tmp_path).as_posix() for f in result.files] == ["base.yml", "nested/deeper/bob.yaml"]


def test_a_single_file_can_be_loaded(tmp_path: Path) -> None:
    (tmp_path / "all.yaml").write_text(BASE)
    (tmp_path / "ignored.yaml").write_text("kind: Nonsense\n")
    result = load_config(tmp_path / "all.yaml")
    assert result.ok and set(result.config.connections) == {"sf", "ex"}


def test_missing_path_and_empty_directory_are_errors(tmp_path: Path) -> None:
    assert codes(load_config(tmp_path / "nope")) == ["file-unreadable"]
    assert codes(load_config(tmp_path)) == ["no-resources"]


def test_non_utf8_file_is_reported_not_raised(tmp_path: Path) -> None:
    (tmp_path / "latin1.yaml").write_bytes("metadata: {name: b\xe9}\n".encode("latin-1"))
    result = load_config(tmp_path)
    assert codes(result) == ["file-unreadable"]


def test_positions_are_those_of_the_offending_key_or_value_in_any_document(load_yaml: Loader) -> None:
    result = load_yaml(
        """
        apiVersion: reconciler/v1
        kind: User
        metadata: {name: bob}
        spec: {salesforceUsername: bob@acme.example}
        ---
        # the second document
        apiVersion: reconciler/v1
        kind: User
        metadata:
          name: carol
        spec:
          salesforceUsername: carol@acme.example
          enabeld: false
          resetSync: -1
        """
    )
    assert [(d.line, d.col, d.code) for d in result.diagnostics] == [(13, 3, "unknown-key"), (14, 14, "invalid-value")]
    assert result.diagnostics[0].message == "unknown key 'enabeld' in spec; did you mean 'enabled'?"
    assert result.diagnostics[1].message == "spec.resetSync must be at least 0"


def test_a_missing_key_is_explained_by_its_description(load_yaml: Loader) -> None:
    result = load_yaml("apiVersion: reconciler/v1\nkind: User\nmetadata: {name: bob}\nspec: {mailbox: bob@acme.example}\n")
    (diagnostic,) = result.diagnostics
    assert (diagnostic.line, diagnostic.col, diagnostic.code) == (4, 1, "missing-key")
    assert diagnostic.message.startswith("missing required key 'salesforceUsername' in spec (The user's Salesforce Username")


def test_every_problem_is_reported_at_once(load_yaml: Loader) -> None:
    result = load_yaml(
        """
        apiVersion: reconciler/v1
        kind: User
        metadata: {name: Bob}
        spec: {salesforceUsername: bob, mailbox: x}
        ---
        apiVersion: reconciler/v1
        kind: Profile
        metadata: {name: team}
        spec: {members: [alice, ghost]}
        ---
        apiVersion: reconciler/v1
        kind: Widget
        """
    )
    assert codes(result) == ["invalid-value", "invalid-value", "invalid-value", "unresolved-reference", "unknown-kind"]
    assert not result.ok
    assert set(result.config.profiles) == {"team"}  # valid documents still load


def test_yaml_syntax_error_keeps_earlier_documents(load_yaml: Loader) -> None:
    result = load_yaml(
        """
        apiVersion: reconciler/v1
        kind: User
        metadata: {name: bob}
        spec: {salesforceUsername: bob@acme.example}
        ---
        key: "unterminated
        """
    )
    assert codes(result) == ["yaml-syntax"]
    assert "bob" in result.config.users


def test_documents_that_are_not_resources(load_yaml: Loader) -> None:
    result = load_yaml("- just\n- a list\n---\nname: no kind here\n")
    assert codes(result) == ["not-a-resource", "not-a-resource"]
    assert "apiVersion, kind, metadata and spec" in result.diagnostics[0].message


def test_unknown_api_version_lists_the_supported_pairs(load_yaml: Loader) -> None:
    result = load_yaml("apiVersion: reconciler/v2\nkind: User\nmetadata: {name: x}\nspec: {}\n")
    (diagnostic,) = result.diagnostics
    assert (diagnostic.line, diagnostic.col) == (1, 13)
    assert diagnostic.message == (
        "unknown apiVersion 'reconciler/v2'; supported: apiVersion reconciler/v1 with kind Connection, Profile, "
        "User, SyncConfiguration"
    )


def test_merge_keys_and_anchors_are_understood(load_yaml: Loader) -> None:
    result = load_yaml(
        """
        apiVersion: reconciler/v1
        kind: SyncConfiguration
        metadata: {name: a}
        spec:
          salesforceConnection: sf
          exchangeConnection: ex
          assign: {users: [alice]}
          contacts: &two-way
            direction: both
            conflictPolicy: newest_wins
          events:
            <<: *two-way
            conflictPolicy: exchange_wins
        """
    )
    assert result.diagnostics == ()
    events = result.config.configurations["a"].events
    assert (events.direction, events.conflict_policy) == ("both", "exchange_wins")


def test_recursive_alias_and_custom_tags_are_errors_not_crashes(load_yaml: Loader) -> None:
    assert "yaml-syntax" in codes(load_yaml("a: &x [*x]\n"))
    assert "yaml-syntax" in codes(load_yaml("apiVersion: reconciler/v1\nkind: User\nmetadata: {name: !Ref x}\nspec: {}\n"))


def test_non_string_keys_are_taken_as_written(load_yaml: Loader) -> None:
    result = load_yaml("apiVersion: reconciler/v1\nkind: User\nmetadata: {name: bob}\nspec:\n  salesforceUsername: b@acme.example\n  no: 1\n")
    assert [d.message for d in result.diagnostics] == ["unknown key 'no' in spec; allowed keys: enabled, mailbox, resetSync, salesforceUsername"]


def test_secret_and_ca_files_are_relative_to_their_yaml_file(tmp_path: Path) -> None:
    (tmp_path / "connections").mkdir()
    (tmp_path / "connections" / "sf.yaml").write_text(
        """
apiVersion: reconciler/v1
kind: Connection
metadata: {name: sf}
spec:
  salesforce:
    instanceUrl: https://acme.my.salesforce.com
    caFile: ../certs/ca.pem
    auth: {type: jwt_bearer, clientId: a, username: i@acme.example, privateKey: {secretRef: {file: keys/sf.key}}}
"""
    )
    result = load_config(tmp_path)
    salesforce = result.config.connections["sf"].salesforce
    assert salesforce is not None and salesforce.auth.private_key is not None
    assert salesforce.auth.private_key.file == str((tmp_path / "connections" / "keys" / "sf.key").resolve())
    assert salesforce.auth.private_key.describe() == f"file {(tmp_path / 'connections' / 'keys' / 'sf.key').resolve()}"
    assert salesforce.ca_file == str((tmp_path / "certs" / "ca.pem").resolve())
    # Normalised (and so the digest): relative to the configuration root, not to this checkout.
    spec = result.config.normalized()["Connection/sf"]["spec"]["salesforce"]
    assert spec["auth"]["privateKey"] == {"secretRef": {"file": "connections/keys/sf.key"}}
    assert spec["caFile"] == "certs/ca.pem"


def _base_and_bob(load_yaml: Loader) -> ConfigSet:
    bob = "apiVersion: reconciler/v1\nkind: User\nmetadata: {name: bob}\nspec: {salesforceUsername: bob@acme.example}\n"
    return load_yaml(bob).config


def test_secret_refs_describe_where_not_what(load_yaml: Loader) -> None:
    exchange = _base_and_bob(load_yaml).connections["ex"].exchange
    assert exchange is not None and exchange.auth.password is not None
    assert exchange.auth.password.describe() == "env EWS_PASSWORD"


def test_origin_names_the_file_and_line_of_each_resource(load_yaml: Loader) -> None:
    config = _base_and_bob(load_yaml)
    file, line = config.origin("User/bob")
    assert os.path.basename(file) == "config.yaml" and line == 1
    assert config.origin("Connection/ex")[1] == 14


def test_a_generated_file_of_thousands_of_users_loads_and_keeps_positions(tmp_path: Path) -> None:
    """The bulk path (one compiled validator per kind, GC paused) still reports exact positions."""
    count = 2000
    lines = []
    for index in range(count):
        username = "user0" if index == count - 1 else f"user{index}"
        lines.append(
            f"---\napiVersion: reconciler/v1\nkind: User\nmetadata: {{name: user-{index}}}\n"
            f"spec: {{salesforceUsername: {username}@acme.example}}\n"
        )
    (tmp_path / "users.yaml").write_text("".join(lines))
    result = load_config(tmp_path)
    assert len(result.config.users) == count
    (diagnostic,) = result.diagnostics
    assert (diagnostic.code, diagnostic.line, diagnostic.col) == ("duplicate-salesforce-username", 5 * count, 28)
    assert gc.isenabled()
