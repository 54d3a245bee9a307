"""The provider interface: send one batch of messages, get one result per recipient.

A batch is one part of one series for many recipients: the content is the same, with
per-recipient fields (first name, unsubscribe URL) filled in. Providers with a
substitution API send the template once; others personalise per message.

Every answer becomes a per-recipient :class:`Outcome` from one vocabulary, as in
django-anymail. What a provider implementation returns, and what the send loop does with it:

- ``sent``/``queued``: accepted (the row is sent);
- ``invalid``/``rejected``: this address is refused for good (failed, suppressed);
- ``transient``: PROVEN not processed, a fault that passes by itself (connection refused,
  DNS failure, connect timeout, 429, 503): the rows go back to the queue, the attempt not
  counted, retried with backoff and jitter (``retry_after``, e.g. from Retry-After, is the
  least wait); it never pauses anything;
- ``refused``: the provider refused the whole request for a reason a PERSON must fix
  (credentials refused, account suspended or out of credit): the rows go back to the queue
  and the series is paused, the editor told;
- ``failed``: the provider refused this request's content (a 4xx other than the above):
  tried again later, counted, failed after a few attempts;
- ``unknown``: anything after the request may have reached the provider (dropped, no answer
  in time, a 5xx other than 503, an answer that cannot be read): never failed, never sent
  again except under the same idempotency key; settled from evidence (:meth:`Provider.evidence`);
- ``deferred``: not sent in this request (did not fit): goes out again after ``retry_after``
  seconds, no attempt counted.

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
from typing import Any, ClassVar

from .. import headers, secrets
from ..errors import NewsletterError
from ..i18n import strip_invisible
from ..render import fill, placeholder_values
from ..store.states import ACCEPTED as ACCEPTED
from ..store.states import PERMANENT as PERMANENT
from ..store.states import Outcome as Outcome

Status = Outcome


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

    #: globally unique (the installation's id and a UUID): the idempotency key where a
    #: provider takes one, and the ``batch`` in every message's metadata and Message-ID
    key: str
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

    def message_id(self, r: Recipient) -> str:
        """Our Message-ID for ``r``: the batch's global id and the delivery id, so that a
        message is ours and this batch's whatever database reads it."""
        domain = self.from_email.rpartition("@")[2] or "localhost"
        return f"<{self.key}.d{r.delivery_id}@{domain}>"

    def headers(self, r: Recipient, message_id: bool = True) -> dict[str, str]:
        """Per-recipient headers: our Message-ID, one-click unsubscribe (RFC 8058)."""
        out = {"Message-ID": self.message_id(r)} if message_id and self.key else {}
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


@dataclass(frozen=True)
class Asked:
    """A batch whose answer was lost, as reconcile asks a provider about it."""

    key: str  # the batch's global id, in each message's metadata
    created_at: datetime  # when its request went out (naive UTC)
    #: its rows still unknown: delivery id -> address
    rows: dict[int, str]


@dataclass
class Evidence:
    """What a provider's log shows of a batch: delivery ids it accepted, and ids it
    refused (never delivered: safe to send again)."""

    sent: set[int] = field(default_factory=set)
    refused: set[int] = field(default_factory=set)


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

    #: where evidence for a batch whose answer was lost comes from: ``log`` (the provider's
    #: message log, searched by :meth:`evidence`), ``webhooks`` (the events the provider
    #: posts to ``newsletter serve``, carrying our batch id), ``resend`` (sent again under
    #: the same idempotency key), or ``none`` (the editor decides)
    evidence_source: ClassVar[str] = "none"

    @property
    def searchable_log(self) -> bool:
        return self.evidence_source == "log"

    def evidence(self, asked: Asked) -> Evidence:
        """What the provider's own log shows of a batch whose answer was lost (only where
        ``evidence_source == "log"``). Positive evidence only: a message counts as sent
        when the log shows THIS batch's global id (``asked.key``) for one of its rows."""
        raise UnsupportedFeature(f"{self.name} keeps no message log searchable by batch")

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
