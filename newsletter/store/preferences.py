"""What a reader's own pages read and change: the preferences page (name, time zone, lists,
series, a pause, the data download), the unsubscribe page and the confirmation page.

The rules (which parts move, and where to) are :mod:`newsletter.preferences`'; these are
its statements. A reader's ledger rows are read through the (campaign, reader, part) key,
one probe per series, as the ledger has no index by reader alone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from .core import Store
from .models import Campaign, Delivery, MailingList, Membership, Subscriber
from .states import CAMPAIGN_QUEUED, DeliveryState, MembershipStatus


def subscriber(conn: Connection, subscriber_id: int) -> Any:
    """The reader's row (attribute access by column name), or None."""
    return conn.execute(select(Subscriber).where(Subscriber.id == subscriber_id)).first()


def email_of(store: Store, subscriber_id: int) -> str:
    """The reader's address ("" for a reader who is gone)."""
    with store.begin() as conn:
        return conn.scalar(select(Subscriber.email).where(Subscriber.id == subscriber_id)) or ""


def reader_and_series(
    store: Store, subscriber_id: int, campaign_id: int | None
) -> tuple[Any, Any] | None:
    """The reader's row and the series' (id, title) an unsubscribe link names (None when
    the link names no series or one that is gone); None when the reader is gone."""
    with store.begin() as conn:
        sub = subscriber(conn, subscriber_id)
        series = (
            conn.execute(
                select(Campaign.id, Campaign.title).where(Campaign.id == campaign_id)
            ).first()
            if campaign_id
            else None
        )
    return (sub, series) if sub else None


def _campaign_ids(conn: Connection) -> list[int]:
    return list(conn.scalars(select(Campaign.id)))


def lists_of(conn: Connection, subscriber_id: int) -> list[tuple[int, str, str]]:
    """(list id, name, membership status) of the reader's lists, by name; pending ones left
    out."""
    return [
        (lid, name, status)
        for lid, name, status in conn.execute(
            select(MailingList.id, MailingList.name, Membership.status)
            .join(Membership, Membership.list_id == MailingList.id)
            .where(
                Membership.subscriber_id == subscriber_id,
                Membership.status != MembershipStatus.PENDING,
            )
            .order_by(MailingList.name)
        )
    ]


def series_of(conn: Connection, subscriber_id: int) -> list[tuple[int, str, datetime | None]]:
    """(campaign id, title, when the reader's next part is due or None) of each series that
    may still send and has messages for the reader, oldest series first."""
    found = []
    for cid, title in conn.execute(
        select(Campaign.id, Campaign.title)
        .where(
            Campaign.status.in_(CAMPAIGN_QUEUED),
            select(Delivery.id)
            .where(Delivery.campaign_id == Campaign.id, Delivery.subscriber_id == subscriber_id)
            .exists(),
        )
        .order_by(Campaign.id)
    ):
        due = conn.scalar(
            select(Delivery.due_at)
            .where(
                Delivery.campaign_id == cid,
                Delivery.subscriber_id == subscriber_id,
                Delivery.state == DeliveryState.SCHEDULED,
            )
            .order_by(Delivery.due_at)
            .limit(1)
        )
        found.append((cid, title, due))
    return found


def set_name_and_zone(
    conn: Connection, subscriber_id: int, first_name: str, timezone: str | None
) -> None:
    conn.execute(
        update(Subscriber)
        .where(Subscriber.id == subscriber_id)
        .values(first_name=first_name[:200], timezone=timezone)
    )


def set_membership(conn: Connection, subscriber_id: int, list_id: int, active: bool) -> None:
    conn.execute(
        update(Membership)
        .where(Membership.subscriber_id == subscriber_id, Membership.list_id == list_id)
        .values(status=MembershipStatus.ACTIVE if active else MembershipStatus.UNSUBSCRIBED)
    )


def skip_list(conn: Connection, subscriber_id: int, list_id: int, why: str) -> None:
    """The reader's unsent parts of the series of one list are skipped."""
    conn.execute(
        update(Delivery)
        .where(
            Delivery.subscriber_id == subscriber_id,
            Delivery.state == DeliveryState.SCHEDULED,
            Delivery.campaign_id.in_(select(Campaign.id).where(Campaign.list_id == list_id)),
        )
        .values(state=DeliveryState.SKIPPED, error=why)
    )


def zone_of(conn: Connection, subscriber_id: int) -> str | None:
    """The reader's own time zone (None: each series' default)."""
    return conn.scalar(select(Subscriber.timezone).where(Subscriber.id == subscriber_id))


def unsent(conn: Connection, subscriber_id: int) -> list[Any]:
    """The reader's scheduled rows: id, campaign_id, due_at, and their series' send_at (a
    local hour, or None) and default_timezone."""
    campaigns = _campaign_ids(conn)
    if not campaigns:
        return []
    return list(
        conn.execute(
            select(
                Delivery.id,
                Delivery.campaign_id,
                Delivery.due_at,
                Campaign.send_at,
                Campaign.default_timezone,
            )
            .join(Campaign, Campaign.id == Delivery.campaign_id)
            .where(
                Delivery.campaign_id.in_(campaigns),
                Delivery.subscriber_id == subscriber_id,
                Delivery.state == DeliveryState.SCHEDULED,
            )
        )
    )


def move(conn: Connection, delivery_id: int, due_at: datetime) -> None:
    """A scheduled row's new due time (naive UTC)."""
    conn.execute(update(Delivery).where(Delivery.id == delivery_id).values(due_at=due_at))


def messages_of(
    conn: Connection, subscriber_id: int
) -> list[tuple[str, int, str, datetime, datetime | None]]:
    """(series slug, part, state, due_at, sent_at) of every message to the reader, by due
    time."""
    campaigns = _campaign_ids(conn)
    if not campaigns:
        return []
    return [
        (slug, part, state, due, sent)
        for slug, part, state, due, sent in conn.execute(
            select(Campaign.slug, Delivery.part, Delivery.state, Delivery.due_at, Delivery.sent_at)
            .join(Campaign, Campaign.id == Delivery.campaign_id)
            .where(Delivery.campaign_id.in_(campaigns), Delivery.subscriber_id == subscriber_id)
            .order_by(Delivery.due_at)
        )
    ]


__all__ = [
    "email_of",
    "lists_of",
    "messages_of",
    "move",
    "reader_and_series",
    "series_of",
    "set_membership",
    "set_name_and_zone",
    "skip_list",
    "subscriber",
    "unsent",
    "zone_of",
]
