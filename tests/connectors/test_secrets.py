"""Secret references: resolved when used, named (never shown) in errors and reprs."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.config.model import SecretRef
from reconciler.connectors.errors import ConnectorError, ErrorKind
from reconciler.connectors.secrets import Secret


def test_env_reference_resolves_at_use(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = Secret.from_ref({"secretRef": {"env": "SF_PASSWORD"}})
    monkeypatch.setenv("SF_PASSWORD", "first")
    assert secret.reveal() == "first"
    monkeypatch.setenv("SF_PASSWORD", "rotated")
    assert secret.reveal() == "rotated"


def test_missing_env_names_the_variable_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SF_PASSWORD", raising=False)
    with pytest.raises(ConnectorError) as caught:
        Secret.from_ref({"secretRef": {"env": "SF_PASSWORD"}}).reveal()
    assert caught.value.kind is ErrorKind.CONFIGURATION
    assert caught.value.message == "environment variable SF_PASSWORD is not set"


def test_file_reference_drops_the_trailing_newline(tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "sf.key").write_text("s3cret-value\n", encoding="utf-8")
    secret = Secret.from_ref(SecretRef(file=str(tmp_path / "keys" / "sf.key")))
    assert secret.reveal() == "s3cret-value"
    assert repr(secret) == f"Secret(file {tmp_path / 'keys' / 'sf.key'})"


def test_unreadable_file_error_names_the_path_and_reason(tmp_path: Path) -> None:
    missing = tmp_path / "nope.key"
    with pytest.raises(ConnectorError) as caught:
        Secret.from_ref({"file": str(missing)}).reveal()
    assert caught.value.message == f"secret file {missing} not readable: No such file or directory"


def test_repr_and_str_never_show_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SF_PASSWORD", "MARKER-7f3a")
    secret = Secret.from_ref({"secretRef": {"env": "SF_PASSWORD"}})
    assert repr(secret) == str(secret) == "Secret(env SF_PASSWORD)"
    assert "MARKER" not in f"{secret!r} {secret} {[secret]} {dict(s=secret)}"


@pytest.mark.parametrize("ref", [{"secretRef": {}}, {"secretRef": {"env": "A", "file": "b"}}])
def test_a_reference_needs_exactly_one_source(ref: dict) -> None:
    with pytest.raises(ConnectorError, match="exactly one"):
        Secret.from_ref(ref)
