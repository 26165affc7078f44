"""The shipped examples: the good ones load without a single diagnostic, every broken one reports
exactly its mistake at the exact file, line and column."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from reconciler.config import load_config
from reconciler.config.schema import load_schemas

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "configs"
BROKEN = EXAMPLES / "broken"


@pytest.mark.parametrize("name", ["quickstart", "acme"])
def test_good_examples_load_without_any_diagnostic(name: str) -> None:
    result = load_config(EXAMPLES / name)
    assert [str(d) for d in result.diagnostics] == []
    assert result.config.resources


def test_acme_example_has_the_promised_size() -> None:
    config = load_config(EXAMPLES / "acme").config
    assert len(config.connections) == 2
    assert len(config.profiles) == 4
    assert len(config.users) >= 20
    assert len(config.configurations) == 3


def test_quickstart_is_the_sandbox_demo_cast() -> None:
    config = load_config(EXAMPLES / "quickstart").config
    salesforce = config.connections["acme-salesforce"].salesforce
    exchange = config.connections["acme-exchange"].exchange
    assert salesforce is not None and exchange is not None
    assert salesforce.instance_url == "sandbox://local"
    assert salesforce.auth.type == "client_credentials"
    assert salesforce.auth.client_secret is not None
    assert salesforce.auth.client_secret.file == str(
        EXAMPLES / "quickstart" / ".reconciler/sandbox/secrets/salesforce.clientSecret"
    )
    assert exchange.ews_url == "sandbox://local"
    assert exchange.domains == ("acme.example",)
    assert exchange.auth.username == "svc-reconciler@acme.example"
    assert exchange.auth.password is not None
    assert exchange.auth.password.file.endswith(".reconciler/sandbox/secrets/exchange.serviceAccountPassword")
    assert set(config.users) == {"alice", "bob", "carol"}
    assert config.users["bob"].salesforce_username == "bob.sf@acme.example.crm"
    assert config.users["bob"].mailbox == "bob@acme.example"
    (configuration,) = config.configurations.values()
    assert (configuration.contacts.direction, configuration.events.direction) == ("both", "both")


# directory -> every diagnostic it must produce: (file, line, col, severity, code)
BROKEN_CASES: dict[str, list[tuple[str, int, int, str, str]]] = {
    "yaml-syntax": [("users.yaml", 6, 5, "error", "yaml-syntax")],
    "duplicate-key": [("users.yaml", 9, 3, "error", "duplicate-key")],
    "unknown-kind": [("users.yaml", 4, 7, "error", "unknown-kind")],
    "unknown-key": [("sync.yaml", 10, 5, "error", "unknown-key")],
    "invalid-value": [("sync.yaml", 11, 21, "error", "invalid-value")],
    "wrong-type": [("sync.yaml", 9, 13, "error", "wrong-type")],
    "yaml-coercion": [("sync.yaml", 13, 60, "error", "yaml-coercion"), ("sync.yaml", 15, 16, "error", "yaml-coercion")],
    "missing-key": [("connections.yaml", 9, 5, "error", "missing-key")],
    "key-not-allowed": [("connections.yaml", 13, 7, "error", "key-not-allowed")],
    "inline-secret": [("connections.yaml", 13, 17, "error", "inline-secret")],
    "duplicate-name": [("b.yaml", 4, 18, "error", "duplicate-name")],
    "duplicate-salesforce-username": [("users.yaml", 13, 23, "error", "duplicate-salesforce-username")],
    "unresolved-reference": [
        ("sync.yaml", 7, 25, "error", "unresolved-reference"),
        ("sync.yaml", 10, 20, "error", "unresolved-reference"),
        ("sync.yaml", 11, 16, "error", "unresolved-reference"),
    ],
    "wrong-connection-type": [("sync.yaml", 7, 25, "error", "wrong-connection-type")],
    "user-assigned-twice": [("sync.yaml", 18, 20, "error", "user-assigned-twice")],
    "ambiguous-priority": [("sync.yaml", 32, 13, "error", "ambiguous-priority")],
    "mailbox-outside-domains": [("users.yaml", 8, 12, "warning", "mailbox-outside-domains")],
    "nothing-to-sync": [("sync.yaml", 10, 25, "warning", "nothing-to-sync")],
}


def test_every_broken_example_is_pinned_and_listed_in_the_readme() -> None:
    directories = {p.name for p in BROKEN.iterdir() if p.is_dir()}
    assert directories == set(BROKEN_CASES)
    readme = (BROKEN / "README.md").read_text(encoding="utf-8")
    assert {m for m in re.findall(r"`([a-z-]+)/`", readme)} == directories


@pytest.mark.parametrize("name", sorted(BROKEN_CASES))
def test_broken_example_reports_exactly_its_mistake(name: str) -> None:
    directory = BROKEN / name
    result = load_config(directory)
    found = [
        (str(Path(d.file).relative_to(directory)), d.line, d.col, d.severity, str(d.code)) for d in result.diagnostics
    ]
    assert found == BROKEN_CASES[name], "\n".join(str(d) for d in result.diagnostics)
    assert all(str(d).startswith(f"{d.file}:{d.line}:{d.col}: {d.severity}: ") for d in result.diagnostics)


MESSAGES = {
    "unknown-key": "unknown key 'directon' in spec.contacts; did you mean 'direction'?",
    "yaml-coercion": "spec.events.direction must be a string, but YAML reads no as a boolean; quote it: 'no'",
    "invalid-value": "use one of: salesforce_wins, exchange_wins, newest_wins; did you mean 'salesforce_wins'?",
    "unresolved-reference": "no Connection named 'acme-prd'; did you mean 'acme-prod'?",
    "duplicate-name": "already declared at " + str(BROKEN / "duplicate-name" / "a.yaml") + ":3",
    "inline-secret": "{secretRef: {env: NAME}} or {secretRef: {file: PATH}}",
    "missing-key": (
        "missing required key 'privateKey' in spec.salesforce.auth with type 'jwt_bearer'; "
        "add privateKey: {secretRef: {env: NAME}} or {secretRef: {file: PATH}}"
    ),
    "key-not-allowed": "'username' is not used in spec.salesforce.auth with type 'client_credentials'; remove it",
    "duplicate-key": "duplicate key 'enabled' in spec (first at line 8)",
    "ambiguous-priority": "both have priority 10 and both reach users with Salesforce profile 'Sales User'",
}


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_broken_example_message_says_what_to_do(name: str) -> None:
    messages = [d.message for d in load_config(BROKEN / name).diagnostics]
    assert any(MESSAGES[name] in m for m in messages), messages


def test_inline_secret_example_never_echoes_the_password() -> None:
    result = load_config(BROKEN / "inline-secret")
    assert "hunter2" in (BROKEN / "inline-secret" / "connections.yaml").read_text()
    assert not any("hunter2" in str(d) or "hunter2" in json.dumps(d.to_json()) for d in result.diagnostics)


def _example_files() -> list[Path]:
    return sorted(p for p in EXAMPLES.rglob("*.yaml") if ".reconciler" not in p.parts)


@pytest.mark.parametrize("path", _example_files(), ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_example_files_point_editors_at_the_schema(path: Path) -> None:
    first_line = path.read_text(encoding="utf-8").splitlines()[0]
    match = re.fullmatch(r"# yaml-language-server: \$schema=(\S+)", first_line)
    assert match, first_line
    assert (path.parent / match.group(1)).resolve() == REPO / "schemas" / "resource.v1.json"


@pytest.mark.parametrize("name", ["quickstart", "acme"])
def test_editor_schema_accepts_the_good_examples(name: str) -> None:
    """What yaml-language-server checks through resource.v1.json agrees with reconcile validate."""
    schemas = load_schemas()
    validator = Draft202012Validator(schemas.files["resource.v1.json"], registry=schemas.registry)
    for path in sorted((EXAMPLES / name).rglob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            assert [e.message for e in validator.iter_errors(document)] == [], path


def test_editor_schema_rejects_what_validate_rejects() -> None:
    schemas = load_schemas()
    validator = Draft202012Validator(schemas.files["resource.v1.json"], registry=schemas.registry)
    document = yaml.safe_load((BROKEN / "unknown-key" / "sync.yaml").read_text(encoding="utf-8"))
    assert not validator.is_valid(document)
