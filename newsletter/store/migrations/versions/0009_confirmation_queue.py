"""the confirmation emails' queue: sent after the subscribe form's answer, at most one per
address, list and window

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "confirmations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "subscriber_id",
            sa.Integer(),
            sa.ForeignKey("subscribers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "list_id", sa.Integer(), sa.ForeignKey("lists.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("throttle_key", sa.String(80), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(200), nullable=True),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("error", sa.String(500), nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_confirmations_due", "confirmations", ["state", "due_at"])
    op.create_index(
        "ix_confirmations_throttle", "confirmations", ["throttle_key", "list_id", "created_at"]
    )
    op.create_index("ix_confirmations_subscriber", "confirmations", ["subscriber_id"])


def downgrade() -> None:
    op.drop_table("confirmations")
