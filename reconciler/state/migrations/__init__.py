"""Alembic migrations of the state database (run by ``reconciler.state.database.migrate``)."""
