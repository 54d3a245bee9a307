"""Mailgun: HMAC-SHA256 of timestamp + token with ``$MAILGUN_WEBHOOK_SIGNING_KEY``.

Mailgun signs only the timestamp and the token, not the event: a captured signature could
carry any other event. So each token is accepted once (remembered in the database for the
signature's lifetime) and a timestamp outside the window is refused.
"""

from __future__ import annotations

import hashlib
import hmac

from . import base
from .base import Inbound, Observed, Received, WebhookProvider, WebhookRejected


class MailgunWebhook(WebhookProvider):
    name = "mailgun"
    duplicate_status = 406  # Mailgun does not retry a 406

    def verify(self, inbound: Inbound) -> str:
        key = base.secret("MAILGUN_WEBHOOK_SIGNING_KEY")
        sig = inbound.json_object().get("signature")
        if not isinstance(sig, dict):
            raise WebhookRejected("missing signature")
        timestamp, token, signature = (sig.get(k) for k in ("timestamp", "token", "signature"))
        if isinstance(timestamp, int) and not isinstance(timestamp, bool):
            timestamp = str(timestamp)
        if not all(isinstance(v, str) and v for v in (timestamp, token, signature)):
            raise WebhookRejected("missing signature")
        assert isinstance(timestamp, str) and isinstance(token, str)
        assert isinstance(signature, str)
        if len(token) > base.MAX_TOKEN:
            raise WebhookRejected("bad token")
        expected = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256)
        if not hmac.compare_digest(expected.hexdigest().encode(), signature.encode()):
            raise WebhookRejected("bad signature")
        base.fresh(timestamp)
        return token

    def parse(self, inbound: Inbound) -> Received:
        e = base.need(inbound.json_object(), "event-data", dict)
        kind = base.need(e, "event", str, "event-data")
        if kind not in ("failed", "complained", "unsubscribed"):
            return Received([])
        key = f"failed:{base.maybe(e, 'severity', str, '')}" if kind == "failed" else kind
        status = base.maybe(e, "delivery-status", dict, {})
        detail = base.maybe(status, "description", str, "")[:200]
        return Received([Observed(key, base.need(e, "recipient", str, "event-data"), detail)])
