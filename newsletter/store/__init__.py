"""The store: every statement the application sends to its database, and nothing else.

Features (the pages, the commands, the sender, the feeds) call the store's functions; none
of them holds SQL, a table or a driver, and the store imports no feature (both checked by
``tests/test_layering.py``). Its vocabulary (the states of deliveries, batches,
confirmations, feed entries) is :mod:`.states`.

How the database is reached, in layers, each using only those above it:

1. :mod:`.direct`: the DB-API driver alone (stdlib ``sqlite3`` or psycopg), no SQLAlchemy.
   ``Db`` runs SQL written once with ``%(name)s`` parameters on either; the migrations'
   head read from the scripts' text; the read-only connection of ``newsletter status``
   (``open_current``), which starts without importing SQLAlchemy.
2. :mod:`.db`: the SQLAlchemy engine (SQLite's pragmas, PostgreSQL's plan mode, no
   parameters in errors) and the schema brought up to date by Alembic when
   :mod:`.direct` finds it behind, or made from :mod:`.models` (with :mod:`.triggers`)
   and stamped when the database is new.
3. :mod:`.core`: ``Store``, the one object the rest of the application holds: its engine,
   transactions (``begin``), ``report()`` (a ``Db`` over the engine's own connection, for
   :mod:`.report`'s plain SQL), and the few tables every role shares (lists, suppressions,
   events, settings).
4. The roles, each a module that takes a ``Store`` (or a connection of ``Store.begin``):
   subscribers and their import (:mod:`.subscribers`), consent (:mod:`.consent`), the
   form's confirmations (:mod:`.confirmations`), queued series (:mod:`.campaigns`) and
   a reader's enrolment in them (:mod:`.enrolment`),
   claims and leases (:mod:`.claims`), lost answers (:mod:`.batches`), what ``status``
   shows (:mod:`.report`), feeds (:mod:`.feeds`), a reader's own pages
   (:mod:`.preferences`), the public archive (:mod:`.archive`), the desk's reads
   (:mod:`.lists`, :mod:`.readers`), settings (:mod:`.settings`). :mod:`.driver` serves
   the roles inside their transactions: a ``Db``-style statement run once per row
   through the engine's driver (``executemany``), for the send loop's per-row writes
   where SQLAlchemy's per-row work would cost more than the database's, and each
   dialect's insert-or-ignore.

``Store`` (and SQLAlchemy with it) is loaded when first asked for: ``newsletter status``
reads an up-to-date database without it (:mod:`.report` over :mod:`.direct`).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .states import SuppressionReason

if TYPE_CHECKING:
    from .core import Store

SUPPRESSION_REASONS = tuple(SuppressionReason)


def utcnow() -> datetime:
    """Naive UTC, as stored."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def email_key(email: str) -> str:
    return email.strip().lower()


def erased_key(email: str) -> str:
    """What is kept of an erased address: a hash, enough to refuse re-adding it."""
    return "sha256:" + hashlib.sha256(email_key(email).encode()).hexdigest()


def __getattr__(name: str) -> Any:
    if name == "Store":
        from .core import Store

        return Store
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["SUPPRESSION_REASONS", "Store", "email_key", "erased_key", "utcnow"]
