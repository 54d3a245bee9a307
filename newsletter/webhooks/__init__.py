"""Provider webhooks: verify what the provider signs, turn bounces, complaints and
provider-side unsubscribes into suppressions (one table of event types for every
provider: :mod:`.events`). A request that fails verification or is not what the provider
sends changes nothing.

Secrets and settings come from the environment:
- Postmark: basic auth in the webhook URL, ``$POSTMARK_WEBHOOK_AUTH`` = ``user:password``;
- SendGrid: the signed event webhook's public key, ``$SENDGRID_WEBHOOK_PUBLIC_KEY``;
- Mailgun: the HTTP webhook signing key, ``$MAILGUN_WEBHOOK_SIGNING_KEY``;
- Resend: the endpoint's signing secret, ``$RESEND_WEBHOOK_SECRET`` (``whsec_...``);
- SES: the SNS topic(s) SES publishes to, ``$SES_WEBHOOK_TOPIC_ARN``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..config import Notify
from ..store import Store
from ..store.batches import pause_if_active, record_evidence
from ..store.batches import recent_outcomes as record_outcomes
from ..store.states import EventKind, EvidenceKind
from ..store.subscribers import unsubscribe
from .base import (
    Fetch,
    Inbound,
    Malformed,
    Observed,
    Received,
    WebhookNotConfigured,
    WebhookProvider,
    WebhookRejected,
    remember,
)
from .events import EVENT_TYPES, EventType, event_type
from .mailgun import MailgunWebhook
from .postmark import PostmarkWebhook
from .resend import ResendWebhook
from .sendgrid import SendGridWebhook
from .ses import SesWebhook


@dataclass(frozen=True)
class Suppress:
    email: str
    type: EventType
    detail: str = ""


def webhook_providers(
    fetch: Fetch | None = None, trusted_url: Callable[[str], bool] | None = None
) -> dict[str, WebhookProvider]:
    """Every provider's webhook by name; ``fetch`` and ``trusted_url`` (SNS certificate
    and subscription addresses) are for tests: strict by default."""
    hooks: list[WebhookProvider] = [
        PostmarkWebhook(),
        SendGridWebhook(),
        MailgunWebhook(),
        ResendWebhook(),
        SesWebhook(fetch, trusted_url),
    ]
    return {h.name: h for h in hooks}


def suppressions(provider: str, observed: list[Observed]) -> list[Suppress]:
    out = []
    for o in observed:
        kind = event_type(provider, o.key)
        if kind is not None and o.email.strip():
            out.append(Suppress(o.email.strip(), kind, o.detail))
    return out


@dataclass(frozen=True)
class Outcome:
    suppressed: int
    note: str = ""


def receive(
    store: Store, hook: WebhookProvider, inbound: Inbound, limits: Notify | None = None
) -> Outcome:
    """Verify and apply one request, all or nothing: the token is remembered in the same
    transaction as the suppressions it brings, the evidence and the parts' counters. A
    part whose bounce or complaint rate goes over ``limits`` pauses its series."""
    received = hook.receive(inbound)
    events = suppressions(hook.name, received.events)
    n = 0
    with store.begin() as conn:
        if received.token is not None and not remember(
            conn, hook.name, received.token, hook.token_lifetime
        ):
            if hook.duplicate_status >= 400:
                raise WebhookRejected(
                    "this signed request was already received (a replay?)",
                    hook.duplicate_status,
                )
            return Outcome(0, "already received, nothing changed")
        # evidence for batches whose answer was lost; what each part did
        touched = record_evidence(conn, received.sightings) if received.sightings else set()
        for campaign_id, part in sorted(touched):
            trip_rate(store, conn, campaign_id, part, limits or Notify())
        for e in events:
            if e.type is EventType.UNSUBSCRIBED:
                unsubscribe(store, e.email, conn=conn)
            n += store.suppress(e.email, e.type.value, source=hook.name, detail=e.detail, conn=conn)
    return Outcome(n, received.note)


#: a rate is judged once a part has at least this many outcomes in its window
MIN_SAMPLE = 20


def trip_rate(store: Store, conn: Any, campaign_id: int, part: int, limits: Notify) -> None:
    """Pause a series whose part's bounce or complaint rate, over its last
    ``rate_window`` outcomes, goes over the limit (told once: an active series only)."""
    seen = record_outcomes(conn, campaign_id, part, limits.rate_window)
    total = sum(seen.values())
    if total < min(MIN_SAMPLE, limits.rate_window):
        return
    for kind, limit in (
        (EvidenceKind.BOUNCED, limits.max_bounce_rate),
        (EvidenceKind.COMPLAINED, limits.max_complaint_rate),
    ):
        rate = seen[kind] / total
        if rate <= limit:
            continue
        slug = pause_if_active(conn, campaign_id)
        if slug:
            store.event(
                EventKind.RATE,
                f"{slug}: paused: part {part}'s {kind} rate is {rate:.1%} of its last {total} "
                f"outcomes (over {limit:.1%}); look at the list and the provider's report, "
                f"then 'newsletter resume {slug}'",
                campaign_id,
                conn=conn,
            )
        return


__all__ = [
    "EVENT_TYPES",
    "EventType",
    "Inbound",
    "Malformed",
    "Outcome",
    "Received",
    "Suppress",
    "WebhookNotConfigured",
    "WebhookProvider",
    "WebhookRejected",
    "receive",
    "suppressions",
    "webhook_providers",
]
