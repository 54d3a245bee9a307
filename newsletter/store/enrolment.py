"""Enrolment: a reader who joins a list after a sequence was queued for it gets the series
from part 1. One function does it for every path: the sender's sweep before each send
(readers imported or added since), and a reader who just joined on their own (the form of
a single opt-in list, or the confirmation link).

The anchoring rule, the same for both: part 1 is due at the latest of when the reader
joined the list, when the series starts, and now minus the grace window (someone who
joined while nothing was sending, longer ago than the grace window, starts now rather than
missing part 1). Each next part is an interval later, moved to the series' hour in the
reader's zone when it has one (:func:`~newsletter.timing.sequence_due`). A reader enrolled
as they join (``subscriber_id`` given) gets part 1 at that anchor itself, not at the next
such hour: they just asked for it. Rows already there are kept (one row per reader and
part), so the two paths never write a part twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from ..timing import as_utc, parse_at, sequence_due, to_naive_utc, zone
from . import Store
from .driver import insert_ignore
from .models import Campaign, Delivery, Membership, Subscriber
from .states import CampaignStatus, DeliveryState, MembershipStatus, SubscriberStatus


def enroll(
    store: Store,
    now: datetime,
    grace: timedelta = timedelta(0),
    *,
    subscriber_id: int | None = None,
    list_id: int | None = None,
    batch: int = 5000,
) -> int:
    """Ledger rows for the active readers of each active sequence who have none yet: for
    everyone (the sender's sweep, at most ``batch`` readers per series and call), or for
    one reader who just joined ``list_id``. Returns how many rows were added."""
    added = 0
    with store.begin() as conn:
        series = select(Campaign).where(
            Campaign.mode == "sequence", Campaign.status == CampaignStatus.ACTIVE
        )
        if list_id is not None:
            series = series.where(Campaign.list_id == list_id)
        for c in conn.execute(series).all():
            rows = _rows(conn, c, now, grace, subscriber_id, batch)
            if rows:
                conn.execute(insert_ignore(store, Delivery), rows)
                added += len(rows)
    return added


def _rows(
    conn: Connection,
    c: Any,
    now: datetime,
    grace: timedelta,
    subscriber_id: int | None,
    batch: int,
) -> list[dict[str, Any]]:
    """The rows of series ``c`` for its readers without any (see the module's rule)."""
    has_rows = select(Delivery.id).where(
        Delivery.campaign_id == c.id, Delivery.subscriber_id == Membership.subscriber_id
    )
    q = (
        select(Membership.subscriber_id, Membership.joined_at, Subscriber.timezone)
        .join(Subscriber, Subscriber.id == Membership.subscriber_id)
        .where(
            Membership.list_id == c.list_id,
            Membership.status == MembershipStatus.ACTIVE,
            Subscriber.status == SubscriberStatus.ACTIVE,
            ~has_rows.exists(),
        )
        .limit(batch)
    )
    if subscriber_id is not None:
        q = q.where(Membership.subscriber_id == subscriber_id)
    interval = timedelta(seconds=c.interval_seconds)
    at = parse_at(c.send_at)
    rows: list[dict[str, Any]] = []
    for sid, joined, tz_name in conn.execute(q):
        anchor = max(as_utc(joined), as_utc(c.start_at), as_utc(now - grace))
        due = sequence_due(anchor, interval, c.parts, at, zone(tz_name or c.default_timezone))
        if subscriber_id is not None:
            due[0] = anchor  # joined just now: part 1 at once
        rows.extend(
            dict(
                campaign_id=c.id,
                subscriber_id=sid,
                part=k,
                due_at=to_naive_utc(when),
                state=DeliveryState.SCHEDULED,
                attempts=0,
            )
            for k, when in enumerate(due, start=1)
        )
    return rows
