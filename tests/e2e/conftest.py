"""Fixtures for end-to-end tests: the example configuration copied to a private directory, and
``reconcile`` run as a separate process, the way a pipeline runs it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.state.testing import postgres_server, postgres_url, state_url  # noqa: F401 - fixtures

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "configs" / "acme"
RECONCILE = [sys.executable, "-m", "reconciler.cli"]

RunReconcile = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RECONCILER_STATE", raising=False)
    return Path(shutil.copytree(EXAMPLE, tmp_path / "config"))


@pytest.fixture
def run_reconcile(tmp_path: Path) -> RunReconcile:
    """``reconcile ARGS...`` in a child process started in ``tmp_path``."""
    env = {k: v for k, v in os.environ.items() if k != "RECONCILER_STATE"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*RECONCILE, *args], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=120, check=False)

    return run
