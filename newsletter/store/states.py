"""The vocabulary: every state and status the store keeps, each a ``StrEnum`` whose values
are the strings stored in the database (never change a value without a migration).

As in listmonk's ``models.go``, one place names them all: a delivery row and a batch (one
request), a confirmation email, a series (campaign), a subscriber and their membership of
a list, a suppression's reason, an event's kind, a provider's evidence about one message,
a provider's answer to one message, a provider's event, a mailbox report, and a feed's
entry. ``tests/test_vocabulary.py`` fails when one of these values is written as a bare
string in a status context anywhere else in ``newsletter/``.
"""

from __future__ import annotations

from enum import Enum, StrEnum


class DeliveryState(StrEnum):
    """One (subscriber, part): scheduled -> sending (claimed) -> sent | failed | unknown;
    or skipped (unsubscribed, suppressed, cancelled) or missed (past the grace window)."""

    SCHEDULED = "scheduled"  # waiting for its due time
    SENDING = "sending"  # claimed by a sender, its request being built or in flight
    SENT = "sent"  # the provider accepted it
    FAILED = "failed"  # refused for good, or out of tries
    SKIPPED = "skipped"  # not sent: unsubscribed, suppressed, cancelled or stopped
    MISSED = "missed"  # due while nothing was sending, past the grace window
    UNKNOWN = "unknown"  # its answer was lost: it may or may not have gone out


class BatchState(StrEnum):
    """One request to a provider.

    ``claimed``: its rows are taken and its request is being built, nothing has gone out
    (a dead sender's claimed batch goes back to the queue); ``sending``: the request may be
    in flight; ``done``: its answer is recorded;
    ``unknown``: the request may or may not have reached the provider (settle it with
    ``newsletter reconcile`` or ``newsletter resume ISSUE --batch ID``); ``settled``: an
    unknown batch the editor or reconcile answered; ``released``: claimed but never sent.
    """

    CLAIMED = "claimed"  # rows taken, request being built; nothing has gone out
    SENDING = "sending"  # the request may be in flight
    DONE = "done"  # its answer is recorded
    UNKNOWN = "unknown"  # the request may or may not have reached the provider
    SETTLED = "settled"  # an unknown batch answered by the editor or reconcile
    RELEASED = "released"  # claimed but never sent


class ConfirmationState(StrEnum):
    """A confirmation email: queued -> sending (claimed by a process) -> sent; or failed
    (refused by the provider after its tries), unknown (its sender died mid-request, and
    the provider cannot be asked again safely: never sent twice), or dropped (confirmed,
    erased or purged before it went out)."""

    QUEUED = "queued"  # waiting to be sent
    SENDING = "sending"  # claimed by a process
    SENT = "sent"  # the provider accepted it
    FAILED = "failed"  # refused by the provider after its tries
    UNKNOWN = "unknown"  # its sender died mid-request: never sent twice
    DROPPED = "dropped"  # confirmed, erased or purged before it went out


class CampaignStatus(StrEnum):
    """A queued series (``campaigns.status``)."""

    ACTIVE = "active"  # its due parts go out
    PAUSED = "paused"  # nothing goes out until 'newsletter resume'
    CANCELLED = "cancelled"  # stopped for good: its unsent parts are skipped


#: a series still queued (active or paused): not cancelled
CAMPAIGN_QUEUED = (CampaignStatus.ACTIVE, CampaignStatus.PAUSED)


class SubscriberStatus(StrEnum):
    """A subscriber (``subscribers.status``); an erased subscriber's row is deleted."""

    ACTIVE = "active"  # gets what their lists send
    PENDING = "pending"  # joined through the form, has not confirmed yet
    UNSUBSCRIBED = "unsubscribed"  # left every list: gets nothing


class MembershipStatus(StrEnum):
    """A subscriber's place on one list (``memberships.status``)."""

    ACTIVE = "active"  # on the list
    PENDING = "pending"  # waiting for the reader's confirmation
    UNSUBSCRIBED = "unsubscribed"  # left this list


class SuppressionReason(StrEnum):
    """Why an address gets nothing more (``suppressions.reason``)."""

    BOUNCED = "bounced"  # a permanent bounce (provider event or the mailbox)
    COMPLAINED = "complained"  # the reader marked a message as spam
    UNSUBSCRIBED = "unsubscribed"  # the reader left (at the provider or with us)
    ERASED = "erased"  # erased on request: only a hash of the address is kept
    MANUAL = "manual"  # the editor suppressed it ('newsletter suppress')
    REJECTED = "rejected"  # the provider refused the address for good


#: reasons a form never lifts: mail would bounce, or the reader complained
HARD_SUPPRESSIONS = (
    SuppressionReason.BOUNCED,
    SuppressionReason.COMPLAINED,
    SuppressionReason.REJECTED,
    SuppressionReason.MANUAL,
)


class EventKind(StrEnum):
    """What the editor is told about (``events.kind``)."""

    QUEUED = "queued"  # an issue was queued
    REQUEUED = "requeued"  # a queued issue's parts were updated
    ACTIVE = "active"  # a paused series was resumed
    PAUSED = "paused"  # the editor paused a series
    CANCELLED = "cancelled"  # the editor cancelled a series
    MISSED = "missed"  # messages missed the grace window
    UNKNOWN = "unknown"  # a batch's answer was lost
    SETTLED = "settled"  # an unknown batch was settled
    DECISION = "decision"  # an unknown batch awaits the editor's decision
    HALTED = "halted"  # a series paused itself after too many failures
    RATE = "rate"  # a part's bounce or complaint rate paused its series
    ERROR = "error"  # a scheduled job failed
    SIGNUP = "signup"  # a confirmation email was not sent
    BOUNCE = "bounce"  # a bounce read from the mailbox
    COMPLAINT = "complaint"  # a complaint read from the mailbox


class EvidenceKind(StrEnum):
    """What a provider's event says it did with one message (``send_evidence.kind``)."""

    SENT = "sent"  # it accepted the message
    REFUSED = "refused"  # it refused the message (dropped, rejected)
    DELIVERED = "delivered"  # the receiving server took it
    BOUNCED = "bounced"  # it bounced
    COMPLAINED = "complained"  # the reader marked it as spam
    UNSUBSCRIBED = "unsubscribed"  # the reader unsubscribed from it


#: evidence that settles a batch whose answer was lost (did it go out?)
SIGHTINGS = (EvidenceKind.SENT, EvidenceKind.REFUSED)
#: what became of a message that went out, counted per part
OUTCOMES = (
    EvidenceKind.DELIVERED,
    EvidenceKind.BOUNCED,
    EvidenceKind.COMPLAINED,
    EvidenceKind.UNSUBSCRIBED,
)


class Outcome(StrEnum):
    """A provider's answer for one message."""

    SENT = "sent"  # accepted and sent
    QUEUED = "queued"  # accepted, queued by the provider
    INVALID = "invalid"  # the address is invalid: never again
    REJECTED = "rejected"  # the provider refused the address for good
    FAILED = "failed"  # refused for this message (content, size ...)
    UNKNOWN = "unknown"  # the answer was lost: may or may not have gone out
    DEFERRED = "deferred"  # try again later (the provider's rate limit)
    TRANSIENT = "transient"  # a fault that passes by itself: tried again with backoff
    REFUSED = "refused"  # our credentials or account were refused: needs a person


#: the provider took the message
ACCEPTED = (Outcome.SENT, Outcome.QUEUED)
#: the address gets nothing more
PERMANENT = (Outcome.INVALID, Outcome.REJECTED)


class EventType(Enum):
    """What a provider's event means for the address; the value is the suppression
    reason."""

    BOUNCED = SuppressionReason.BOUNCED.value  # a permanent bounce
    COMPLAINED = SuppressionReason.COMPLAINED.value  # a spam complaint
    UNSUBSCRIBED = SuppressionReason.UNSUBSCRIBED.value  # unsubscribed at the provider


class BounceKind(StrEnum):
    """What a message in the sender's mailbox is (``newsletter.bounces``)."""

    BOUNCE = "bounce"  # permanent: the address is suppressed
    DELAY = "delay"  # temporary: nothing changes
    COMPLAINT = "complaint"  # an ARF complaint: the address is suppressed
    AUTO_REPLY = "auto-reply"  # an out-of-office answer: left alone
    OTHER = "other"  # not a report: a person's mail, left alone


class Approve(StrEnum):
    """Who says a new post goes out (``feeds.approve``): the editor (``newsletter
    approve``) or its checks."""

    AUTO = "auto"  # queued when its checks pass
    MANUAL = "manual"  # waits for 'newsletter approve'


class EntryState(StrEnum):
    """A feed's entry (``feed_entries.state``)."""

    IMPORTING = "importing"  # claimed by a poll, being imported
    OLD = "old"  # older than the feed's addition: not imported
    FAILED = "failed"  # cannot become an issue (no link and no content ...)
    WAITING = "waiting"  # an issue file waits for `newsletter approve`
    HELD = "held"  # auto: its checks found errors, waits for the editor
    QUEUED = "queued"  # became an issue and was queued
    DUPLICATE = "duplicate"  # the same post came through another feed of the same list first


class Fetch(StrEnum):
    """What a poll of one feed got."""

    NEW = "fetched"  # a new version of the feed
    NOT_MODIFIED = "not modified"  # the server said nothing changed
    ERROR = "error"  # it could not be read


#: every enum above: the vocabulary ``tests/test_vocabulary.py`` checks for
VOCABULARY: tuple[type[Enum], ...] = (
    DeliveryState,
    BatchState,
    ConfirmationState,
    CampaignStatus,
    SubscriberStatus,
    MembershipStatus,
    SuppressionReason,
    EventKind,
    EvidenceKind,
    Outcome,
    EventType,
    BounceKind,
    Approve,
    EntryState,
    Fetch,
)

__all__ = [
    "ACCEPTED",
    "CAMPAIGN_QUEUED",
    "HARD_SUPPRESSIONS",
    "OUTCOMES",
    "PERMANENT",
    "SIGHTINGS",
    "VOCABULARY",
    "Approve",
    "BatchState",
    "BounceKind",
    "CampaignStatus",
    "ConfirmationState",
    "DeliveryState",
    "EntryState",
    "EventKind",
    "EventType",
    "EvidenceKind",
    "Fetch",
    "MembershipStatus",
    "Outcome",
    "SubscriberStatus",
    "SuppressionReason",
]
