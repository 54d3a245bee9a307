"""``smtp``: send through the mail server a practice already has (Google Workspace,
Microsoft 365, Fastmail, its host's relay, SES's SMTP interface...).

Settings are ``[providers.smtp]`` (parsed in :mod:`newsletter.config`: host, port,
security, username, connections, rate_limit, batch_size, timeout, return_path, ca_file,
helo); the password comes from ``$SMTP_PASSWORD``.

A batch (``batch_size`` messages, the ledger checked between batches) is shared out over
a pool of persistent connections (``connections``), each sending its messages one
transaction after another (MAIL, RCPT, DATA). Connections stay open from one batch to the
next; a connection the server closed (idle timeout, ``421``) is opened again.

A session that cannot be opened sends nothing: a refused connection, a timeout, a 4xx
greeting or a ``454`` at login is *transient* (back to the queue, tried later); a ``535``
(credentials refused), a 5xx greeting, no STARTTLS where required or a refused certificate
is *refused*: the series pauses for the editor, as with an API provider's 401.

Every message has its own answer, which is its result:

- ``RCPT`` 2xx, then ``250`` to the end of data: *sent*, with our Message-ID;
- ``RCPT`` 550/551/553 (or an enhanced status 5.1.x, 5.2.1 "no such user", "disabled"):
  *rejected*: the address is suppressed; a 5.7.x refusal (relaying denied, policy) is our
  configuration's problem, so it is *failed* and nobody is suppressed;
- any other 5xx: *failed* (tried again later, up to the ledger's attempts);
- 4xx: tried again later (``452 4.5.3`` "too many recipients" and ``421``: a minute later,
  on a new connection, without counting an attempt);
- a connection lost, or a timeout, before the final dot was wholly written: nothing was
  accepted (a server delivers nothing without the end of data), so the message is tried
  again on a new connection (at most once within the batch, else later);
- a connection lost, or a timeout, AFTER the final dot and before the server's answer:
  the server may have accepted it. That message alone is *unknown* (never failed, never
  resent by itself): ``newsletter status`` names it and ``newsletter reconcile`` says the
  command that settles it (``newsletter resume ISSUE --batch ID --were-sent|--resend``),
  after the editor looked in the mailbox's "Sent" folder. SMTP keeps no log we can search.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import logging
import os
import re
import smtplib
import socket
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import ClassVar

from .. import secrets
from ..config import Config, Security, Smtp
from ..errors import ConfigError
from ..pacing import Pacer
from .base import Batch, Outcome, Prepared, Provider, Recipient, Result
from .outbox import build_message

log = logging.getLogger("newsletter.providers.smtp")
PASSWORD_ENV = "SMTP_PASSWORD"
#: RCPT answers that say the address does not exist (without an enhanced status code)
NO_SUCH_USER = (550, 551, 553)
#: enhanced status codes (RFC 3463) that say the same: bad mailbox, bad domain, bad syntax,
#: moved, disabled
_PERMANENT_ADDRESS = re.compile(r"^5\.(1\.\d+|2\.1)$")
_ENHANCED = re.compile(rb"^\s*([245]\.\d{1,3}\.\d{1,3})\b")
#: a 4xx that is the server's limit per connection, not the recipient's problem
_TOO_MANY = ("4.5.3",)
#: an idle pooled connection older than this is checked with NOOP before it is used again
IDLE_CHECK_SECONDS = 10.0
#: a message the server turned away for its own limits (421, 452 4.5.3) goes again after
#: this, without counting an attempt (a server that keeps refusing is not hammered)
SERVER_LIMIT_RETRY = 60.0
UNKNOWN_HINT = (
    "the server may have accepted it: look in the mailbox's Sent folder, then "
    "'newsletter resume ISSUE --batch ID --were-sent' or '--resend' "
    "('newsletter reconcile' names the batch)"
)


class Lost(Exception):
    """The connection failed; ``after_data``: after the whole message and its final dot
    were written (the server may have accepted it)."""

    def __init__(self, why: str, *, after_data: bool = False) -> None:
        super().__init__(why)
        self.after_data = after_data


class Refused(Exception):
    """The server refused to open a session (connect, TLS, login): nothing was sent.
    ``outcome``: ``transient`` for a fault that passes by itself (connection refused, a
    timeout, a 4xx greeting or login answer, a session closed), ``refused`` for one a
    person must fix (credentials refused: 535; no STARTTLS; a certificate refused; a 5xx
    greeting), as the API providers treat a 401."""

    def __init__(self, why: str, outcome: Outcome = Outcome.TRANSIENT) -> None:
        super().__init__(why)
        self.outcome = outcome


def _by_code(code: int) -> Outcome:
    """A 4xx answer passes by itself; any other refusal needs a person."""
    return Outcome.TRANSIENT if 400 <= code < 500 else Outcome.REFUSED


@dataclass
class _Conn:
    client: smtplib.SMTP
    used: float = field(default_factory=time.monotonic)
    messages: int = 0


def enhanced(text: bytes | str) -> str:
    """The enhanced status code (RFC 3463) at the start of a server's answer, or ""."""
    raw = text.encode("utf-8", "replace") if isinstance(text, str) else text
    m = _ENHANCED.match(raw)
    return m.group(1).decode() if m else ""


def rcpt_outcome(code: int, text: bytes) -> tuple[Outcome, float | None]:
    """What a RCPT answer means for the recipient (and, for a deferral, when to retry)."""
    if 200 <= code < 300:
        return Outcome.SENT, None
    status = enhanced(text)
    if 500 <= code < 600:
        if status:
            return (Outcome.REJECTED if _PERMANENT_ADDRESS.match(status) else Outcome.FAILED), None
        return (Outcome.REJECTED if code in NO_SUCH_USER else Outcome.FAILED), None
    if code == 421 or status in _TOO_MANY:
        return Outcome.DEFERRED, SERVER_LIMIT_RETRY
    return Outcome.FAILED, None


def is_local(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _answer(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {' '.join(text.split())}"[:300]


class SmtpProvider(Provider):
    name: ClassVar[str] = "smtp"
    max_batch: ClassVar[int] = 50
    idempotent: ClassVar[bool] = False
    evidence_source: ClassVar[str] = "none"  # no log to search: the editor decides

    def __init__(self, settings: Smtp, sender_email: str, password: str = "") -> None:
        self.settings = settings
        self.sender_email = sender_email
        self.envelope_from = settings.return_path.strip() or sender_email
        self.password = password
        if password:
            secrets.register(password)
        # one batch is this many messages (the Sender asks provider.max_batch)
        self.max_batch = settings.batch_size  # type: ignore[misc]
        self.context = ssl.create_default_context(cafile=settings.ca_file or None)
        self._idle: list[_Conn] = []
        self._lock = threading.Lock()
        self._workers: ThreadPoolExecutor | None = None
        self._pacer = Pacer(settings.rate_limit, 1)
        self._pace_lock = threading.Lock()
        self._notes: list[str] = []

    @classmethod
    def from_config(cls, config: Config) -> SmtpProvider:
        s = config.smtp
        if not s.host.strip():
            raise ConfigError(
                "provider 'smtp' needs [providers.smtp] host",
                hint='e.g. host = "smtp.gmail.com", port = 587, security = "starttls"',
            )
        password = read_password(PASSWORD_ENV)
        if s.username and not password:
            raise ConfigError(
                f"provider 'smtp' needs the password of {s.username!r} in ${PASSWORD_ENV}",
                hint=f"export {PASSWORD_ENV}=... (never put it in a file)",
            )
        provider = cls(s, config.sender.email, password)
        provider.ignore_unsupported = s.ignore_unsupported
        if config.tracking.open_pixel or config.tracking.click_rewriting:
            provider.unsupported(
                "open and click tracking (a mail server does not track)",
                hint="turn [tracking] off",
            )
        return provider

    # --- sessions ----------------------------------------------------------------------
    def where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    def open(self) -> smtplib.SMTP:
        """A new session: connected, EHLO, TLS as configured, logged in. Raises
        :class:`Refused` with a one-line reason; nothing is sent before it returns."""
        s = self.settings
        helo = s.helo or None
        try:
            if s.security is Security.TLS:
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.host, s.port, local_hostname=helo, timeout=s.timeout, context=self.context
                )
            else:
                client = smtplib.SMTP(s.host, s.port, local_hostname=helo, timeout=s.timeout)
        except ssl.SSLError as exc:
            raise Refused(
                f"TLS with {self.where()} failed: {_ssl_reason(exc)}", Outcome.REFUSED
            ) from None
        except smtplib.SMTPConnectError as exc:
            reason = _answer(exc.smtp_code, exc.smtp_error)
            raise Refused(
                f"{self.where()} refused the session: {reason}", _by_code(exc.smtp_code)
            ) from None
        except TimeoutError:
            raise Refused(f"{self.where()} did not answer within {s.timeout:g}s") from None
        except ConnectionRefusedError:
            raise Refused(f"cannot connect to {self.where()}: connection refused") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise Refused(f"cannot connect to {self.where()}: {_os_reason(exc)}") from None
        with contextlib.suppress(OSError, AttributeError):
            # each command waits for its answer: no point in Nagle's delay (40 ms a message)
            client.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # type: ignore[union-attr]
        try:
            self._start(client)
        except BaseException:
            _close(client)
            raise
        return client

    def _start(self, client: smtplib.SMTP) -> None:
        s = self.settings
        try:
            client.ehlo()
            if s.security is Security.STARTTLS:
                if not client.has_extn("starttls"):
                    raise Refused(
                        f'{self.where()} does not offer STARTTLS and security = "starttls" '
                        "requires it: nothing was sent (not even the password)",
                        Outcome.REFUSED,
                    )
                client.starttls(context=self.context)
                client.ehlo()
            if s.username:
                if s.security is Security.NONE and not is_local(s.host):
                    raise Refused(
                        f'security = "none": the password would cross the network unencrypted '
                        f'to {s.host}; use "starttls" or "tls"',
                        Outcome.REFUSED,
                    )
                client.login(s.username, self.password)
        except Refused:
            raise
        except ssl.SSLError as exc:
            raise Refused(
                f"TLS with {self.where()} failed: {_ssl_reason(exc)}", Outcome.REFUSED
            ) from None
        except smtplib.SMTPAuthenticationError as exc:
            # 535 (bad credentials) pauses; 454 (temporary authentication failure) passes
            what = "bad credentials" if exc.smtp_code >= 500 else "a temporary failure"
            raise Refused(
                f"{self.where()} refused the login of {s.username!r} ({what}): "
                f"{_answer(exc.smtp_code, exc.smtp_error)}",
                _by_code(exc.smtp_code),
            ) from None
        except smtplib.SMTPNotSupportedError:
            raise Refused(
                f"{self.where()} offers no login (AUTH) on this connection: "
                "check the port and security",
                Outcome.REFUSED,
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise Refused(
                f"{self.where()} refused the session: {_answer(exc.smtp_code, exc.smtp_error)}",
                _by_code(exc.smtp_code),
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise Refused(f"{self.where()} closed the session: {_os_reason(exc)}") from None

    def _take(self) -> _Conn:
        """A pooled connection (checked with NOOP after a long idle), else a new one."""
        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                return _Conn(self.open())
            if time.monotonic() - conn.used < IDLE_CHECK_SECONDS:
                return conn
            try:
                if conn.client.noop()[0] == 250:
                    return conn
            except (OSError, smtplib.SMTPException):
                pass
            _close(conn.client)

    def _give_back(self, conn: _Conn) -> None:
        conn.used = time.monotonic()
        with self._lock:
            self._idle.append(conn)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            try:
                conn.client.quit()
            except (OSError, smtplib.SMTPException):
                _close(conn.client)
        if self._workers is not None:
            self._workers.shutdown(wait=True)
            self._workers = None

    # --- sending -----------------------------------------------------------------------
    def send_batch(self, batch: Batch) -> list[Result]:
        return self.deliver(self.prepare(batch))

    def prepare(self, batch: Batch) -> Prepared:
        """Every message built (nothing sent): (recipient, bytes, Message-ID, envelope
        sender)."""
        messages = []
        for r in batch.recipients:
            data, message_id = build_message(batch, r)
            mail_from = self.envelope_from
            if self.settings.verp and r.delivery_id > 0:
                mail_from = verp_address(self.envelope_from, r.delivery_id, message_id)
            messages.append((r, _dot_stuffed(data), message_id, mail_from))
        return Prepared(batch, messages)

    def deliver(self, prepared: Prepared) -> list[Result]:
        messages = prepared.request
        assert isinstance(messages, list), "prepared by another provider"
        n = max(1, min(self.settings.connections, len(messages)))
        shares = [messages[i::n] for i in range(n)]
        if n == 1:
            return self._send_share(shares[0])
        if self._workers is None:
            self._workers = ThreadPoolExecutor(
                self.settings.connections, thread_name_prefix="newsletter-smtp"
            )
        futures = [self._workers.submit(self._send_share, share) for share in shares]
        return [result for f in futures for result in f.result()]

    def _send_share(self, messages: list[tuple[Recipient, bytes, str, str]]) -> list[Result]:
        """One connection's share of a batch, message after message."""
        results: list[Result] = []
        conn: _Conn | None = None
        refused: Refused | None = None
        for r, data, message_id, mail_from in messages:
            if refused is not None:  # the server would not open a session: as the first
                results.append(Result(r.delivery_id, refused.outcome, error=str(refused)))
                continue
            result, conn, refused = self._send_one(conn, r, data, message_id, mail_from)
            results.append(result)
        if conn is not None:
            self._give_back(conn)
        return results

    def _send_one(
        self, conn: _Conn | None, r: Recipient, data: bytes, message_id: str, mail_from: str
    ) -> tuple[Result, _Conn | None, Refused | None]:
        """Send one message (opening a connection as needed; once more on a new one when
        the first was lost before the end of data). Returns its result, the connection
        to go on with, and why no session could be opened (None when one could)."""
        last = ""
        for _try in range(2):
            if conn is None:
                try:
                    conn = self._take()
                except Refused as exc:
                    # nothing was sent: back to the queue (transient), or the series
                    # paused for the editor (refused: e.g. 535, credentials refused)
                    log.warning("smtp: %s", exc)
                    return Result(r.delivery_id, exc.outcome, error=str(exc)), None, exc
            with self._pace_lock:
                self._pacer.wait()
            try:
                result = self._transaction(conn, r, data, message_id, mail_from)
            except Lost as exc:
                _close(conn.client)
                conn = None
                if exc.after_data:
                    error = (
                        f"smtp {self.settings.host}: {exc} after the whole message was sent "
                        f"(Message-ID {message_id}); {UNKNOWN_HINT}"
                    )
                    return Result(r.delivery_id, Outcome.UNKNOWN, error=error), None, None
                last = f"smtp {self.settings.host}: {exc} before the end of data: not sent"
                continue
            conn.messages += 1
            if result.status is Outcome.DEFERRED:  # 421 / 452 4.5.3: a fresh connection
                self._quit(conn)
                conn = None
            return result, conn, None
        return Result(r.delivery_id, Outcome.FAILED, error=last), conn, None

    def _transaction(
        self, conn: _Conn, r: Recipient, data: bytes, message_id: str, mail_from: str
    ) -> Result:
        """MAIL, RCPT, DATA for one message. Raises :class:`Lost` when the connection
        fails (``after_data`` once the final dot is wholly written)."""
        c = conn.client
        try:
            code, text = c.mail(mail_from)
            if code == 421:
                raise Lost(f"the server closed the connection ({_answer(code, text)})")
            if code != 250:
                self._reset(c)
                return self._refused(r, "MAIL FROM", code, text)
            code, text = c.rcpt(r.email)
            outcome, after = rcpt_outcome(code, text)
            if outcome is not Outcome.SENT:
                if code == 421:
                    raise Lost(f"the server closed the connection ({_answer(code, text)})")
                self._reset(c)
                return Result(
                    r.delivery_id,
                    outcome,
                    error=f"smtp RCPT TO <{r.email}>: {_answer(code, text)}",
                    retry_after=after,
                )
            code, text = c.docmd("DATA")
            if code != 354:
                if code == 421:
                    raise Lost(f"the server closed the connection ({_answer(code, text)})")
                self._reset(c)
                return self._refused(r, "DATA", code, text)
            c.send(data + b".\r\n")  # smtplib: SMTPServerDisconnected if not all was written
        except UnicodeEncodeError:
            self._reset(c)
            return Result(
                r.delivery_id,
                Outcome.FAILED,
                error=f"smtp: the address {r.email!r} is not ASCII (SMTPUTF8 is not used)",
            )
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            raise Lost(_os_reason(exc)) from None
        # The whole message and its final dot were written: from here on, a lost
        # connection leaves the message unknown.
        try:
            code, text = c.getreply()
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            raise Lost(_os_reason(exc), after_data=True) from None
        if code == 250:
            return Result(r.delivery_id, Outcome.SENT, message_id=message_id)
        if code == 421:  # not accepted, and the server closes: next message on a new one
            return Result(
                r.delivery_id,
                Outcome.DEFERRED,
                error=f"smtp end of data: {_answer(code, text)}",
                retry_after=SERVER_LIMIT_RETRY,
            )
        return self._refused(r, "end of data", code, text)

    @staticmethod
    def _refused(r: Recipient, step: str, code: int, text: bytes) -> Result:
        """A refusal of the message (not of the address): failed, tried again later."""
        return Result(r.delivery_id, Outcome.FAILED, error=f"smtp {step}: {_answer(code, text)}")

    @staticmethod
    def _reset(c: smtplib.SMTP) -> None:
        # (if it fails, the next message finds the connection closed and opens another)
        with contextlib.suppress(smtplib.SMTPServerDisconnected, OSError):
            c.rset()

    @staticmethod
    def _quit(conn: _Conn) -> None:
        try:
            conn.client.quit()
        except (OSError, smtplib.SMTPException):
            _close(conn.client)

    # --- providers check -----------------------------------------------------------------
    def check(self) -> list[str]:
        """Connect, say what the server offers, authenticate; nothing is sent."""
        problems: list[str] = []
        self._notes = []
        if not self.sender_email or self.sender_email.endswith("@example.com"):
            problems.append("[sender] email is not set to your own address")
        try:
            client = self.open()
        except Refused as exc:
            return [*problems, str(exc)]
        try:
            self._notes.append(f"{self.where()} offers: {self.offers(client)}")
            if self.settings.username:
                self._notes.append(f"logged in as {self.settings.username}")
            client.quit()
        except (OSError, smtplib.SMTPException):
            _close(client)
        return problems

    def offers(self, client: smtplib.SMTP) -> str:
        """What the server's EHLO announced, in a few words."""
        s = self.settings
        parts = []
        if s.security is Security.TLS:
            parts.append("TLS")
        elif s.security is Security.STARTTLS:
            parts.append("STARTTLS (in use)")
        elif client.has_extn("starttls"):
            parts.append('STARTTLS (not used: security = "none")')
        else:
            parts.append("no STARTTLS")
        auth = client.esmtp_features.get("auth", "").split()
        parts.append("AUTH " + " ".join(auth) if auth else "no AUTH")
        size = client.esmtp_features.get("size", "").strip()
        if size.isdigit() and int(size):
            parts.append(f"SIZE {int(size) / 1_000_000:.0f} MB")
        for ext in ("pipelining", "smtputf8", "8bitmime"):
            if client.has_extn(ext):
                parts.append(ext.upper())
        return ", ".join(parts)

    def check_notes(self) -> list[str]:
        return list(self._notes)


def verp_tag(message_id: str) -> str:
    """What a VERP address carries besides the delivery id: a digest of the message's own
    Message-ID (random, never shown to anyone but its reader), so a made-up address
    matches nothing."""
    return hashlib.sha256(message_id.encode()).hexdigest()[:10]


def verp_address(envelope_from: str, delivery_id: int, message_id: str) -> str:
    """``news@example.org`` -> ``news+nl-42-5f1c0a9e3b@example.org``."""
    local, _, domain = envelope_from.rpartition("@")
    return f"{local}+nl-{delivery_id}-{verp_tag(message_id)}@{domain}"


#: a VERP address in a bounce's headers: (delivery id, tag)
VERP = re.compile(r"\+nl-(\d+)-([0-9a-f]{10})@")


def read_password(name: str) -> str:
    """A mail password from ``$NAME``, as set (a Google app password may hold spaces; only
    a line end, as a file's last line has, is dropped), remembered for scrubbing."""
    value = os.environ.get(name, "").strip("\r\n")
    if value:
        secrets.register(value)
    return value


def _dot_stuffed(data: bytes) -> bytes:
    """RFC 5321 4.5.2: a line that starts with a dot gets one more (CRLF line ends)."""
    if data.startswith(b"."):
        data = b"." + data
    return data.replace(b"\r\n.", b"\r\n..")


def _close(client: smtplib.SMTP) -> None:
    with contextlib.suppress(OSError):
        client.close()


def _ssl_reason(exc: ssl.SSLError) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"the server's certificate was refused ({exc.verify_message})"
    return exc.reason or type(exc).__name__


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    text = " ".join(str(exc).split()) or type(exc).__name__
    return secrets.scrub(f"{type(exc).__name__}: {text}"[:200])


__all__ = ["PASSWORD_ENV", "VERP", "SmtpProvider", "enhanced", "rcpt_outcome", "verp_tag"]
