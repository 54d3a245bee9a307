"""The confirmation emails' queue: a row written in the same transaction as the form's
request, sent after the answer by the web process's mailer thread, ``newsletter run`` or
``send-due`` (whichever claims it first).

Never lost: the row is committed with the pending address, and stays queued until a
process has sent it. Never sent twice: a process claims a row (one UPDATE from ``queued``
to ``sending`` under its token) before its request, and records the answer only while it
still holds it; a row left ``sending`` by a process that died is sent again under the same
key only where the provider makes that safe (an idempotency key), otherwise it becomes
``unknown`` (the reader may ask again: an unknown one does not count in the window).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, insert, select, update

from . import Store
from .models import Confirmation, Membership, Subscriber
from .states import ConfirmationState, MembershipStatus

#: the states that count in an address's window (a request that went out, or will)
_COUNTED = (ConfirmationState.QUEUED, ConfirmationState.SENDING, ConfirmationState.SENT)
#: tries of a confirmation the provider refused (then the editor is told)
MAX_TRIES = 3


def throttle_key(email: str) -> str:
    """A hash of the address without its ``+tag``, lower-cased: ``ann+1@x`` and
    ``Ann+2@x`` count together."""
    local, _, domain = email.strip().lower().rpartition("@")
    base = local.split("+", 1)[0] or local
    return "sha256:" + hashlib.sha256(f"{base}@{domain}".encode()).hexdigest()


def recent(conn: Connection, email: str, list_id: int, since: datetime) -> bool:
    """Whether a confirmation for this address (any ``+tag``) and list was queued or sent
    since ``since``."""
    return (
        conn.scalar(
            select(Confirmation.id)
            .where(
                Confirmation.throttle_key == throttle_key(email),
                Confirmation.list_id == list_id,
                Confirmation.created_at >= since,
                Confirmation.state.in_(_COUNTED),
            )
            .limit(1)
        )
        is not None
    )


def enqueue(conn: Connection, subscriber_id: int, list_id: int, email: str, now: datetime) -> None:
    conn.execute(
        insert(Confirmation).values(
            subscriber_id=subscriber_id,
            list_id=list_id,
            throttle_key=throttle_key(email),
            state=ConfirmationState.QUEUED,
            created_at=now,
            due_at=now,
            attempts=0,
        )
    )


@dataclass(frozen=True)
class Claimed:
    id: int
    subscriber_id: int
    list_id: int
    email: str
    created_at: datetime
    attempts: int  # including this one


def claim(
    store: Store, owner: str, now: datetime, window: timedelta = timedelta(hours=1)
) -> Claimed | None:
    """The oldest confirmation due, taken by ``owner`` (None when none is due). One whose
    address is no longer pending on its list (confirmed, left, erased), or that another
    went out for within ``window`` (two posts at the same moment), is dropped."""
    while True:
        with store.begin() as conn:
            row = conn.execute(
                select(
                    Confirmation.id,
                    Confirmation.subscriber_id,
                    Confirmation.list_id,
                    Confirmation.throttle_key,
                    Confirmation.created_at,
                )
                .where(
                    Confirmation.state == ConfirmationState.QUEUED,
                    Confirmation.due_at <= now,
                )
                .order_by(Confirmation.due_at, Confirmation.id)
                .limit(1)
            ).first()
            if row is None:
                return None
            took = conn.execute(
                update(Confirmation)
                .where(Confirmation.id == row.id, Confirmation.state == ConfirmationState.QUEUED)
                .values(
                    state=ConfirmationState.SENDING,
                    owner=owner,
                    claimed_at=now,
                    attempts=Confirmation.attempts + 1,
                )
            )
            if took.rowcount != 1:
                continue  # another process took it first
            found = conn.execute(
                select(Subscriber.email, Confirmation.created_at, Confirmation.attempts)
                .join(Confirmation, Confirmation.subscriber_id == Subscriber.id)
                .join(
                    Membership,
                    (Membership.subscriber_id == Subscriber.id)
                    & (Membership.list_id == Confirmation.list_id),
                )
                .where(Confirmation.id == row.id, Membership.status == MembershipStatus.PENDING)
            ).first()
            twin = conn.scalar(
                select(Confirmation.id)
                .where(
                    Confirmation.throttle_key == row.throttle_key,
                    Confirmation.list_id == row.list_id,
                    Confirmation.id != row.id,
                    Confirmation.state.in_([ConfirmationState.SENDING, ConfirmationState.SENT]),
                    Confirmation.created_at > row.created_at - window,
                )
                .limit(1)
            )
            if found is None or twin is not None:
                conn.execute(
                    update(Confirmation)
                    .where(Confirmation.id == row.id)
                    .values(state=ConfirmationState.DROPPED, owner=None)
                )
                continue
            return Claimed(
                row.id,
                row.subscriber_id,
                row.list_id,
                found.email,
                found.created_at,
                found.attempts,
            )


def finish(
    store: Store,
    claimed: Claimed,
    owner: str,
    state: ConfirmationState,
    now: datetime,
    error: str | None = None,
    retry_at: datetime | None = None,
) -> bool:
    """Record the answer (only while ``owner`` still holds the row): ``state``, or queued
    again at ``retry_at``. False when another process took it over meanwhile."""
    values: dict[str, object] = {"error": (error or "")[:500] or None, "owner": None}
    if retry_at is not None:
        values.update(state=ConfirmationState.QUEUED, due_at=retry_at)
    else:
        values.update(state=state, sent_at=now if state == ConfirmationState.SENT else None)
    with store.begin() as conn:
        done = conn.execute(
            update(Confirmation)
            .where(
                Confirmation.id == claimed.id,
                Confirmation.owner == owner,
                Confirmation.state == ConfirmationState.SENDING,
            )
            .values(**values)
        )
        return done.rowcount == 1


def take_back(store: Store, cutoff: datetime, resend_safe: bool) -> int:
    """Rows left ``sending`` since before ``cutoff`` (their process died mid-request):
    queued again under the same key when the provider makes a second request safe,
    otherwise ``unknown``. Returns how many."""
    with store.begin() as conn:
        stale = (
            Confirmation.state == ConfirmationState.SENDING,
            Confirmation.claimed_at < cutoff,
        )
        if resend_safe:
            moved = conn.execute(
                update(Confirmation)
                .where(*stale)
                .values(state=ConfirmationState.QUEUED, owner=None, due_at=cutoff)
            )
        else:
            moved = conn.execute(
                update(Confirmation)
                .where(*stale)
                .values(
                    state=ConfirmationState.UNKNOWN,
                    owner=None,
                    error="its sender stopped during the request: it may or may not have gone out",
                )
            )
        return int(moved.rowcount or 0)


def forget_old(store: Store, before: datetime) -> int:
    """Rows of requests made before ``before`` that are settled (sent, failed, unknown,
    dropped): they count in no window any more."""
    old = (
        Confirmation.created_at < before,
        Confirmation.state.not_in([ConfirmationState.QUEUED, ConfirmationState.SENDING]),
    )
    with store.begin() as conn:
        if conn.scalar(select(Confirmation.id).where(*old).limit(1)) is None:
            return 0  # (read first: a form post takes no write lock for nothing)
        gone = conn.execute(delete(Confirmation).where(*old))
        return int(gone.rowcount or 0)


def waiting(store: Store, now: datetime) -> int:
    """How many confirmations are due by ``now`` or being sent."""
    with store.begin() as conn:
        return len(
            conn.scalars(
                select(Confirmation.id).where(
                    (Confirmation.state == ConfirmationState.SENDING)
                    | (
                        (Confirmation.state == ConfirmationState.QUEUED)
                        & (Confirmation.due_at <= now)
                    )
                )
            ).all()
        )


def backoff(tries: int) -> timedelta:
    """When a refused confirmation is tried again: 1, 5, 25 minutes."""
    return timedelta(minutes=5 ** max(0, tries - 1))


__all__ = [
    "MAX_TRIES",
    "Claimed",
    "backoff",
    "claim",
    "enqueue",
    "finish",
    "forget_old",
    "recent",
    "take_back",
    "throttle_key",
    "waiting",
]
