"""How senders share the ledger: claiming one request's worth of due rows as a batch,
recording the answer, heartbeats, and taking over what a dead sender left.

A claim is ``SELECT id ... LIMIT n`` (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) and then an
``UPDATE`` by primary key guarded by ``state = 'scheduled'``: it never takes more than n
rows whatever the planner does, and its cost does not grow with the list. The claimed rows
get a new batch (one request to the provider) in the same transaction.

A dead sender's batch is taken over by one atomic ``UPDATE batches ... WHERE claimed_by =
<the dead token>`` before anything is done with it: of several starting senders exactly
one wins and the others leave it alone.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update

from . import Store, utcnow
from .driver import datetime_binder, executemany
from .models import Campaign, Delivery, Membership, SendBatch, SenderBeat, Subscriber, Suppression
from .report import SenderSeen
from .states import BatchState, DeliveryState

MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Claimed:
    """A claimed row with what the sender needs to address it."""

    id: int
    subscriber_id: int
    email: str
    first_name: str
    last_name: str


@dataclass
class Claim:
    """What one claim took: how many rows, the batch (request) they go out in, and the
    rows still to send (the others were skipped: unsubscribed or suppressed)."""

    taken: int
    batch_id: int | None = None
    key: str = ""
    campaign_id: int = 0
    part: int = 0
    rows: list[Claimed] = field(default_factory=list)


@dataclass(frozen=True)
class RowOutcome:
    """One row's recorded outcome."""

    id: int
    state: DeliveryState
    message_id: str | None = None
    error: str | None = None
    sent_at: datetime | None = None
    #: a row to try again gets a new due time; the others keep theirs
    retry_at: datetime | None = None
    #: the attempt did not count (deferred: nothing was sent)
    refund: bool = False


def claim_token() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(6).hex()}"


def next_batch_key(store: Store, now: datetime) -> tuple[int, int] | None:
    """The (campaign, part) of the most overdue row."""
    with store.begin() as conn:
        row = conn.execute(
            select(Delivery.campaign_id, Delivery.part)
            .join(Campaign, Campaign.id == Delivery.campaign_id)
            .where(
                Delivery.state == DeliveryState.SCHEDULED,
                Delivery.due_at <= now,
                Campaign.status == "active",
            )
            .order_by(Delivery.due_at, Delivery.id)
            .limit(1)
        ).first()
    return (int(row[0]), int(row[1])) if row else None


def claim(
    store: Store,
    campaign_id: int,
    part: int,
    now: datetime,
    limit: int,
    token: str,
    provider: str,
) -> Claim:
    """Atomically take up to ``limit`` due rows as one batch and skip the ones no longer
    eligible."""
    with store.begin() as conn:
        q = (
            select(Delivery.id)
            .where(
                Delivery.campaign_id == campaign_id,
                Delivery.part == part,
                Delivery.state == DeliveryState.SCHEDULED,
                Delivery.due_at <= now,
            )
            .order_by(Delivery.due_at, Delivery.id)
            .limit(limit)
        )
        if store.is_postgres:
            q = q.with_for_update(skip_locked=True)
        ids = list(conn.scalars(q))
        if not ids:
            return Claim(0)
        key = f"nl-{uuid.uuid4().hex}"
        pk: Any = conn.execute(
            insert(SendBatch).values(
                campaign_id=campaign_id,
                part=part,
                provider=provider,
                created_at=now,
                size=0,
                state=BatchState.SENDING,
                idempotency_key=key,
                claimed_by=token,
            )
        ).inserted_primary_key
        batch_id = int(pk[0])
        taken = (
            conn.execute(
                update(Delivery)
                .where(Delivery.id.in_(ids), _state_is(DeliveryState.SCHEDULED))
                .values(
                    state=DeliveryState.SENDING,
                    claimed_by=token,
                    claimed_at=now,
                    attempts=Delivery.attempts + 1,
                    batch_id=batch_id,
                )
                .execution_options(synchronize_session=False)
            ).rowcount
            or 0
        )
        list_id = conn.scalar(select(Campaign.list_id).where(Campaign.id == campaign_id))
        mine = (Delivery.batch_id == batch_id) & _state_is(DeliveryState.SENDING)
        # Unsubscribed or suppressed since queueing: skipped at send time. Each is looked
        # up for the batch's own rows (by key), never by scanning every subscriber.
        who = Delivery.subscriber_id
        gone = select(Subscriber.id).where(Subscriber.id == who, Subscriber.status != "active")
        left = select(Membership.subscriber_id).where(
            Membership.subscriber_id == who,
            Membership.list_id == list_id,
            Membership.status != "active",
        )
        suppressed = (
            select(Subscriber.id)
            .join(Suppression, Suppression.email_key == Subscriber.email_key)
            .where(Subscriber.id == who)
        )
        for reason, found in (
            ("unsubscribed", gone),
            ("left the list", left),
            ("suppressed", suppressed),
        ):
            conn.execute(
                update(Delivery)
                .where(mine, found.exists())
                .values(state=DeliveryState.SKIPPED, error=reason, claimed_by=None)
            )
        rows = [Claimed(*r) for r in conn.execute(_claimed().where(mine)).all()]
        conn.execute(
            update(SendBatch)
            .where(SendBatch.id == batch_id)
            .values(
                size=len(rows),
                state=BatchState.SENDING if rows else BatchState.RELEASED,
                claimed_by=token if rows else None,
            )
        )
    return Claim(taken, batch_id, key, campaign_id, part, rows)


def _state_is(state: DeliveryState) -> Any:
    """``Delivery.state == state`` as a check on rows already found by key: written so that
    SQLite does not pick the (state, due_at) index for it, which would walk every scheduled
    row of the ledger on each claim instead of the few hundred rows named."""
    return func.coalesce(Delivery.state, "") == state


def _claimed(*leading: Any) -> Any:
    """Claimed rows with what the sender needs to address them."""
    return (
        select(
            *leading,
            Delivery.id,
            Delivery.subscriber_id,
            Subscriber.email,
            Subscriber.first_name,
            Subscriber.last_name,
        )
        .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .order_by(Delivery.id)
    )


def record(
    store: Store,
    batch_id: int,
    outcomes: Sequence[RowOutcome],
    *,
    batch_state: BatchState,
    error: str | None = None,
    message_ids: str | None = None,
) -> None:
    """Write each row's outcome and the batch's state, in one transaction."""
    batch_values: dict[str, Any] = {"state": batch_state, "error": error and error[:1000]}
    if message_ids:
        batch_values["message_ids"] = message_ids
    if batch_state != BatchState.SENDING:
        batch_values["claimed_by"] = None
    with store.begin() as conn:
        if outcomes:
            when = datetime_binder(conn)
            executemany(
                conn,
                _RECORD,
                [
                    {
                        "id": o.id,
                        "state": str(o.state),
                        "mid": o.message_id,
                        "err": o.error[:1000] if o.error else None,
                        "sent_at": when(o.sent_at),
                        "retry_at": when(o.retry_at),
                        "refund": 1 if o.refund else 0,
                    }
                    for o in outcomes
                ],
            )
        conn.execute(update(SendBatch).where(SendBatch.id == batch_id).values(**batch_values))


#: one row's outcome; a row to try again gets its new due time, the others keep theirs
_RECORD = (
    "UPDATE deliveries SET state = %(state)s, message_id = %(mid)s, error = %(err)s, "
    "sent_at = %(sent_at)s, due_at = COALESCE(%(retry_at)s, due_at), "
    "attempts = attempts - %(refund)s, claimed_by = NULL WHERE id = %(id)s"
)


def keep_for_resend(store: Store, batch_id: int, ids: Sequence[int], error: str) -> None:
    """An idempotent provider's lost answer: the rows stay with their batch (and its key),
    which the next recovery sends again."""
    with store.begin() as conn:
        conn.execute(
            update(Delivery)
            .where(Delivery.id.in_(list(ids)), Delivery.batch_id == batch_id)
            .values(error=error[:1000])
        )
        conn.execute(
            update(SendBatch)
            .where(SendBatch.id == batch_id)
            .values(claimed_by=None, error=error[:1000])
        )


def release(store: Store, token: str) -> int:
    """Give back batches claimed but not sent (a clean stop between requests)."""
    with store.begin() as conn:
        batch_ids = list(
            conn.scalars(
                select(SendBatch.id).where(
                    SendBatch.claimed_by == token, SendBatch.state == BatchState.SENDING
                )
            )
        )
        if not batch_ids:
            return 0
        result = conn.execute(
            update(Delivery)
            .where(Delivery.batch_id.in_(batch_ids), Delivery.state == DeliveryState.SENDING)
            .values(state=DeliveryState.SCHEDULED, claimed_by=None, attempts=Delivery.attempts - 1)
        )
        conn.execute(
            update(SendBatch)
            .where(SendBatch.id.in_(batch_ids))
            .values(state=BatchState.RELEASED, claimed_by=None)
        )
        return result.rowcount or 0


def attempts(store: Store, ids: list[int]) -> dict[int, int]:
    with store.begin() as conn:
        return dict(
            conn.execute(select(Delivery.id, Delivery.attempts).where(Delivery.id.in_(ids))).all()
        )


# --- heartbeats and dead senders -------------------------------------------------------


def beat(store: Store, token: str, command: str) -> None:
    """This sender is alive now."""
    now = utcnow()
    with store.begin() as conn:
        done = conn.execute(
            update(SenderBeat).where(SenderBeat.token == token).values(last_seen=now)
        ).rowcount
        if not done:
            host, _, rest = token.partition(":")
            pid = rest.split(":", 1)[0]
            conn.execute(
                insert(SenderBeat).values(
                    token=token,
                    host=host[:200],
                    pid=int(pid) if pid.isdigit() else 0,
                    command=command[:40],
                    started_at=now,
                    last_seen=now,
                )
            )


def senders(store: Store, limit: int = 20) -> list[SenderSeen]:
    """The senders seen most recently (token, host, pid, command, started, last seen)."""
    with store.report() as report:
        return report.senders(limit)


def _dead(token: str | None, lease_cutoff: datetime, last_seen: datetime | None) -> bool:
    if token is None:
        return True  # given up by its sender (an idempotent provider's lost answer)
    host, _, rest = token.partition(":")
    pid = rest.split(":", 1)[0]
    if host == socket.gethostname() and pid.isdigit():
        if int(pid) == os.getpid():
            return False
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False
    return last_seen is None or last_seen < lease_cutoff


def orphaned_batches(store: Store, lease_cutoff: datetime) -> list[tuple[int, str | None]]:
    """Batches still 'sending' whose sender is gone (crashed, killed, or gave them up)."""
    with store.begin() as conn:
        rows = conn.execute(
            select(SendBatch.id, SendBatch.claimed_by, SenderBeat.last_seen, SendBatch.created_at)
            .outerjoin(SenderBeat, SenderBeat.token == SendBatch.claimed_by)
            .where(SendBatch.state == BatchState.SENDING)
            .order_by(SendBatch.id)
        ).all()
    return [
        (int(bid), tok)
        for bid, tok, seen, created in rows
        if _dead(tok, lease_cutoff, seen or created)
    ]


def take_over(store: Store, batch_id: int, old: str | None, token: str) -> bool:
    """One atomic UPDATE: True for exactly one of the senders that try."""
    owner = SendBatch.claimed_by.is_(None) if old is None else SendBatch.claimed_by == old
    with store.begin() as conn:
        won = conn.execute(
            update(SendBatch)
            .where(SendBatch.id == batch_id, SendBatch.state == BatchState.SENDING, owner)
            .values(claimed_by=token)
        ).rowcount
        if won:
            conn.execute(
                update(Delivery)
                .where(Delivery.batch_id == batch_id, Delivery.state == DeliveryState.SENDING)
                .values(claimed_by=token, attempts=Delivery.attempts + 1)
            )
    return bool(won)


def batch_claim(store: Store, batch_id: int) -> Claim:
    """A taken-over batch as a claim: the same rows and idempotency key."""
    with store.begin() as conn:
        b = conn.execute(select(SendBatch).where(SendBatch.id == batch_id)).one()
        rows = [
            Claimed(*r)
            for r in conn.execute(
                _claimed().where(
                    Delivery.batch_id == batch_id, Delivery.state == DeliveryState.SENDING
                )
            )
        ]
    return Claim(len(rows), batch_id, b.idempotency_key, b.campaign_id, b.part, rows)


def mark_unknown(store: Store, batch_id: int, error: str) -> int:
    """A batch whose answer was lost: it and its rows become 'unknown'."""
    with store.begin() as conn:
        n = (
            conn.execute(
                update(Delivery)
                .where(Delivery.batch_id == batch_id, Delivery.state == DeliveryState.SENDING)
                .values(state=DeliveryState.UNKNOWN, error=error[:1000], claimed_by=None)
            ).rowcount
            or 0
        )
        conn.execute(
            update(SendBatch)
            .where(SendBatch.id == batch_id)
            .values(state=BatchState.UNKNOWN, error=error[:1000], claimed_by=None)
        )
        if n:
            store.event(
                "unknown",
                f"batch {batch_id}: {n} messages may or may not have been sent; "
                "'newsletter reconcile' or 'newsletter status' for what to do",
                conn=conn,
            )
    return n
