"""Fixtures for engine tests: a private copy of the example configuration and a real state store
on each backend (SQLite file, throwaway PostgreSQL database)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.state import StateStore
from reconciler.state.testing import postgres_server, postgres_url, state_url  # noqa: F401 - fixtures

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "configs" / "acme"


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A copy of the example, so tests can edit files without touching the repository."""
    return Path(shutil.copytree(EXAMPLE, tmp_path / "config"))


@pytest.fixture
def store(state_url: str) -> Iterator[StateStore]:  # noqa: F811 - the imported fixture
    with StateStore.open(state_url) as opened:
        yield opened
