"""The webhook requests already received: each signed request's id is remembered once, so
a replay (or a provider's retry of a request already applied) changes nothing."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from . import utcnow
from .models import WebhookToken


def remember(conn: Connection, provider: str, token: str, lifetime: float) -> bool:
    """Record a signed request's id once: False when it was already received within
    ``lifetime`` (a replay, or the provider's retry of a request already applied). Older
    ids are pruned: their signatures are stale by then."""
    now = utcnow()
    conn.execute(
        delete(WebhookToken).where(WebhookToken.seen_at < now - timedelta(seconds=lifetime * 2))
    )
    try:
        with conn.begin_nested():
            conn.execute(insert(WebhookToken).values(provider=provider, token=token, seen_at=now))
    except IntegrityError:
        return False
    return True
