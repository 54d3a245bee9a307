"""links that cannot change hands: subscriber ids never given again (SQLite AUTOINCREMENT)
and a random key per subscriber signed into every link; existing subscribers keep their
old links (``legacy_links``) until they are erased

SQLite cannot add AUTOINCREMENT to a table: the table is copied into a new one and renamed.
Foreign keys are off while migrations run (:func:`newsletter.store.db.upgrade`), so that
dropping the old table does not cascade to memberships, consents and deliveries; this
migration refuses to run otherwise.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

#: the columns before this migration, in order
COLUMNS = (
    "id",
    "email",
    "email_key",
    "first_name",
    "last_name",
    "timezone",
    "tags",
    "status",
    "subscribed_at",
    "unsubscribed_at",
)


def _table(name: str) -> sa.Table:
    return sa.Table(
        name,
        sa.MetaData(),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("email_key", sa.String(length=320), nullable=False),
        sa.Column("first_name", sa.String(length=200), nullable=False),
        sa.Column("last_name", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("tags", sa.String(length=1000), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("subscribed_at", sa.DateTime(), nullable=False),
        sa.Column("unsubscribed_at", sa.DateTime(), nullable=True),
        sa.Column("token_key", sa.String(length=32), nullable=False),
        sa.Column("legacy_links", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email_key"),
        sqlite_autoincrement=True,
    )


def _rebuild_sqlite() -> None:
    conn = op.get_bind()
    if conn.exec_driver_sql("PRAGMA foreign_keys").scalar():
        raise RuntimeError(
            "migration 0008 needs foreign keys off (dropping the old subscribers table "
            "would delete every membership, consent record and delivery)"
        )
    _table("_subscribers_0008").create(conn)
    cols = ", ".join(COLUMNS)
    # every existing subscriber: a random key, and the old links kept
    conn.exec_driver_sql(
        f"INSERT INTO _subscribers_0008 ({cols}, token_key, legacy_links) "
        f"SELECT {cols}, lower(hex(randomblob(9))), 1 FROM subscribers"
    )
    op.drop_table("subscribers")
    op.rename_table("_subscribers_0008", "subscribers")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite()
        return
    # PostgreSQL: ids come from a sequence, never given again; the columns are added.
    op.add_column("subscribers", sa.Column("token_key", sa.String(length=32), nullable=True))
    op.execute(
        "UPDATE subscribers SET token_key = "
        "substr(md5(random()::text || clock_timestamp()::text || id::text), 1, 18)"
    )
    op.alter_column("subscribers", "token_key", nullable=False)
    op.add_column(
        "subscribers",
        sa.Column("legacy_links", sa.Boolean(), server_default=sa.true(), nullable=False),
    )
    op.alter_column("subscribers", "legacy_links", server_default=sa.false())


def downgrade() -> None:  # (SQLite keeps AUTOINCREMENT: harmless)
    if op.get_bind().dialect.name == "sqlite":
        op.get_bind().exec_driver_sql("ALTER TABLE subscribers DROP COLUMN legacy_links")
        op.get_bind().exec_driver_sql("ALTER TABLE subscribers DROP COLUMN token_key")
        return
    op.drop_column("subscribers", "legacy_links")
    op.drop_column("subscribers", "token_key")
