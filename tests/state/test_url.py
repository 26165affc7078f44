"""Where the state lives, and that its password never shows."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.state import (
    STATE_ENV_VAR,
    InvalidStateUrl,
    StateStore,
    StateUnavailable,
    redacted_url,
    resolve_state_url,
)


def test_explicit_url_wins_over_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(STATE_ENV_VAR, "postgresql+psycopg://env@db/env")
    assert resolve_state_url("postgresql+psycopg://cli@db/cli", tmp_path) == "postgresql+psycopg://cli@db/cli"


def test_environment_wins_over_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(STATE_ENV_VAR, "postgresql+psycopg://env@db/env")
    assert resolve_state_url(None, tmp_path) == "postgresql+psycopg://env@db/env"


def test_default_is_a_sqlite_file_beside_the_configuration(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(STATE_ENV_VAR, raising=False)
    url = resolve_state_url(None, tmp_path / "configs")
    assert url == f"sqlite:///{(tmp_path / 'configs' / '.reconciler' / 'state.db').resolve()}"
    assert (tmp_path / "configs" / ".reconciler").is_dir()


def test_bare_path_means_sqlite_file_relative_to_working_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve_state_url("states/prod.db", tmp_path / "elsewhere") == f"sqlite:///{tmp_path.resolve()}/states/prod.db"


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+psycopg"])
def test_postgresql_urls_use_the_installed_psycopg3_driver(scheme: str, tmp_path: Path) -> None:
    assert resolve_state_url(f"{scheme}://u@db:5433/state", tmp_path) == "postgresql+psycopg://u@db:5433/state"


@pytest.mark.parametrize("url", ["mysql://u@db/state", "sqlite://", "sqlite:///:memory:"])
def test_unsupported_or_in_memory_states_are_refused(url: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidStateUrl):
        resolve_state_url(url, tmp_path)


def test_refused_url_does_not_echo_its_password(tmp_path: Path) -> None:
    with pytest.raises(InvalidStateUrl) as refused:
        StateStore.open("mysql://ops:hunter2@db/state")
    assert "hunter2" not in str(refused.value)


def test_redacted_url_masks_password_in_userinfo_and_query() -> None:
    shown = redacted_url("postgresql+psycopg://ops:hunter2@db/state?password=hunter3&sslmode=require")
    assert "hunter2" not in shown and "hunter3" not in shown
    assert shown.startswith("postgresql+psycopg://ops:***@db/state?")
    assert "sslmode=require" in shown


def test_unreachable_database_error_names_the_place_but_not_the_password() -> None:
    # Port 1 on loopback: nothing listens there, the connection is refused at once.
    with pytest.raises(StateUnavailable) as raised:
        StateStore.open("postgresql+psycopg://ops:hunter2@127.0.0.1:1/state?connect_timeout=2")
    message = str(raised.value)
    assert "hunter2" not in message
    assert "127.0.0.1:1" in message


def test_missing_sqlite_directory_is_reported_as_unavailable(tmp_path: Path) -> None:
    with pytest.raises(StateUnavailable, match="cannot open the state"):
        StateStore.open(str(tmp_path / "no-such-dir" / "state.db"))


def test_a_file_that_is_not_a_state_database_is_reported_as_unavailable(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("this is not a database\n" * 100)
    with pytest.raises(StateUnavailable, match="not a database"):
        StateStore.open(str(notes))
    assert notes.read_text().startswith("this is not a database")
