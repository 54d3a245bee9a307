"""an index of the sent deliveries by part and time (a partial index: sent rows only), so
that the public archive finds when each part first went out with one probe per part instead
of a pass over the whole ledger

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_deliveries_sent",
        "deliveries",
        ["campaign_id", "part", "sent_at"],
        unique=False,
        sqlite_where=sa.text("state = 'sent'"),
        postgresql_where=sa.text("state = 'sent'"),
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_sent", table_name="deliveries")
