"""Senders' leases: heartbeats, and taking over what a dead sender left.

A dead sender's batch is taken over by one atomic ``UPDATE batches ... WHERE claimed_by =
<the dead token>`` before anything is done with it: of several starting senders exactly
one wins and the others leave it alone.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from . import Store, utcnow
from .claims import Claim, Claimed, _claimed, _release
from .models import Delivery, SendBatch, SenderBeat
from .report import SenderSeen
from .states import BatchState, DeliveryState, EventKind


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
