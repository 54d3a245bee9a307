"""evidence of what a provider did with a batch whose answer was lost (from webhooks), and
per-part counters of what each part did (delivered, bounced, complained, unsubscribed)

Revision ID: 0010
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "send_evidence",
        sa.Column("batch_key", sa.String(length=200), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("batch_key", "delivery_id", "kind"),
    )
    op.create_table(
        "part_counts",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("campaign_id", "part", "kind"),
    )


def downgrade() -> None:
    op.drop_table("part_counts")
    op.drop_table("send_evidence")
