"""Reading bounces from the sender's mailbox over IMAP (``[bounces.imap]``, password from
``$IMAP_PASSWORD``): `newsletter bounces check`, and every ``[bounces] every`` under
`newsletter run`.

Each new message of the folder is fetched without marking it read (``BODY.PEEK[]``: a
person's mail in the same inbox stays unread) and classified (:mod:`newsletter.bounces`).
A report about one of our messages (a bounce, a delay, a complaint, an auto-reply) is
applied, then moved to ``processed_folder`` (``MOVE``, or ``COPY`` + ``\\Deleted`` +
``UID EXPUNGE`` of that message alone); deleted only with ``delete_processed = true``.
Anything else is left where it is, unread; how far the folder was read is kept
(UIDVALIDITY and the last UID) so it is not read again.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import re
import ssl
from dataclasses import dataclass, field

from . import secrets
from .bounces import Applied, apply, classify
from .config import Config, Imap, Security
from .errors import ConfigError, NewsletterError
from .providers.smtp import is_local, read_password
from .store import Store
from .store.mailbox import read_mark, write_mark
from .store.states import BounceKind as Kind

log = logging.getLogger("newsletter.mailbox")
PASSWORD_ENV = "IMAP_PASSWORD"
_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")


class MailboxError(NewsletterError):
    """The mailbox could not be read: one line saying why."""


@dataclass
class MailboxReport:
    read: int = 0
    bounced: int = 0
    complained: int = 0
    suppressed: int = 0
    auto_replies: int = 0
    delays: int = 0
    moved: int = 0
    left: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.read} new message(s): {self.bounced} bounce(s), {self.complained} "
            f"complaint(s), {self.suppressed} address(es) suppressed, {self.auto_replies} "
            f"auto-repl(ies) ignored, {self.delays} delay(s); {self.moved} processed, "
            f"{self.left} left in the folder"
        )


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Mailbox:
    def __init__(self, settings: Imap, password: str) -> None:
        self.settings = settings
        self.password = password
        if password:
            secrets.register(password)
        self.context = ssl.create_default_context(cafile=settings.ca_file or None)

    @classmethod
    def from_config(cls, config: Config) -> Mailbox:
        settings = config.bounces.imap
        if settings is None:
            raise ConfigError(
                "no mailbox to read bounces from: add [bounces.imap] to newsletter.toml",
                hint='host = "imap.gmail.com", user = "you@example.com" (see the README)',
            )
        password = read_password(PASSWORD_ENV)
        if not password:
            raise ConfigError(
                f"[bounces.imap] needs the password of {settings.user!r} in ${PASSWORD_ENV}",
                hint=f"export {PASSWORD_ENV}=... (never put it in a file)",
            )
        return cls(settings, password)

    def where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    def connect(self) -> imaplib.IMAP4:
        """A logged-in connection, or :class:`MailboxError` with a one-line reason."""
        s = self.settings
        conn: imaplib.IMAP4 | None = None
        try:
            if s.security is Security.TLS:
                conn = imaplib.IMAP4_SSL(
                    s.host, s.port, ssl_context=self.context, timeout=s.timeout
                )
            else:
                conn = imaplib.IMAP4(s.host, s.port, timeout=s.timeout)
                if s.security is Security.STARTTLS:
                    conn.starttls(self.context)
                elif not is_local(s.host):
                    raise MailboxError(
                        f'[bounces.imap] security = "none": the password would cross the '
                        f'network unencrypted to {s.host}; use "tls" or "starttls"'
                    )
            conn.login(s.user, self.password)
            return conn
        except BaseException as exc:
            if conn is not None:
                with contextlib.suppress(OSError, imaplib.IMAP4.error):
                    conn.shutdown()
            raise self._reason(exc) from None

    def _reason(self, exc: BaseException) -> BaseException:
        s = self.settings
        if isinstance(exc, ssl.SSLError):
            return MailboxError(f"TLS with {self.where()} failed: {exc.reason or exc}")
        if isinstance(exc, ConnectionRefusedError):
            return MailboxError(f"cannot connect to {self.where()}: connection refused")
        if isinstance(exc, TimeoutError):
            return MailboxError(f"{self.where()} did not answer in time")
        if isinstance(exc, imaplib.IMAP4.error):
            return MailboxError(f"{self.where()} refused the login of {s.user!r}: {_text(exc)}")
        if isinstance(exc, OSError):
            return MailboxError(f"cannot connect to {self.where()}: {_text(exc)}")
        return exc

    def check(self, store: Store) -> MailboxReport:
        """Read the folder's new messages, apply and move what is ours."""
        conn = self.connect()
        try:
            return self._check(conn, store)
        except (imaplib.IMAP4.error, OSError) as exc:
            raise MailboxError(f"reading {self.where()} failed: {_text(exc)}") from None
        finally:
            with contextlib.suppress(imaplib.IMAP4.error, OSError):
                conn.logout()

    def _check(self, conn: imaplib.IMAP4, store: Store) -> MailboxReport:
        s = self.settings
        typ, _ = conn.select(_quote(s.folder))
        if typ != "OK":
            raise MailboxError(f"{self.where()} has no folder {s.folder!r}")
        validity = self._uidvalidity(conn)
        key = f"bounces.imap:{s.user}@{s.host}/{s.folder}"
        mark = read_mark(store, key) or ""
        seen_validity, _, seen_uid = mark.partition(":")
        last = int(seen_uid) if seen_validity == validity and seen_uid.isdigit() else 0
        typ, data = conn.uid("SEARCH", "UNDELETED")
        uids = sorted(int(u) for u in (data[0] or b"").split() if int(u) > last)
        report = MailboxReport()
        processed_ready = False
        for uid in uids:
            raw = self._fetch(conn, uid)
            if raw is None:
                continue
            report.read += 1
            done = apply(store, classify(raw))
            self._count(report, done)
            if done.ours and done.report.kind is not Kind.OTHER:  # (a reader's reply stays)
                if not processed_ready and not s.delete_processed:
                    self._create(conn, s.processed_folder)
                    processed_ready = True
                self._move(conn, uid)
                report.moved += 1
            else:
                report.left += 1
            last = uid
            write_mark(store, key, f"{validity}:{last}")
        return report

    @staticmethod
    def _count(report: MailboxReport, done: Applied) -> None:
        kind = done.report.kind
        if not done.ours:
            return
        if kind is Kind.BOUNCE:
            report.bounced += 1
        elif kind is Kind.COMPLAINT:
            report.complained += 1
        elif kind is Kind.AUTO_REPLY:
            report.auto_replies += 1
        elif kind is Kind.DELAY:
            report.delays += 1
        report.suppressed += done.suppressed

    @staticmethod
    def _uidvalidity(conn: imaplib.IMAP4) -> str:
        _, data = conn.response("UIDVALIDITY")
        for item in data or []:
            if isinstance(item, bytes) and item.strip().isdigit():
                return item.strip().decode()
        return "0"

    @staticmethod
    def _fetch(conn: imaplib.IMAP4, uid: int) -> bytes | None:
        typ, data = conn.uid("FETCH", str(uid), "(BODY.PEEK[])")
        if typ != "OK":
            return None
        for item in data or []:
            if isinstance(item, tuple) and len(item) == 2:
                return bytes(item[1])
        return None

    @staticmethod
    def _create(conn: imaplib.IMAP4, folder: str) -> None:
        conn.create(_quote(folder))  # NO when it exists already: fine

    def _move(self, conn: imaplib.IMAP4, uid: int) -> None:
        s = self.settings
        caps = {c.upper() for c in conn.capabilities}
        if s.delete_processed:
            self._delete(conn, uid, caps)
            return
        if "MOVE" in caps:
            typ, data = conn.uid("MOVE", str(uid), _quote(s.processed_folder))
            if typ != "OK":
                raise MailboxError(f"could not move a message to {s.processed_folder!r}")
            return
        typ, _ = conn.uid("COPY", str(uid), _quote(s.processed_folder))
        if typ != "OK":
            raise MailboxError(f"could not copy a message to {s.processed_folder!r}")
        self._delete(conn, uid, caps)

    @staticmethod
    def _delete(conn: imaplib.IMAP4, uid: int, caps: set[str]) -> None:
        """Flag ``uid`` deleted and expunge only it (UIDPLUS); without UIDPLUS a plain
        EXPUNGE would also remove what the editor deleted by hand, so it stays flagged
        (and unread by us: searches ask for UNDELETED)."""
        conn.uid("STORE", str(uid), "+FLAGS.SILENT", "(\\Deleted)")
        if "UIDPLUS" in caps:
            conn.uid("EXPUNGE", str(uid))


def _text(exc: BaseException) -> str:
    raw = exc.args[0] if exc.args else exc
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return secrets.scrub(" ".join(text.split()) or type(exc).__name__)[:200]


def check_bounces(store: Store, config: Config) -> MailboxReport:
    """`newsletter bounces check`: read the mailbox once."""
    return Mailbox.from_config(config).check(store)


__all__ = ["Mailbox", "MailboxError", "MailboxReport", "check_bounces"]
