"""The store's vocabulary: the state of a delivery row and of a batch (one request), of a
confirmation email, and of a feed's entries."""

from __future__ import annotations

from enum import StrEnum


class DeliveryState(StrEnum):
    """One (subscriber, part): scheduled -> sending (claimed) -> sent | failed | unknown;
    or skipped (unsubscribed, suppressed, cancelled) or missed (past the grace window)."""

    SCHEDULED = "scheduled"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"
    MISSED = "missed"
    UNKNOWN = "unknown"


class BatchState(StrEnum):
    """One request to a provider.

    ``claimed``: its rows are taken and its request is being built, nothing has gone out
    (a dead sender's claimed batch goes back to the queue); ``sending``: the request may be
    in flight; ``done``: its answer is recorded;
    ``unknown``: the request may or may not have reached the provider (settle it with
    ``newsletter reconcile`` or ``newsletter resume ISSUE --batch ID``); ``settled``: an
    unknown batch the editor or reconcile answered; ``released``: claimed but never sent.
    """

    CLAIMED = "claimed"
    SENDING = "sending"
    DONE = "done"
    UNKNOWN = "unknown"
    SETTLED = "settled"
    RELEASED = "released"


class ConfirmationState(StrEnum):
    """A confirmation email: queued -> sending (claimed by a process) -> sent; or failed
    (refused by the provider after its tries), unknown (its sender died mid-request, and
    the provider cannot be asked again safely: never sent twice), or dropped (confirmed,
    erased or purged before it went out)."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"
    DROPPED = "dropped"


# --- feeds -------------------------------------------------------------------------------


class Approve(StrEnum):
    """Who says a new post goes out: the editor (``newsletter approve``) or its checks."""

    AUTO = "auto"
    MANUAL = "manual"


class EntryState(StrEnum):
    """A feed's entry, as seen by a poll (``feed_entries.state``)."""

    IMPORTING = "importing"  # claimed by a poll, being imported
    OLD = "old"  # older than the feed's addition: not imported
    FAILED = "failed"  # cannot become an issue (no link and no content ...)
    WAITING = "waiting"  # an issue file waits for `newsletter approve`
    HELD = "held"  # auto: its checks found errors, waits for the editor
    QUEUED = "queued"
    DUPLICATE = "duplicate"  # the same post came through another feed of the same list first


__all__ = ["Approve", "BatchState", "ConfirmationState", "DeliveryState", "EntryState"]
