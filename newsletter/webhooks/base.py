"""What every provider's webhook shares: the request as received, rejection, body and
field checks, timestamp windows, remembered tokens.

A verifier raises :class:`WebhookRejected` (nothing is changed then): 401/403 for a
request that is not the provider's, 400 for a body that is not what the provider sends,
503 when this server is not configured for the provider.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import delete, insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from .. import secrets
from ..errors import NewsletterError
from ..headers import unstorable
from ..store import utcnow
from ..store.models import WebhookToken

#: a signed request older (or newer) than this is refused as a possible replay
MAX_AGE_SECONDS = 15 * 60
#: the largest body accepted (SendGrid batches events; a few MB at most)
MAX_BODY_BYTES = 5 * 1024 * 1024

T = TypeVar("T")


class WebhookRejected(Exception):
    """The request is not from the provider, or not what the provider sends."""

    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.status = status


class WebhookNotConfigured(WebhookRejected):
    def __init__(self, variable: str) -> None:
        super().__init__(f"set ${variable} to accept this provider's webhooks", 503)


class Malformed(WebhookRejected):
    """The body is not what the provider sends (wrong JSON type, missing field)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 400)


@dataclass(frozen=True)
class Inbound:
    """One webhook request as received."""

    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, body: bytes, headers: Mapping[str, str]) -> Inbound:
        return cls(body, {k.lower(): v for k, v in headers.items()})

    def header(self, name: str) -> str | None:
        """A header, whatever the case of its name."""
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class Observed:
    """One event as the provider names it: ``key`` is looked up in
    :data:`newsletter.webhooks.events.EVENT_TYPES`."""

    key: str
    email: str
    detail: str = ""


def secret(variable: str) -> str:
    """``$VARIABLE`` through the scrubber (one of :data:`secrets.WEBHOOK_ENV`)."""
    try:
        value = secrets.read(variable)
    except NewsletterError as exc:
        raise WebhookRejected(str(exc), 503) from None
    if not value:
        raise WebhookNotConfigured(variable)
    return value


def parse_json(raw: bytes) -> Any:
    if len(raw) > MAX_BODY_BYTES:
        raise Malformed(f"the body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise Malformed("the body is not JSON") from None


def need(obj: Any, key: str, kind: type[T], where: str = "body") -> T:
    """``obj[key]`` of type ``kind``, or a 400 naming the field (text with a NUL or an
    unpaired surrogate is refused here: no database stores it)."""
    if not isinstance(obj, dict):
        raise Malformed(f"{where} must be a JSON object")
    value = obj.get(key)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise Malformed(f"{where}: field '{key}' must be {_kind(kind)}")
    if isinstance(value, str):
        plain_text(value, f"{where}: field '{key}'")
    return value


def plain_text(value: str, where: str) -> str:
    """``value`` unless it holds a NUL or an unpaired surrogate (a 400 naming ``where``)."""
    why = unstorable(value)
    if why:
        raise Malformed(f"{where} {why}")
    return value


def maybe(obj: dict[str, Any], key: str, kind: type[T], default: T) -> T:
    """``obj[key]`` when present; a present value of the wrong type is a 400."""
    if obj.get(key) is None:
        return default
    return need(obj, key, kind)


def _kind(kind: type) -> str:
    return {str: "text", dict: "an object", list: "a list", int: "a number"}.get(
        kind, kind.__name__
    )


def fresh(timestamp: str, max_age: float = MAX_AGE_SECONDS, now: float | None = None) -> None:
    """Refuse a signed timestamp outside the window (either way: clocks differ a little)."""
    try:
        age = abs((time.time() if now is None else now) - int(timestamp))
    except ValueError:
        raise WebhookRejected("bad timestamp") from None
    if age > max_age:
        raise WebhookRejected("timestamp outside the accepted window (a replayed request?)")


def remember(conn: Connection, provider: str, token: str, lifetime: float) -> bool:
    """Record a signed request's id once: False when it was already received within
    ``lifetime`` (a replay, or the provider's retry of a request already applied). Older
    ids are pruned: their signatures are stale by then."""
    now = utcnow()
    conn.execute(
        delete(WebhookToken).where(WebhookToken.seen_at < now - timedelta(seconds=lifetime * 2))
    )
    try:
        with conn.begin_nested():
            conn.execute(insert(WebhookToken).values(provider=provider, token=token, seen_at=now))
    except IntegrityError:
        return False
    return True


def seen_id(value: str, what: str = "id") -> str:
    """A provider's message id as remembered (at most 200 characters: the column's size)."""
    if not value or len(value) > MAX_TOKEN:
        raise WebhookRejected(f"bad {what}")
    return value


#: the longest id remembered (the webhook_tokens column)
MAX_TOKEN = 200


#: fetches a URL's body (SNS certificates, subscription confirmations); injectable in tests
Fetch = Callable[[str], bytes]


@dataclass(frozen=True)
class Received:
    """A verified request: its events, and the signed token to remember (if any)."""

    events: list[Observed]
    token: str | None = None
    #: shown in the answer (e.g. "subscription confirmed")
    note: str = ""
    #: evidence of what became of our messages: (batch's global id, delivery id,
    #: "sent" | "refused"), for batches whose answer was lost
    sightings: list[tuple[str, int, str]] = field(default_factory=list)


def sighting(batch: object, delivery: object, kind: str) -> list[tuple[str, int, str]]:
    """One piece of evidence from an event's metadata, when it names one of our messages."""
    if isinstance(batch, str) and batch.startswith("nl-") and str(delivery).isdigit():
        return [(batch, int(str(delivery)), kind)]
    return []


class WebhookProvider:
    """One provider's webhook: verify the request, name its events.

    Every provider that signs gives :class:`Received` a ``token`` (an id of the signed
    request) and refuses a timestamp outside its window: a replay within the window is
    recognised by its token and changes nothing (so it never suppresses again an address
    the editor lifted)."""

    name: str = ""
    #: how long a remembered token stays refused (at least the signature's window)
    token_lifetime: float = MAX_AGE_SECONDS
    #: the answer to a request already received: 406 for Mailgun (which does not retry a
    #: 406); 200 for providers that retry until a 2xx (Svix, SNS, SendGrid), which a
    #: retry of an applied request should get
    duplicate_status: int = 200

    def receive(self, inbound: Inbound) -> Received:  # pragma: no cover - abstract
        raise NotImplementedError
