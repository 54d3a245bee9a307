"""Joining a list on one's own: pending addresses, confirmation, and the consent record.

Someone who fills in the form is *pending* (on a double opt-in list, or whenever they had
unsubscribed or been erased before) until they confirm from the email; a pending address
gets nothing else, and is purged once its confirmation link has expired. Every joining
keeps a consent record: when and how, the form's URL, IP address, user agent, the consent
text shown, and when it was confirmed.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, select, update

from . import Store, email_key, erased_key
from .models import Consent, MailingList, Membership, Subscriber, Suppression
from .states import (
    HARD_SUPPRESSIONS,
    MembershipStatus,
    SubscriberStatus,
    SuppressionReason,
)


class JoinMethod(enum.StrEnum):
    FORM = "form"
    IMPORT = "import"
    CLI = "cli"


class JoinOutcome(enum.Enum):
    #: waiting for the reader's confirmation: send them the confirmation email
    PENDING = "pending"
    #: on the list now (a single opt-in list)
    JOINED = "joined"
    #: on the list already: nothing to do
    ALREADY = "already"
    #: suppressed (bounced, complained...): nothing is sent
    REFUSED = "refused"


class ConfirmOutcome(enum.Enum):
    CONFIRMED = "confirmed"
    ALREADY = "already"
    #: erased, purged or unsubscribed since: the link does nothing
    GONE = "gone"


@dataclass(frozen=True)
class FormSource:
    """Where a form submission came from, as kept in the consent record."""

    form_url: str = ""
    ip: str = ""
    user_agent: str = ""
    consent_text: str = ""


@dataclass(frozen=True)
class Join:
    outcome: JoinOutcome
    subscriber_id: int | None = None
    list_id: int | None = None
    #: a confirmation email was queued (PENDING): wake the mailer
    queued: bool = False


@dataclass(frozen=True)
class ConsentRecord:
    list_name: str
    method: str
    joined_at: datetime
    form_url: str
    ip: str
    user_agent: str
    consent_text: str
    confirmed_at: datetime | None


def record(
    conn: Connection,
    subscriber_id: int,
    list_id: int | None,
    method: JoinMethod,
    joined_at: datetime,
    source: FormSource = FormSource(),
    confirmed_at: datetime | None = None,
) -> None:
    conn.execute(
        insert(Consent).values(
            subscriber_id=subscriber_id,
            list_id=list_id,
            method=method.value,
            joined_at=joined_at,
            form_url=source.form_url[:2000],
            ip=source.ip[:64],
            user_agent=source.user_agent[:500],
            consent_text=source.consent_text[:2000],
            confirmed_at=confirmed_at,
        )
    )


def request_join(
    store: Store,
    *,
    email: str,
    list_name: str,
    first_name: str,
    timezone: str | None,
    double_opt_in: bool,
    source: FormSource,
    now: datetime,
    window: timedelta = timedelta(hours=1),
) -> Join:
    """A form submission (the address already validated). Never changes an existing
    subscriber's name or time zone, pending or not: anyone can type anyone's address into a
    form. An address that must confirm gets a confirmation email queued (sent after the
    answer), at most one per list in ``window`` (its ``+tag`` variants counted together);
    a request within the window changes nothing."""
    from . import confirmations  # (it imports the models this module does)

    with store.begin() as conn:
        list_id = store.list_id(conn, list_name)
        reason = store.is_suppressed(conn, email)
        if reason in HARD_SUPPRESSIONS:
            return Join(JoinOutcome.REFUSED)
        sub = conn.execute(
            select(Subscriber.id, Subscriber.status).where(Subscriber.email_key == email_key(email))
        ).first()
        member = (
            conn.scalar(
                select(Membership.status).where(
                    Membership.subscriber_id == sub.id, Membership.list_id == list_id
                )
            )
            if sub
            else None
        )
        if sub and sub.status == SubscriberStatus.ACTIVE and member == MembershipStatus.ACTIVE:
            return Join(JoinOutcome.ALREADY, sub.id, list_id)
        # Someone who left (or asked to be erased) comes back only by confirming themselves.
        confirm = (
            double_opt_in
            or reason is not None
            or (sub and sub.status == SubscriberStatus.UNSUBSCRIBED)
        )
        # (a subscriber and a membership share these two values)
        status = SubscriberStatus.PENDING if confirm else SubscriberStatus.ACTIVE
        if confirm and confirmations.recent(conn, email, list_id, now - window):
            # Asked already within the window: the email on its way (or sent) will do.
            return Join(JoinOutcome.PENDING, sub.id if sub else None, list_id)
        if sub is None:
            key: Any = conn.execute(
                insert(Subscriber).values(
                    email=email,
                    email_key=email_key(email),
                    first_name=first_name[:200],
                    timezone=timezone,
                    status=status,
                    subscribed_at=now,
                )
            ).inserted_primary_key
            sid = int(key[0])
        else:
            sid = sub.id
            if sub.status == SubscriberStatus.PENDING:  # its expiry starts again with the new email
                conn.execute(
                    update(Subscriber)
                    .where(Subscriber.id == sid)
                    .values(subscribed_at=now, status=status)
                )
        if member is None:
            conn.execute(
                insert(Membership).values(
                    subscriber_id=sid, list_id=list_id, status=status, joined_at=now
                )
            )
        else:
            conn.execute(
                update(Membership)
                .where(Membership.subscriber_id == sid, Membership.list_id == list_id)
                .values(status=status, joined_at=now)
            )
        record(conn, sid, list_id, JoinMethod.FORM, now, source)
        if confirm:
            confirmations.enqueue(conn, sid, list_id, email, now)
        return Join(
            JoinOutcome.PENDING if confirm else JoinOutcome.JOINED,
            sid,
            list_id,
            queued=bool(confirm),
        )


def confirm_join(store: Store, subscriber_id: int, list_id: int, now: datetime) -> ConfirmOutcome:
    """The reader pressed "confirm": they are on the list from now (a sequence starts
    them at part 1 on the next send)."""
    with store.begin() as conn:
        sub = conn.execute(
            select(Subscriber.email, Subscriber.status).where(Subscriber.id == subscriber_id)
        ).first()
        member = conn.scalar(
            select(Membership.status).where(
                Membership.subscriber_id == subscriber_id, Membership.list_id == list_id
            )
        )
        if sub is None or member is None:
            return ConfirmOutcome.GONE
        if member == MembershipStatus.ACTIVE and sub.status == SubscriberStatus.ACTIVE:
            return ConfirmOutcome.ALREADY
        if member != MembershipStatus.PENDING:
            return ConfirmOutcome.GONE
        conn.execute(
            update(Subscriber)
            .where(Subscriber.id == subscriber_id)
            .values(status=SubscriberStatus.ACTIVE, unsubscribed_at=None)
        )
        conn.execute(
            update(Membership)
            .where(Membership.subscriber_id == subscriber_id, Membership.list_id == list_id)
            .values(status=MembershipStatus.ACTIVE, joined_at=now)
        )
        conn.execute(
            delete(Suppression).where(
                Suppression.email_key.in_([email_key(sub.email), erased_key(sub.email)]),
                Suppression.reason.in_([SuppressionReason.UNSUBSCRIBED, SuppressionReason.ERASED]),
            )
        )
        latest = conn.scalar(
            select(Consent.id)
            .where(
                Consent.subscriber_id == subscriber_id,
                Consent.list_id == list_id,
                Consent.confirmed_at.is_(None),
            )
            .order_by(Consent.id.desc())
            .limit(1)
        )
        if latest is not None:
            conn.execute(update(Consent).where(Consent.id == latest).values(confirmed_at=now))
            # Earlier requests of the same address for the list, never confirmed: the
            # confirmed one is the record; the others are kept no longer.
            conn.execute(
                delete(Consent).where(
                    Consent.subscriber_id == subscriber_id,
                    Consent.list_id == list_id,
                    Consent.confirmed_at.is_(None),
                    Consent.method == JoinMethod.FORM.value,
                    Consent.id != latest,
                )
            )
        return ConfirmOutcome.CONFIRMED


def purge_pending(store: Store, cutoff: datetime) -> int:
    """Forget requests never confirmed before ``cutoff``: pending subscribers (with their
    consent records), and pending memberships of existing subscribers. Returns how many."""
    with store.begin() as conn:
        stale = list(
            conn.execute(
                select(Membership.subscriber_id, Membership.list_id).where(
                    Membership.status == MembershipStatus.PENDING, Membership.joined_at < cutoff
                )
            )
        )
        for sid, lid in stale:
            conn.execute(
                delete(Consent).where(
                    Consent.subscriber_id == sid,
                    Consent.list_id == lid,
                    Consent.confirmed_at.is_(None),
                    Consent.method == JoinMethod.FORM.value,
                )
            )
            conn.execute(
                delete(Membership).where(Membership.subscriber_id == sid, Membership.list_id == lid)
            )
        gone = list(
            conn.scalars(
                select(Subscriber.id).where(
                    Subscriber.status == SubscriberStatus.PENDING, Subscriber.subscribed_at < cutoff
                )
            )
        )
        if gone:
            conn.execute(delete(Consent).where(Consent.subscriber_id.in_(gone)))
            conn.execute(delete(Membership).where(Membership.subscriber_id.in_(gone)))
            conn.execute(delete(Subscriber).where(Subscriber.id.in_(gone)))
        return len(stale) + len(gone)


def records(conn: Connection, subscriber_ids: list[int]) -> dict[int, list[ConsentRecord]]:
    """Every consent record of these subscribers, oldest first."""
    out: dict[int, list[ConsentRecord]] = {}
    rows = conn.execute(
        select(Consent.__table__, MailingList.name.label("list_name"))
        .outerjoin(MailingList, and_(MailingList.id == Consent.list_id))
        .where(Consent.subscriber_id.in_(subscriber_ids))
        .order_by(Consent.id)
    )
    for c in rows:
        out.setdefault(c.subscriber_id, []).append(
            ConsentRecord(
                list_name=c.list_name or "",
                method=c.method,
                joined_at=c.joined_at,
                form_url=c.form_url,
                ip=c.ip,
                user_agent=c.user_agent,
                consent_text=c.consent_text,
                confirmed_at=c.confirmed_at,
            )
        )
    return out


def list_name(store: Store, list_id: int) -> str | None:
    with store.begin() as conn:
        return conn.scalar(select(MailingList.name).where(MailingList.id == list_id))
