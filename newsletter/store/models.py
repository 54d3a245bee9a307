"""The database schema (SQLAlchemy 2). Every time is naive UTC. Nothing SQLite-only.

Changes to these models need an Alembic migration in ``migrations/versions``.
"""

from __future__ import annotations

import secrets
from base64 import urlsafe_b64encode
from datetime import datetime

from sqlalchemy import (
    Boolean,
    Connection,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from . import triggers
from .states import CampaignStatus, DeliveryState, MembershipStatus, SubscriberStatus


class Base(DeclarativeBase):
    pass


def new_token_key() -> str:
    """A subscriber's token key: 12 random URL-safe characters (72 bits)."""
    return secrets.token_urlsafe(9)


def new_token_keys(n: int) -> list[str]:
    """N keys as :func:`new_token_key` makes them, from one read of the system's random
    source (an import of a million rows: a tenth of the time of a call per key)."""
    raw = urlsafe_b64encode(secrets.token_bytes(9 * n)).decode()  # 9 bytes: 12 characters
    return [raw[i : i + 12] for i in range(0, 12 * n, 12)]


class Subscriber(Base):
    __tablename__ = "subscribers"
    #: ids are never given again (SQLite's AUTOINCREMENT; PostgreSQL's sequences never do)
    __table_args__ = {"sqlite_autoincrement": True}
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: normalised: the domain lower-cased; unique case-insensitively through email_key
    email: Mapped[str] = mapped_column(String(320))
    email_key: Mapped[str] = mapped_column(String(320), unique=True)
    first_name: Mapped[str] = mapped_column(String(200), default="")
    last_name: Mapped[str] = mapped_column(String(200), default="")
    timezone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    tags: Mapped[str] = mapped_column(String(1000), default="")
    #: SubscriberStatus: active | unsubscribed | pending (joined through the form, not
    #: confirmed yet)
    status: Mapped[str] = mapped_column(String(20), default=SubscriberStatus.ACTIVE)
    subscribed_at: Mapped[datetime] = mapped_column(DateTime)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    #: signed into every link this subscriber gets: a link opens only the row it was made
    #: for, and dies with it (see :mod:`newsletter.signing`)
    token_key: Mapped[str] = mapped_column(String(32), default=new_token_key)
    #: subscribed before links carried a key (migration 0008): their old links, which name
    #: only the id, still open this row (and nothing once it is erased)
    legacy_links: Mapped[bool] = mapped_column(Boolean, server_default=false())


class MailingList(Base):
    __tablename__ = "lists"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Membership(Base):
    __tablename__ = "memberships"
    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True
    )
    list_id: Mapped[int] = mapped_column(
        ForeignKey("lists.id", ondelete="CASCADE"), primary_key=True
    )
    joined_at: Mapped[datetime] = mapped_column(DateTime)
    #: MembershipStatus: active | unsubscribed | pending (waiting for the reader's
    #: confirmation)
    status: Mapped[str] = mapped_column(String(20), default=MembershipStatus.ACTIVE)
    __table_args__ = (Index("ix_memberships_list", "list_id", "status"),)


class Consent(Base):
    """How and when someone joined a list: what GDPR Art. 7(1) asks a sender to be able to
    demonstrate. One row per joining; erased with the subscriber."""

    __tablename__ = "consents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), index=True
    )
    list_id: Mapped[int | None] = mapped_column(
        ForeignKey("lists.id", ondelete="CASCADE"), nullable=True
    )
    #: form | import | cli
    method: Mapped[str] = mapped_column(String(20))
    joined_at: Mapped[datetime] = mapped_column(DateTime)
    form_url: Mapped[str] = mapped_column(String(2000), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(500), default="")
    consent_text: Mapped[str] = mapped_column(String(2000), default="")
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class Suppression(Base):
    """Addresses that get nothing more: bounced, complained, unsubscribed at the provider,
    or erased (then only a hash of the address is kept)."""

    __tablename__ = "suppressions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email_key: Mapped[str] = mapped_column(String(320), unique=True)
    #: SuppressionReason
    reason: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(40), default="")
    detail: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Campaign(Base):
    """An issue's series queued for a list: a snapshot of its rendered parts."""

    __tablename__ = "campaigns"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(500))
    issue_path: Mapped[str] = mapped_column(String(1000))
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id"))
    #: broadcast | sequence
    mode: Mapped[str] = mapped_column(String(20))
    start_at: Mapped[datetime] = mapped_column(DateTime)
    interval_seconds: Mapped[int] = mapped_column(Integer)
    send_at: Mapped[str | None] = mapped_column(String(5), nullable=True)  # "HH:MM" local
    default_timezone: Mapped[str] = mapped_column(String(64))
    #: CampaignStatus: active | paused | cancelled
    status: Mapped[str] = mapped_column(String(20), default=CampaignStatus.ACTIVE)
    parts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    __table_args__ = (Index("ix_campaigns_slug", "slug"),)


class CampaignPart(Base):
    __tablename__ = "campaign_parts"
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    part: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(String(500))
    preheader: Mapped[str] = mapped_column(String(500))
    html: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    words: Mapped[int] = mapped_column(Integer)
    cta_url: Mapped[str] = mapped_column(String(2000), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class Delivery(Base):
    """The ledger: one row per (campaign, subscriber, part).

    scheduled -> sending (claimed) -> sent | failed | unknown; or skipped (unsubscribed,
    suppressed, cancelled) or missed (due while the machine was off past the grace window).
    """

    __tablename__ = "deliveries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    part: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(DateTime)
    state: Mapped[str] = mapped_column(String(20), default=DeliveryState.SCHEDULED)
    claimed_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    message_id: Mapped[str | None] = mapped_column(String(500), nullable=True)
    error: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: the request (batches.id) this row last went out in
    batch_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    __table_args__ = (
        UniqueConstraint("campaign_id", "subscriber_id", "part", name="uq_delivery"),
        Index("ix_deliveries_due", "state", "due_at", "id"),
        Index("ix_deliveries_batch", "batch_id"),
        # the sent rows only, by part and time: when each part first went out (the archive)
        Index(
            "ix_deliveries_sent",
            "campaign_id",
            "part",
            "sent_at",
            sqlite_where=text("state = 'sent'"),
            postgresql_where=text("state = 'sent'"),
        ),
    )


class SendBatch(Base):
    """One request to a provider: the unit in which an answer can be lost.

    States are :class:`~newsletter.store.states.BatchState`. ``idempotency_key`` is sent
    where the provider takes one, and the batch id goes out in each message's metadata so
    that ``newsletter reconcile`` can find it in the provider's log.
    """

    __tablename__ = "batches"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    part: Mapped[int] = mapped_column(Integer)
    provider: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    size: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    #: the sender (claim token) that owns the batch while it is 'sending'
    claimed_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    message_ids: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    settled_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    __table_args__ = (Index("ix_batches_state", "state"),)


class SenderBeat(Base):
    """A sender process (`run` or `send-due`) and when it was last alive."""

    __tablename__ = "senders"
    token: Mapped[str] = mapped_column(String(200), primary_key=True)
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    command: Mapped[str] = mapped_column(String(40))
    started_at: Mapped[datetime] = mapped_column(DateTime)
    last_seen: Mapped[datetime] = mapped_column(DateTime)
    __table_args__ = (Index("ix_senders_seen", "last_seen"),)


class Event(Base):
    """What the editor should know about: missed sends, paused campaigns, recoveries."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    campaign_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: EventKind
    kind: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(String(2000))


class Setting(Base):
    """Values the tool keeps for itself (e.g. a generated signing secret)."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(String(2000))


class WebhookToken(Base):
    """Signed webhook tokens already accepted (Mailgun signs only timestamp + token): a
    replay within the signature's lifetime is refused. Rows older than that are pruned."""

    __tablename__ = "webhook_tokens"
    provider: Mapped[str] = mapped_column(String(40), primary_key=True)
    token: Mapped[str] = mapped_column(String(200), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(DateTime)
    __table_args__ = (Index("ix_webhook_tokens_seen", "seen_at"),)


class Feed(Base):
    """A blog's RSS or Atom feed: each new entry becomes an issue file for ``list_name``."""

    __tablename__ = "feeds"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    url_key: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the URL
    title: Mapped[str] = mapped_column(String(500), default="")
    list_name: Mapped[str] = mapped_column(String(200))
    #: broadcast | sequence, as for `newsletter queue`
    mode: Mapped[str] = mapped_column(String(20))
    every: Mapped[str] = mapped_column(String(20))
    send_at: Mapped[str | None] = mapped_column(String(5), nullable=True)  # "HH:MM" local
    #: Approve: auto | manual
    approve: Mapped[str] = mapped_column(String(10))
    backfill: Mapped[int] = mapped_column(Integer, default=0)
    poll_seconds: Mapped[int] = mapped_column(Integer)
    added_at: Mapped[datetime] = mapped_column(DateTime)
    etag: Mapped[str | None] = mapped_column(String(500), nullable=True)
    last_modified: Mapped[str | None] = mapped_column(String(100), nullable=True)
    polled_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    next_poll_at: Mapped[datetime] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(String(1000), nullable=True)


class FeedEntry(Base):
    """An entry seen in a feed (by id/guid, else link): never imported twice."""

    __tablename__ = "feed_entries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    entry_key: Mapped[str] = mapped_column(String(64))  # sha256 of the id, guid or link
    entry_id: Mapped[str] = mapped_column(String(2000))
    link: Mapped[str] = mapped_column(String(2000), default="")
    title: Mapped[str] = mapped_column(String(500), default="")
    published_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    seen_at: Mapped[datetime] = mapped_column(DateTime)
    #: EntryState: old | failed | waiting | queued | held
    state: Mapped[str] = mapped_column(String(20))
    issue_path: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    detail: Mapped[str] = mapped_column(String(2000), default="")
    __table_args__ = (
        UniqueConstraint("feed_id", "entry_key", name="uq_feed_entry"),
        Index("ix_feed_entries_state", "state"),
    )


class SendEvidence(Base):
    """What a provider's events say it did with one message of a batch (``sent``,
    ``refused``, ``delivered``, ``bounced``, ``complained``, ``unsubscribed``), by the
    batch's global id: how a batch whose answer was lost is settled for providers whose log
    cannot be searched (SendGrid, SES), and each part's bounce and complaint rates."""

    __tablename__ = "send_evidence"
    batch_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    delivery_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: EvidenceKind
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    #: the message's part (a bounce or complaint rate is judged per part)
    campaign_id: Mapped[int] = mapped_column(Integer)
    part: Mapped[int] = mapped_column(Integer)
    __table_args__ = (Index("ix_send_evidence_part", "campaign_id", "part", "at"),)


class PartCount(Base):
    """What each part did, kept as counters (one row per part): its deliveries by state,
    kept by database triggers in the transaction that changes a delivery (:mod:`.triggers`),
    and what the providers' events said (delivered, bounced, complained, unsubscribed),
    counted in the webhook's transaction; ``status`` reads them at any list size."""

    __tablename__ = "part_counts"
    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    part: Mapped[int] = mapped_column(Integer, primary_key=True)
    scheduled: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    sending: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    sent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    skipped: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    missed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    unknown: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    delivered: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    bounced: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    complained: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    unsubscribed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: the earliest due time a scheduled row of the part had (a lower bound of its next
    #: send, checked by ``status`` with one index probe)
    next_due: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class Confirmation(Base):
    """A confirmation email to send to a pending address: written in the same transaction
    as the form's answer and sent after it (the answer takes the same time whether the
    address was on the list or not). ``throttle_key`` (a hash of the address without its
    ``+tag``) limits an address to one confirmation per list and window. Deleted with the
    subscriber."""

    __tablename__ = "confirmations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    throttle_key: Mapped[str] = mapped_column(String(80))
    #: ConfirmationState
    state: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    due_at: Mapped[datetime] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: who is sending it (a process's token) and since when
    owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    __table_args__ = (
        Index("ix_confirmations_due", "state", "due_at"),
        Index("ix_confirmations_throttle", "throttle_key", "list_id", "created_at"),
        Index("ix_confirmations_subscriber", "subscriber_id"),
        {"sqlite_autoincrement": True},
    )


@event.listens_for(Base.metadata, "after_create")
def _make_triggers(_metadata: object, connection: Connection, **_kw: object) -> None:
    """A new database's tables come with the part counters' triggers."""
    for sql in triggers.statements(connection.dialect.name):
        connection.exec_driver_sql(sql)
