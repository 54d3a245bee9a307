"""One reader as the editor's desk shows them: what ``subscribers show`` prints, and the
messages of each series to them (part by part, with their state)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from . import Store, email_key
from .models import Campaign, Delivery, Subscriber
from .subscribers import Shown, show

#: at most this many of one reader's messages are listed (newest series first)
DELIVERY_LIMIT = 500


@dataclass(frozen=True)
class ReaderDelivery:
    slug: str
    title: str
    part: int
    state: str
    due_at: datetime
    sent_at: datetime | None
    error: str


@dataclass(frozen=True)
class ReaderPage:
    shown: Shown
    deliveries: list[ReaderDelivery]


def reader_page(store: Store, email: str) -> ReaderPage | None:
    """The reader with address EMAIL (None when there is none) and their messages."""
    shown = show(store, email)
    if shown is None:
        return None
    with store.engine.connect() as conn:
        sid = conn.scalar(select(Subscriber.id).where(Subscriber.email_key == email_key(email)))
        # The ledger has no index by reader alone: its (campaign, reader, part) key is
        # probed once per series instead (a few dozen series, not millions of rows).
        campaigns = list(conn.scalars(select(Campaign.id)))
        rows = (
            conn.execute(
                select(
                    Campaign.slug,
                    Campaign.title,
                    Delivery.part,
                    Delivery.state,
                    Delivery.due_at,
                    Delivery.sent_at,
                    Delivery.error,
                )
                .join(Campaign, Campaign.id == Delivery.campaign_id)
                .where(Delivery.campaign_id.in_(campaigns), Delivery.subscriber_id == sid)
                .order_by(Campaign.id.desc(), Delivery.part)
                .limit(DELIVERY_LIMIT)
            ).all()
            if campaigns and sid is not None
            else []
        )
    found = [
        ReaderDelivery(slug, title, part, str(state), due, sent, error or "")
        for slug, title, part, state, due, sent, error in rows
    ]
    return ReaderPage(shown, found)
