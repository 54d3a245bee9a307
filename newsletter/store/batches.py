"""Batches (one request each) whose answer was lost, and how they are settled.

An unknown batch is settled as a whole by the editor (``resume ISSUE --batch ID
--were-sent`` or ``--resend``), or row by row by ``newsletter reconcile`` from the provider's
own log. Settling the unknown rows of a whole issue at once is kept for the simple case.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import StoreError
from . import Store, utcnow
from .campaigns import campaign_by_slug
from .models import Campaign, Delivery, PartCount, SendBatch, SendEvidence, Subscriber
from .report import UnknownBatch
from .states import (
    CAMPAIGN_QUEUED,
    OUTCOMES,
    SIGHTINGS,
    BatchState,
    CampaignStatus,
    DeliveryState,
    EventKind,
    EvidenceKind,
)


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
    store: Store,
    batch_id: int,
    *,
    sent: Collection[int] | None,
    slug: str | None = None,
    refused: Collection[int] | None = None,
) -> tuple[int, int]:
    """Settle an unknown batch: ``sent`` holds the delivery ids that went out (None: all of
    them); the others are scheduled again, due now. With ``refused`` (evidence row by row)
    only those are scheduled again and the rows with no evidence stay unknown (the batch
    too, while any is left). Returns (marked sent, scheduled)."""
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
        if refused is not None:
            again = [i for i in ids if i in refused and i not in were_sent]
        else:
            again = [] if sent is None else [i for i in ids if i not in sent]
        left = len(ids) - len(were_sent) - len(again)
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
        if not left:
            conn.execute(
                update(SendBatch)
                .where(SendBatch.id == batch_id)
                .values(state=BatchState.SETTLED, settled_at=now)
            )
        if were_sent or again:
            store.event(
                EventKind.SETTLED,
                f"batch {batch_id}: {len(were_sent)} marked sent, {len(again)} to send again"
                + (f", {left} still unknown" if left else ""),
                b.campaign_id,
                conn=conn,
            )
    return len(were_sent), len(again)


@dataclass(frozen=True)
class Lost:
    """An unknown batch as a provider is asked about it: its global id, when its request
    went out, its rows still unknown (delivery id -> address)."""

    id: int
    key: str
    created_at: datetime
    rows: dict[int, str]


def lost_batch(store: Store, batch_id: int) -> Lost:
    with store.begin() as conn:
        b = conn.execute(select(SendBatch).where(SendBatch.id == batch_id)).one()
        rows = conn.execute(
            select(Delivery.id, Subscriber.email)
            .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
            .where(Delivery.batch_id == batch_id, Delivery.state == DeliveryState.UNKNOWN)
        ).all()
    return Lost(b.id, b.idempotency_key, b.created_at, {int(i): str(e) for i, e in rows})


def resend_same_key(store: Store, batch_id: int) -> int:
    """An unknown batch of a provider with idempotency keys: its unknown rows go back to
    the batch, which the next recovery sends again under the SAME key (the provider
    answers with the first request's result instead of sending twice)."""
    with store.begin() as conn:
        n = (
            conn.execute(
                update(Delivery)
                .where(Delivery.batch_id == batch_id, Delivery.state == DeliveryState.UNKNOWN)
                .values(state=DeliveryState.SENDING, claimed_by=None)
            ).rowcount
            or 0
        )
        conn.execute(
            update(SendBatch)
            .where(SendBatch.id == batch_id, SendBatch.state == BatchState.UNKNOWN)
            .values(state=BatchState.SENDING, claimed_by=None)
        )
    return n


#: the outcomes a bounce or complaint rate is judged on
RATED = (EvidenceKind.DELIVERED, EvidenceKind.BOUNCED, EvidenceKind.COMPLAINED)


def record_evidence(conn: Any, sightings: Iterable[tuple[str, int, str]]) -> set[tuple[int, int]]:
    """Remember (batch's global id, delivery id, kind) from a provider's events, in the
    webhook's transaction, and count each outcome once for its part. Only OUR messages
    count: the delivery must have gone out in the batch with that global id (another
    database's delivery 12 is not ours). Returns the parts whose outcomes changed."""
    now = utcnow()
    touched: set[tuple[int, int]] = set()
    for key, delivery_id, kind in sorted(set(sightings)):
        if kind not in SIGHTINGS + OUTCOMES:
            continue
        row = conn.execute(
            select(Delivery.campaign_id, Delivery.part)
            .join(SendBatch, SendBatch.id == Delivery.batch_id)
            .where(Delivery.id == delivery_id, SendBatch.idempotency_key == key)
        ).first()
        if row is None:
            continue
        try:
            with conn.begin_nested():
                conn.execute(
                    insert(SendEvidence).values(
                        batch_key=key[:200],
                        delivery_id=delivery_id,
                        kind=kind,
                        at=now,
                        campaign_id=row.campaign_id,
                        part=row.part,
                    )
                )
        except IntegrityError:
            continue  # told before (providers retry their webhooks)
        if kind in OUTCOMES:
            column = getattr(PartCount, kind)
            conn.execute(
                update(PartCount)
                .where(PartCount.campaign_id == row.campaign_id, PartCount.part == row.part)
                .values({column: column + 1})
            )
            touched.add((row.campaign_id, row.part))
    return touched


def recent_outcomes(conn: Any, campaign_id: int, part: int, window: int) -> Counter[str]:
    """The part's last ``window`` outcomes (delivered, bounced, complained) by kind."""
    kinds = conn.scalars(
        select(SendEvidence.kind)
        .where(
            SendEvidence.campaign_id == campaign_id,
            SendEvidence.part == part,
            SendEvidence.kind.in_(RATED),
        )
        .order_by(SendEvidence.at.desc())
        .limit(window)
    ).all()
    return Counter(kinds)


def evidence(store: Store, key: str) -> tuple[set[int], set[int]]:
    """What the providers' events said of batch ``key``: (sent ids, refused ids)."""
    with store.begin() as conn:
        rows = conn.execute(
            select(SendEvidence.delivery_id, SendEvidence.kind).where(SendEvidence.batch_key == key)
        ).all()
    sent = {int(i) for i, k in rows if k == EvidenceKind.SENT}
    return sent, {int(i) for i, k in rows if k == EvidenceKind.REFUSED} - sent


def resend(store: Store, batch_id: int, slug: str | None = None) -> int:
    """The editor's answer 'the provider's log does not show this batch': send it again."""
    return settle(store, batch_id, sent=(), slug=slug)[1]


def resolve_unknown(store: Store, slug: str, as_state: DeliveryState) -> int:
    """The editor's answer for all 'unknown' rows of an issue: 'sent' or 'scheduled'."""
    if as_state not in (DeliveryState.SENT, DeliveryState.SCHEDULED):
        raise StoreError(f"unknown rows can become 'sent' or 'scheduled', not {as_state!r}")
    with store.begin() as conn:
        ids = [c.id for c in campaign_by_slug(conn, slug, CAMPAIGN_QUEUED)]
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


def pause_if_active(conn: Any, campaign_id: int) -> str | None:
    """Pause a series that is active (its slug), else None."""
    paused = conn.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.status == CampaignStatus.ACTIVE)
        .values(status=CampaignStatus.PAUSED)
    ).rowcount
    return conn.scalar(select(Campaign.slug).where(Campaign.id == campaign_id)) if paused else None
