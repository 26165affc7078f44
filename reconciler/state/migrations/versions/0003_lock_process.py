"""The state lock names the process holding it (host name and pid), so a run on the same host can
take over a lock whose holder died (SIGKILL, OOM kill, power loss) without ``force-unlock``.
Locks taken by older versions have neither and still need ``force-unlock``.

Revision ID: 0003_lock_process
Revises: 0002_record_sync
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_lock_process"
down_revision = "0002_record_sync"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("state_lock") as batch:
        batch.add_column(sa.Column("host", sa.String(), nullable=True))
        batch.add_column(sa.Column("pid", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("state_lock") as batch:
        batch.drop_column("pid")
        batch.drop_column("host")
