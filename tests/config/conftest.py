"""Helpers for configuration tests: write YAML into tmp_path and load it."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.config import LoadResult, load_config

# Valid companions most tests need: one connection of each type and one user.
BASE = """
apiVersion: reconciler/v1
kind: Connection
metadata: {name: sf}
spec:
  salesforce:
    instanceUrl: https://acme.my.salesforce.com
    auth:
      type: jwt_bearer
      clientId: 3MVG9acme
      username: integration@acme.example
      privateKey: {secretRef: {env: SF_KEY}}
---
apiVersion: reconciler/v1
kind: Connection
metadata: {name: ex}
spec:
  exchange:
    ewsUrl: https://mail.acme.example/EWS/Exchange.asmx
    domains: [acme.example]
    auth:
      type: service_account
      username: svc@acme.example
      password: {secretRef: {env: EWS_PASSWORD}}
---
apiVersion: reconciler/v1
kind: User
metadata: {name: alice}
spec:
  salesforceUsername: alice@acme.example
"""

Loader = Callable[..., LoadResult]


@pytest.fixture
def load_yaml(tmp_path: Path) -> Loader:
    """``load_yaml(text, base=True, name="config.yaml")``: write the text (dedented) into a fresh
    directory, with BASE in base.yaml unless ``base=False``, and load that directory."""
    counter = iter(range(1_000_000))

    def load(text: str, *, base: bool = True, name: str = "config.yaml") -> LoadResult:
        directory = tmp_path / f"config{next(counter)}"
        directory.mkdir()
        if base:
            (directory / "base.yaml").write_text(BASE, encoding="utf-8")
        (directory / name).write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return load_config(directory)

    return load


def codes(result: LoadResult) -> list[str]:
    return [str(d.code) for d in result.diagnostics]
