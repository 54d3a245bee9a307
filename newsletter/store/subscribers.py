"""Subscribers one at a time: add, remove (unsubscribe), forget (erasure), show, the links'
keys; the export; a CSV import (read by :mod:`newsletter.store.csvread`, written by
:mod:`newsletter.store.bulk`).
"""

from __future__ import annotations

import csv
import hmac
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TextIO

from sqlalchemy import Connection, delete, func, select, update

from .. import headers
from ..errors import InputError, StoreError
from . import Store, email_key, erased_key, utcnow
from .bulk import CHUNK, CHUNK_POSTGRES, import_rows, insert_many
from .consent import ConsentRecord, JoinMethod, records
from .csvread import (
    CSV_UTF8_HINT,
    HEADERS,
    ImportResult,
    Row,
    check_readable,
    name_problem,
    normalise_email,
    parse_rows,
    parse_when,
    read_csv,
    valid_timezone,
)
from .driver import insert_ignore
from .models import (
    Consent,
    Delivery,
    Event,
    MailingList,
    Membership,
    SendBatch,
    Subscriber,
    Suppression,
)
from .states import DeliveryState, MembershipStatus, SubscriberStatus, SuppressionReason


def import_csv(
    store: Store, path: Path, *, list_name: str | None = None, resubscribe: bool = False
) -> ImportResult:
    check_readable(path)
    rows, result = parse_rows(path)
    return import_rows(store, rows, result, list_name=list_name, resubscribe=resubscribe)


def add_subscriber(
    store: Store,
    email: str,
    *,
    first_name: str = "",
    last_name: str = "",
    list_name: str | None = None,
    timezone: str | None = None,
    joined_at: datetime | None = None,
    resubscribe: bool = False,
) -> ImportResult:
    try:
        normalised = normalise_email(email)
    except ValueError as exc:
        raise InputError("email", f"{email!r} is not a valid address: {exc}") from None
    if timezone and not valid_timezone(timezone):
        raise InputError(
            "--timezone",
            f"unknown timezone {timezone!r}",
            hint="use a name like Europe/Paris or America/New_York",
        )
    for option, value in (("--first-name", first_name), ("--last-name", last_name)):
        headers.check(value, option, limit=headers.MAX_NAME)
    result = ImportResult()
    row = Row(0, normalised, first_name.strip(), last_name.strip(), "", timezone, joined_at)
    return import_rows(
        store, [row], result, list_name=list_name, resubscribe=resubscribe, method=JoinMethod.CLI
    )


def unsubscribe(
    store: Store, email: str, *, list_name: str | None = None, conn: Connection | None = None
) -> bool:
    """Stop sending to EMAIL (everywhere, or on one list). The record stays. False if unknown."""
    key = email_key(email)
    now = utcnow()
    with store._conn(conn) as c:
        sid = c.scalar(select(Subscriber.id).where(Subscriber.email_key == key))
        if sid is None:
            return False
        if list_name:
            lid = store.list_id(c, list_name)
            c.execute(
                update(Membership)
                .where(Membership.subscriber_id == sid, Membership.list_id == lid)
                .values(status=MembershipStatus.UNSUBSCRIBED)
            )
        else:
            c.execute(
                update(Subscriber)
                .where(Subscriber.id == sid)
                .values(status=SubscriberStatus.UNSUBSCRIBED, unsubscribed_at=now)
            )
            c.execute(
                update(Membership)
                .where(Membership.subscriber_id == sid)
                .values(status=MembershipStatus.UNSUBSCRIBED)
            )
            store.suppress(email, SuppressionReason.UNSUBSCRIBED, source="newsletter", conn=c)
        c.execute(
            update(Delivery)
            .where(Delivery.subscriber_id == sid, Delivery.state == DeliveryState.SCHEDULED)
            .values(state=DeliveryState.SKIPPED, error="unsubscribed")
        )
    return True


def holds(store: Store, subscriber_id: int, key: str | None) -> bool:
    """Whether a link signed for SUBSCRIBER_ID with KEY still opens that subscriber: the
    row is there and holds that key, or (a link made before keys, KEY None) the row is one
    that existed before them. An erased subscriber's links open nothing."""
    with store.begin() as c:
        row = c.execute(
            select(Subscriber.token_key, Subscriber.legacy_links).where(
                Subscriber.id == subscriber_id
            )
        ).first()
    if row is None:
        return False
    if key is None:
        return bool(row.legacy_links)
    return hmac.compare_digest(row.token_key.encode(), key.encode())


def token_key(store: Store, subscriber_id: int) -> str | None:
    """The key signed into SUBSCRIBER_ID's links (None if there is no such subscriber)."""
    with store.begin() as c:
        return c.scalar(select(Subscriber.token_key).where(Subscriber.id == subscriber_id))


@dataclass(frozen=True)
class Forgotten:
    """Who was erased: their id and the ids of the ledger rows deleted with them (which
    name the messages the outbox wrote to them)."""

    subscriber_id: int
    delivery_ids: list[int]


def forget(store: Store, email: str) -> Forgotten | None:
    """Erase the person's rows (an erasure request). Only a hash of the address stays, so
    that a later import cannot add them back. None if EMAIL was not a subscriber.

    :func:`newsletter.erasure.erase` also removes the address from SQLite's WAL and from
    the outbox: use that for a reader's request."""
    key = email_key(email)
    with store.begin() as c:
        sid = c.scalar(select(Subscriber.id).where(Subscriber.email_key == key))
        c.execute(delete(Suppression).where(Suppression.email_key == key))
        store.suppress(email, SuppressionReason.ERASED, source="newsletter", conn=c)
        _blank_address(c, key)
        if sid is None:
            return None
        deliveries = list(c.scalars(select(Delivery.id).where(Delivery.subscriber_id == sid)))
        c.execute(delete(Delivery).where(Delivery.subscriber_id == sid))
        c.execute(delete(Consent).where(Consent.subscriber_id == sid))
        c.execute(delete(Membership).where(Membership.subscriber_id == sid))
        c.execute(delete(Subscriber).where(Subscriber.id == sid))
    return Forgotten(sid, deliveries)


#: what an erased address becomes in the editor's records (events, batch errors)
ERASED = "[erased]"


def _blank_address(c: Connection, key: str) -> None:
    """The address out of messages that may quote it (a provider's refusal, recorded in an
    event and a batch's error), wherever it appears, whatever its case."""
    quoted = re.compile(re.escape(key), re.IGNORECASE)
    for column in (Event.message, SendBatch.error):
        table = column.class_
        for rid, text in c.execute(
            select(table.id, column).where(func.lower(column).contains(key, autoescape=True))
        ):
            c.execute(
                update(table).where(table.id == rid).values({column.key: quoted.sub(ERASED, text)})
            )


EXPORT_COLUMNS = [
    "email",
    "first_name",
    "last_name",
    "lists",
    "tags",
    "timezone",
    "status",
    "subscribed_at",
    "unsubscribed_at",
    # the latest consent record
    "joined_via",
    "consent_form_url",
    "consent_ip",
    "consent_user_agent",
    "consent_text",
    "confirmed_at",
]


def iter_subscribers(
    store: Store, *, list_name: str | None = None, status: str | None = None
) -> Iterator[dict[str, str]]:
    """Subscribers as export rows, streamed from the database."""
    with store.engine.connect() as conn:
        lists = dict(conn.execute(select(MailingList.id, MailingList.name)).all())
        q = select(Subscriber).order_by(Subscriber.id)
        if list_name:
            lid = store.list_id(conn, list_name)
            q = q.join(Membership, Membership.subscriber_id == Subscriber.id).where(
                Membership.list_id == lid
            )
        if status:
            q = q.where(Subscriber.status == status)
        result = conn.execution_options(yield_per=2000).execute(q)
        for part in result.partitions():
            ids = [r.id for r in part]
            member_of: dict[int, list[str]] = {}
            for sid, lid in conn.execute(
                select(Membership.subscriber_id, Membership.list_id).where(
                    Membership.subscriber_id.in_(ids), Membership.status == MembershipStatus.ACTIVE
                )
            ):
                member_of.setdefault(sid, []).append(lists[lid])
            consents = records(conn, ids)
            for r in part:
                latest = consents[r.id][-1] if consents.get(r.id) else None
                yield {
                    "email": r.email,
                    "first_name": r.first_name,
                    "last_name": r.last_name,
                    "lists": ",".join(sorted(member_of.get(r.id, []))),
                    "tags": r.tags,
                    "timezone": r.timezone or "",
                    "status": r.status,
                    "subscribed_at": r.subscribed_at.isoformat() if r.subscribed_at else "",
                    "unsubscribed_at": r.unsubscribed_at.isoformat() if r.unsubscribed_at else "",
                    "joined_via": latest.method if latest else "",
                    "consent_form_url": latest.form_url if latest else "",
                    "consent_ip": latest.ip if latest else "",
                    "consent_user_agent": latest.user_agent if latest else "",
                    "consent_text": latest.consent_text if latest else "",
                    "confirmed_at": (
                        latest.confirmed_at.isoformat() if latest and latest.confirmed_at else ""
                    ),
                }


@dataclass(frozen=True)
class SuppressionRecord:
    """Why nothing more goes to an address, since when, and who said so."""

    reason: str
    source: str
    detail: str
    created_at: datetime


def suppressions_of(conn: Connection, email: str) -> list[SuppressionRecord]:
    """The suppression list's records of EMAIL (as given, or erased: its hash)."""
    return [
        SuppressionRecord(*row)
        for row in conn.execute(
            select(
                Suppression.reason, Suppression.source, Suppression.detail, Suppression.created_at
            )
            .where(Suppression.email_key.in_([email_key(email), erased_key(email)]))
            .order_by(Suppression.created_at, Suppression.id)
        )
    ]


@dataclass(frozen=True)
class Shown:
    fields: dict[str, str]
    lists: list[str]  # "name" or "name (unsubscribed)"
    consents: list[ConsentRecord]
    suppressions: list[SuppressionRecord] = field(default_factory=list)


def show(store: Store, email: str) -> Shown | None:
    """One subscriber with their lists, consent records and suppression records."""
    with store.begin() as conn:
        sub = conn.execute(
            select(Subscriber).where(Subscriber.email_key == email_key(email))
        ).first()
        if sub is None:
            return None
        lists = [
            name if status == MembershipStatus.ACTIVE else f"{name} ({status})"
            for name, status in conn.execute(
                select(MailingList.name, Membership.status)
                .join(Membership, Membership.list_id == MailingList.id)
                .where(Membership.subscriber_id == sub.id)
                .order_by(MailingList.name)
            )
        ]
        consents = records(conn, [sub.id]).get(sub.id, [])
        suppressed = suppressions_of(conn, sub.email)
    fields = {
        "email": sub.email,
        "first_name": sub.first_name,
        "last_name": sub.last_name,
        "timezone": sub.timezone or "",
        "tags": sub.tags,
        "status": sub.status,
        "subscribed_at": f"{sub.subscribed_at:%Y-%m-%d %H:%M} UTC",
    }
    return Shown(fields, lists, consents, suppressed)


def export_csv(store: Store, out: TextIO, **filters: str | None) -> int:
    writer = csv.DictWriter(out, EXPORT_COLUMNS)
    writer.writeheader()
    n = 0
    for row in iter_subscribers(store, **filters):
        writer.writerow(row)
        n += 1
    return n


def count_members(store: Store, list_name: str) -> int:
    with store.begin() as c:
        lid = store.list_id(c, list_name)
        return int(
            c.scalar(
                select(func.count())
                .select_from(Membership)
                .join(Subscriber, Subscriber.id == Membership.subscriber_id)
                .where(
                    Membership.list_id == lid,
                    Membership.status == MembershipStatus.ACTIVE,
                    Subscriber.status == SubscriberStatus.ACTIVE,
                )
            )
            or 0
        )


__all__ = [
    "CHUNK",
    "CHUNK_POSTGRES",
    "CSV_UTF8_HINT",
    "HEADERS",
    "ImportResult",
    "Row",
    "StoreError",
    "check_readable",
    "import_rows",
    "insert_ignore",
    "insert_many",
    "name_problem",
    "normalise_email",
    "parse_rows",
    "parse_when",
    "read_csv",
    "valid_timezone",
    "add_subscriber",
    "count_members",
    "export_csv",
    "forget",
    "import_csv",
    "iter_subscribers",
    "unsubscribe",
]
