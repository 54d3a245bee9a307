"""evidence of what a provider did with a batch whose answer was lost (from webhooks), and
per-part counters of what each part did (delivered, bounced, complained, unsubscribed)

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from newsletter.store.triggers import COLUMNS, STATES, statements

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "send_evidence",
        sa.Column("batch_key", sa.String(length=200), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("batch_key", "delivery_id", "kind"),
    )
    op.create_index(
        "ix_send_evidence_part", "send_evidence", ["campaign_id", "part", "at"], unique=False
    )
    op.create_table(
        "part_counts",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        *(sa.Column(c, sa.Integer(), nullable=False, server_default="0") for c in COLUMNS),
        sa.Column("next_due", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("campaign_id", "part"),
    )
    bind = op.get_bind()
    for sql in statements(bind.dialect.name):
        op.execute(sql)
    # The counts of what is already in the ledger.
    op.execute(
        "INSERT INTO part_counts (campaign_id, part, "
        + ", ".join(STATES)
        + ") SELECT campaign_id, part, "
        + ", ".join(f"SUM(CASE WHEN state = '{s}' THEN 1 ELSE 0 END)" for s in STATES)
        + " FROM deliveries GROUP BY campaign_id, part"
    )
    op.execute(
        "UPDATE part_counts SET next_due = (SELECT MIN(d.due_at) FROM deliveries d"
        " WHERE d.campaign_id = part_counts.campaign_id AND d.part = part_counts.part"
        " AND d.state = 'scheduled')"
    )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for name in ("ins", "upd", "del"):
            op.execute(f"DROP TRIGGER IF EXISTS part_counts_{name} ON deliveries")
            op.execute(f"DROP FUNCTION IF EXISTS part_counts_{name}()")
    else:
        for name in ("ins", "upd", "del", "next"):
            op.execute(f"DROP TRIGGER IF EXISTS part_counts_{name}")
    op.drop_table("part_counts")
    op.drop_index("ix_send_evidence_part", table_name="send_evidence")
    op.drop_table("send_evidence")
