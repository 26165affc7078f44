"""Records to read again next cycle, and when each side was last listed in full.

``sync_revisit`` keeps the records of actions that were deferred or failed: an incremental change
feed would not list again a change that was read but never carried over, so the next plan fetches
them by id. ``sync_cursor.full_listing_at`` says when a side was last listed in full: after a
configurable age the plan lists it in full again and diffs ids against the pairs (Salesforce
getDeleted misses deletes purged from the recycle bin).

Revision ID: 0004_revisits_full_listings
Revises: 0003_lock_process
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_revisits_full_listings"
down_revision = "0003_lock_process"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_revisit",
        sa.Column("user_name", sa.String(), primary_key=True),
        sa.Column("object_type", sa.String(), primary_key=True),
        sa.Column("side", sa.String(), primary_key=True),
        sa.Column("record_id", sa.String(), primary_key=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("sync_cursor") as batch:
        batch.add_column(sa.Column("full_listing_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_cursor") as batch:
        batch.drop_column("full_listing_at")
    op.drop_table("sync_revisit")
