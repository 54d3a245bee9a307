"""Mailgun: HMAC-SHA256 of timestamp + token with ``$MAILGUN_WEBHOOK_SIGNING_KEY``.

Mailgun signs only the timestamp and the token, not the event: a captured signature could
carry any other event. So each token is accepted once (remembered in the database for the
signature's lifetime) and a timestamp outside the window is refused.
"""

from __future__ import annotations

import hashlib
import hmac

from .base import (
    MAX_TOKEN,
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
)


class MailgunWebhook(WebhookProvider):
    name = "mailgun"
    duplicate_status = 406  # Mailgun does not retry a 406

    def receive(self, inbound: Inbound) -> Received:
        body = parse_json(inbound.body)
        if not isinstance(body, dict):
            raise Malformed("the body must be a JSON object")
        token = self.verify(body)
        e = need(body, "event-data", dict)
        kind = need(e, "event", str, "event-data")
        if kind not in ("failed", "complained", "unsubscribed"):
            return Received([], token=token)
        key = f"failed:{maybe(e, 'severity', str, '')}" if kind == "failed" else kind
        status = maybe(e, "delivery-status", dict, {})
        detail = maybe(status, "description", str, "")[:200]
        return Received([Observed(key, need(e, "recipient", str, "event-data"), detail)], token)

    def verify(self, body: dict[str, object]) -> str:
        key = secret("MAILGUN_WEBHOOK_SIGNING_KEY")
        sig = body.get("signature")
        if not isinstance(sig, dict):
            raise WebhookRejected("missing signature")
        timestamp, token, signature = (sig.get(k) for k in ("timestamp", "token", "signature"))
        if isinstance(timestamp, int) and not isinstance(timestamp, bool):
            timestamp = str(timestamp)
        if not all(isinstance(v, str) and v for v in (timestamp, token, signature)):
            raise WebhookRejected("missing signature")
        assert isinstance(timestamp, str) and isinstance(token, str)
        assert isinstance(signature, str)
        if len(token) > MAX_TOKEN:
            raise WebhookRejected("bad token")
        expected = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256)
        if not hmac.compare_digest(expected.hexdigest().encode(), signature.encode()):
            raise WebhookRejected("bad signature")
        fresh(timestamp)
        return token
