"""Queued series (campaigns): their snapshot of parts, the ledger rows written when they
are queued (one per subscriber and part), pausing and cancelling, and the status report.

How rows are claimed and answered is in :mod:`.claims`; batches (requests) and how an
unknown one is settled in :mod:`.batches`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    bindparam,
    func,
    insert,
    select,
    update,
)

from ..errors import StoreError
from ..timing import as_utc, broadcast_due, sequence_due, to_naive_utc, zone
from . import Store, utcnow
from .direct import Db
from .models import Campaign, CampaignPart, Delivery, Membership, Subscriber
from .report import QUEUED, PartStatus, Report, no_queued_series
from .states import (
    CAMPAIGN_QUEUED,
    CampaignStatus,
    DeliveryState,
    EventKind,
    MembershipStatus,
    SubscriberStatus,
)


@dataclass(frozen=True)
class PartSnapshot:
    part: int
    subject: str
    preheader: str
    html: str
    text: str
    words: int
    cta_url: str


#: the statuses a series can be given from (pause an active one, resume a paused one ...)
_SET_FROM = {
    CampaignStatus.PAUSED: [CampaignStatus.ACTIVE],
    CampaignStatus.ACTIVE: [CampaignStatus.PAUSED],
    CampaignStatus.CANCELLED: list(CAMPAIGN_QUEUED),
}
#: rows not sent yet, that cancelling or stopping a series skips
_UNSENT = (DeliveryState.SCHEDULED, DeliveryState.MISSED)
#: rows of a part that has (or may have) gone out to someone
_GONE_OUT = (DeliveryState.SENT, DeliveryState.SENDING, DeliveryState.UNKNOWN)


# --- campaigns -----------------------------------------------------------------------


def create_campaign(
    store: Store,
    conn: Connection,
    *,
    slug: str,
    title: str,
    issue_path: str,
    list_name: str,
    mode: str,
    start: datetime,
    interval: timedelta,
    at: time | None,
    default_tz: str,
    parts: Sequence[PartSnapshot],
) -> int:
    list_id = store.list_id(conn, list_name)
    now = utcnow()
    pk: Any = conn.execute(
        insert(Campaign).values(
            slug=slug,
            title=title,
            issue_path=issue_path,
            list_id=list_id,
            mode=mode,
            start_at=to_naive_utc(start),
            interval_seconds=int(interval.total_seconds()),
            send_at=at.strftime("%H:%M") if at else None,
            default_timezone=default_tz,
            status=CampaignStatus.ACTIVE,
            parts=len(parts),
            created_at=now,
        )
    ).inserted_primary_key
    cid = int(pk[0])
    conn.execute(
        insert(CampaignPart),
        [dict(asdict(p), campaign_id=cid, updated_at=now) for p in parts],
    )
    return int(cid)


def due_times(conn: Connection, campaign_id: int) -> list[datetime]:
    """The distinct times at which the series' messages are due, earliest first."""
    return sorted(
        conn.scalars(select(Delivery.due_at).distinct().where(Delivery.campaign_id == campaign_id))
    )


def refuse_duplicate(store: Store, conn: Connection, slug: str, list_name: str) -> None:
    """Queueing an issue that is already queued for the list would mail everyone twice."""
    list_id = store.list_id(conn, list_name)
    found = conn.execute(
        select(Campaign.created_at, Campaign.mode).where(
            Campaign.slug == slug,
            Campaign.list_id == list_id,
            Campaign.status.in_(CAMPAIGN_QUEUED),
        )
    ).first()
    if found:
        raise StoreError(
            f"{slug!r} is already queued for {list_name!r} ({found.mode}, queued "
            f"{found.created_at:%Y-%m-%d %H:%M} UTC)",
            hint="'newsletter requeue' updates it; pass --again to send the series a second time",
        )


def _at(campaign: Any) -> time | None:
    if not campaign.send_at:
        return None
    h, m = campaign.send_at.split(":")
    return time(int(h), int(m))


def _members(campaign_list: int) -> Select[Any]:
    return (
        select(Membership.subscriber_id)
        .join(Subscriber, Subscriber.id == Membership.subscriber_id)
        .where(
            Membership.list_id == campaign_list,
            Membership.status == MembershipStatus.ACTIVE,
            Subscriber.status == SubscriberStatus.ACTIVE,
        )
    )


def schedule_current_members(conn: Connection, campaign_id: int, now: datetime) -> int:
    """Ledger rows for everyone on the list now; one INSERT ... SELECT per timezone and part,
    so a list of any size is scheduled without loading it."""
    c = conn.execute(select(Campaign).where(Campaign.id == campaign_id)).one()
    default = c.default_timezone
    tz_column = func.coalesce(Subscriber.timezone, default)
    zones = list(conn.scalars(_members(c.list_id).with_only_columns(tz_column).distinct()))
    interval = timedelta(seconds=c.interval_seconds)
    start = as_utc(c.start_at)
    for tz_name in zones:
        tz = zone(tz_name)
        if c.mode == "broadcast":
            due = broadcast_due(start, interval, c.parts, _at(c), tz, zone(default), as_utc(now))
        else:
            due = sequence_due(start, interval, c.parts, _at(c), tz)
        for k, when in enumerate(due, start=1):
            members: Any = (
                _members(c.list_id)
                .where(tz_column == tz_name)
                .with_only_columns(
                    bindparam("cid", campaign_id),
                    Membership.subscriber_id,
                    bindparam("k", k),
                    bindparam("due", to_naive_utc(when)),
                    bindparam("state", DeliveryState.SCHEDULED),
                    bindparam("attempts", 0),
                )
            )
            conn.execute(
                insert(Delivery).from_select(
                    ["campaign_id", "subscriber_id", "part", "due_at", "state", "attempts"],
                    members,
                )
            )
    # Counted, not summed from rowcount: a driver may report -1 or -2 for INSERT ... SELECT.
    return int(conn.scalar(select(func.count()).where(Delivery.campaign_id == campaign_id)) or 0)


def campaign_by_slug(conn: Connection, slug: str, statuses: Iterable[str] = QUEUED) -> list[Any]:
    found = list(
        conn.execute(
            select(Campaign)
            .where(Campaign.slug == slug, Campaign.status.in_(list(statuses)))
            .order_by(Campaign.id)
        )
    )
    if not found:
        raise no_queued_series(slug, Report(Db(conn.connection.driver_connection)).queued_slugs())
    return found


def set_status(store: Store, slug: str, status: CampaignStatus) -> list[int]:
    with store.begin() as conn:
        wanted = _SET_FROM[status]
        found = campaign_by_slug(conn, slug, wanted)
        ids = [c.id for c in found]
        conn.execute(update(Campaign).where(Campaign.id.in_(ids)).values(status=status))
        if status == CampaignStatus.CANCELLED:
            conn.execute(
                update(Delivery)
                .where(Delivery.campaign_id.in_(ids), Delivery.state.in_(_UNSENT))
                .values(state=DeliveryState.SKIPPED, error="cancelled")
            )
        store.event(EventKind(status), f"{slug}: {status}", ids[0], conn=conn)
    return ids


def update_parts(
    store: Store, campaign_id: int, parts: Sequence[PartSnapshot], include_sent: bool = False
) -> tuple[list[int], list[int]]:
    """Replace the snapshot of parts that have not gone out to anyone yet."""
    with store.begin() as conn:
        count = conn.scalar(select(Campaign.parts).where(Campaign.id == campaign_id))
        if count != len(parts):
            raise StoreError(
                f"the issue now makes {len(parts)} parts, the queued series has {count}",
                hint="cancel it and queue the issue again, or set series.parts to "
                f"{count} in the front matter",
            )
        sent_parts = set(
            conn.scalars(
                select(Delivery.part)
                .distinct()
                .where(
                    Delivery.campaign_id == campaign_id,
                    Delivery.state.in_(_GONE_OUT),
                )
            )
        )
        updated, kept = [], []
        for p in parts:
            if p.part in sent_parts and not include_sent:
                kept.append(p.part)
                continue
            changed = {k: v for k, v in asdict(p).items() if k != "part"}
            conn.execute(
                update(CampaignPart)
                .where(CampaignPart.campaign_id == campaign_id, CampaignPart.part == p.part)
                .values(**changed, updated_at=utcnow())
            )
            updated.append(p.part)
    return updated, kept


# --- the send loop's steps -----------------------------------------------------------


def mark_missed(store: Store, cutoff: datetime) -> int:
    """Rows due before ``cutoff`` (now minus the grace window) are not sent late: they are
    marked missed and reported, never dropped silently."""
    with store.begin() as conn:
        rows = conn.execute(
            select(Delivery.campaign_id, func.count())
            .where(
                Delivery.state == DeliveryState.SCHEDULED,
                Delivery.due_at < cutoff,
                Delivery.campaign_id.in_(
                    select(Campaign.id).where(Campaign.status == CampaignStatus.ACTIVE)
                ),
            )
            .group_by(Delivery.campaign_id)
        ).all()
        total = 0
        for cid, n in rows:
            conn.execute(
                update(Delivery)
                .where(
                    Delivery.campaign_id == cid,
                    Delivery.state == DeliveryState.SCHEDULED,
                    Delivery.due_at < cutoff,
                )
                .values(
                    state=DeliveryState.MISSED,
                    error="due while nothing was sending, past the grace window",
                )
            )
            slug = conn.scalar(select(Campaign.slug).where(Campaign.id == cid))
            store.event(
                EventKind.MISSED,
                f"{slug}: {n} messages were due before "
                f"{cutoff:%Y-%m-%d %H:%M} UTC and missed the grace window; "
                f"'newsletter resume {slug} --send-missed' sends them now",
                cid,
                conn=conn,
            )
            total += n
    return total


def part_snapshot(store: Store, campaign_id: int, part: int) -> PartSnapshot:
    with store.begin() as conn:
        r = conn.execute(
            select(CampaignPart).where(
                CampaignPart.campaign_id == campaign_id, CampaignPart.part == part
            )
        ).one()
        return PartSnapshot(r.part, r.subject, r.preheader, r.html, r.text, r.words, r.cta_url)


def head_of_first_part(store: Store, campaign_id: int) -> str:
    """The start of the series' first part as queued (its ``<html lang>``: the language
    readers got it in), or "" for an unknown series."""
    with store.begin() as conn:
        head = conn.scalar(
            select(func.substr(CampaignPart.html, 1, 4000))
            .where(CampaignPart.campaign_id == campaign_id)
            .order_by(CampaignPart.part)
            .limit(1)
        )
    return head or ""


def campaign(store: Store, campaign_id: int) -> Any:
    """The campaign's row (attribute access by column name)."""
    with store.begin() as conn:
        return conn.execute(select(Campaign).where(Campaign.id == campaign_id)).one()


def send_missed_now(store: Store, slug: str, now: datetime) -> int:
    with store.begin() as conn:
        ids = [c.id for c in campaign_by_slug(conn, slug, CAMPAIGN_QUEUED)]
        result = conn.execute(
            update(Delivery)
            .where(Delivery.campaign_id.in_(ids), Delivery.state == DeliveryState.MISSED)
            .values(state=DeliveryState.SCHEDULED, due_at=now, error=None)
        )
        return result.rowcount or 0


def stop_series_for(store: Store, campaign_id: int, subscriber_id: int) -> int:
    """'Stop this series only': the subscriber's remaining parts of one series are skipped."""
    with store.begin() as conn:
        result = conn.execute(
            update(Delivery)
            .where(
                Delivery.campaign_id == campaign_id,
                Delivery.subscriber_id == subscriber_id,
                Delivery.state.in_(_UNSENT),
            )
            .values(state=DeliveryState.SKIPPED, error="stopped this series")
        )
        return result.rowcount or 0


def status(store: Store, slug: str | None = None) -> list[PartStatus]:
    """Every part of every series (or of one issue's), counted by delivery state."""
    with store.report() as report:
        return report.parts(slug)


def next_due(store: Store) -> datetime | None:
    """When the next scheduled message of an active series is due."""
    with store.begin() as conn:
        return conn.scalar(
            select(func.min(Delivery.due_at))
            .join(Campaign, Campaign.id == Delivery.campaign_id)
            .where(
                Delivery.state == DeliveryState.SCHEDULED, Campaign.status == CampaignStatus.ACTIVE
            )
        )
