"""Engines and schema migrations of the state database.

SQLite: pysqlite's own transaction handling is switched off so SQLAlchemy emits BEGIN itself
(the recipe in SQLAlchemy's SQLite notes); writes then begin with ``BEGIN IMMEDIATE`` so two
processes serialise on the write lock instead of failing with "database is locked" when one
upgrades its read lock. PostgreSQL runs at READ COMMITTED and relies on row locks taken by
compare-and-set updates.

Migrations are alembic revisions inside this package, run programmatically on open: no
alembic.ini is needed, so they work from an installed wheel.
"""

from __future__ import annotations

import zlib
from functools import cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url

from .errors import StateFromNewerVersion

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# How long a SQLite writer waits for another process's write transaction before giving up.
SQLITE_BUSY_TIMEOUT_SECONDS = 30
_WRITE_OPTIONS = {"state_write": True}
# Serialises concurrent migrations of one PostgreSQL database (any constant 64-bit key works).
_MIGRATION_LOCK_KEY = zlib.crc32(b"reconciler.state.migrations")


def create_state_engine(url: str) -> Engine:
    """An engine for a normalised state URL (see ``url.normalise_state_url``).

    ``hide_parameters`` keeps bound values (record snapshots, ids) out of error messages that
    may end up in CI logs.
    """
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        engine = create_engine(
            url, hide_parameters=True, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    return create_engine(url, hide_parameters=True, pool_pre_ping=True)


def write_engine(engine: Engine) -> Engine:
    """The same engine, marked so that its transactions take the write lock up front."""
    return engine.execution_options(**_WRITE_OPTIONS)


def _sqlite_on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    dbapi_connection.isolation_level = None


def _sqlite_on_begin(connection: Connection) -> None:
    mode = "IMMEDIATE" if connection.get_execution_options().get("state_write") else "DEFERRED"
    connection.exec_driver_sql(f"BEGIN {mode}")


def alembic_config(connection: Connection | None = None) -> Config:
    """An alembic Config pointing at the packaged migrations, optionally bound to a connection."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


@cache
def _script_directory() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    """The newest schema revision this version of reconciler knows."""
    head = _script_directory().get_current_head()
    assert head is not None, "the packaged migrations have no head revision"
    return head


def current_revision(connection: Connection) -> str | None:
    """The schema revision the database is at, None for an empty database."""
    return MigrationContext.configure(connection).get_current_revision()


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision`` (normally head) in one write transaction.

    A database at a revision this version does not know (made by a newer reconciler) is
    refused with ``StateFromNewerVersion`` before anything is written. Concurrent openers wait
    for each other (SQLite write lock, PostgreSQL advisory lock), so a fresh state is created
    exactly once.
    """
    known = {script.revision for script in _script_directory().walk_revisions()}
    with write_engine(engine).begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_KEY})")
        current = current_revision(connection)
        if current is not None and current not in known:
            raise StateFromNewerVersion(current, head_revision())
        target = head_revision() if revision == "head" else revision
        if current != target:
            command.upgrade(alembic_config(connection), target)


def read_engine(engine: Engine) -> Engine:
    """The same engine, giving each read transaction one consistent snapshot.

    SQLite's read transaction is already a snapshot; PostgreSQL's default READ COMMITTED would
    let two SELECTs of one read (e.g. the meta row and the applied resources) straddle an apply.
    """
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="REPEATABLE READ")
    return engine
