"""A real SMTP server on 127.0.0.1 for tests (aiosmtpd), with STARTTLS (a self-signed
certificate made here with ``cryptography``), AUTH, and faults on demand:

- ``reject``: RCPT answers for some addresses (``550 5.1.1 …``, ``452 4.5.3 …``);
- ``close_after``: after N messages on one connection, MAIL gets ``421`` and the
  connection is closed (a server's per-connection limit);
- ``drop_after_dot``: for these addresses, the connection is dropped after the whole
  message arrived and before the answer (the message was received: it is in ``received``);
- ``stall_after_dot``: for these addresses, no answer to the end of data until the
  server stops (the message is in ``received``);
- ``stall_at_rcpt``: no answer to RCPT for these addresses (once each).
"""

from __future__ import annotations

import asyncio
import datetime
import email
import email.policy
import ipaddress
import socket
import ssl
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = "news@calm-practice.org", "s3cret-app-password"


def make_cert(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost: (cert.pem, key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@dataclass
class Received:
    to: str
    mail_from: str
    data: bytes
    at: float = field(default_factory=time.monotonic)

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)  # type: ignore[return-value]


@dataclass
class Handler:
    received: list[Received] = field(default_factory=list)
    reject: dict[str, list[str]] = field(default_factory=dict)
    close_after: int = 0
    drop_after_dot: set[str] = field(default_factory=set)
    stall_after_dot: set[str] = field(default_factory=set)
    #: no answer to RCPT for these addresses (once each), until the server stops
    stall_at_rcpt: set[str] = field(default_factory=set)
    connections: int = 0
    logins: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: set when the server stops: stalled answers end then
    released: asyncio.Event | None = None
    #: set when a stalled message arrived (the test waits on it, never on a clock)
    stalled: threading.Event = field(default_factory=threading.Event)

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        if not getattr(session, "counted", False):
            session.counted = True
            session.messages = 0
            with self.lock:
                self.connections += 1
        return responses

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.close_after and getattr(session, "messages", 0) >= self.close_after:
            asyncio.get_running_loop().call_soon(server.transport.close)
            return "421 4.7.0 Too many messages on this connection, closing"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        with self.lock:
            answers = self.reject.get(address)
            answer = answers.pop(0) if answers else None
            stall = address in self.stall_at_rcpt
            self.stall_at_rcpt.discard(address)
        if stall:
            if self.released is None:
                self.released = asyncio.Event()
            await self.released.wait()
        if answer:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        to = envelope.rcpt_tos[0]
        with self.lock:
            self.received.append(Received(to, envelope.mail_from, envelope.original_content))
        session.messages = getattr(session, "messages", 0) + 1
        if to in self.drop_after_dot:
            with self.lock:
                self.drop_after_dot.discard(to)
            server.transport.abort()
            return "250 OK (never seen: the connection is gone)"
        if to in self.stall_after_dot:
            with self.lock:
                self.stall_after_dot.discard(to)
            if self.released is None:
                self.released = asyncio.Event()
            self.stalled.set()
            await self.released.wait()
            return "451 4.3.0 too late"
        return "250 2.0.0 OK queued"

    def counts(self) -> Counter[str]:
        with self.lock:
            return Counter(r.to for r in self.received)


def _authenticator(handler: Handler) -> Any:
    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            USER.encode(),
            PASSWORD.encode(),
        )
        if ok:
            with handler.lock:
                handler.logins += 1
        return AuthResult(success=ok, handled=False)

    return check


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    handler: Handler
    port: int
    cert: Path | None


@contextmanager
def smtp_server(folder: Path, *, tls: bool = True, auth: bool = True) -> Iterator[Server]:
    """An SMTP server on 127.0.0.1: STARTTLS (required) and AUTH (required) unless told
    otherwise."""
    handler = Handler()
    cert = key = None
    kwargs: dict[str, Any] = {}
    if tls:
        cert, key = make_cert(folder)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        kwargs.update(tls_context=context, require_starttls=True)
    if auth:
        kwargs.update(
            authenticator=_authenticator(handler),
            auth_required=True,
            auth_require_tls=tls,
        )
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        ready_timeout=120,
        data_size_limit=10_000_000,
        **kwargs,
    )
    controller.start()

    def release() -> None:
        if handler.released is not None:
            handler.released.set()

    try:
        yield Server(handler, port, cert)
    finally:
        controller.loop.call_soon_threadsafe(release)
        controller.stop()
