"""State core: meta (lineage, serial), applied configuration, plans applied, user assignments,
audit log and the lock. Creates the meta row, so even an empty state has its lineage.

Revision ID: 0001_state_core
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "0001_state_core"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    state_meta = op.create_table(
        "state_meta",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("lineage", sa.String(36), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("config_digest", sa.String(64), nullable=True),
        sa.CheckConstraint("id = 1", name="ck_state_meta_single_row"),
    )
    op.bulk_insert(
        state_meta,
        [{"id": 1, "lineage": str(uuid.uuid4()), "serial": 0, "created_at": datetime.now(timezone.utc)}],
    )
    op.create_table(
        "applied_resource",
        sa.Column("address", sa.String(), primary_key=True),
        sa.Column("document", sa.JSON(), nullable=False),
    )
    op.create_table(
        "applied_plan",
        sa.Column("plan_id", sa.String(), primary_key=True),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "user_assignment",
        sa.Column("user_name", sa.String(), primary_key=True),
        sa.Column("configuration", sa.String(), nullable=True),
        sa.Column("salesforce_username", sa.String(), nullable=False),
        sa.Column("mailbox", sa.String(), nullable=True),
        sa.Column("reset_generation", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("git_commit", sa.String(), nullable=True),
        sa.Column("plan_id", sa.String(), nullable=True),
        sa.Column("operation", sa.String(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
    )
    op.create_table(
        "state_lock",
        sa.Column("name", sa.String(), primary_key=True),
        sa.Column("lock_id", sa.String(36), nullable=False),
        sa.Column("holder", sa.String(), nullable=False),
        sa.Column("operation", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("lock_id", name="uq_state_lock_lock_id"),
    )


def downgrade() -> None:
    for table in ("state_lock", "audit_log", "user_assignment", "applied_plan", "applied_resource", "state_meta"):
        op.drop_table(table)
