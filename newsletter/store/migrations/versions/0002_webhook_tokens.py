"""webhook tokens: a replayed Mailgun webhook is refused

Revision ID: 0002_webhook_tokens
Revises: 0001
Create Date: 2026-11-25 13:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_webhook_tokens"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_tokens",
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("token", sa.String(length=200), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("provider", "token"),
    )
    op.create_index("ix_webhook_tokens_seen", "webhook_tokens", ["seen_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_webhook_tokens_seen", table_name="webhook_tokens")
    op.drop_table("webhook_tokens")
