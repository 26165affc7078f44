"""Record sync: per-user sync status, record pairs, sync cursors and tombstones; what the engine
learns about a user (linked, resolved mailbox, last Reset Sync done) joins the assignment row.

Revision ID: 0002_record_sync
Revises: 0001_state_core
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_record_sync"
down_revision = "0001_state_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user_assignment") as batch:
        batch.add_column(sa.Column("linked", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("resolved_mailbox", sa.String(), nullable=True))
        batch.add_column(
            sa.Column("reset_completed_generation", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
    op.create_table(
        "user_sync_status",
        sa.Column("user_name", sa.String(), primary_key=True),
        sa.Column("object_type", sa.String(), primary_key=True),
        sa.Column("direction", sa.String(), primary_key=True),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("last_cycle_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=False),
    )
    op.create_table(
        "record_pair",
        sa.Column("user_name", sa.String(), primary_key=True),
        sa.Column("object_type", sa.String(), primary_key=True),
        sa.Column("salesforce_id", sa.String(), primary_key=True),
        sa.Column("exchange_id", sa.String(), nullable=False),
        sa.Column("salesforce_version", sa.String(), nullable=False),
        sa.Column("exchange_version", sa.String(), nullable=False),
        sa.Column("salesforce_hash", sa.String(), nullable=True),
        sa.Column("exchange_hash", sa.String(), nullable=True),
        sa.Column("base", sa.JSON(), nullable=False),
        sa.Column("exchange_stamped", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("user_name", "object_type", "exchange_id", name="uq_record_pair_exchange_id"),
    )
    op.create_table(
        "sync_cursor",
        sa.Column("user_name", sa.String(), primary_key=True),
        sa.Column("object_type", sa.String(), primary_key=True),
        sa.Column("side", sa.String(), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "tombstone",
        sa.Column("user_name", sa.String(), primary_key=True),
        sa.Column("object_type", sa.String(), primary_key=True),
        sa.Column("side", sa.String(), primary_key=True),
        sa.Column("record_id", sa.String(), primary_key=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
    )


def downgrade() -> None:
    for table in ("tombstone", "sync_cursor", "record_pair", "user_sync_status"):
        op.drop_table(table)
    with op.batch_alter_table("user_assignment") as batch:
        batch.drop_column("reset_completed_generation")
        batch.drop_column("resolved_mailbox")
        batch.drop_column("linked")
