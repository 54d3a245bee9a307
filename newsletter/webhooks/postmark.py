"""Postmark: basic auth in the webhook URL, ``$POSTMARK_WEBHOOK_AUTH`` = ``user:password``.
One event per request."""

from __future__ import annotations

import base64
import binascii
import hmac

from ..store.states import EvidenceKind
from .base import (
    Inbound,
    Observed,
    Received,
    WebhookProvider,
    WebhookRejected,
    maybe,
    need,
    parse_json,
    secret,
    sighting,
)

#: what a record says became of one of our messages (its Metadata names it)
OUTCOMES: dict[str, tuple[str, ...]] = {
    "Delivery": (EvidenceKind.SENT, EvidenceKind.DELIVERED),
    "Bounce": (EvidenceKind.BOUNCED,),
    "SpamComplaint": (EvidenceKind.COMPLAINED,),
}


class PostmarkWebhook(WebhookProvider):
    name = "postmark"

    def receive(self, inbound: Inbound) -> Received:
        self.verify(inbound.header("Authorization"))
        body = parse_json(inbound.body)
        kind = need(body, "RecordType", str)
        meta = body.get("Metadata") if isinstance(body.get("Metadata"), dict) else {}
        ours = [
            s
            for k in OUTCOMES.get(kind, ())
            for s in sighting(meta.get("batch"), meta.get("delivery"), k)
        ]
        if kind == "Bounce":
            key = f"Bounce:{need(body, 'Type', str)}"
            hard = key in ("Bounce:HardBounce", "Bounce:BadEmailAddress")
            return Received(
                [Observed(key, need(body, "Email", str), maybe(body, "Description", str, ""))],
                sightings=ours if hard else [],
            )
        if kind == "SpamComplaint":
            return Received([Observed(kind, need(body, "Email", str))], sightings=ours)
        if kind == "Delivery":
            return Received([], sightings=ours)
        if kind == "SubscriptionChange":
            if not maybe(body, "SuppressSending", bool, False):
                return Received([])  # a reactivation: nothing to suppress
            reason = maybe(body, "SuppressionReason", str, "")
            return Received([Observed(f"{kind}:{reason}", need(body, "Recipient", str), reason)])
        return Received([])

    @staticmethod
    def verify(authorization: str | None) -> None:
        expected = secret("POSTMARK_WEBHOOK_AUTH")
        if not authorization or not authorization.startswith("Basic "):
            raise WebhookRejected("basic auth required", 401)
        try:
            given = base64.b64decode(authorization[6:], validate=True)
        except binascii.Error:
            raise WebhookRejected("malformed basic auth", 401) from None
        if not hmac.compare_digest(given, expected.encode()):
            raise WebhookRejected("wrong webhook credentials", 401)
