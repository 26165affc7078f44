"""The schemas themselves: strict, documented, and catching what YAML 1.1 silently coerces."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.config.schema import EDITOR_SCHEMA_FILE, SCHEMA_FILES, load_schemas, schema_directory

from .conftest import Loader, codes

REPO = Path(__file__).resolve().parents[2]


def _object_schemas(schema: Any, where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(schema, dict):
        if schema.get("type") == "object":
            yield where, schema
        for key, value in schema.items():
            yield from _object_schemas(value, f"{where}/{key}")
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            yield from _object_schemas(value, f"{where}/{index}")


def _all_files() -> dict[str, dict[str, Any]]:
    return dict(load_schemas().files)


def test_schemas_come_from_the_top_level_directory_of_a_checkout() -> None:
    assert Path(str(schema_directory())) == REPO / "schemas"
    assert {p.name for p in (REPO / "schemas").glob("*.json")} == set(_all_files())


@pytest.mark.parametrize("name", sorted(set(_all_files()) - {EDITOR_SCHEMA_FILE}))
def test_every_object_forbids_unknown_keys(name: str) -> None:
    """(The editors' dispatching schema is strict through the kind schemas it references.)"""
    for where, schema in _object_schemas(_all_files()[name]):
        assert "additionalProperties" in schema, f"{name}{where}"
        assert schema["additionalProperties"] is False or where.endswith("labels"), f"{name}{where}"


@pytest.mark.parametrize("name", sorted(_all_files()))
def test_every_property_has_a_description(name: str) -> None:
    """Descriptions are the reference editors show; conditional branches only restrict keys."""

    def walk(schema: Any, where: str) -> Iterator[str]:
        if isinstance(schema, dict):
            for key, sub in schema.get("properties", {}).items():
                in_branch = any(part in where.split("/") for part in ("then", "else", "if"))
                if not in_branch and "description" not in sub:
                    yield f"{where}/properties/{key}"
            for key, value in schema.items():
                yield from walk(value, f"{where}/{key}")
        elif isinstance(schema, list):
            for index, value in enumerate(schema):
                yield from walk(value, f"{where}/{index}")

    assert list(walk(_all_files()[name], "")) == []


@pytest.mark.parametrize("pair", list(SCHEMA_FILES), ids=lambda p: p[1])
def test_every_schema_is_draft_2020_12(pair: tuple[str, str]) -> None:
    assert load_schemas().files[SCHEMA_FILES[pair]]["$schema"] == "https://json-schema.org/draft/2020-12/schema"


SYNC = """
apiVersion: reconciler/v1
kind: SyncConfiguration
metadata: {{name: sales}}
spec:
  salesforceConnection: sf
  exchangeConnection: ex
  assign: {{users: [alice]}}
  contacts:
    direction: both
    {line}
"""

# YAML 1.1 turns these bare scalars into booleans, numbers and dates; each needs quoting.
COERCIONS = [
    ("direction: no", "conflictPolicy: no", "no", "a boolean"),
    ("NO", "dataSet: {filter: [{field: MailingCountry, operator: equals, value: NO}]}", "NO", "a boolean"),
    ("off", "dataSet: {filter: [{field: MailingCountry, operator: equals, value: off}]}", "off", "a boolean"),
    ("012", "dataSet: {filter: [{field: PostalCode__c, operator: equals, value: 012}]}", "012", "a number"),
    ("date", "dataSet: {filter: [{field: Since__c, operator: equals, value: 2024-01-31}]}", "2024-01-31", "a date"),
    ("list item", "dataSet: {filter: [{field: MailingCountry, operator: in, value: [NZ, NO]}]}", "NO", "a boolean"),
    ("null", "dataSet: {filter: [{field: MailingCountry, operator: equals, value: null}]}", "null", "empty (null)"),
]


@pytest.mark.parametrize(("label", "line", "text", "read_as"), COERCIONS, ids=[c[0] for c in COERCIONS])
def test_yaml_coercions_are_errors_that_say_what_to_quote(
    load_yaml: Loader, label: str, line: str, text: str, read_as: str
) -> None:
    result = load_yaml(SYNC.format(line=line))
    assert codes(result) == ["yaml-coercion"], [str(d) for d in result.diagnostics]
    assert result.diagnostics[0].message.endswith(f"but YAML reads {text} as {read_as}; quote it: '{text}'")


def test_api_version_as_a_bare_number_is_caught(load_yaml: Loader) -> None:
    result = load_yaml(
        """
        apiVersion: reconciler/v1
        kind: Connection
        metadata: {name: sf2}
        spec:
          salesforce:
            instanceUrl: https://acme.my.salesforce.com
            apiVersion: 61.0
            auth: {type: client_credentials, clientId: abc, clientSecret: {secretRef: {env: S}}}
        """
    )
    (diagnostic,) = result.diagnostics
    assert (diagnostic.line, diagnostic.col, diagnostic.code) == (7, 17, "yaml-coercion")
    assert "quote it: '61.0'" in diagnostic.message


def test_label_values_must_be_strings(load_yaml: Loader) -> None:
    result = load_yaml(
        """
        apiVersion: reconciler/v1
        kind: User
        metadata: {name: bob, labels: {remote: yes}}
        spec: {salesforceUsername: bob@acme.example}
        """
    )
    assert codes(result) == ["yaml-coercion"]
    assert "metadata.labels.remote" in result.diagnostics[0].message


CONNECTION = """
apiVersion: reconciler/v1
kind: Connection
metadata: {{name: c}}
spec:
  {service}:
    {url}
    {extra}
    auth:
{auth}
"""
SF_URL = "instanceUrl: https://acme.my.salesforce.com"
EWS_URL = "ewsUrl: https://mail.acme.example/EWS/Exchange.asmx"
REF = "{secretRef: {env: X}}"

# (case, service, auth lines, expected codes) - the auth type decides which keys are required/allowed
AUTH_CASES = [
    ("jwt ok", "salesforce", f"type: jwt_bearer\nclientId: a\nusername: i@acme.example\nprivateKey: {REF}", []),
    ("jwt without key", "salesforce", "type: jwt_bearer\nclientId: a\nusername: i@acme.example", ["missing-key"]),
    ("jwt with password", "salesforce", f"type: jwt_bearer\nclientId: a\nusername: i@acme.example\nprivateKey: {REF}\npassword: {REF}", ["key-not-allowed"]),
    ("client credentials ok", "salesforce", f"type: client_credentials\nclientId: a\nclientSecret: {REF}", []),
    ("client credentials without secret", "salesforce", "type: client_credentials\nclientId: a", ["missing-key"]),
    ("password ok", "salesforce", f"type: password\nclientId: a\nusername: i@acme.example\npassword: {REF}\nsecurityToken: {REF}", []),
    ("password without username", "salesforce", f"type: password\nclientId: a\npassword: {REF}", ["missing-key"]),
    ("unknown type", "salesforce", "type: oauth\nclientId: a", ["invalid-value"]),
    ("service account ok", "exchange", f"type: service_account\nusername: s@acme.example\npassword: {REF}\nimpersonation: false", []),
    ("service account with tenant", "exchange", f"type: service_account\nusername: s@acme.example\npassword: {REF}\ntenantId: t", ["key-not-allowed"]),
    ("oauth secret ok", "exchange", f"type: oauth_client_credentials\ntenantId: t\nclientId: c\nclientSecret: {REF}", []),
    ("oauth certificate ok", "exchange", f"type: oauth_client_credentials\ntenantId: t\nclientId: c\ncertificate: {{privateKey: {REF}, thumbprint: '{'A1' * 20}'}}", []),
    ("oauth both credentials", "exchange", f"type: oauth_client_credentials\ntenantId: t\nclientId: c\nclientSecret: {REF}\ncertificate: {{privateKey: {REF}, thumbprint: '{'A1' * 20}'}}", ["one-of"]),
    ("oauth no credential", "exchange", "type: oauth_client_credentials\ntenantId: t\nclientId: c", ["one-of"]),
    ("oauth with impersonation", "exchange", f"type: oauth_client_credentials\ntenantId: t\nclientId: c\nclientSecret: {REF}\nimpersonation: true", ["key-not-allowed"]),
]


@pytest.mark.parametrize(("case", "service", "auth", "expected"), AUTH_CASES, ids=[c[0] for c in AUTH_CASES])
def test_auth_type_decides_required_and_allowed_keys(
    load_yaml: Loader, case: str, service: str, auth: str, expected: list[str]
) -> None:
    url, extra = (SF_URL, "") if service == "salesforce" else (EWS_URL, "domains: [acme.example]")
    text = CONNECTION.format(
        service=service, url=url, extra=extra, auth="\n".join("      " + line for line in auth.splitlines())
    )
    result = load_yaml(text, base=False)
    assert codes(result) == expected, [str(d) for d in result.diagnostics]


def test_both_or_neither_connection_type_is_one_error(load_yaml: Loader) -> None:
    neither = load_yaml("apiVersion: reconciler/v1\nkind: Connection\nmetadata: {name: c}\nspec: {}\n", base=False)
    assert [d.message for d in neither.diagnostics] == ["spec needs exactly one of 'salesforce' or 'exchange'"]


def test_autodiscover_replaces_the_ews_url(load_yaml: Loader) -> None:
    text = """
    apiVersion: reconciler/v1
    kind: Connection
    metadata: {name: c}
    spec:
      exchange:
        autodiscover: true
        %s
        domains: [acme.example]
        auth: {type: service_account, username: s@acme.example, password: {secretRef: {env: P}}}
    """
    assert codes(load_yaml(text % "", base=False)) == []
    assert codes(load_yaml(text % "ewsUrl: https://mail.acme.example/EWS/Exchange.asmx", base=False)) == ["key-not-allowed"]
    assert codes(load_yaml((text % "").replace("autodiscover: true", "autodiscover: false"), base=False)) == ["missing-key"]


def test_an_installed_package_finds_the_schemas_it_carries(tmp_path: Path) -> None:
    """The wheel layout: no top-level schemas/ directory, real files in reconciler/_schemas (the symlink
    in a checkout becomes a directory of copies in the wheel)."""
    site = tmp_path / "site-packages"
    shutil.copytree(REPO / "reconciler", site / "reconciler", ignore=shutil.ignore_patterns("__pycache__", "_schemas"))
    shutil.copytree(REPO / "schemas", site / "reconciler" / "_schemas")
    script = (
        "from pathlib import Path\n"
        "from reconciler.config import load_config\n"
        "from reconciler.config.schema import schema_directory\n"
        "print(schema_directory())\n"
        f"print(load_config(Path({str(REPO / 'examples' / 'configs' / 'acme')!r})).ok)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == [str(site / "reconciler" / "_schemas"), "True"]
