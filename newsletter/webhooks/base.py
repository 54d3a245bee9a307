"""What every provider's webhook shares: the request as received, rejection, body and
field checks, timestamp windows, and the fixed order of :meth:`WebhookProvider.receive`.

As django-anymail's ``AnymailBaseWebhookView`` (``validate_request``, then
``parse_events``), a provider's webhook only says how a request is verified
(:meth:`~WebhookProvider.verify`) and what its events are (:meth:`~WebhookProvider.parse`);
``receive`` calls them in that order, and no subclass can override it: nothing of a body
is read as events before its signature is checked.

A verifier raises :class:`WebhookRejected` (nothing is changed then): 401/403 for a
request that is not the provider's, 400 for a body that is not what the provider sends,
503 when this server is not configured for the provider. The ids of signed requests are
remembered in the store (:mod:`newsletter.store.webhooks`).
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, TypeVar, final

from .. import secrets
from ..errors import NewsletterError
from ..headers import unstorable

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

    @cached_property
    def json(self) -> Any:
        """The body as JSON (read once; a 400 when it is not JSON or too large)."""
        return parse_json(self.body)

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object, or a 400."""
        body = self.json
        if not isinstance(body, dict):
            raise Malformed("the body must be a JSON object")
        return body


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


class WebhookProvider(ABC):
    """One provider's webhook: :meth:`verify` the request, then :meth:`parse` its events,
    always in that order (:meth:`receive`, which no subclass overrides).

    Every provider that signs returns from ``verify`` a token (an id of the signed
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

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "receive" in cls.__dict__:
            raise TypeError(
                f"{cls.__name__} overrides receive: implement verify and parse instead "
                "(receive verifies, then parses, for every provider)"
            )

    @final
    def receive(self, inbound: Inbound) -> Received:
        """Verify the request, then read its events: the one order for every provider."""
        token = self.verify(inbound)
        return replace(self.parse(inbound), token=token)

    @abstractmethod
    def verify(self, inbound: Inbound) -> str | None:
        """Check that the request is the provider's (signature, credentials, timestamp
        window), or raise :class:`WebhookRejected`. Returns the signed request's id to
        remember (None when the provider signs no id)."""

    @abstractmethod
    def parse(self, inbound: Inbound) -> Received:
        """The events of a verified request (its ``token`` is set by :meth:`receive`)."""
