"""Provider webhooks: verify what the provider signs, turn bounces, complaints and
provider-side unsubscribes into suppressions. Each verifier raises WebhookRejected on a
bad signature; nothing is changed then.

Secrets come from the environment:
- Postmark: basic auth in the webhook URL, ``$POSTMARK_WEBHOOK_AUTH`` = ``user:password``;
- SendGrid: the signed event webhook's public key, ``$SENDGRID_WEBHOOK_PUBLIC_KEY``;
- Mailgun: the HTTP webhook signing key, ``$MAILGUN_WEBHOOK_SIGNING_KEY``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import time
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key

from .store import Store
from .store.subscribers import unsubscribe

MAX_AGE_SECONDS = 15 * 60


class WebhookRejected(Exception):
    """The request is not from the provider (bad or missing signature)."""

    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.status = status


class WebhookNotConfigured(WebhookRejected):
    def __init__(self, variable: str) -> None:
        super().__init__(f"set ${variable} to accept this provider's webhooks", 503)


@dataclass(frozen=True)
class Suppress:
    email: str
    reason: str  # bounced | complained | unsubscribed
    detail: str = ""


def _secret(variable: str) -> str:
    value = os.environ.get(variable, "")
    if not value:
        raise WebhookNotConfigured(variable)
    return value


# --- Postmark ------------------------------------------------------------------------


def verify_postmark(authorization: str | None) -> None:
    expected = _secret("POSTMARK_WEBHOOK_AUTH")
    if not authorization or not authorization.startswith("Basic "):
        raise WebhookRejected("basic auth required", 401)
    try:
        given = base64.b64decode(authorization[6:], validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise WebhookRejected("malformed basic auth", 401) from None
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise WebhookRejected("wrong webhook credentials", 401)


def postmark_events(body: dict[str, Any]) -> list[Suppress]:
    kind = body.get("RecordType")
    if kind == "Bounce" and body.get("Type") in (
        "HardBounce",
        "BadEmailAddress",
        "ManuallyDeactivated",
    ):
        return [Suppress(str(body.get("Email", "")), "bounced", str(body.get("Description", "")))]
    if kind == "SpamComplaint":
        return [Suppress(str(body.get("Email", "")), "complained")]
    if kind == "SubscriptionChange" and body.get("SuppressSending"):
        reason = str(body.get("SuppressionReason", ""))
        mapped = {"HardBounce": "bounced", "SpamComplaint": "complained"}.get(
            reason, "unsubscribed"
        )
        return [Suppress(str(body.get("Recipient", "")), mapped, reason)]
    return []


# --- SendGrid ------------------------------------------------------------------------


def verify_sendgrid(raw: bytes, signature: str | None, timestamp: str | None) -> None:
    key_b64 = _secret("SENDGRID_WEBHOOK_PUBLIC_KEY")
    if not signature or not timestamp:
        raise WebhookRejected("missing signature headers")
    try:
        key = load_der_public_key(base64.b64decode(key_b64))
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise WebhookRejected("the configured key is not an ECDSA public key", 503)
        key.verify(base64.b64decode(signature), timestamp.encode() + raw, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, binascii.Error, ValueError):
        raise WebhookRejected("bad signature") from None
    _fresh(timestamp)


def sendgrid_events(events: list[dict[str, Any]]) -> list[Suppress]:
    out = []
    for e in events:
        kind, email = e.get("event"), str(e.get("email", ""))
        if kind == "bounce" and e.get("type", "bounce") == "bounce":
            out.append(Suppress(email, "bounced", str(e.get("reason", ""))[:200]))
        elif kind == "spamreport":
            out.append(Suppress(email, "complained"))
        elif kind in ("unsubscribe", "group_unsubscribe"):
            out.append(Suppress(email, "unsubscribed"))
        elif kind == "dropped":
            reason = str(e.get("reason", ""))
            if "Bounced" in reason or "Invalid" in reason:
                out.append(Suppress(email, "bounced", reason))
            elif "Spam" in reason:
                out.append(Suppress(email, "complained", reason))
            elif "Unsubscribed" in reason:
                out.append(Suppress(email, "unsubscribed", reason))
    return out


# --- Mailgun -------------------------------------------------------------------------


def verify_mailgun(body: dict[str, Any]) -> None:
    key = _secret("MAILGUN_WEBHOOK_SIGNING_KEY")
    sig = body.get("signature") or {}
    timestamp, token, signature = (str(sig.get(k, "")) for k in ("timestamp", "token", "signature"))
    if not (timestamp and token and signature):
        raise WebhookRejected("missing signature")
    expected = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise WebhookRejected("bad signature")
    _fresh(timestamp)


def mailgun_events(body: dict[str, Any]) -> list[Suppress]:
    e = body.get("event-data") or {}
    kind, email = e.get("event"), str(e.get("recipient", ""))
    if kind == "failed" and e.get("severity") == "permanent":
        reason = str((e.get("delivery-status") or {}).get("description", ""))[:200]
        return [Suppress(email, "bounced", reason)]
    if kind == "complained":
        return [Suppress(email, "complained")]
    if kind == "unsubscribed":
        return [Suppress(email, "unsubscribed")]
    return []


def _fresh(timestamp: str) -> None:
    try:
        age = abs(time.time() - int(timestamp))
    except ValueError:
        raise WebhookRejected("bad timestamp") from None
    if age > MAX_AGE_SECONDS:
        raise WebhookRejected("stale timestamp (a replayed request?)")


def apply(store: Store, provider: str, events: list[Suppress]) -> int:
    """Suppress each address; provider-side unsubscribes also unsubscribe the subscriber."""
    n = 0
    for e in events:
        if not e.email:
            continue
        if e.reason == "unsubscribed":
            unsubscribe(store, e.email)
        n += store.suppress(e.email, e.reason, source=provider, detail=e.detail)
    return n


def parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise WebhookRejected("the body is not JSON", 400) from None
