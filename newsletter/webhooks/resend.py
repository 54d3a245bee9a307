"""Resend: webhooks signed by Svix. ``$RESEND_WEBHOOK_SECRET`` is the endpoint's signing
secret (``whsec_`` + base64). The signature is HMAC-SHA256 over
``{svix-id}.{svix-timestamp}.{body}``, base64, in ``svix-signature`` as space-separated
``v1,<signature>`` entries (several while a secret is being rotated); a timestamp more than
5 minutes away is refused, and each ``svix-id`` is accepted once (Svix keeps the id when it
retries a message, for about a day, so ids are remembered for three)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from . import base
from .base import Inbound, Observed, Received, WebhookProvider, WebhookRejected

#: Svix's own tolerance
TOLERANCE_SECONDS = 5 * 60


class ResendWebhook(WebhookProvider):
    name = "resend"
    token_lifetime = 3 * 24 * 3600.0

    def parse(self, inbound: Inbound) -> Received:
        body = inbound.json
        kind = base.need(body, "type", str)
        if kind not in ("email.bounced", "email.complained"):
            return Received([])
        data = base.need(body, "data", dict)
        to = base.need(data, "to", list, "data")
        detail = base.maybe(base.maybe(data, "bounce", dict, {}), "message", str, "")[:200]
        out = []
        for address in to:
            if not isinstance(address, str):
                raise WebhookRejected("data: field 'to' must be a list of addresses", 400)
            out.append(Observed(kind, base.plain_text(address, "data: field 'to'"), detail))
        return Received(out)

    def verify(self, inbound: Inbound) -> str:
        """The request's svix-id, once its signature and timestamp are checked."""
        configured = base.secret("RESEND_WEBHOOK_SECRET")
        try:
            key = base64.b64decode(configured.removeprefix("whsec_"), validate=True)
        except binascii.Error:
            raise WebhookRejected("$RESEND_WEBHOOK_SECRET is not a whsec_ secret", 503) from None
        msg_id, timestamp, signatures = (
            inbound.header(h) for h in ("svix-id", "svix-timestamp", "svix-signature")
        )
        if not (msg_id and timestamp and signatures):
            raise WebhookRejected("missing svix-id, svix-timestamp or svix-signature")
        signed = f"{msg_id}.{timestamp}.".encode() + inbound.body
        expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
        given = [s.partition(",")[2].encode() for s in signatures.split() if s.startswith("v1,")]
        if not any(hmac.compare_digest(expected, g) for g in given):
            raise WebhookRejected("bad signature")
        base.fresh(timestamp, TOLERANCE_SECONDS)
        return base.seen_id(msg_id, "svix-id")
