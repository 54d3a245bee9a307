"""Statements handed to the database driver as they are, for the send loop's per-row writes.

Recording a 500-message answer is one UPDATE run 500 times. Through SQLAlchemy each row's
parameters are compiled and processed in Python, which costs more than SQLite's own work
for the row; the driver's ``executemany`` takes the rows as they are. The SQL is written
once with ``%(name)s`` placeholders (psycopg's style) and given to sqlite3 as ``:name``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, DateTime
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .direct import for_sqlite

if TYPE_CHECKING:
    from .core import Store


def insert_ignore(store: Store, table: Any) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING for SQLite and PostgreSQL."""
    ins = pg_insert(table) if store.is_postgres else sqlite_insert(table)
    return ins.on_conflict_do_nothing()


def executemany(conn: Connection, sql: str, rows: Sequence[dict[str, Any]]) -> None:
    """Run ``sql`` once per row in ``rows``, in the connection's transaction."""
    if conn.dialect.paramstyle in ("named", "qmark", "numeric"):  # sqlite3 takes :name
        sql = for_sqlite(sql)
    conn.exec_driver_sql(sql, list(rows))


def datetime_binder(conn: Connection) -> Callable[[datetime | None], Any]:
    """How this database stores a ``DateTime`` column's value (SQLite: the text
    SQLAlchemy writes, so that rows compare and read back alike; PostgreSQL: as it is)."""
    process = DateTime().dialect_impl(conn.dialect).bind_processor(conn.dialect)
    if process is None:
        return _same
    done: dict[datetime, Any] = {}  # a batch's rows share one or two times

    def bind(value: datetime | None) -> Any:
        if value is None:
            return None
        if value not in done:
            done[value] = process(value)
        return done[value]

    return bind


def _same(value: datetime | None) -> datetime | None:
    return value
