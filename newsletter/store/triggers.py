"""The part counters' triggers: every change to a delivery's state counted in
``part_counts`` in the same transaction (SQLite: row triggers; PostgreSQL: statement
triggers over transition tables). Made by migration 0010 on a database that existed before
it, and with the tables (:mod:`.models`) on a new one; ``tests/test_store.py`` checks that
both ways give the same triggers. A change to them needs a migration that replaces them.
"""

from __future__ import annotations

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


def statements(dialect: str) -> list[str]:
    """The statements that make the triggers on this database."""
    return POSTGRES if dialect == "postgresql" else SQLITE
