"""Readers join on their own: a form submission becomes a pending (or, on a single opt-in
list, an active) subscriber, and a confirmation email is queued with it.

The answer never says whether an address was on the list already: everyone who asks is
told to check their inbox, in the same time: the confirmation email goes out after the
answer (:class:`ConfirmationMailer`, in the web process's mailer thread, or ``newsletter
run`` / ``send-due``). A pending address gets at most one confirmation per list and
:data:`CONFIRM_WINDOW`. Bots are turned away without anything being sent: a honeypot
field, and a limit per IP address and per email address.
"""

from __future__ import annotations

import enum
import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

import jinja2

from . import headers, i18n
from .config import Config
from .errors import NewsletterError, StoreError
from .fetch import is_http_url
from .headers import MAX_NAME
from .pages import environment, list_language
from .providers import Batch, Provider, Recipient
from .providers.base import ACCEPTED, PERMANENT, Outcome
from .signing import ConfirmRefused, ConfirmToken, Signer
from .store import Store, confirmations, utcnow
from .store import consent as joins
from .store.busy import describe, patient
from .store.claims import claim_token
from .store.enrolment import enroll
from .store.states import ConfirmationState, EventKind
from .store.subscribers import holds, normalise_email, token_key, valid_timezone
from .timing import parse_interval

log = logging.getLogger("newsletter.signup")

#: the form's hidden field that people never see and bots fill in
HONEYPOT = "website"
#: a pending address gets at most one confirmation email per list in this time
CONFIRM_WINDOW = timedelta(hours=1)
#: a confirmation taken by a process that has not recorded its answer after this long is
#: taken back (its process died): longer than any provider request with its retries
CONFIRM_LEASE = timedelta(minutes=10)


class Answer(enum.Enum):
    """What the person who filled in the form is told."""

    CHECK_INBOX = "check-inbox"  # a confirmation email is on its way (or nothing to do)
    JOINED = "joined"  # a single opt-in list: subscribed (or nothing to do, or confirm first)
    BAD_INPUT = "bad-input"
    UNKNOWN_LIST = "unknown-list"
    TOO_MANY = "too-many"
    NOT_SENT = "not-sent"  # the confirmation email could not be sent: try again later

    @property
    def status(self) -> int:
        """The HTTP status: the same for every address a list accepts, so that the answer
        never tells whether an address was on the list already."""
        return _STATUS[self]


_STATUS = {
    Answer.CHECK_INBOX: 200,
    Answer.JOINED: 200,
    Answer.BAD_INPUT: 400,
    Answer.UNKNOWN_LIST: 404,
    Answer.TOO_MANY: 429,
    Answer.NOT_SENT: 503,
}


@dataclass(frozen=True)
class SignupResult:
    answer: Answer
    message: str
    field: str = ""


@dataclass(frozen=True)
class Request:
    """Where a submission came from (not from the form's fields, which anyone can fake)."""

    ip: str = ""
    user_agent: str = ""
    referrer: str = ""


class RateLimiter:
    """At most ``limit`` attempts per key in ``window`` seconds (this process's memory)."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self.window = window
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = self.clock()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            if len(self._hits) > 100_000:  # forget idle keys so memory stays bounded
                for k in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window]:
                    del self._hits[k]
            return True


@dataclass(frozen=True)
class Limits:
    per_ip: int = 10
    per_address: int = 3
    window_seconds: float = 3600.0


def form_html(config: Config, list_name: str, *, fetch: bool = False, hosted: bool = False) -> str:
    """The embeddable subscribe form for a list (``newsletter form``), or with ``hosted``
    the whole page the web app serves at ``/subscribe/<list>``. It works without
    JavaScript; a short script fills in the reader's time zone and the page's address, and
    with ``fetch`` shows the answer in place."""
    settings = config.list_settings(list_name)
    base = config.web.base_url.rstrip("/")
    language = list_language(config, list_name)
    _ = i18n.translations(language).gettext
    return (
        environment(config, language)
        .get_template("subscribe.html" if hosted else "form.html")
        .render(
            sender=config.sender,
            brand=config.brand,
            action=f"{base}/subscribe/{quote(list_name, safe='')}",
            slug=re.sub(r"[^A-Za-z0-9_-]+", "-", list_name),
            title=settings.title or _("Emails from %(name)s") % {"name": config.sender.name},
            form_title="" if hosted else settings.title,
            consent_text=settings.consent_text,
            default_timezone=config.sending.timezone,
            fetch=fetch,
        )
    )


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "on", "yes", "true", "y"}


class Signups:
    """The subscribe and confirm flow for every list, shared by the web app's requests."""

    def __init__(
        self,
        store: Store,
        config: Config,
        provider: Callable[[], Provider],
        limits: Limits = Limits(),
    ) -> None:
        self.store = store
        self.config = config
        self.signer = Signer.from_env(store.signing_secret)
        self.by_ip = RateLimiter(limits.per_ip, limits.window_seconds)
        self.by_address = RateLimiter(limits.per_address, limits.window_seconds)
        self.env = environment(config)
        self.mailer = ConfirmationMailer(store, config, provider, self.signer)
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._thread_lock = threading.Lock()

    def provider(self) -> Provider:
        return self.mailer.provider()

    def wake_mailer(self) -> None:
        """Send the queued confirmations now, in this process's mailer thread (started
        here: a server that forks its workers starts one in each)."""
        with self._thread_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._mail_forever, name="newsletter-confirmations", daemon=True
                )
                self._thread.start()
        self._wake.set()

    def _mail_forever(self) -> None:
        """The mailer thread: wakes at each request queued, and every half minute for
        confirmations to try again (or left by another process)."""
        while True:
            self._wake.wait(30.0)
            self._wake.clear()
            try:
                self.mailer.drain()
            except Exception as exc:  # noqa: BLE001 - tried again at the next wake
                log.warning("confirmation emails: %s", describe(exc))

    def expiry_seconds(self, list_name: str) -> int:
        return expiry_seconds(self.config, list_name)

    def confirm_url(self, subscriber_id: int, list_id: int) -> str:
        return self.mailer.confirm_url(subscriber_id, list_id)

    def subscribe(
        self, list_name: str, form: Mapping[str, str], request: Request, now: datetime | None = None
    ) -> SignupResult:
        now = now or utcnow()
        settings = self.config.list_settings(list_name)
        _ = i18n.translations(list_language(self.config, list_name)).gettext
        # One answer for every address the list accepts: new, on the list already, coming
        # back (who must confirm even on a single opt-in list), or suppressed.
        done = (
            SignupResult(
                Answer.CHECK_INBOX,
                _(
                    "Almost there: check your inbox and press the button in the email we "
                    "sent to confirm."
                ),
            )
            if settings.double_opt_in
            else SignupResult(
                Answer.JOINED,
                _(
                    "Thank you: you are subscribed. If you had unsubscribed before, we sent "
                    "you an email to confirm first."
                ),
            )
        )
        if (form.get(HONEYPOT) or "").strip():
            return done  # a bot: told the usual, sent nothing
        too_many = SignupResult(Answer.TOO_MANY, _("Too many attempts. Please try again later."))
        if request.ip and not self.by_ip.allow(request.ip):
            return too_many
        raw = (form.get("email") or "").strip()
        if not raw:
            return SignupResult(Answer.BAD_INPUT, _("Please enter your email address."), "email")
        if len(raw) > 320:
            return SignupResult(
                Answer.BAD_INPUT,
                _("That email address is too long (at most 320 characters)."),
                "email",
            )
        try:
            email = normalise_email(raw)
        except ValueError as exc:
            # (the reason is the validator's, in English: a catalogue may leave it out)
            why = _("“%(address)s” is not a valid email address: %(why)s")
            return SignupResult(Answer.BAD_INPUT, why % {"address": raw[:80], "why": exc}, "email")
        if settings.consent_text and not _truthy(form.get("consent")):
            return SignupResult(
                Answer.BAD_INPUT,
                _("Please tick the box to agree to receive these emails."),
                "consent",
            )
        if not self.by_address.allow(email.lower()):
            return too_many
        tz = (form.get("timezone") or "").strip()[:64]
        page = (form.get("page") or "").strip()[:2000] or request.referrer[:2000]
        if not is_http_url(page):
            page = ""
        try:
            self.purge(now)
            join = joins.request_join(
                self.store,
                email=email,
                list_name=list_name,
                first_name=headers.clean(
                    " ".join((form.get("first_name") or "").split()), MAX_NAME
                ),
                timezone=tz if tz and valid_timezone(tz) else None,
                double_opt_in=settings.double_opt_in,
                source=joins.FormSource(
                    form_url=page,
                    ip=request.ip,
                    user_agent=request.user_agent,
                    consent_text=settings.consent_text,
                ),
                now=now,
                window=CONFIRM_WINDOW,
            )
        except StoreError:
            return SignupResult(
                Answer.UNKNOWN_LIST,
                _("There is no list called “%(name)s”.") % {"name": list_name},
            )
        if join.outcome is joins.JoinOutcome.JOINED:
            assert join.subscriber_id is not None and join.list_id is not None
            enroll(self.store, now, subscriber_id=join.subscriber_id, list_id=join.list_id)
            return done
        if join.queued:  # sent after this answer: the same time for every address
            self.wake_mailer()
        return done

    def environment(self, language: str) -> jinja2.Environment:
        return self.mailer.environment(language)

    def longest_expiry(self) -> int:
        return longest_expiry(self.config)

    def verify(self, token: str) -> ConfirmToken:
        """The link's subscriber and list; ConfirmRefused if forged or expired."""
        found = self.signer.verify_confirm(token, self.longest_expiry())
        name = joins.list_name(self.store, found.list_id)
        if name is None or not holds(self.store, found.subscriber_id, found.key):
            raise ConfirmRefused(expired=False)  # (the link of someone erased since)
        # Each list has its own expiry: check the token against it.
        return self.signer.verify_confirm(token, self.expiry_seconds(name))

    def confirm(self, token: str, now: datetime | None = None) -> joins.ConfirmOutcome:
        """Raises ConfirmRefused for a forged or expired link."""
        found = self.verify(token)
        now = now or utcnow()
        outcome = joins.confirm_join(self.store, found.subscriber_id, found.list_id, now)
        if outcome is joins.ConfirmOutcome.CONFIRMED:
            enroll(self.store, now, subscriber_id=found.subscriber_id, list_id=found.list_id)
        return outcome

    def purge(self, now: datetime) -> int:
        return purge_expired(self.store, self.config, now)


def expiry_seconds(config: Config, list_name: str) -> int:
    setting = config.list_settings(list_name).confirm_expiry
    where = f"[lists.{list_name}] confirm_expiry"
    return int(parse_interval(setting, where).total_seconds())


def longest_expiry(config: Config) -> int:
    return max([expiry_seconds(config, name) for name in config.lists] + [7 * 86400])


def purge_expired(store: Store, config: Config, now: datetime | None = None) -> int:
    """Forget pending addresses whose confirmation link has expired (at each form
    submission, and at each ``send-due``)."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=longest_expiry(config))
    confirmations.forget_old(store, now - CONFIRM_WINDOW)  # settled, out of every window
    return joins.purge_pending(store, cutoff)


class ConfirmationMailer:
    """Sends the queued confirmation emails (:mod:`.store.confirmations`), one request
    each, under a key of their own (a provider with idempotency keys takes a second try
    of the same one as the same message)."""

    def __init__(
        self,
        store: Store,
        config: Config,
        provider: Callable[[], Provider],
        signer: Signer | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self._provider_factory = provider
        self._provider: Provider | None = None
        self.signer = signer or Signer.from_env(store.signing_secret)
        self.env = environment(config)
        self._envs = {config.brand.language: self.env}
        self.token = claim_token()
        self._lock = threading.Lock()  # one drain at a time in this process

    def provider(self) -> Provider:
        if self._provider is None:
            self._provider = self._provider_factory()
        return self._provider

    def close(self) -> None:
        if self._provider is not None:
            self._provider.close()

    def drain(self, stop: threading.Event | None = None) -> int:
        """Send every confirmation due now; returns how many went out. Confirmations a
        dead process left mid-request are taken back first."""
        sent = 0
        with self._lock:
            now = utcnow()
            resend_safe = self._resend_safe()
            patient(
                lambda: confirmations.take_back(self.store, now - CONFIRM_LEASE, resend_safe),
                what="confirmations",
                stop=stop,
            )
            while stop is None or not stop.is_set():
                claimed = patient(
                    lambda: confirmations.claim(self.store, self.token, utcnow(), CONFIRM_WINDOW),
                    what="confirmations",
                    stop=stop,
                )
                if claimed is None:
                    break
                sent += self.send(claimed)
        return sent

    def _resend_safe(self) -> bool:
        try:
            return bool(self.provider().idempotent)
        except NewsletterError:  # not configured: nothing will be sent anyway
            return False

    def send(self, claimed: confirmations.Claimed) -> int:
        """One confirmation's request, and its answer recorded (1 when it went out)."""
        name = joins.list_name(self.store, claimed.list_id) or ""
        settings = self.config.list_settings(name)
        language = list_language(self.config, name)
        env = self.environment(language)
        _ = i18n.translations(language).gettext
        context = dict(
            sender=self.config.sender,
            brand=self.config.brand,
            title=settings.title or self.config.sender.name,
            confirm_url=self.confirm_url(claimed.subscriber_id, claimed.list_id),
            days=max(1, expiry_seconds(self.config, name) // 86400),
        )
        batch = Batch(
            key=f"confirm-{claimed.id}-{claimed.created_at:%Y%m%d%H%M%S}",
            subject=_("Please confirm: %(title)s") % {"title": context["title"]},
            html=env.get_template("confirm-email.html").render(**context),
            text=env.get_template("confirm-email.txt").render(**context),
            from_email=self.config.sender.email,
            from_name=self.config.sender.name,
            reply_to=self.config.sender.reply_to,
            tag="confirm",
            first_name_fallback=self.config.brand.first_name_fallback,
            metadata={"kind": "confirm"},
            # Not a ledger row: a negative id keeps it apart from deliveries.
            recipients=[Recipient(-claimed.subscriber_id, claimed.email)],
        )
        state, why, again = ConfirmationState.FAILED, "", False
        try:
            results = self.provider().send_batch(batch)
        except NewsletterError as exc:  # refused, or the provider is not configured
            why, again = str(exc), True
        else:
            status = results[0].status if results else None
            if status in ACCEPTED:
                state = ConfirmationState.SENT
            elif status == Outcome.UNKNOWN:  # it may have arrived: never sent twice
                state, why = ConfirmationState.UNKNOWN, results[0].error or "no answer"
            else:
                why = (results[0].error if results else None) or "no answer for the message"
                again = status not in PERMANENT
        retry = again and claimed.attempts < confirmations.MAX_TRIES
        if state is ConfirmationState.FAILED:
            # The editor sees it in `newsletter status` (never the address); noted before
            # the row is settled, so that whoever sees it settled finds the note.
            later = (
                f"; tried again in {confirmations.backoff(claimed.attempts)}"
                if retry
                else "; given up"
            )
            log.warning("confirmation email for list %s not sent: %s%s", name, why, later)
            patient(
                lambda: self.store.event(
                    EventKind.SIGNUP, f"{name}: a confirmation email was not sent: {why}{later}"
                ),
                what="confirmations",
            )
        now = utcnow()
        patient(
            lambda: confirmations.finish(
                self.store,
                claimed,
                self.token,
                state,
                now,
                error=why,
                retry_at=now + confirmations.backoff(claimed.attempts) if retry else None,
            ),
            what="confirmations",
        )
        return 1 if state is ConfirmationState.SENT else 0

    def environment(self, language: str) -> jinja2.Environment:
        if language not in self._envs:
            self._envs[language] = environment(self.config, language)
        return self._envs[language]

    def confirm_url(self, subscriber_id: int, list_id: int) -> str:
        key = token_key(self.store, subscriber_id)
        if key is None:
            raise StoreError(f"no subscriber {subscriber_id} to confirm")
        token = self.signer.confirm_token(subscriber_id, list_id, key=key)
        return f"{self.config.web.base_url.rstrip('/')}/confirm/{token}"


def drain_confirmations(store: Store, config: Config, stop: threading.Event | None = None) -> int:
    """``newsletter run`` and ``send-due``: send the confirmations queued by the web
    process (one that died, or is not running). Returns how many went out."""
    from .providers import get_provider

    mailer = ConfirmationMailer(store, config, lambda: get_provider(config))
    try:
        return mailer.drain(stop)
    finally:
        mailer.close()
