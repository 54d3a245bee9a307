"""evidence of what a provider did with a batch whose answer was lost (from webhooks), and
per-part counters of what each part did (delivered, bounced, complained, unsubscribed)

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

#: the deliveries' states, each counted per part by the triggers below
STATES = ("scheduled", "sending", "sent", "failed", "skipped", "missed", "unknown")
#: and what the providers' events say each part did
EVENTS = ("delivered", "bounced", "complained", "unsubscribed")
COLUMNS = STATES + EVENTS


def _sqlite_change(*rows: tuple[str, str]) -> str:
    """One UPDATE of the part's counters: +1/-1 for each (row, sign)."""
    sets = ", ".join(
        f"{s} = {s}" + "".join(f" {sign} ({row}.state = '{s}')" for row, sign in rows)
        for s in STATES
    )
    row = rows[0][0]
    return (
        f" UPDATE part_counts SET {sets}"
        f" WHERE campaign_id = {row}.campaign_id AND part = {row}.part;"
    )


#: a new delivery: its part's row made if need be, in one statement
_SQLITE_INSERT = (
    f" INSERT INTO part_counts (campaign_id, part, {', '.join(STATES)}, next_due)"
    " VALUES (NEW.campaign_id, NEW.part, "
    + ", ".join(f"NEW.state = '{s}'" for s in STATES)
    + ", CASE WHEN NEW.state = 'scheduled' THEN NEW.due_at END)"
    " ON CONFLICT (campaign_id, part) DO UPDATE SET "
    + ", ".join(f"{s} = {s} + excluded.{s}" for s in STATES)
    + ", next_due = CASE WHEN excluded.next_due IS NOT NULL AND (next_due IS NULL"
    " OR excluded.next_due < next_due) THEN excluded.next_due ELSE next_due END;"
)


#: the earliest due time any scheduled row of the part had: a lower bound of the next send
#: (status checks it with one index probe), kept by the same triggers
_SQLITE_NEXT = (
    " UPDATE part_counts SET next_due = CASE WHEN next_due IS NULL OR NEW.due_at < next_due"
    " THEN NEW.due_at ELSE next_due END"
    " WHERE campaign_id = NEW.campaign_id AND part = NEW.part AND NEW.state = 'scheduled';"
)

#: SQLite: row triggers, in the transaction of the statement that changes a delivery
SQLITE = [
    "CREATE TRIGGER part_counts_next AFTER UPDATE OF state, due_at ON deliveries"
    " WHEN NEW.state = 'scheduled' BEGIN" + _SQLITE_NEXT + " END",
    "CREATE TRIGGER part_counts_ins AFTER INSERT ON deliveries BEGIN" + _SQLITE_INSERT + " END",
    # (a delivery never changes its campaign or part)
    "CREATE TRIGGER part_counts_upd AFTER UPDATE OF state ON deliveries"
    " WHEN OLD.state IS NOT NEW.state BEGIN" + _sqlite_change(("NEW", "+"), ("OLD", "-")) + " END",
    "CREATE TRIGGER part_counts_del AFTER DELETE ON deliveries BEGIN"
    + _sqlite_change(("OLD", "-"))
    + " END",
]


_PG_NEXT = (
    "UPDATE part_counts p SET next_due = LEAST(COALESCE(p.next_due, m.d), m.d) FROM"
    " (SELECT campaign_id, part, MIN(due_at) AS d FROM new_rows WHERE state = 'scheduled'"
    " GROUP BY campaign_id, part) AS m"
    " WHERE p.campaign_id = m.campaign_id AND p.part = m.part; "
)


def _pg_function(name: str, source: str) -> str:
    sums = ", ".join(f"SUM(CASE WHEN state = '{s}' THEN d ELSE 0 END)" for s in STATES)
    sets = ", ".join(f"{s} = part_counts.{s} + EXCLUDED.{s}" for s in STATES)
    return (
        f"CREATE FUNCTION part_counts_{name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"INSERT INTO part_counts (campaign_id, part, {', '.join(STATES)}) "
        f"SELECT campaign_id, part, {sums} FROM ({source}) AS delta "
        "GROUP BY campaign_id, part ORDER BY campaign_id, part "
        f"ON CONFLICT (campaign_id, part) DO UPDATE SET {sets}; "
        + (_PG_NEXT if name != "del" else "")
        + "RETURN NULL; END $$"
    )


#: PostgreSQL: one statement trigger each (transition tables), rows locked in one order
#: (one counter row per part, so two transactions never wait on each other crosswise)
POSTGRES = [
    _pg_function("ins", "SELECT campaign_id, part, state, 1 AS d FROM new_rows"),
    _pg_function(
        "upd",
        "SELECT n.campaign_id, n.part, n.state, 1 AS d FROM new_rows n JOIN old_rows o"
        " ON o.id = n.id WHERE o.state IS DISTINCT FROM n.state UNION ALL"
        " SELECT o.campaign_id, o.part, o.state, -1 FROM new_rows n JOIN old_rows o"
        " ON o.id = n.id WHERE o.state IS DISTINCT FROM n.state",
    ),
    _pg_function("del", "SELECT campaign_id, part, state, -1 AS d FROM old_rows"),
    "CREATE TRIGGER part_counts_ins AFTER INSERT ON deliveries REFERENCING NEW TABLE AS"
    " new_rows FOR EACH STATEMENT EXECUTE FUNCTION part_counts_ins()",
    "CREATE TRIGGER part_counts_upd AFTER UPDATE ON deliveries REFERENCING OLD TABLE AS"
    " old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION part_counts_upd()",
    "CREATE TRIGGER part_counts_del AFTER DELETE ON deliveries REFERENCING OLD TABLE AS"
    " old_rows FOR EACH STATEMENT EXECUTE FUNCTION part_counts_del()",
]


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
    for sql in POSTGRES if bind.dialect.name == "postgresql" else SQLITE:
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
