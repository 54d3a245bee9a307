"""A reader's own choices, from the signed preferences page: first name, time zone, which
lists and series, a pause, and their data (download, erase).

Every change acts on the ledger rows not sent yet, so it holds from the next part on: a new
time zone moves the due times of a series sent at a local hour (``--at``), a pause moves the
remaining parts later by the pause, leaving a list or series skips its remaining parts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select, update

from .errors import InputError
from .store import Store, ledger
from .store import consent as joins
from .store.models import Campaign, Delivery, MailingList, Membership, Subscriber
from .store.states import CAMPAIGN_QUEUED, DeliveryState, MembershipStatus
from .store.subscribers import suppressions_of
from .timing import as_utc, at_local, next_local, parse_at, to_naive_utc, zone

PAUSES = {"1w": 7, "2w": 14, "1m": 30, "3m": 91}


@dataclass(frozen=True)
class ListChoice:
    id: int
    name: str
    subscribed: bool


@dataclass(frozen=True)
class SeriesChoice:
    campaign_id: int
    title: str
    receiving: bool
    next_due: datetime | None


@dataclass(frozen=True)
class Profile:
    subscriber_id: int
    email: str
    first_name: str
    timezone: str | None
    status: str
    lists: list[ListChoice] = field(default_factory=list)
    series: list[SeriesChoice] = field(default_factory=list)


@dataclass(frozen=True)
class Changes:
    first_name: str
    timezone: str | None
    lists: frozenset[int]
    series: frozenset[int]


def profile(store: Store, subscriber_id: int) -> Profile | None:
    with store.begin() as conn:
        sub = conn.execute(select(Subscriber).where(Subscriber.id == subscriber_id)).first()
        if sub is None:
            return None
        lists = [
            ListChoice(lid, name, status == MembershipStatus.ACTIVE)
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
        series = []
        for c in conn.execute(
            select(Campaign.id, Campaign.title)
            .where(
                Campaign.status.in_(CAMPAIGN_QUEUED),
                select(Delivery.id)
                .where(Delivery.campaign_id == Campaign.id, Delivery.subscriber_id == subscriber_id)
                .exists(),
            )
            .order_by(Campaign.id)
        ):
            due = list(
                conn.scalars(
                    select(Delivery.due_at)
                    .where(
                        Delivery.campaign_id == c.id,
                        Delivery.subscriber_id == subscriber_id,
                        Delivery.state == DeliveryState.SCHEDULED,
                    )
                    .order_by(Delivery.due_at)
                )
            )
            series.append(SeriesChoice(c.id, c.title, bool(due), due[0] if due else None))
        return Profile(sub.id, sub.email, sub.first_name, sub.timezone, sub.status, lists, series)


def save(store: Store, subscriber_id: int, changes: Changes, now: datetime) -> None:
    """Apply the page's form: name, time zone (moving unsent parts), lists and series."""
    if changes.timezone:
        zone(changes.timezone, "time zone")  # refuses an unknown zone with a clear message
    before = profile(store, subscriber_id)
    if before is None:
        return
    with store.begin() as conn:
        conn.execute(
            update(Subscriber)
            .where(Subscriber.id == subscriber_id)
            .values(first_name=changes.first_name[:200], timezone=changes.timezone)
        )
        if changes.timezone != before.timezone:
            move_to_timezone(conn, subscriber_id, before.timezone, changes.timezone, now)
        for choice in before.lists:
            wanted = choice.id in changes.lists
            if wanted != choice.subscribed:
                conn.execute(
                    update(Membership)
                    .where(
                        Membership.subscriber_id == subscriber_id,
                        Membership.list_id == choice.id,
                    )
                    .values(
                        status=MembershipStatus.ACTIVE if wanted else MembershipStatus.UNSUBSCRIBED
                    )
                )
                if not wanted:
                    _skip(conn, subscriber_id, Campaign.list_id == choice.id, "left the list")
    for s in before.series:
        if s.receiving and s.campaign_id not in changes.series:
            ledger.stop_series_for(store, s.campaign_id, subscriber_id)


def _skip(conn: Connection, subscriber_id: int, where: Any, why: str) -> None:
    campaigns = select(Campaign.id).where(where)
    conn.execute(
        update(Delivery)
        .where(
            Delivery.subscriber_id == subscriber_id,
            Delivery.state == DeliveryState.SCHEDULED,
            Delivery.campaign_id.in_(campaigns),
        )
        .values(state=DeliveryState.SKIPPED, error=why)
    )


def _unsent(conn: Connection, subscriber_id: int) -> list[Any]:
    return list(
        conn.execute(
            select(Delivery.id, Delivery.due_at, Campaign.send_at, Campaign.default_timezone)
            .join(Campaign, Campaign.id == Delivery.campaign_id)
            .where(
                Delivery.subscriber_id == subscriber_id, Delivery.state == DeliveryState.SCHEDULED
            )
        )
    )


def move_to_timezone(
    conn: Connection, subscriber_id: int, old: str | None, new: str | None, now: datetime
) -> int:
    """Unsent parts of series sent at a local hour: the same local day, that hour in the
    new zone (the next such hour if that is already past). Returns how many moved."""
    moved = 0
    for row in _unsent(conn, subscriber_id):
        if not row.send_at:
            continue
        at = parse_at(row.send_at)
        assert at is not None
        old_tz = zone(old or row.default_timezone)
        new_tz = zone(new or row.default_timezone)
        day = as_utc(row.due_at).astimezone(old_tz).date()
        due = at_local(day, at, new_tz)
        if due < as_utc(now):
            due = next_local(as_utc(now), at, new_tz)
        conn.execute(update(Delivery).where(Delivery.id == row.id).values(due_at=to_naive_utc(due)))
        moved += 1
    return moved


def pause(store: Store, subscriber_id: int, days: int, now: datetime) -> int:
    """Nothing for ``days``: each series' remaining parts move later so that the next one
    comes when the pause ends, the spacing between them kept (and, for a series sent at a
    local hour, each at that hour in the reader's zone)."""
    until = now + timedelta(days=days)
    moved = 0
    with store.begin() as conn:
        tz_name = conn.scalar(select(Subscriber.timezone).where(Subscriber.id == subscriber_id))
        by_campaign: dict[int, list[Any]] = {}
        for row in conn.execute(
            select(
                Delivery.id,
                Delivery.campaign_id,
                Delivery.due_at,
                Campaign.send_at,
                Campaign.default_timezone,
            )
            .join(Campaign, Campaign.id == Delivery.campaign_id)
            .where(
                Delivery.subscriber_id == subscriber_id, Delivery.state == DeliveryState.SCHEDULED
            )
        ):
            by_campaign.setdefault(row.campaign_id, []).append(row)
        for rows in by_campaign.values():
            shift = until - min(r.due_at for r in rows)
            if shift <= timedelta(0):
                continue
            for r in rows:
                due = as_utc(r.due_at + shift)
                at = parse_at(r.send_at)
                if at is not None:
                    due = next_local(due, at, zone(tz_name or r.default_timezone))
                conn.execute(
                    update(Delivery).where(Delivery.id == r.id).values(due_at=to_naive_utc(due))
                )
                moved += 1
    return moved


def parse_pause(value: str) -> int:
    if value not in PAUSES:
        raise InputError("pause", f"expected one of {', '.join(PAUSES)}, got {value!r}")
    return PAUSES[value]


def export(store: Store, subscriber_id: int) -> dict[str, Any]:
    """Everything kept about the reader, as JSON-ready data (GDPR Art. 15 and 20)."""
    found = profile(store, subscriber_id)
    if found is None:
        return {}
    with store.begin() as conn:
        sub = conn.execute(select(Subscriber).where(Subscriber.id == subscriber_id)).one()
        consents = joins.records(conn, [subscriber_id]).get(subscriber_id, [])
        suppressed = suppressions_of(conn, sub.email)
        deliveries = [
            {
                "series": slug,
                "part": part,
                "state": state,
                "due_at": _iso(due),
                "sent_at": _iso(sent),
            }
            for slug, part, state, due, sent in conn.execute(
                select(
                    Campaign.slug, Delivery.part, Delivery.state, Delivery.due_at, Delivery.sent_at
                )
                .join(Campaign, Campaign.id == Delivery.campaign_id)
                .where(Delivery.subscriber_id == subscriber_id)
                .order_by(Delivery.due_at)
            )
        ]
    return {
        "email": sub.email,
        "first_name": sub.first_name,
        "last_name": sub.last_name,
        "timezone": sub.timezone,
        "tags": sub.tags,
        "status": sub.status,
        "subscribed_at": _iso(sub.subscribed_at),
        "unsubscribed_at": _iso(sub.unsubscribed_at),
        "lists": [{"name": c.name, "subscribed": c.subscribed} for c in found.lists],
        "consent": [
            {k: _iso(v) if isinstance(v, datetime) else v for k, v in asdict(c).items()}
            for c in consents
        ],
        "suppressions": [
            {k: _iso(v) if isinstance(v, datetime) else v for k, v in asdict(r).items()}
            for r in suppressed
        ],
        "emails": deliveries,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() + "Z" if value else None
