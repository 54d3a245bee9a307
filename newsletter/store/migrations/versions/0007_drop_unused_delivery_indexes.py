"""drop the deliveries' indexes on message_id and claimed_by: no query reads through them,
and every send wrote to both (a random provider id per row made recording a 500-row answer
about 3 times slower)

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch_op:
        batch_op.drop_index("ix_deliveries_message")
        batch_op.drop_index("ix_deliveries_claim")


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch_op:
        batch_op.create_index("ix_deliveries_claim", ["claimed_by"], unique=False)
        batch_op.create_index("ix_deliveries_message", ["message_id"], unique=False)
