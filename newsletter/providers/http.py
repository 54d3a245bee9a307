"""The shared base of providers with an HTTP API.

The base class fixes the order of steps once (as django-anymail's does): build the
payload for one request (within the provider's recipient and size limits), post it through
one pooled ``requests.Session``, turn the answer into one Result per recipient. A provider
module only says how recipients become a request and how a response becomes results.

Exactly once when the network fails. What counts is whether the request may have reached
the provider, decided by the exception's TYPE, never by its text:

- nothing was sent (connection refused, DNS failure, connect timeout, a certificate
  refused), or a 429/503 after urllib3's retries: ``transient``, back to the queue with
  backoff, never a pause; credentials refused (401/403) or an account suspended:
  ``refused``, the series pauses for the editor;
- anything after the request was sent (the connection dropped, no answer in time, a 5xx
  other than 503, an answer that cannot be read, a body still dripping at the deadline):
  ``unknown``. A provider without idempotency keys gets no second try: the batch waits for
  the evidence ``newsletter run`` (or ``newsletter reconcile``) looks for. A provider
  with one (Resend) is retried by urllib3 and later by the sender under the SAME key.

urllib3's Retry re-sends a POST only on 429 and 503 (refused before processing) unless the
provider takes an idempotency key; connect failures are always retried. A Retry-After
longer than ``MAX_RETRY_AFTER`` is not waited for: the recipients come back ``transient``
with that wait, and the batch is rescheduled. Each request has a total deadline for its answer.

The API key comes from an environment variable; it is sent in a header and scrubbed from
every message this module produces.
"""

from __future__ import annotations

import json
import logging
import re
import ssl
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, ClassVar, Self
from urllib.parse import urlencode, urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.utils import requote_uri
from urllib3 import BaseHTTPResponse
from urllib3.connectionpool import ConnectionPool
from urllib3.exceptions import ConnectTimeoutError, HTTPError, MaxRetryError, ResponseError
from urllib3.util.retry import Retry

from .. import fetch, secrets
from ..config import Config
from ..errors import ConfigError
from ..render import FIRST_NAME, UNSUBSCRIBE_URL
from .base import (
    Batch,
    Outcome,
    Prepared,
    Provider,
    ProviderError,
    Recipient,
    Result,
)

log = logging.getLogger("newsletter.providers")
#: ``[providers.NAME] debug = true``: each request and answer, secrets scrubbed
debug_log = logging.getLogger("newsletter.providers.debug")
#: header names whose values are credentials or signatures: shown as ***
SECRET_HEADER = re.compile(r"authorization|token|key|secret|signature|credential|cookie", re.I)
#: the largest answer of a provider's log search read (a page of events or messages)
MAX_LOG_ANSWER = 32 * 1024 * 1024
#: the most of a body a debug line shows
DEBUG_BODY = 64 * 1024
#: answers that say the request was refused before any processing: safe to send again
REFUSED_UNPROCESSED = (429, 503)
#: with an idempotency key, any server error may be retried under the same key
RETRY_IDEMPOTENT = (429, 500, 502, 503, 504)
#: the provider refused our credentials: only a person can fix that (the series pauses)
NEEDS_A_PERSON = (401, 403)
#: the longest Retry-After waited for in-process; a longer one reschedules the batch
MAX_RETRY_AFTER = 30.0
UNKNOWN_HINT = "check the provider's log, or run 'newsletter reconcile'"


class UnreadableAnswer(ProviderError):
    """The provider answered but the answer cannot be read (not JSON, too few results,
    cut off): the request may have been accepted."""


class _Retry(Retry):
    """urllib3's Retry that does not sleep through a long Retry-After: it gives up and
    hands the answer back, so that the batch is rescheduled."""

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> Self:
        if response is not None:
            after = self.get_retry_after(response)
            if after is not None and after > MAX_RETRY_AFTER:
                raise MaxRetryError(_pool, url, ResponseError("Retry-After too long"))  # type: ignore[arg-type]
        return super().increment(method, url, response, error, _pool, _stacktrace)


def nothing_sent(exc: BaseException) -> bool:
    """Whether a request error PROVES that nothing reached the server: judged by the types
    in the exception chain (connect timeout, refused connection, DNS failure, a refused
    certificate), never by the message."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(
        exc,
        (
            requests.exceptions.InvalidURL,
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema,
            requests.exceptions.InvalidHeader,
        ),
    ):
        return True
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        e = todo.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        # NewConnectionError and NameResolutionError are ConnectTimeoutError subclasses
        if isinstance(e, ConnectTimeoutError | ssl.SSLCertVerificationError):
            return True
        if isinstance(e, MaxRetryError) and e.reason is not None:
            todo.append(e.reason)
        todo.extend(a for a in e.args if isinstance(a, BaseException))
        for linked in (e.__cause__, e.__context__):
            if linked is not None:
                todo.append(linked)
    return False


class _Deadline(Exception):
    pass


@dataclass
class Payload:
    """One HTTP request for some of a batch's recipients: a JSON body (encoded once) or
    form fields."""

    recipients: list[Recipient]
    json: Any = None
    data: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.json is not None:
            self.data = json.dumps(self.json, ensure_ascii=False).encode()
            self.headers.setdefault("Content-Type", "application/json")

    def size(self) -> int:
        if isinstance(self.data, bytes):
            return len(self.data)
        if isinstance(self.data, list):
            return sum(len(str(k)) + len(str(v)) for k, v in self.data)
        return 0


class HttpProvider(Provider):
    """Subclasses set the class attributes and implement build() and parse()."""

    api_key_env: ClassVar[str]
    default_base_url: ClassVar[str]
    path: ClassVar[str]
    max_request_bytes: ClassVar[int] = 10 * 1024 * 1024

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str | None = None,
        sender_email: str = "",
        settings: dict[str, Any] | None = None,
        timeout: float = 30.0,
        deadline: float | None = None,
        retries: int = 4,
        backoff: float = 0.5,
        backoff_max: float = 60.0,
        track_opens: bool = False,
        track_clicks: bool = False,
        ignore_unsupported: bool = False,
        debug: bool = False,
    ) -> None:
        self.api_key = api_key
        secrets.register(api_key)
        self.ignore_unsupported = ignore_unsupported
        #: ``[providers.NAME] debug``: every request and answer logged, secrets scrubbed
        self.debug = debug
        #: off unless the editor turns them on in [tracking]
        self.track_opens = track_opens
        self.track_clicks = track_clicks
        self.check_tracking()
        self.settings = settings or {}
        self.base_url = (base_url or self.default_url()).rstrip("/")
        self.sender_email = sender_email
        self.timeout = timeout
        #: the most one request may take, answer included (a dripping answer is cut off)
        self.deadline = deadline if deadline is not None else 2 * timeout
        self.session = requests.Session()
        retry = _Retry(
            total=retries,
            connect=retries,
            read=retries if self.idempotent else 0,
            status=retries,
            other=0,
            status_forcelist=RETRY_IDEMPOTENT if self.idempotent else REFUSED_UNPROCESSED,
            allowed_methods=None,
            backoff_factor=backoff,
            backoff_jitter=backoff,
            backoff_max=backoff_max,
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=8)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.session.headers.update(self.auth_headers())
        self.session.headers["User-Agent"] = "newsletter (+https://pypi.org/project/newsletter)"

    # --- configuration ---------------------------------------------------------------
    @classmethod
    def from_config(cls, config: Config) -> HttpProvider:
        settings = dict(config.providers.get(cls.name, {}))
        api_key = cls.load_api_key()
        known = {
            "base_url",
            "timeout",
            "deadline",
            "retries",
            "backoff",
            "ignore_unsupported",
            "debug",
            *cls.extra_settings(),
        }
        unknown = sorted(set(settings) - known)
        if unknown:
            raise ConfigError(
                f"[providers.{cls.name}]: unknown setting {unknown[0]!r}",
                hint="expected: " + ", ".join(sorted(known)),
            )
        return cls(
            api_key=api_key,
            base_url=settings.pop("base_url", None),
            sender_email=config.sender.email,
            settings=settings,
            timeout=float(settings.pop("timeout", 30.0)),
            deadline=float(settings.pop("deadline")) if "deadline" in settings else None,
            retries=int(settings.pop("retries", 4)),
            backoff=float(settings.pop("backoff", 0.5)),
            track_opens=config.tracking.open_pixel,
            track_clicks=config.tracking.click_rewriting,
            ignore_unsupported=_flag(cls.name, settings, "ignore_unsupported"),
            debug=_flag(cls.name, settings, "debug"),
        )

    @classmethod
    def load_api_key(cls) -> str:
        api_key = secrets.read(cls.api_key_env)
        if not api_key:
            raise ConfigError(
                f"provider {cls.name!r} needs an API key in ${cls.api_key_env}",
                hint=f"export {cls.api_key_env}=... (never put it in a file)",
            )
        return api_key

    @classmethod
    def extra_settings(cls) -> tuple[str, ...]:
        return ()

    def default_url(self) -> str:
        """The API's address when [providers.NAME] base_url is not set."""
        return self.default_base_url

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    #: whether this provider can switch open and click tracking per message
    tracking_per_message: ClassVar[bool] = True

    def check_tracking(self) -> None:
        if (self.track_opens or self.track_clicks) and not self.tracking_per_message:
            self.unsupported(
                "open and click tracking per message (it sets them per domain, not per message)",
                hint="turn [tracking] off here and choose tracking in the provider's dashboard",
            )
            self.track_opens = self.track_clicks = False

    def check(self) -> list[str]:
        problems = []
        if not self.api_key:
            problems.append(f"${self.api_key_env} is not set")
        if not self.sender_email or self.sender_email.endswith("@example.com"):
            problems.append("[sender] email is not set to your own address")
        if not self.base_url.startswith(("https://", "http://127.", "http://localhost")):
            problems.append(f"base_url {self.base_url!r} should be https")
        return problems

    def close(self) -> None:
        self.session.close()

    # --- the steps, in order -----------------------------------------------------------
    def send_batch(self, batch: Batch) -> list[Result]:
        """ONE request: the recipients that fit it, the others come back ``deferred``."""
        return self.deliver(self.prepare(batch))

    def prepare(self, batch: Batch) -> Prepared:
        return Prepared(batch, self.payload(batch, batch.recipients))

    def deliver(self, prepared: Prepared) -> list[Result]:
        batch, payload = prepared.batch, prepared.request
        assert isinstance(payload, Payload), "prepared by another provider"
        results = self.post(batch, payload)
        rest = batch.recipients[len(payload.recipients) :]
        return results + [
            Result(
                r.delivery_id, Outcome.DEFERRED, error="did not fit in one request", retry_after=0
            )
            for r in rest
        ]

    def payload(self, batch: Batch, recipients: list[Recipient]) -> Payload:
        """The first request's payload: as many recipients as the provider's recipient and
        size limits allow (halved until it fits)."""
        chunk = recipients[: self.max_batch]
        payload = self.build(batch, chunk)
        while payload.size() > self.max_request_bytes and len(chunk) > 1:
            chunk = chunk[: len(chunk) // 2]
            payload = self.build(batch, chunk)
        return payload

    def post(self, batch: Batch, payload: Payload) -> list[Result]:
        url = f"{self.base_url}{self.endpoint()}"
        deadline = time.monotonic() + self.deadline
        if self.debug:
            self.debug_request("POST", url, payload.headers, payload.data)
        try:
            response = self.session.post(
                url,
                data=payload.data,
                headers=payload.headers,
                timeout=(min(self.timeout, 10.0), self.timeout),
                stream=True,
            )
        except requests.exceptions.RequestException as exc:
            if self.debug:
                debug_log.info("%s: no answer to POST %s: %s", self.name, url, type(exc).__name__)
            if nothing_sent(exc):
                return self._all(
                    payload, Outcome.TRANSIENT, f"cannot reach {self.name}: {type(exc).__name__}"
                )
            return self._all(
                payload,
                Outcome.UNKNOWN,
                f"{self.name}: the request was sent but no answer came back "
                f"({type(exc).__name__}): it may have been delivered; {UNKNOWN_HINT}",
            )
        try:
            self._read(response, deadline)
        except (requests.exceptions.RequestException, HTTPError, _Deadline, OSError) as exc:
            reason = "no full answer in time" if isinstance(exc, _Deadline) else "answer cut off"
            if self.debug:
                debug_log.info("%s: %s %s: %s", self.name, "POST", url, reason)
            return self._all(
                payload,
                Outcome.UNKNOWN,
                f"{self.name}: {reason} ({type(exc).__name__}): "
                f"the request may have been delivered; {UNKNOWN_HINT}",
            )
        finally:
            response.close()
        if self.debug:
            self.debug_answer(
                response.status_code, response.reason, response.headers, response.content
            )
        return self.answer(batch, payload, response)

    # --- [providers.NAME] debug = true -------------------------------------------------
    def debug_request(
        self, method: str, url: str, headers: Mapping[str, str], body: object
    ) -> None:
        """Log a request as it goes out: method, URL, headers (the session's and the
        request's; credentials as ***), body (addresses included: this is the editor's
        own log; the key scrubbed wherever it appears)."""
        _debug_handler()
        every = {**self.session.headers, **headers}
        debug_log.info(
            "%s request: %s %s\n%s\n\n%s",
            self.name,
            method,
            self.scrub(url),
            _debug_headers(every),
            self.scrub(_debug_body(body)),
        )

    def debug_answer(
        self, status: int, reason: str | None, headers: Mapping[str, str], body: bytes
    ) -> None:
        """Log an answer: status, headers, body, scrubbed like the request."""
        debug_log.info(
            "%s answer: %s %s\n%s\n\n%s",
            self.name,
            status,
            reason or "",
            _debug_headers(headers),
            self.scrub(_debug_body(body)),
        )

    def answer(self, batch: Batch, payload: Payload, response: requests.Response) -> list[Result]:
        """Results from a complete answer."""
        code = response.status_code
        if code in REFUSED_UNPROCESSED:  # refused unprocessed: back to the queue, no pause
            after = retry_after(response)
            return [
                Result(
                    r.delivery_id,
                    Outcome.TRANSIENT,
                    error=self.describe(response) + " (after retries)",
                    retry_after=after,
                )
                for r in payload.recipients
            ]
        if code in NEEDS_A_PERSON or self.needs_a_person(response):
            return self._all(payload, Outcome.REFUSED, self.describe(response))
        if code >= 500:
            return self._all(
                payload,
                Outcome.UNKNOWN,
                f"{self.describe(response)}: the provider may have accepted the request; "
                f"{UNKNOWN_HINT}",
            )
        try:
            return self.parse(batch, payload, response)
        except UnreadableAnswer as exc:
            return self._unreadable(payload, str(exc))
        except ProviderError as exc:
            if 200 <= code < 300:
                return self._unreadable(payload, str(exc))
            log.warning("%s: %s", self.name, self.scrub(str(exc)))
            return self._all(payload, Outcome.FAILED, self.scrub(str(exc)))
        except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
            if 200 <= code < 300:
                return self._unreadable(payload, f"{type(exc).__name__}: {exc}")
            return self._all(payload, Outcome.FAILED, self.describe(response))

    def needs_a_person(self, response: requests.Response) -> bool:
        """Whether a refusal other than 401/403 is one only a person can fix (an account
        suspended or out of credit): per provider."""
        return False

    def _unreadable(self, payload: Payload, why: str) -> list[Result]:
        return self._all(
            payload,
            Outcome.UNKNOWN,
            self.scrub(
                f"{self.name} answered something that cannot be read ({why[:200]}): "
                f"the request may have been accepted; {UNKNOWN_HINT}"
            ),
        )

    @staticmethod
    def _read(response: requests.Response, deadline: float) -> None:
        """Read the whole body, giving up at the deadline (a body that drips a byte at a
        time never trips the per-read timeout)."""
        chunks = []
        while True:
            chunk = response.raw.read1(65536, decode_content=True)
            if not chunk:
                break
            chunks.append(chunk)
            if time.monotonic() > deadline:
                raise _Deadline()
        response._content = b"".join(chunks)
        response._content_consumed = True  # type: ignore[attr-defined]

    def endpoint(self) -> str:
        return self.path

    def get_json(self, url: str, params: dict[str, str] | None = None) -> Any:
        """A GET to the provider's API (reconcile's log searches): the parsed JSON answer.
        Through :func:`newsletter.fetch.get` (one deadline, a size cap), with our
        credentials, only on the API's own host (a next-page address on another host would
        get the key; any port), and no redirect followed."""
        if params:
            url = f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"
        url = requote_uri(url)  # a next-page address as given (as requests would send it)
        if not _same_host(url, self.base_url):
            raise ProviderError(
                f"{self.name}: refused to send the API key to {urlsplit(url).hostname!r} "
                f"(not the API's host {urlsplit(self.base_url).hostname!r}, or not https)"
            )
        headers = {k: str(v) for k, v in self.session.headers.items()}
        if self.debug:
            self.debug_request("GET", url, {}, None)
        try:
            got = fetch.get(
                url,
                allow_private=True,  # the editor's own base_url (a local server in tests)
                deadline=self.deadline,
                limit=MAX_LOG_ANSWER,
                headers=headers,
                max_redirects=0,
            )
        except fetch.FetchError as exc:
            raise ProviderError(self.scrub(f"cannot reach {self.name}: {exc.reason}")) from None
        if self.debug:
            self.debug_answer(got.status, got.reason, got.headers, got.body)
        if got.status != 200:
            raise ProviderError(
                self.scrub(f"{self.name} answered {got.status}: {got.reason}"),
                status_code=got.status,
            )
        try:
            return json.loads(got.body)
        except ValueError:
            raise ProviderError(f"{self.name} answered something that is not JSON") from None

    def _all(self, payload: Payload, status: Outcome, error: str) -> list[Result]:
        return [Result(r.delivery_id, status, error=error) for r in payload.recipients]

    def describe(self, response: requests.Response) -> str:
        body = response.text[:300].replace("\n", " ")
        return self.scrub(f"{self.name} answered {response.status_code}: {body}")

    def scrub(self, text: str) -> str:
        """TEXT without the key, in any form (see newsletter.secrets)."""
        return secrets.scrub(text)

    # --- per provider ------------------------------------------------------------------
    def build(self, batch: Batch, recipients: list[Recipient]) -> Payload:
        raise NotImplementedError

    def parse(self, batch: Batch, payload: Payload, response: requests.Response) -> list[Result]:
        raise NotImplementedError


def _debug_headers(headers: Mapping[str, str | bytes]) -> str:
    lines = []
    for name, value in headers.items():
        text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
        shown = "***" if SECRET_HEADER.search(name) else secrets.scrub(text)
        lines.append(f"{name}: {shown}")
    return "\n".join(lines)


def _debug_body(body: object) -> str:
    if isinstance(body, bytes):
        text = body[:DEBUG_BODY].decode("utf-8", "replace")
        more = len(body) - DEBUG_BODY
    elif isinstance(body, list):  # form fields
        text = "\n".join(f"{k}={v}" for k, v in body)
        more = len(text) - DEBUG_BODY
        text = text[:DEBUG_BODY]
    else:
        text, more = ("" if body is None else str(body)), 0
    return text + (f"\n... ({more} more bytes)" if more > 0 else "")


def _debug_handler() -> None:
    """Debug lines are shown on stderr even where nothing configured logging."""
    debug_log.setLevel(logging.INFO)
    if not debug_log.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s"))
        debug_log.addHandler(handler)


def _same_host(url: str, base_url: str) -> bool:
    """Whether ``url`` is on the API's own host (any port), never https downgraded."""
    there, here = urlsplit(url), urlsplit(base_url)
    downgraded = here.scheme.lower() == "https" and there.scheme.lower() != "https"
    return bool(there.hostname) and there.hostname == here.hostname and not downgraded


def _flag(provider: str, settings: dict[str, Any], name: str) -> bool:
    value = settings.pop(name, False)
    if not isinstance(value, bool):
        raise ConfigError(f"[providers.{provider}] {name} must be true or false")
    return value


def retry_after(response: requests.Response) -> float | None:
    """Seconds from a Retry-After header (seconds or an HTTP date), or None."""
    return fetch.retry_after(response.headers.get("Retry-After"))


#: what Resend's tags and SES's message tags may hold: ASCII letters, digits, _ and -
_TAG_TEXT = re.compile(r"[^A-Za-z0-9_-]")


def tag_text(text: str) -> str:
    """``text`` as a provider tag's name or value (other characters become ``_``)."""
    return _TAG_TEXT.sub("_", text)[:256]


def html_tokens(html: str, first_name: str, unsubscribe: str) -> str:
    """The HTML with our placeholders swapped for a provider's own substitution tags."""
    return html.replace(FIRST_NAME, first_name).replace(UNSUBSCRIBE_URL, unsubscribe)
