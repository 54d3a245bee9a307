"""``Store``: the database opened through SQLAlchemy (SQLite by default, PostgreSQL to
scale), its schema brought up to date; lists, suppressions, events and settings."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import StoreError
from ..secrets import scrub
from . import SUPPRESSION_REASONS, email_key, erased_key, utcnow
from .db import make_engine, upgrade
from .direct import Db
from .models import Event, MailingList, Setting, Suppression
from .report import LoggedEvent, Report
from .states import EventKind, SuppressionReason


class Store:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        upgrade(self.engine)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One transaction: committed at the end, rolled back on any error."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def report(self) -> Iterator[Report]:
        """The reads of ``newsletter status`` (:mod:`.report`), in one transaction over this
        engine's DB-API connection."""
        with self.begin() as conn:
            yield Report(Db(conn.connection.driver_connection))

    def close(self) -> None:
        self.engine.dispose()

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    # --- lists ---------------------------------------------------------------------
    def list_id(self, conn: Connection, name: str, *, create: bool = False) -> int:
        found = conn.scalar(select(MailingList.id).where(MailingList.name == name))
        if found is not None:
            return int(found)
        if not create:
            names = list(conn.scalars(select(MailingList.name).order_by(MailingList.name)))
            hint = (
                ("lists: " + ", ".join(names))
                if names
                else (
                    "no lists yet: 'newsletter subscribers import FILE.csv --list NAME' creates one"
                )
            )
            raise StoreError(f"unknown list {name!r}", hint=hint)
        key: Any = conn.execute(
            insert(MailingList).values(name=name, created_at=utcnow())
        ).inserted_primary_key
        return int(key[0])

    # --- suppressions --------------------------------------------------------------
    def suppress(
        self,
        email: str,
        reason: str,
        *,
        source: str = "",
        detail: str = "",
        conn: Connection | None = None,
    ) -> bool:
        """Add an address to the suppression list; False if it was there already."""
        if reason not in SUPPRESSION_REASONS:
            raise StoreError(f"unknown suppression reason {reason!r}")
        key = erased_key(email) if reason == SuppressionReason.ERASED else email_key(email)
        values = dict(
            email_key=key, reason=reason, source=source, detail=detail[:500], created_at=utcnow()
        )
        with self._conn(conn) as c:
            if c.scalar(select(Suppression.id).where(Suppression.email_key == key)):
                return False
            try:
                with c.begin_nested():
                    c.execute(insert(Suppression).values(**values))
            except IntegrityError:
                return False
        return True

    def unsuppress(self, email: str) -> bool:
        with self.begin() as c:
            result = c.execute(
                delete(Suppression).where(
                    Suppression.email_key == email_key(email),
                    Suppression.reason != SuppressionReason.ERASED,
                )
            )
            return bool(result.rowcount)

    def is_suppressed(self, conn: Connection, email: str) -> str | None:
        return conn.scalar(
            select(Suppression.reason).where(
                Suppression.email_key.in_([email_key(email), erased_key(email)])
            )
        )

    def suppressions(self) -> list[Any]:
        with self.begin() as c:
            return list(c.execute(select(Suppression).order_by(Suppression.created_at)).all())

    # --- events and settings -------------------------------------------------------
    def event(
        self,
        kind: EventKind,
        message: str,
        campaign_id: int | None = None,
        conn: Connection | None = None,
    ) -> None:
        with self._conn(conn) as c:
            c.execute(
                insert(Event).values(
                    at=utcnow(),
                    kind=kind,
                    message=scrub(message)[:2000],
                    campaign_id=campaign_id,
                )
            )

    def events(self, limit: int = 20) -> list[LoggedEvent]:
        """The newest events first."""
        with self.report() as report:
            return report.events(limit)

    def setting(self, key: str, default_factory: Callable[[], str] | None = None) -> str | None:
        with self.begin() as c:
            value = c.scalar(select(Setting.value).where(Setting.key == key))
            if value is None and default_factory is not None:
                value = default_factory()
                try:
                    with c.begin_nested():
                        c.execute(insert(Setting).values(key=key, value=value))
                except IntegrityError:
                    value = c.scalar(select(Setting.value).where(Setting.key == key))
            return value

    def put_setting(self, key: str, value: str) -> None:
        """Set a value the tool keeps for itself (insert or replace)."""
        with self.begin() as c:
            done = c.execute(update(Setting).where(Setting.key == key).values(value=value))
            if not done.rowcount:
                c.execute(insert(Setting).values(key=key, value=value))

    def events_since(self, after_id: int, kinds: Sequence[str]) -> list[Any]:
        """Events of these kinds newer than ``after_id``, oldest first."""
        with self.begin() as c:
            return list(
                c.execute(
                    select(Event.id, Event.at, Event.kind, Event.message)
                    .where(Event.id > after_id, Event.kind.in_(list(kinds)))
                    .order_by(Event.id)
                    .limit(100)
                ).all()
            )

    def installation_id(self) -> str:
        """This database's own id, generated once: part of every batch's global id, so that
        two databases on one provider account never take each other's messages."""
        cached = getattr(self, "_installation_id", None)
        if cached is None:
            cached = str(self.setting("installation_id", lambda: secrets.token_hex(6)))
            self._installation_id = cached
        return cached

    def signing_secret(self) -> str:
        """A secret generated once and kept in the database, used when
        NEWSLETTER_SECRET is not set."""
        return str(self.setting("signing_secret", lambda: secrets.token_urlsafe(32)))

    def checkpoint(self) -> bool:
        """SQLite: copy the write-ahead log into the database and empty the log file, so
        that rows just deleted (an erasure) are nowhere on disk (deleted content is zeroed:
        ``secure_delete``). Waits for readers as the busy timeout allows; False if some
        were still reading (the log is then emptied at a later checkpoint). PostgreSQL:
        nothing to do here (True)."""
        if self.engine.dialect.name != "sqlite":
            return True
        with self.engine.connect() as c:
            busy = c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").scalar()
            c.commit()
        return not busy

    @contextmanager
    def _conn(self, conn: Connection | None) -> Iterator[Connection]:
        if conn is not None:
            yield conn
        else:
            with self.begin() as c:
                yield c


__all__ = ["Store"]
