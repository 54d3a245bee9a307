"""the ledger is the only queue: batches (one row per request), sender heartbeats;
APScheduler's job table goes

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if "apscheduler_jobs" in sa.inspect(bind).get_table_names():
        op.drop_table("apscheduler_jobs")
    op.create_table(
        "batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("message_ids", sa.Text(), nullable=True),
        sa.Column("error", sa.String(length=1000), nullable=True),
        sa.Column("settled_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_batches_state", "batches", ["state"], unique=False)
    op.create_table(
        "senders",
        sa.Column("token", sa.String(length=200), nullable=False),
        sa.Column("host", sa.String(length=200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("command", sa.String(length=40), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("token"),
    )
    op.create_index("ix_senders_seen", "senders", ["last_seen"], unique=False)
    with op.batch_alter_table("deliveries") as batch_op:
        batch_op.add_column(sa.Column("batch_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_deliveries_batch", ["batch_id"], unique=False)
    # Rows a sender left mid-request before batches existed: no batch can take them over.
    op.execute(
        "UPDATE deliveries SET state = 'unknown', claimed_by = NULL, error = 'the sender "
        "stopped mid-request before an upgrade; check the provider''s log' "
        "WHERE state = 'sending'"
    )


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch_op:
        batch_op.drop_index("ix_deliveries_batch")
        batch_op.drop_column("batch_id")
    op.drop_index("ix_senders_seen", table_name="senders")
    op.drop_table("senders")
    op.drop_index("ix_batches_state", table_name="batches")
    op.drop_table("batches")
