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

from sqlalchemy import bindparam, case, func, insert, select, update

from . import Store, utcnow
from .driver import datetime_binder, executemany
from .models import Campaign, Delivery, Membership, SendBatch, SenderBeat, Subscriber, Suppression
from .report import SenderSeen
from .states import (
    BatchState,
    CampaignStatus,
    DeliveryState,
    EventKind,
    MembershipStatus,
    SubscriberStatus,
)

MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Claimed:
    """A claimed row with what the sender needs to address it."""

    id: int
    subscriber_id: int
    email: str
    first_name: str
    last_name: str
    #: the subscriber's key, signed into their links
    token_key: str
    #: attempts so far, this one included
    attempts: int = field(default=1, compare=False)


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
                Campaign.status == CampaignStatus.ACTIVE,
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
    # The batch's global id: this installation's id and a random UUID. It is the
    # idempotency key, and each message carries it (metadata, tags, Message-ID).
    key = f"nl-{store.installation_id()}-{uuid.uuid4().hex}"
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
        ids = conn.scalars(q).all()
        if not ids:
            return Claim(0)
        pk: Any = conn.execute(
            insert(SendBatch).values(
                campaign_id=campaign_id,
                part=part,
                provider=provider,
                created_at=now,
                size=0,
                state=BatchState.CLAIMED,
                idempotency_key=key,
                claimed_by=token,
            )
        ).inserted_primary_key
        batch_id = int(pk[0])
        taken = (
            conn.execute(
                update(Delivery)
                .where(
                    Delivery.id.in_(bindparam("ids", expanding=True)),
                    _state_is(DeliveryState.SCHEDULED),
                )
                .values(
                    state=DeliveryState.SENDING,
                    claimed_by=token,
                    claimed_at=now,
                    attempts=Delivery.attempts + 1,
                    batch_id=batch_id,
                )
                .execution_options(synchronize_session=False),
                {"ids": ids},
            ).rowcount
            or 0
        )
        list_id = conn.scalar(select(Campaign.list_id).where(Campaign.id == campaign_id))
        # Unsubscribed or suppressed since queueing: skipped at send time. Each is looked
        # up for the batch's own rows (by key), never by scanning every subscriber.
        left = select(Membership.subscriber_id).where(
            Membership.subscriber_id == Delivery.subscriber_id,
            Membership.list_id == list_id,
            Membership.status != MembershipStatus.ACTIVE,
        )
        suppressed = select(Suppression.email_key).where(
            Suppression.email_key == Subscriber.email_key
        )
        skip = case(
            (Subscriber.status != SubscriberStatus.ACTIVE, "unsubscribed"),
            (left.exists(), "left the list"),
            (suppressed.exists(), "suppressed"),
        )
        mine = (Delivery.batch_id == batch_id) & _state_is(DeliveryState.SENDING)
        rows: list[Claimed] = []
        skipped: dict[str, list[int]] = {}
        for reason, *row in conn.execute(_claimed(skip).where(mine)).all():
            if reason is None:
                rows.append(Claimed(*row))
            else:
                skipped.setdefault(reason, []).append(row[0])
        for reason, skipped_ids in skipped.items():
            conn.execute(
                update(Delivery)
                .where(Delivery.id.in_(skipped_ids))
                .values(state=DeliveryState.SKIPPED, error=reason, claimed_by=None)
            )
        conn.execute(
            update(SendBatch)
            .where(SendBatch.id == batch_id)
            .values(
                size=len(rows),
                state=BatchState.CLAIMED if rows else BatchState.RELEASED,
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
            Subscriber.token_key,
            Delivery.attempts,
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
            if store.is_postgres:  # the same plan (by primary key) for every row: planned
                conn.exec_driver_sql("SET LOCAL plan_cache_mode = auto")  # once, not 500 times
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
                        "batch": batch_id,
                    }
                    for o in outcomes
                ],
            )
        conn.execute(update(SendBatch).where(SendBatch.id == batch_id).values(**batch_values))


#: one row's outcome; a row to try again gets its new due time, the others keep theirs.
#: Only the batch's rows still 'sending': a late answer (after another sender took the batch
#: for dead) never overwrites what was decided since. (Those two checks are written as
#: expressions so that no planner picks their indexes over the primary key: PostgreSQL took
#: the batch's index and read its 500 rows for each one.)
_RECORD = (
    "UPDATE deliveries SET state = %(state)s, message_id = %(mid)s, error = %(err)s, "
    "sent_at = %(sent_at)s, due_at = COALESCE(%(retry_at)s, due_at), "
    "attempts = attempts - %(refund)s, claimed_by = NULL "
    "WHERE id = %(id)s AND COALESCE(batch_id, 0) = %(batch)s AND COALESCE(state, '') = 'sending'"
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
    """Give back this sender's batches claimed but not sent (a clean stop)."""
    with store.begin() as conn:
        batch_ids = list(
            conn.scalars(
                select(SendBatch.id).where(
                    SendBatch.claimed_by == token, SendBatch.state == BatchState.CLAIMED
                )
            )
        )
        return _release(conn, batch_ids)


def release_batch(store: Store, batch_id: int) -> int:
    """Give back one claimed batch that will not be sent (its series was just paused)."""
    with store.begin() as conn:
        state = conn.scalar(select(SendBatch.state).where(SendBatch.id == batch_id))
        return _release(conn, [batch_id]) if state == BatchState.CLAIMED else 0


def _release(conn: Any, batch_ids: list[int]) -> int:
    """Claimed batches' rows back to the queue, their attempt not counted."""
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
    return int(result.rowcount or 0)


def start_sending(store: Store, batch_id: int, token: str) -> bool:
    """A claimed batch's request is about to go out: from now on a crash leaves it
    'unknown' (committed before the request starts). False, and nothing changed, when
    this sender no longer holds the claim (given back by a sender that took it for dead)
    or its series is no longer active (paused or cancelled meanwhile)."""
    active = (
        select(Campaign.id)
        .where(Campaign.id == SendBatch.campaign_id, Campaign.status == CampaignStatus.ACTIVE)
        .exists()
    )
    with store.begin() as conn:
        started = conn.execute(
            update(SendBatch)
            .where(
                SendBatch.id == batch_id,
                SendBatch.state == BatchState.CLAIMED,
                SendBatch.claimed_by == token,
                active,
            )
            .values(state=BatchState.SENDING)
        ).rowcount
    return started == 1


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


#: a batch in these states belongs to its sender until that sender is gone
HELD = (BatchState.CLAIMED, BatchState.SENDING)


def orphaned_batches(store: Store, lease_cutoff: datetime) -> list[tuple[int, str | None]]:
    """Batches still claimed or sending whose sender is gone (crashed, killed, or gave them
    up)."""
    with store.begin() as conn:
        rows = conn.execute(
            select(SendBatch.id, SendBatch.claimed_by, SenderBeat.last_seen, SendBatch.created_at)
            .outerjoin(SenderBeat, SenderBeat.token == SendBatch.claimed_by)
            .where(SendBatch.state.in_(HELD))
            .order_by(SendBatch.id)
        ).all()
    return [
        (int(bid), tok)
        for bid, tok, seen, created in rows
        if _dead(tok, lease_cutoff, seen or created)
    ]


def give_back(store: Store, batch_id: int, old: str | None) -> int:
    """A gone sender's batch that was claimed but never sent: its rows go back to the
    queue (one atomic UPDATE: for exactly one of the senders that try). The rows given
    back; 0 when the batch had gone out (or another sender took it)."""
    with store.begin() as conn:
        won = conn.execute(
            update(SendBatch)
            .where(
                SendBatch.id == batch_id,
                SendBatch.state == BatchState.CLAIMED,
                _owned_by(old),
            )
            .values(state=BatchState.RELEASED, claimed_by=None)
        ).rowcount
        return _release(conn, [batch_id]) if won else 0


def _owned_by(token: str | None) -> Any:
    return SendBatch.claimed_by.is_(None) if token is None else SendBatch.claimed_by == token


def take_over(store: Store, batch_id: int, old: str | None, token: str) -> bool:
    """One atomic UPDATE: True for exactly one of the senders that try."""
    with store.begin() as conn:
        won = conn.execute(
            update(SendBatch)
            .where(SendBatch.id == batch_id, SendBatch.state.in_(HELD), _owned_by(old))
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
                EventKind.UNKNOWN,
                f"batch {batch_id}: {n} messages may or may not have been sent; "
                "'newsletter reconcile' or 'newsletter status' for what to do",
                conn=conn,
            )
    return n
