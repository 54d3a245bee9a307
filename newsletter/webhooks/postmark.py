"""Postmark: basic auth in the webhook URL, ``$POSTMARK_WEBHOOK_AUTH`` = ``user:password``.
One event per request."""

from __future__ import annotations

import base64
import binascii
import hmac

from ..store.states import EvidenceKind
from . import base
from .base import Inbound, Observed, Received, WebhookProvider, WebhookRejected

#: what a record says became of one of our messages (its Metadata names it)
OUTCOMES: dict[str, tuple[str, ...]] = {
    "Delivery": (EvidenceKind.SENT, EvidenceKind.DELIVERED),
    "Bounce": (EvidenceKind.BOUNCED,),
    "SpamComplaint": (EvidenceKind.COMPLAINED,),
}


class PostmarkWebhook(WebhookProvider):
    name = "postmark"

    def parse(self, inbound: Inbound) -> Received:
        body = inbound.json
        kind = base.need(body, "RecordType", str)
        meta = body.get("Metadata") if isinstance(body.get("Metadata"), dict) else {}
        ours = [
            s
            for k in OUTCOMES.get(kind, ())
            for s in base.sighting(meta.get("batch"), meta.get("delivery"), k)
        ]
        if kind == "Bounce":
            key = f"Bounce:{base.need(body, 'Type', str)}"
            hard = key in ("Bounce:HardBounce", "Bounce:BadEmailAddress")
            return Received(
                [
                    Observed(
                        key, base.need(body, "Email", str), base.maybe(body, "Description", str, "")
                    )
                ],
                sightings=ours if hard else [],
            )
        if kind == "SpamComplaint":
            return Received([Observed(kind, base.need(body, "Email", str))], sightings=ours)
        if kind == "Delivery":
            return Received([], sightings=ours)
        if kind == "SubscriptionChange":
            if not base.maybe(body, "SuppressSending", bool, False):
                return Received([])  # a reactivation: nothing to suppress
            reason = base.maybe(body, "SuppressionReason", str, "")
            return Received(
                [Observed(f"{kind}:{reason}", base.need(body, "Recipient", str), reason)]
            )
        return Received([])

    def verify(self, inbound: Inbound) -> None:
        """Basic auth (Postmark signs nothing, so there is no id to remember)."""
        authorization = inbound.header("Authorization")
        expected = base.secret("POSTMARK_WEBHOOK_AUTH")
        if not authorization or not authorization.startswith("Basic "):
            raise WebhookRejected("basic auth required", 401)
        try:
            given = base64.b64decode(authorization[6:], validate=True)
        except binascii.Error:
            raise WebhookRejected("malformed basic auth", 401) from None
        if not hmac.compare_digest(given, expected.encode()):
            raise WebhookRejected("wrong webhook credentials", 401)
