"""SendGrid: the signed event webhook (ECDSA over timestamp + body), public key in
``$SENDGRID_WEBHOOK_PUBLIC_KEY``. A request holds a list of events.

SendGrid documents no replay window, and an ECDSA signature can be rewritten into another
valid one, so a request is known by a hash of what is signed (timestamp and body): it is
accepted once, and its timestamp must be within 15 minutes."""

from __future__ import annotations

import base64
import binascii
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key

from ..store.states import EvidenceKind
from .base import (
    Inbound,
    Malformed,
    Observed,
    Received,
    WebhookProvider,
    WebhookRejected,
    fresh,
    maybe,
    need,
    parse_json,
    secret,
    sighting,
)

#: events that tell what became of a message (accepted, or dropped unsent; then what the
#: reader's server and the reader did), by the custom_args it carries
SIGHTINGS: dict[str, tuple[str, ...]] = {
    "processed": (EvidenceKind.SENT,),
    "delivered": (EvidenceKind.SENT, EvidenceKind.DELIVERED),
    "dropped": (EvidenceKind.REFUSED,),
    "bounce": (EvidenceKind.BOUNCED,),
    "spamreport": (EvidenceKind.COMPLAINED,),
    "unsubscribe": (EvidenceKind.UNSUBSCRIBED,),
    "group_unsubscribe": (EvidenceKind.UNSUBSCRIBED,),
}

SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"


class SendGridWebhook(WebhookProvider):
    name = "sendgrid"

    def receive(self, inbound: Inbound) -> Received:
        timestamp = inbound.header(TIMESTAMP) or ""
        self.verify(inbound.body, inbound.header(SIGNATURE), timestamp)
        token = hashlib.sha256(timestamp.encode() + b"." + inbound.body).hexdigest()
        events = parse_json(inbound.body)
        if not isinstance(events, list):
            raise Malformed("the body must be a JSON list of events")
        out = []
        seen: list[tuple[str, int, str]] = []
        for i, e in enumerate(events):
            where = f"event {i}"
            kind = need(e, "event", str, where)
            # our custom_args come back as the event's own fields
            what = SIGHTINGS.get(kind, ())
            if kind == "bounce" and maybe(e, "type", str, "bounce") != "bounce":
                what = ()  # a "blocked" bounce is temporary
            for k in what:
                seen += sighting(e.get("batch"), e.get("delivery"), k)
            if kind == "bounce":
                key = f"bounce:{maybe(e, 'type', str, 'bounce')}"
            elif kind == "dropped":
                key = f"dropped:{maybe(e, 'reason', str, '')}"
            else:
                key = kind
            if kind in ("bounce", "dropped", "spamreport", "unsubscribe", "group_unsubscribe"):
                detail = maybe(e, "reason", str, "")[:200]
                out.append(Observed(key, need(e, "email", str, where), detail))
        return Received(out, token, sightings=seen)

    @staticmethod
    def verify(raw: bytes, signature: str | None, timestamp: str | None) -> None:
        key_b64 = secret("SENDGRID_WEBHOOK_PUBLIC_KEY")
        if not signature or not timestamp:
            raise WebhookRejected("missing signature headers")
        try:
            key = load_der_public_key(base64.b64decode(key_b64))
        except (binascii.Error, ValueError):
            raise WebhookRejected("$SENDGRID_WEBHOOK_PUBLIC_KEY is not a public key", 503) from None
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise WebhookRejected("the configured key is not an ECDSA public key", 503)
        try:
            key.verify(
                base64.b64decode(signature), timestamp.encode() + raw, ec.ECDSA(hashes.SHA256())
            )
        except (InvalidSignature, binascii.Error, ValueError):
            raise WebhookRejected("bad signature") from None
        fresh(timestamp)
