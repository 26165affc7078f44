"""Schema migrations: old states are upgraded with their data, newer ones are left alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

from reconciler.state import StateFromNewerVersion, StateStore
from reconciler.state.database import alembic_config, create_state_engine, current_revision, head_revision, migrate

FIRST_REVISION = "0001_state_core"


def test_a_state_from_the_first_revision_is_upgraded_with_its_data(state_url: str) -> None:
    engine = create_state_engine(state_url)
    migrate(engine, FIRST_REVISION)
    with engine.begin() as connection:
        lineage = connection.exec_driver_sql("SELECT lineage FROM state_meta").scalar_one()
        connection.execute(
            sa.text("UPDATE state_meta SET serial = 7, config_digest = :digest"), {"digest": "d" * 64}
        )
        connection.execute(
            sa.text("INSERT INTO applied_resource (address, document) VALUES (:address, :document)"),
            {"address": "User/alice", "document": json.dumps({"kind": "User", "spec": {"resetSync": 2}})},
        )
        connection.execute(
            sa.text(
                "INSERT INTO user_assignment (user_name, configuration, salesforce_username, mailbox,"
                " reset_generation, updated_at) VALUES ('alice', 'sales', 'alice@acme.example', NULL, 2,"
                " '2026-01-02 03:04:05')"
            )
        )
        connection.execute(
            sa.text(
                "INSERT INTO audit_log (time, actor, git_commit, plan_id, operation, summary)"
                " VALUES ('2026-01-02 03:04:05', 'ops', NULL, 'plan-7', 'apply', :summary)"
            ),
            {"summary": json.dumps({"changes": 3})},
        )
        assert current_revision(connection) == FIRST_REVISION
    engine.dispose()

    with StateStore.open(state_url) as upgraded:
        meta = upgraded.meta()
        assert (meta.lineage, meta.serial) == (lineage, 7)
        applied = upgraded.applied_config()
        assert applied.digest == "d" * 64
        assert applied.resources == {"User/alice": {"kind": "User", "spec": {"resetSync": 2}}}
        [alice] = upgraded.user_statuses()
        assert (alice.configuration, alice.linked, alice.reset_generation, alice.reset_completed_generation) == (
            "sales",
            False,
            2,
            0,
        )
        assert alice.reset_pending
        [entry] = upgraded.audit_log()
        assert (entry.actor, entry.plan_id, entry.summary) == ("ops", "plan-7", {"changes": 3})
        assert upgraded.pairs("alice", "contact") == []


def test_a_state_from_a_newer_version_is_refused_and_untouched(state_url: str) -> None:
    with StateStore.open(state_url) as current:
        lineage = current.meta().lineage
    engine = create_state_engine(state_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0099_from_the_future'")
        connection.exec_driver_sql("CREATE TABLE future_table (id INTEGER PRIMARY KEY)")

    with pytest.raises(StateFromNewerVersion, match="0099_from_the_future.*upgrade reconciler"):
        StateStore.open(state_url)

    with engine.connect() as connection:
        assert current_revision(connection) == "0099_from_the_future"
        assert connection.exec_driver_sql("SELECT lineage FROM state_meta").scalar_one() == lineage
        assert "future_table" in sa.inspect(connection).get_table_names()
    engine.dispose()


def test_migrations_build_exactly_the_schema_the_models_describe(state_url: str) -> None:
    engine = create_state_engine(state_url)
    migrate(engine)
    with engine.connect() as connection:
        differences = compare_metadata(
            MigrationContext.configure(connection, opts={"compare_type": True}), SQLModel.metadata
        )
    engine.dispose()
    assert differences == []


def test_every_migration_can_be_undone_and_redone(state_url: str) -> None:
    engine = create_state_engine(state_url)
    migrate(engine)
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "base")
    with engine.connect() as connection:
        assert current_revision(connection) is None
        assert sa.inspect(connection).get_table_names() == ["alembic_version"]
    migrate(engine)
    with engine.connect() as connection:
        assert current_revision(connection) == head_revision()
    engine.dispose()


def test_migrations_run_from_any_working_directory_without_alembic_ini(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    with StateStore.open("state.db") as opened:
        assert opened.meta().serial == 0
    assert not (tmp_path / "alembic.ini").exists()
