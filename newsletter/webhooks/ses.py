"""Amazon SES through SNS: SES publishes bounces and complaints to an SNS topic, and the
topic posts them here (an HTTPS subscription).

Every SNS message is signed with a certificate at ``SigningCertURL``: the URL must be
https on ``sns.<region>.amazonaws.com`` (checked before anything is fetched), and the
signature (SHA1 for SignatureVersion 1, SHA256 for 2) must match the fields SNS signs.
AWS signs every topic's messages, so anyone's topic could post here: only the topics in
``$SES_WEBHOOK_TOPIC_ARN`` (comma-separated ARNs) are accepted. A SubscriptionConfirmation
from such a topic is confirmed by visiting its SubscribeURL (same host rule).

Replays: SNS signs the message's ``Timestamp`` and ``MessageId``, and retries a message
with both unchanged for at most an hour (its hard limit for HTTP/S endpoints). So a
message older (or newer) than an hour and five minutes is refused, and each MessageId is
accepted once.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from collections.abc import Callable
from datetime import datetime
from urllib.parse import urlparse

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .. import fetch as http
from ..store.states import EvidenceKind
from .base import (
    Fetch,
    Inbound,
    Malformed,
    Observed,
    Received,
    WebhookProvider,
    WebhookRejected,
    maybe,
    need,
    parse_json,
    secret,
    seen_id,
    sighting,
)

#: SNS retries a message for at most 3,600 s; five minutes more for clocks that differ
MAX_AGE_SECONDS = 3600 + 300
SNS_HOST = re.compile(r"sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?")
MAX_CERT_BYTES = 64 * 1024

_SIGNED = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
}
_SIGNED["UnsubscribeConfirmation"] = _SIGNED["SubscriptionConfirmation"]


def sns_url(url: str) -> bool:
    """True for an https URL on an SNS endpoint (the only place certificates come from)."""
    parsed = urlparse(url)
    return (
        parsed.scheme == "https"
        and parsed.username is None
        and parsed.port in (None, 443)
        and bool(SNS_HOST.fullmatch(parsed.hostname or ""))
    )


def fetch_url(url: str, *, allow_private: bool = False) -> bytes:
    """An SNS certificate or subscription answer: 10 s in all, no redirect, 64 KB at most."""
    try:
        got = http.get(
            url, deadline=10.0, limit=MAX_CERT_BYTES, max_redirects=0, allow_private=allow_private
        )
    except http.FetchError as exc:
        raise WebhookRejected(f"cannot fetch {url}: {exc.reason}", 503) from None
    if got.status >= 300:
        raise WebhookRejected(f"cannot fetch {url}: HTTP {got.status}", 503)
    return got.body


def string_to_sign(message: dict[str, object]) -> bytes:
    kind = need(message, "Type", str)
    if kind not in _SIGNED:
        raise Malformed(f"unknown SNS message Type {kind!r}")
    out = []
    for key in _SIGNED[kind]:
        if key == "Subject" and message.get(key) is None:
            continue
        out.append(f"{key}\n{need(message, key, str)}\n")
    return "".join(out).encode()


def sns_fresh(timestamp: str, now: float | None = None) -> None:
    """Refuse a message whose signed Timestamp (ISO 8601) is outside the window."""
    try:
        when = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
        if when.tzinfo is None:
            raise ValueError(timestamp)
    except ValueError:
        raise WebhookRejected("bad Timestamp") from None
    if abs((time.time() if now is None else now) - when.timestamp()) > MAX_AGE_SECONDS:
        raise WebhookRejected("Timestamp outside the accepted window (a replayed message?)")


class SesWebhook(WebhookProvider):
    name = "ses"
    token_lifetime = float(MAX_AGE_SECONDS)

    def __init__(
        self, fetch: Fetch | None = None, trusted_url: Callable[[str], bool] | None = None
    ) -> None:
        self.fetch = fetch or fetch_url
        self.trusted_url = trusted_url or sns_url
        self._certs: dict[str, rsa.RSAPublicKey] = {}

    def receive(self, inbound: Inbound) -> Received:
        topics = {t.strip() for t in secret("SES_WEBHOOK_TOPIC_ARN").split(",") if t.strip()}
        message = parse_json(inbound.body)
        if not isinstance(message, dict):
            raise Malformed("the body must be a JSON object")
        signed = string_to_sign(message)
        # before any certificate is fetched: AWS signs every topic's messages, not just ours
        if need(message, "TopicArn", str) not in topics:
            raise WebhookRejected("not a topic this server accepts ($SES_WEBHOOK_TOPIC_ARN)")
        self.verify(message, signed)
        sns_fresh(need(message, "Timestamp", str))
        token = seen_id(need(message, "MessageId", str), "MessageId")
        kind = message["Type"]
        if kind == "SubscriptionConfirmation":
            url = need(message, "SubscribeURL", str)
            if not self.trusted_url(url):
                raise WebhookRejected("SubscribeURL is not an SNS address")
            self.fetch(url)
            return Received([], token, note="subscription confirmed")
        if kind != "Notification":
            return Received([], token)
        try:
            ses = json.loads(need(message, "Message", str))
        except ValueError:
            raise Malformed("Message is not an SES notification (JSON)") from None
        return Received(ses_events(ses), token, sightings=ses_sightings(ses))

    def verify(self, message: dict[str, object], signed: bytes) -> None:
        version = need(message, "SignatureVersion", str)
        algorithm: hashes.HashAlgorithm
        if version == "1":
            algorithm = hashes.SHA1()  # noqa: S303 - SNS's SignatureVersion 1
        elif version == "2":
            algorithm = hashes.SHA256()
        else:
            raise WebhookRejected(f"unknown SignatureVersion {version!r}")
        url = need(message, "SigningCertURL", str)
        if not self.trusted_url(url):
            raise WebhookRejected("SigningCertURL is not an SNS certificate address")
        try:
            signature = base64.b64decode(need(message, "Signature", str), validate=True)
        except binascii.Error:
            raise WebhookRejected("bad signature") from None
        try:
            self.key(url).verify(signature, signed, padding.PKCS1v15(), algorithm)
        except InvalidSignature:
            raise WebhookRejected("bad signature") from None

    def key(self, url: str) -> rsa.RSAPublicKey:
        if url not in self._certs:
            pem = self.fetch(url)
            try:
                if len(pem) > MAX_CERT_BYTES:
                    raise ValueError("too large")
                key = x509.load_pem_x509_certificate(pem).public_key()
            except ValueError:
                raise WebhookRejected("SigningCertURL does not hold a certificate", 503) from None
            if not isinstance(key, rsa.RSAPublicKey):
                raise WebhookRejected("the SNS certificate is not an RSA certificate", 503)
            self._certs[url] = key
        return self._certs[url]


#: event-publishing records that tell what became of a message
SIGHTINGS: dict[str, tuple[str, ...]] = {
    "Send": (EvidenceKind.SENT,),
    "Delivery": (EvidenceKind.SENT, EvidenceKind.DELIVERED),
    "Reject": (EvidenceKind.REFUSED,),
    "Complaint": (EvidenceKind.COMPLAINED,),
}


def ses_sightings(ses: object) -> list[tuple[str, int, str]]:
    """Evidence from an event-publishing record: its ``mail.tags`` carry our ``batch``
    (the batch's global id) and ``delivery`` tags."""
    if not isinstance(ses, dict):
        return []
    name = str(ses.get("eventType") or ses.get("notificationType") or "")
    kinds = SIGHTINGS.get(name, ())
    bounce = ses.get("bounce")
    if name == "Bounce" and isinstance(bounce, dict) and bounce.get("bounceType") == "Permanent":
        kinds = (EvidenceKind.BOUNCED,)
    mail = ses.get("mail")
    if not kinds or not isinstance(mail, dict) or not isinstance(mail.get("tags"), dict):
        return []
    tags = mail["tags"]
    batch, delivery = tags.get("batch") or [""], tags.get("delivery") or [""]
    if not isinstance(batch, list) or not isinstance(delivery, list):
        return []
    return [s for kind in kinds for s in sighting(batch[0], delivery[0], kind)]


def ses_events(ses: object) -> list[Observed]:
    """Bounces and complaints of an SES notification (or an event-publishing record)."""
    if not isinstance(ses, dict):
        raise Malformed("Message must be a JSON object")
    kind = maybe(ses, "notificationType", str, "") or maybe(ses, "eventType", str, "")
    if kind == "Bounce":
        bounce = need(ses, "bounce", dict)
        key = f"Bounce:{need(bounce, 'bounceType', str, 'bounce')}"
        people = need(bounce, "bouncedRecipients", list, "bounce")
        detail = maybe(bounce, "bounceSubType", str, "")
    elif kind == "Complaint":
        complaint = need(ses, "complaint", dict)
        key = kind
        people = need(complaint, "complainedRecipients", list, "complaint")
        detail = maybe(complaint, "complaintFeedbackType", str, "")
    else:
        return []
    return [Observed(key, need(p, "emailAddress", str, "recipient"), detail) for p in people]
