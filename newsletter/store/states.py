"""The ledger's vocabulary: the state of a delivery row and of a batch (one request)."""

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


__all__ = ["BatchState", "DeliveryState"]
