"""A database busy with another process's write (SQLite's "database is locked"), and errors
of the database told without their SQL or parameters.

SQLite lets one writer at a time; every connection waits up to ``busy_timeout`` for the
others (:data:`.direct.BUSY_TIMEOUT_MS`). What still finds the database busy after that is
retried with backoff by the long-running parts (the send loop, the import), and reported
as one line by the commands and pages: never the statement, never its parameters (the
engines are made with ``hide_parameters``, and these messages use only the driver's own
words).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError

log = logging.getLogger("newsletter.store")
T = TypeVar("T")

#: the driver's words for "another connection holds the lock" (SQLite; PostgreSQL's lock
#: and serialization failures)
_BUSY_WORDS = (
    "database is locked",
    "database is busy",
    "database table is locked",
    "could not obtain lock",
    "could not serialize access",
    "deadlock detected",
)

BUSY_MESSAGE = "the database is busy with another process's work; try again in a moment"


def is_busy(exc: BaseException) -> bool:
    """Whether ``exc`` says the database is locked by another connection (worth retrying)."""
    if isinstance(exc, DBAPIError):
        exc = exc.orig if exc.orig is not None else exc
    import sqlite3

    if isinstance(exc, sqlite3.OperationalError):
        code = getattr(exc, "sqlite_errorcode", None)
        if code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            return True
    text = str(exc).lower()
    return any(w in text for w in _BUSY_WORDS)


def describe(exc: BaseException) -> str:
    """One line for a database error: the driver's message only (no SQL, no parameters)."""
    if is_busy(exc):
        return BUSY_MESSAGE
    orig = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    first = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    return f"database error: {first[:300]}"


def patient(
    fn: Callable[[], T],
    *,
    what: str,
    stop: threading.Event | None = None,
    patience: float = 600.0,
    sleep: Callable[[float], object] = time.sleep,
) -> T:
    """``fn()``, tried again with backoff (0.05 s doubling to 5 s) while the database is
    busy, for up to ``patience`` seconds; then (or, between tries, once ``stop`` is set)
    the last error is raised. ``fn`` must be one transaction of its own (rolled back when
    it fails)."""
    delay = 0.05
    started = time.monotonic()
    while True:
        try:
            return fn()
        except OperationalError as exc:
            if not is_busy(exc) or time.monotonic() - started > patience:
                raise
            if stop is not None and stop.is_set():
                raise
            log.debug("%s: %s; trying again in %.2f s", what, BUSY_MESSAGE, delay)
        sleep(delay)
        delay = min(delay * 2, 5.0)


__all__ = [
    "BUSY_MESSAGE",
    "DBAPIError",  # what the database raises (for the features' handlers: no SQLAlchemy there)
    "describe",
    "is_busy",
    "patient",
]
