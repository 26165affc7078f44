"""pytest fixtures for code that needs a real state database, on SQLite and on PostgreSQL.

Use from a conftest: ``from reconciler.state.testing import postgres_url, state_url  # noqa: F401``
(or list ``"reconciler.state.testing"`` in the root conftest's ``pytest_plugins``).

- ``state_url``: parametrized over ``sqlite`` and ``postgresql``; a URL of an empty state database
  private to the test (a file under tmp_path, or a database of its own).
- ``postgres_url``: a URL whose ``search_path`` is a freshly created schema of its own, dropped
  (with everything in it) after the test; skips with a reason when the server is unreachable.

The server is ``postgresql+psycopg://postgres@127.0.0.1:5432/test`` (trust auth) unless
``RECONCILER_TEST_POSTGRES`` names another. A schema per test rather than a database per test:
as isolated for the store (its tables and alembic_version live in the schema) and about ten
times faster to create and migrate, so xdist workers never share tables.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

POSTGRES_ENV_VAR = "RECONCILER_TEST_POSTGRES"
DEFAULT_TEST_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
_CONNECT_TIMEOUT_SECONDS = 3


def _admin_conninfo(server_url: str) -> str:
    url = make_url(server_url)
    return psycopg.conninfo.make_conninfo(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password or None,
        dbname=url.database or "postgres",
        connect_timeout=_CONNECT_TIMEOUT_SECONDS,
    )


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The PostgreSQL server URL, checked once per session; skips when it cannot be reached."""
    server_url = os.environ.get(POSTGRES_ENV_VAR, DEFAULT_TEST_POSTGRES)
    location = f"{make_url(server_url).host}:{make_url(server_url).port or 5432}"
    try:
        with psycopg.connect(_admin_conninfo(server_url)):
            pass
    except psycopg.Error as exc:
        pytest.skip(f"PostgreSQL at {location} not reachable: {str(exc).strip().splitlines()[0]}")
    return server_url


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A URL of a new, empty PostgreSQL schema for this test only, dropped afterwards."""
    schema = f"reconciler_test_{uuid.uuid4().hex}"
    with psycopg.connect(_admin_conninfo(postgres_server), autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        url = make_url(postgres_server).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_admin_conninfo(postgres_server), autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of an empty state database, once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    return request.getfixturevalue("postgres_url")
