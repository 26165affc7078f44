"""pytest fixtures that start the sandbox in-process on a free port.

Enable with ``pytest_plugins = ["reconciler.sandbox.testing"]`` in a conftest.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .server import Sandbox, load_seed


@pytest.fixture
def sandbox_seed() -> dict:
    """The seed the ``sandbox`` fixture loads; override this fixture to seed other data."""
    return load_seed(None)


@pytest.fixture
def sandbox(tmp_path: Path, sandbox_seed: dict) -> Iterator[Sandbox]:
    """A running sandbox with its own data directory, seeded from ``sandbox_seed``."""
    with Sandbox(data_dir=tmp_path / "sandbox", seed=sandbox_seed) as running:
        yield running
