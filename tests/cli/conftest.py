"""Fixtures for CLI tests: a private copy of the example configuration, run from its parent
directory, and ``reconcile`` invoked in-process through click's runner."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import cli
from reconciler.state.testing import postgres_server, postgres_url, state_url  # noqa: F401 - fixtures

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "configs"
EXAMPLE = EXAMPLES / "acme"

Reconcile = Callable[..., Result]


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the example in ``tmp_path/config``; the working directory is ``tmp_path``."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RECONCILER_STATE", raising=False)
    return Path(shutil.copytree(EXAMPLE, tmp_path / "config"))


@pytest.fixture
def reconcile() -> Reconcile:
    """Run ``reconcile ARGS...`` in-process; ``input`` feeds stdin."""
    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> Result:
        return runner.invoke(cli, list(args), input=input, catch_exceptions=False)

    return run
