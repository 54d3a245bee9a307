"""What the public archive shows: the parts already sent, when each first went out, and a
part's snapshot.

Read at any ledger size: the parts that sent anything come from the counters kept per part
(``part_counts``, migration 0010), and each one's first send from one probe of the index
of sent rows (``ix_deliveries_sent``: campaign, part, sent_at, for sent rows only;
migration 0011), not from a pass over the deliveries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, literal_column, select

from .core import Store
from .models import Campaign, CampaignPart, Delivery, PartCount
from .states import DeliveryState

#: the partial index's condition, written as it is there (a bound parameter would not match
#: it: SQLite and PostgreSQL use a partial index for a query whose condition implies it)
_SENT = Delivery.state == literal_column(f"'{DeliveryState.SENT.value}'")


@dataclass(frozen=True)
class SentPart:
    """One part of one queued series that has gone out, and when it first did."""

    campaign_id: int
    slug: str
    title: str
    part: int
    subject: str
    preheader: str
    first_sent: datetime


def sent_parts(store: Store, now: datetime) -> list[SentPart]:
    """Every part with a message sent by ``now``, by series (campaign id) and part."""
    first = (
        select(func.min(Delivery.sent_at))
        .where(
            Delivery.campaign_id == PartCount.campaign_id,
            Delivery.part == PartCount.part,
            _SENT,
            Delivery.sent_at <= now,
        )
        .scalar_subquery()
    )
    query = (
        select(
            Campaign.id,
            Campaign.slug,
            Campaign.title,
            CampaignPart.part,
            CampaignPart.subject,
            CampaignPart.preheader,
            first.label("first"),
        )
        .select_from(PartCount)
        .join(Campaign, Campaign.id == PartCount.campaign_id)
        .join(
            CampaignPart,
            and_(
                CampaignPart.campaign_id == PartCount.campaign_id,
                CampaignPart.part == PartCount.part,
            ),
        )
        .where(PartCount.sent > 0)
        .order_by(Campaign.id, CampaignPart.part)
    )
    with store.begin() as conn:
        rows = conn.execute(query).all()
    return [
        SentPart(cid, slug, title, part, subject, preheader, first)
        for cid, slug, title, part, subject, preheader, first in rows
        if first is not None
    ]


def part_html(store: Store, campaign_id: int, part: int) -> str:
    """A part's snapshot as queued ("" when there is none)."""
    with store.begin() as conn:
        html = conn.scalar(
            select(CampaignPart.html).where(
                CampaignPart.campaign_id == campaign_id, CampaignPart.part == part
            )
        )
    return html or ""


__all__ = ["SentPart", "part_html", "sent_parts"]
