"""Alembic environment: always runs on a connection handed in by ``database.migrate``.

There is no offline (SQL script) mode and no alembic.ini: the store owns its connection and its
transaction, so a migration and the checks around it commit or roll back together.
"""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from reconciler.state import models  # noqa: F401  (registers the tables for autogenerate)

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("state migrations run only through reconciler.state.database.migrate()")

context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
