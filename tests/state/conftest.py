"""Fixtures of the state tests: every backend-neutral test runs on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from reconciler.state import StateStore
from reconciler.state.testing import postgres_server, postgres_url, state_url  # noqa: F401  (fixtures)


@pytest.fixture
def store(state_url: str) -> Iterator[StateStore]:  # noqa: F811  (state_url is the imported fixture)
    """An opened (created and migrated) state store on each backend."""
    with StateStore.open(state_url) as opened:
        yield opened
