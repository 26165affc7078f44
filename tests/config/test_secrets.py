"""A secret written where it does not belong is reported, and its value never appears in any
diagnostic, whatever shape the mistake takes."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import Loader

SECRET = "S3cr3t-Value-9431"

CONNECTION = """
apiVersion: reconciler/v1
kind: Connection
metadata: {{name: c}}
spec:
  exchange:
    ewsUrl: https://mail.acme.example/EWS/Exchange.asmx
    domains: [acme.example]
    auth:
      type: service_account
      username: svc@acme.example
      password: {password}
"""

# (case, what is written where the password reference belongs, expected code)
MISTAKES = [
    ("plain string", SECRET, "inline-secret"),
    ("quoted string", f'"{SECRET}"', "inline-secret"),
    ("number", "123456789", "inline-secret"),
    ("list", f"[{SECRET}]", "inline-secret"),
    ("value key", f"{{value: {SECRET}}}", "unknown-key"),
    ("secretRef string", f"{{secretRef: {SECRET}}}", "wrong-type"),
    ("secretRef value key", f"{{secretRef: {{value: {SECRET}}}}}", "unknown-key"),
    ("env with spaces", f'{{secretRef: {{env: "{SECRET} x"}}}}', "invalid-value"),
    ("env and file", f"{{secretRef: {{env: {SECRET}, file: {SECRET}}}}}", "one-of"),
    ("env as number", "{secretRef: {env: 123456789}}", "wrong-type"),
    ("env as boolean", "{secretRef: {env: yes}}", "wrong-type"),
]


@pytest.mark.parametrize(("case", "written", "code"), MISTAKES, ids=[m[0] for m in MISTAKES])
def test_secret_mistakes_are_reported_without_the_value(load_yaml: Loader, case: str, written: str, code: str) -> None:
    result = load_yaml(CONNECTION.format(password=written), base=False)
    assert code in [d.code for d in result.diagnostics], [str(d) for d in result.diagnostics]
    for diagnostic in result.diagnostics:
        for text in (str(diagnostic), json.dumps(diagnostic.to_json())):
            assert SECRET not in text and "123456789" not in text


def test_inline_secret_message_says_how_to_reference_it(load_yaml: Loader) -> None:
    result = load_yaml(CONNECTION.format(password="hunter2"), base=False)
    (diagnostic,) = result.diagnostics
    assert diagnostic.code == "inline-secret"
    assert (diagnostic.line, diagnostic.col) == (11, 17)
    assert diagnostic.message == (
        "spec.exchange.auth.password must be a secret reference, not the secret itself: write "
        "{secretRef: {env: NAME}} or {secretRef: {file: PATH}} (and rotate the secret if it was ever committed)"
    )


def test_secret_references_stay_references_in_the_normalised_form(load_yaml: Loader) -> None:
    config = load_yaml(CONNECTION.format(password="{secretRef: {env: EWS_PASSWORD}}"), base=False).config
    auth = config.normalized()["Connection/c"]["spec"]["exchange"]["auth"]
    assert auth["password"] == {"secretRef": {"env": "EWS_PASSWORD"}}


# Where a secret value may land by mistake: {S} is the value as a YAML double-quoted scalar.
MISPLACED = [
    "password: {S}",
    "password: {{secretRef: {S}}}",
    "password: {{secretRef: {{env: {S}}}}}",
    "password: {{secretRef: {{file: {S}, env: P}}}}",
    "password: [{S}]",
    "password: {{secretRef: {{env: P}}}}\n      impersonation: {S}",
    "password: {{secretRef: {{env: P}}}}\n      authority: {S}",
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    secret=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=0x2FF), min_size=12, max_size=40),
    template=st.sampled_from(MISPLACED),
)
def test_no_misplaced_secret_is_ever_echoed(load_yaml: Loader, secret: str, template: str) -> None:
    """Whatever the value and wherever around a secret reference it lands, it is never echoed."""
    text = CONNECTION.format(password=template.format(S=json.dumps(secret)))
    result = load_yaml(text, base=False)
    assert result.diagnostics
    assert not any(secret in str(d) or secret in json.dumps(d.to_json()) for d in result.diagnostics)
