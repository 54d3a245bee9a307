"""Batches (one request each) whose answer was lost, and how they are settled.

An unknown batch is settled as a whole by the editor (``resume ISSUE --batch ID
--were-sent`` or ``--resend``), or row by row by ``newsletter reconcile`` from the provider's
own log. Settling the unknown rows of a whole issue at once is kept for the simple case.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import select, update

from ..errors import StoreError
from . import Store, utcnow
from .campaigns import campaign_by_slug
from .models import Campaign, Delivery, SendBatch
from .report import UnknownBatch
from .states import BatchState, DeliveryState


def unknown_batches(store: Store, slug: str | None = None) -> list[UnknownBatch]:
    """Batches whose answer was lost, oldest first."""
    with store.report() as report:
        return report.unknown_batches(slug)


def _batch(conn: Any, batch_id: int, slug: str | None) -> Any:
    b = conn.execute(
        select(SendBatch, Campaign.slug)
        .join(Campaign, Campaign.id == SendBatch.campaign_id)
        .where(SendBatch.id == batch_id)
    ).first()
    if b is None or (slug and b.slug != slug):
        where = f" of {slug!r}" if slug else ""
        raise StoreError(
            f"no batch {batch_id}{where}", hint="'newsletter status' lists unknown batches"
        )
    if b.state != BatchState.UNKNOWN:
        raise StoreError(
            f"batch {batch_id} is {b.state}, not unknown: nothing to settle",
            hint="'newsletter status' lists unknown batches",
        )
    return b


def settle(
    store: Store, batch_id: int, *, sent: Collection[int] | None, slug: str | None = None
) -> tuple[int, int]:
    """Settle an unknown batch: ``sent`` holds the delivery ids that went out (None: all of
    them); the others are scheduled again, due now. Returns (marked sent, scheduled)."""
    now = utcnow()
    with store.begin() as conn:
        b = _batch(conn, batch_id, slug)
        ids = list(
            conn.scalars(
                select(Delivery.id).where(
                    Delivery.batch_id == batch_id, Delivery.state == DeliveryState.UNKNOWN
                )
            )
        )
        were_sent = ids if sent is None else [i for i in ids if i in sent]
        again = [] if sent is None else [i for i in ids if i not in sent]
        for chunk in _chunks(were_sent):
            conn.execute(
                update(Delivery)
                .where(Delivery.id.in_(chunk))
                .values(state=DeliveryState.SENT, sent_at=b.created_at, error=None)
            )
        for chunk in _chunks(again):
            conn.execute(
                update(Delivery)
                .where(Delivery.id.in_(chunk))
                .values(state=DeliveryState.SCHEDULED, due_at=now, error=None, claimed_by=None)
            )
        conn.execute(
            update(SendBatch)
            .where(SendBatch.id == batch_id)
            .values(state=BatchState.SETTLED, settled_at=now)
        )
        store.event(
            "settled",
            f"batch {batch_id}: {len(were_sent)} marked sent, {len(again)} to send again",
            b.campaign_id,
            conn=conn,
        )
    return len(were_sent), len(again)


def resend(store: Store, batch_id: int, slug: str | None = None) -> int:
    """The editor's answer 'the provider's log does not show this batch': send it again."""
    return settle(store, batch_id, sent=(), slug=slug)[1]


def resolve_unknown(store: Store, slug: str, as_state: str) -> int:
    """The editor's answer for all 'unknown' rows of an issue: 'sent' or 'scheduled'."""
    if as_state not in (DeliveryState.SENT, DeliveryState.SCHEDULED):
        raise StoreError(f"unknown rows can become 'sent' or 'scheduled', not {as_state!r}")
    with store.begin() as conn:
        ids = [c.id for c in campaign_by_slug(conn, slug, ("active", "paused"))]
        values: dict[str, Any] = {"state": as_state, "claimed_by": None, "error": None}
        if as_state == DeliveryState.SCHEDULED:
            values["due_at"] = utcnow()  # due now, not missed for being old
        result = conn.execute(
            update(Delivery)
            .where(Delivery.campaign_id.in_(ids), Delivery.state == DeliveryState.UNKNOWN)
            .values(**values)
        )
        conn.execute(
            update(SendBatch)
            .where(SendBatch.campaign_id.in_(ids), SendBatch.state == BatchState.UNKNOWN)
            .values(state=BatchState.SETTLED, settled_at=utcnow())
        )
        return result.rowcount or 0


def _chunks(ids: list[int], size: int = 900) -> list[list[int]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]
