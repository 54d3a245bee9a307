"""The provider interface: send one batch of messages, get one result per recipient.

A batch is one part of one series for many recipients: the content is the same, with
per-recipient fields (first name, unsubscribe URL) filled in. Providers with a
substitution API send the template once; others personalise per message.

Every answer becomes a per-recipient :class:`Outcome` from one vocabulary, as in
django-anymail: ``sent`` and ``queued`` (accepted), ``invalid`` and ``rejected`` (permanent:
not retried), ``failed`` (nothing reached the provider, or it refused the request: tried
again later), ``unknown`` (the request may or may not have been delivered), ``deferred``
(not sent in this request: goes out again after ``retry_after`` seconds, no attempt counted).

One ``send_batch`` call is at most ONE request to the provider, so that an unknown answer
concerns exactly one request; recipients that did not fit are returned ``deferred``. It is
two steps, so that the send loop can build the next request while one is in flight:
``prepare`` (build the request, nothing sent) and ``deliver`` (send it, read the answer).
A feature a provider lacks raises :class:`UnsupportedFeature`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from .. import headers, secrets
from ..errors import NewsletterError
from ..i18n import strip_invisible
from ..render import fill, placeholder_values


class Outcome(StrEnum):
    SENT = "sent"
    QUEUED = "queued"
    INVALID = "invalid"
    REJECTED = "rejected"
    FAILED = "failed"
    UNKNOWN = "unknown"
    DEFERRED = "deferred"


Status = Outcome
ACCEPTED = (Outcome.SENT, Outcome.QUEUED)
PERMANENT = (Outcome.INVALID, Outcome.REJECTED)


class ProviderError(NewsletterError):
    """The provider refused the whole request; keeps what was sent and answered."""

    def __init__(
        self,
        message: str,
        *,
        payload: Any = None,
        status_code: int | None = None,
        response_text: str = "",
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.payload = payload
        self.status_code = status_code
        self.response_text = response_text


class UnsupportedFeature(ProviderError):
    pass


@dataclass(frozen=True)
class Recipient:
    delivery_id: int
    email: str
    first_name: str = ""
    last_name: str = ""
    unsubscribe_url: str = ""

    def __post_init__(self) -> None:
        # Names end up in headers: one line each, whatever reached the database.
        for name in ("first_name", "last_name"):
            object.__setattr__(self, name, headers.clean(getattr(self, name), headers.MAX_NAME))

    @property
    def display(self) -> str:
        return headers.display_address(f"{self.first_name} {self.last_name}", self.email)


@dataclass
class Batch:
    """One part for many recipients. ``html``/``text`` hold the placeholders."""

    key: str  # unique per batch: the idempotency key where a provider takes one
    subject: str
    html: str
    text: str
    from_email: str
    from_name: str
    recipients: list[Recipient]
    reply_to: str = ""
    tag: str = ""  # e.g. "calmer-mornings-part-2"
    first_name_fallback: str = "there"
    metadata: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Every provider puts these in headers: one line each (see newsletter.headers).
        # (and no soft hyphen or zero-width space: they show as marks in some inboxes)
        self.subject = headers.clean(strip_invisible(self.subject), headers.MAX_TEXT)
        self.from_name = headers.clean(self.from_name, headers.MAX_TEXT)
        self.reply_to = headers.clean(self.reply_to, headers.MAX_TEXT)
        self.tag = headers.clean(self.tag, headers.MAX_TEXT)

    @property
    def from_header(self) -> str:
        return headers.display_address(self.from_name, self.from_email)

    def placeholders(self, r: Recipient) -> tuple[dict[str, str], dict[str, str]]:
        """What each placeholder becomes for ``r``: in the HTML, in the text."""
        return placeholder_values(
            first_name=r.first_name,
            unsubscribe_url=r.unsubscribe_url,
            fallback=self.first_name_fallback,
        )

    def personalize(self, r: Recipient) -> tuple[str, str]:
        return fill(
            self.html,
            self.text,
            first_name=r.first_name,
            unsubscribe_url=r.unsubscribe_url,
            fallback=self.first_name_fallback,
        )

    def headers(self, r: Recipient) -> dict[str, str]:
        """Per-recipient headers: one-click unsubscribe (RFC 8058)."""
        out = {}
        if r.unsubscribe_url:
            out["List-Unsubscribe"] = f"<{headers.clean(r.unsubscribe_url)}>"
            out["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        return out


@dataclass(frozen=True)
class Result:
    """A provider's answer for one recipient."""

    delivery_id: int
    status: Outcome
    message_id: str | None = None
    error: str | None = None
    #: for ``deferred``: seconds until the recipient may be tried again
    retry_after: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", Outcome(self.status))
        # Errors are stored, printed and logged: never with a key in them.
        if self.error:
            object.__setattr__(self, "error", secrets.scrub(self.error))


@dataclass
class Prepared:
    """A batch made ready to send: the request a provider built ahead (None when it builds
    nothing ahead)."""

    batch: Batch
    request: object = None


class Provider(ABC):
    """Base class: subclasses set the class attributes and implement send_batch (or
    prepare and deliver)."""

    name: ClassVar[str]
    #: most recipients one send_batch call takes
    max_batch: ClassVar[int] = 500
    #: resending a batch with the same key after a crash does not deliver twice
    idempotent: ClassVar[bool] = False

    @abstractmethod
    def send_batch(self, batch: Batch) -> list[Result]:
        """Send; return one Result per recipient, in any order."""

    def prepare(self, batch: Batch) -> Prepared:
        """Build the request for ``batch`` without sending anything."""
        return Prepared(batch)

    def deliver(self, prepared: Prepared) -> list[Result]:
        """Send a prepared batch (one request) and read the answer: what ``send_batch``
        does for the batch. It touches no database, so it may run in another thread."""
        return self.send_batch(prepared.batch)

    def check(self) -> list[str]:
        """Configuration problems, without sending anything."""
        return []

    def check_notes(self) -> list[str]:
        """What the last ``check`` learnt, for the editor (what an SMTP server offers)."""
        return []

    #: whether the provider's own message log can be searched by our batch id
    searchable_log: ClassVar[bool] = False

    def delivered_in_batch(self, batch_id: int, since: datetime) -> set[int]:
        """The delivery ids of a batch that the provider's log shows as accepted (for
        ``newsletter reconcile``). Only where ``searchable_log``."""
        raise UnsupportedFeature(f"{self.name} keeps no message log searchable by batch")

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
