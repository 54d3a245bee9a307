"""Opening the database: an engine, the schema brought up to date by Alembic.

Alembic (and its environment) is loaded only when the database is not at the newest
revision: opening an up-to-date database reads its ``alembic_version`` row and compares it
with the head of the scripts in ``migrations/versions`` (:func:`.direct.script_head`, read
from the files, no import).
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.exc import ArgumentError, DatabaseError, NoSuchModuleError

from ..errors import StoreError
from .direct import BUSY_TIMEOUT_MS, MIGRATIONS, PG_OPTIONS, Db, script_head

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

_upgraded: set[str] = set()
#: every engine this process made, so that all can be closed at once (tests, shutdown)
_engines: weakref.WeakSet[Engine] = weakref.WeakSet()
_lock = threading.Lock()


def alembic_config(url: str) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    # What is deleted (an erased reader) is overwritten with zeros, not left in free pages.
    cur.execute("PRAGMA secure_delete=ON")
    cur.close()


def make_engine(url: str) -> Engine:
    try:
        if url.startswith("sqlite"):
            path = url.split("///", 1)[1].split("?", 1)[0] if "///" in url else ""
            if path and path != ":memory:" and not Path(path).parent.is_dir():
                # A typo in the path would otherwise start a new, empty database.
                raise StoreError(
                    f"database URL {_safe(url)!r}: the folder {str(Path(path).parent)!r} "
                    "does not exist",
                    hint="check the path in database_url or $NEWSLETTER_DATABASE_URL, "
                    "or create the folder first",
                )
            # hide_parameters: an error's text never carries a row's values (addresses)
            engine = create_engine(
                url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000}, hide_parameters=True
            )
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            args = {"options": PG_OPTIONS} if url.startswith("postgres") else {}
            engine = create_engine(url, pool_pre_ping=True, connect_args=args, hide_parameters=True)
    except (ArgumentError, NoSuchModuleError) as exc:
        raise StoreError(
            f"database URL {_safe(url)!r} is not usable: {exc}",
            hint="expected sqlite:///PATH or postgresql://USER:PASSWORD@HOST/DB",
        ) from None
    except ImportError as exc:
        raise StoreError(
            f"database URL {_safe(url)!r} needs a driver that is not installed ({exc.name})",
            hint="for PostgreSQL: pip install 'newsletter[postgres]'",
        ) from None
    _engines.add(engine)
    # A store dropped without close(): its connections are closed when it is collected,
    # not left for the driver to find open (psycopg warns then, at whatever moment the
    # garbage collector picks).
    opened: list[Any] = []
    event.listen(
        engine, "connect", lambda dbapi_connection, _record: opened.append(dbapi_connection)
    )
    weakref.finalize(engine, _close_all, opened)
    return engine


def _close_all(connections: list[Any]) -> None:
    for connection in connections:
        with contextlib.suppress(Exception):  # closed already, or its server gone
            connection.close()


def dispose_all() -> None:
    """Close every pooled connection this process opened."""
    for engine in list(_engines):
        engine.dispose()


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid URL>"


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision (once per process and URL)."""
    key = engine.url.render_as_string(hide_password=False)
    with _lock:
        if key in _upgraded:
            return
        try:
            with engine.connect() as conn:
                head = script_head()
                revisions = current_revisions(conn)
                new = head is not None and not revisions and not inspect(conn).get_table_names()
                conn.rollback()  # (the look at the tables began a transaction)
                if new:
                    _create(conn, key)
                elif head is None or revisions != {head}:
                    _migrate(conn, key)
                conn.commit()
        except DatabaseError as exc:  # unreachable, locked, not a database at all ...
            raise StoreError(f"cannot open the database {_safe(key)}: {exc.orig}") from None
        _upgraded.add(key)


def _create(conn: Connection, url: str) -> None:
    """A new, empty database: the models' schema made in one step and stamped with the
    newest revision, as Alembic's cookbook builds a database from scratch (the migrations
    are for databases an older version made; ``tests/test_store.py`` checks that both ways
    give the same schema). A third of the time of running every migration on SQLite.

    All or nothing: Python's sqlite3 commits each CREATE on its own unless a transaction
    was begun, so one is begun explicitly there; a first run stopped halfway leaves an
    empty database, made again at the next start."""
    from alembic import command

    from .models import Base

    with conn.begin():
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN")
        Base.metadata.create_all(conn)
        cfg = alembic_config(url)
        cfg.attributes["connection"] = conn
        command.stamp(cfg, "head")


def _migrate(conn: Connection, url: str) -> None:
    """Run the migrations in one transaction. On SQLite with foreign keys off (set before
    the transaction starts: SQLite ignores the pragma inside one), as Alembic asks for a
    table rebuilt by copy: dropping the old table would otherwise cascade to every row
    that refers to it. They are checked, and turned on again, afterwards."""
    from alembic import command

    sqlite = conn.dialect.name == "sqlite"
    if sqlite:
        conn.rollback()  # (the revision read above began no transaction in SQLite)
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        conn.commit()
    try:
        with conn.begin():
            cfg = alembic_config(url)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            if sqlite and conn.exec_driver_sql("PRAGMA foreign_key_check").first():
                raise StoreError("the database upgrade left rows pointing at nothing")
    finally:
        if sqlite:
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            conn.commit()


def current_revisions(conn: Connection) -> set[str]:
    """The revisions recorded in the database (empty for a new one)."""
    return Db(conn.connection.driver_connection).revisions()


def has_schema(engine: Engine) -> bool:
    return "deliveries" in inspect(engine).get_table_names()
