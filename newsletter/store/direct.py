"""The database without SQLAlchemy: the migrations' head, the recorded revision, and a
connection that only reads, for commands that only show what is in the database.

``newsletter status`` reads an up-to-date database through the DB-API driver alone
(stdlib ``sqlite3``, or psycopg), so that it starts without importing SQLAlchemy; a
database that is new or older than the scripts goes through :class:`~newsletter.store.Store`
instead, which brings it up to date.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

#: psycopg prepares a statement on its 5th run, and PostgreSQL may then reuse a generic plan
#: made for the tables' sizes at that time (a full scan for a list of addresses once a table
#: has grown): prepared statements keep their parsing, but are planned for their values.
PG_OPTIONS = "-c plan_cache_mode=force_custom_plan"

#: how long a SQLite connection waits for another's write to finish before "database is
#: locked" (every connection: the engine's and the direct ones); writers keep their
#: transactions short (an import commits every chunk), so that a wait is a fraction of this
BUSY_TIMEOUT_MS = 15_000

_REVISION = re.compile(r"^revision(?::[^=]*)?\s*=\s*['\"]([^'\"]+)['\"]", re.M)
_DOWN = re.compile(r"^down_revision(?::[^=]*)?\s*=\s*(.+)$", re.M)


@functools.cache
def script_head() -> str | None:
    """The single head revision of the migration scripts, read from their text; None when
    that is not clear (then Alembic decides)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        rev, down = _REVISION.search(source), _DOWN.search(source)
        if rev is None:
            continue  # __init__.py
        if down is None:
            return None
        revisions.add(rev.group(1))
        parents.update(re.findall(r"['\"]([^'\"]+)['\"]", down.group(1)))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


_PYFORMAT = re.compile(r"%\((\w+)\)s")


def for_sqlite(sql: str) -> str:
    """SQL written with psycopg's ``%(name)s`` parameters, as sqlite3 takes them
    (``:name``)."""
    return _PYFORMAT.sub(r":\1", sql)


class Db:
    """A DB-API connection (sqlite3 or psycopg) that runs queries written once.

    Parameters are written ``%(name)s`` (psycopg's style, as :mod:`.driver`'s statements)
    and given as a dict; for sqlite3 each becomes ``:name``.
    """

    def __init__(self, conn: Any) -> None:
        import sqlite3

        self.conn = conn
        self.is_sqlite = isinstance(conn, sqlite3.Connection)

    def rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        cur = self.conn.cursor()
        try:
            cur.execute(for_sqlite(sql) if self.is_sqlite else sql, params or {})
            return list(cur.fetchall())
        finally:
            cur.close()

    def revisions(self) -> set[str]:
        """The migrations recorded in the database (empty for a new one)."""
        if self.is_sqlite:
            found = self.rows(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
            )
        else:
            found = [r for r in self.rows("SELECT to_regclass('alembic_version')") if r[0]]
        if not found:
            return set()
        return {str(r[0]) for r in self.rows("SELECT version_num FROM alembic_version")}


def database_error(exc: BaseException) -> str | None:
    """One line for an error of the database (busy, unreachable...: the driver's words, no
    SQL, no parameters), or None for any other error. Loads nothing: a driver or SQLAlchemy
    not loaded yet raised nothing."""
    driver_errors: list[type[BaseException]] = []
    if "sqlalchemy" in sys.modules:
        from sqlalchemy.exc import DBAPIError

        driver_errors.append(DBAPIError)
    if "sqlite3" in sys.modules:
        import sqlite3

        driver_errors.append(sqlite3.Error)
    if not isinstance(exc, tuple(driver_errors)):
        return None
    from .busy import describe

    return describe(exc)


def when(value: Any) -> datetime | None:
    """A stored DateTime (naive UTC): SQLite gives text, PostgreSQL a datetime."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def open_current(url: str) -> Db | None:
    """The database at ``url`` opened for reading only, when it exists and its schema is at the
    migrations' head; None otherwise (a new, older or unreadable database, or a URL this
    does not read: the caller opens it through the Store, which migrates it or says why
    it cannot)."""
    head = script_head()
    if head is None:
        return None
    db = _connect_sqlite(url) if url.startswith("sqlite:///") else None
    if url.startswith(("postgresql:", "postgresql+psycopg:", "postgres:")):
        db = _connect_postgres(url)
    if db is None:
        return None
    try:
        if db.revisions() == {head}:
            return db
    except Exception:  # whatever fails here: open it the usual way, which says why
        pass
    db.conn.close()
    return None


def _connect_sqlite(url: str) -> Db | None:
    """Read-write but with every change refused (``query_only``): so that, the last one to
    close, it removes the -wal and -shm files as the other commands do (a read-only
    connection would leave them behind). A file this user may not write is opened
    read-only. Never a new file (``mode=rw`` creates none)."""
    import sqlite3

    path = url[len("sqlite:///") :]
    if not path or path == ":memory:" or "?" in path or not Path(path).is_file():
        return None
    for mode in ("rw", "ro"):
        try:
            conn = sqlite3.connect(
                f"file:{quote(path)}?mode={mode}",
                uri=True,
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,
            )
        except sqlite3.Error:
            continue
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA query_only = ON")
            conn.execute("BEGIN")  # one snapshot for every read of the command
        except sqlite3.Error:
            conn.close()
            return None
        return Db(conn)
    return None


def _connect_postgres(url: str) -> Db | None:
    try:
        import psycopg
    except ImportError:
        return None
    conninfo = re.sub(r"^postgres(?:ql)?(?:\+psycopg)?://", "postgresql://", url)
    try:
        conn = psycopg.connect(conninfo, options=PG_OPTIONS)
        conn.read_only = True
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    except psycopg.Error:
        return None
    return Db(conn)


__all__ = [
    "BUSY_TIMEOUT_MS",
    "MIGRATIONS",
    "PG_OPTIONS",
    "Db",
    "database_error",
    "open_current",
    "script_head",
    "when",
]
