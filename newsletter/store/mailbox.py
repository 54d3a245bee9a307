"""What reading bounces from a mailbox needs of the store: the delivery a Message-ID
names, and how far the mailbox was read (kept in the settings table)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from . import Store
from .models import Delivery, Setting, Subscriber


@dataclass(frozen=True)
class Owner:
    """The delivery a message of ours was, and its address."""

    delivery_id: int
    campaign_id: int
    email: str


def message_owner(
    store: Store, delivery_id: int, message_id: str, proof: Callable[[str], str] | None = None
) -> Owner | None:
    """The delivery ``delivery_id`` if its recorded Message-ID is exactly ``message_id``
    (by primary key: a guessed id with the wrong Message-ID matches nothing); with
    ``proof``, if ``proof(recorded Message-ID)`` is ``message_id`` (a VERP tag)."""
    with store.begin() as conn:
        row = conn.execute(
            select(Delivery.id, Delivery.campaign_id, Delivery.message_id, Subscriber.email)
            .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
            .where(Delivery.id == delivery_id)
        ).first()
    if row is None or not row.message_id:
        return None
    if (proof(row.message_id) if proof else row.message_id) != message_id:
        return None
    return Owner(row.id, row.campaign_id, row.email)


def read_mark(store: Store, key: str) -> str | None:
    with store.begin() as conn:
        return conn.scalar(select(Setting.value).where(Setting.key == key))


def write_mark(store: Store, key: str, value: str) -> None:
    with store.begin() as conn:
        done = conn.execute(update(Setting).where(Setting.key == key).values(value=value))
        if not done.rowcount:
            try:
                with conn.begin_nested():
                    conn.execute(insert(Setting).values(key=key, value=value))
            except IntegrityError:  # written meanwhile by another reader: ours wins
                conn.execute(update(Setting).where(Setting.key == key).values(value=value))
