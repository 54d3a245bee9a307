"""``outbox``: every message becomes a standard .eml file in a folder. No account needed.

The file name is the delivery's id, written atomically (a temporary file, then a rename),
so a batch resent after a crash replaces its files instead of doubling them.
"""

from __future__ import annotations

import binascii
import os
import tempfile
from email.header import Header
from email.utils import formataddr, formatdate, make_msgid
from pathlib import Path
from typing import ClassVar

from .base import Batch, Outcome, Provider, Recipient, Result


class OutboxProvider(Provider):
    name: ClassVar[str] = "outbox"
    max_batch: ClassVar[int] = 1000
    idempotent: ClassVar[bool] = True

    def __init__(self, folder: Path) -> None:
        # The outbox only writes files; [tracking] has nothing to act on here.
        self.folder = folder

    def message(self, batch: Batch, r: Recipient) -> tuple[bytes, str]:
        """An RFC 5322 message, multipart/alternative (text, then HTML), and its Message-ID.

        Written directly rather than through email.generator: the bodies are encoded
        quoted-printable by binascii (C), which keeps 100,000 messages fast."""
        html, text = batch.personalize(r)
        domain = batch.from_email.rpartition("@")[2] or "localhost"
        message_id = make_msgid(idstring=f"d{r.delivery_id}", domain=domain)
        headers = [
            ("From", _address(batch.from_name, batch.from_email)),
            ("To", _address(f"{r.first_name} {r.last_name}".strip(), r.email)),
            ("Subject", _text(batch.subject)),
            ("Date", formatdate(usegmt=True)),
            ("Message-ID", message_id),
        ]
        if batch.reply_to:
            headers.append(("Reply-To", batch.reply_to))
        headers.extend(batch.headers(r).items())
        if batch.tag:
            headers.append(("X-Newsletter-Part", batch.tag))
        boundary = f"=_nl_{r.delivery_id}_{os.urandom(6).hex()}"
        head = "".join(f"{k}: {v}\r\n" for k, v in headers)
        out = [
            (
                head + f"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; "
                f'boundary="{boundary}"\r\n\r\n'
            ).encode(),
        ]
        for subtype, body in (("plain", text), ("html", html)):
            out.append(
                (
                    f"--{boundary}\r\nContent-Type: text/{subtype}; charset=utf-8\r\n"
                    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
                ).encode()
            )
            encoded = binascii.b2a_qp(body.replace("\r\n", "\n").encode("utf-8"), istext=True)
            out.append(encoded.replace(b"\n", b"\r\n") + b"\r\n")
        out.append(f"--{boundary}--\r\n".encode())
        return b"".join(out), message_id

    def path_for(self, delivery_id: int) -> Path:
        return self.folder / f"{delivery_id:010d}.eml"

    def send_batch(self, batch: Batch) -> list[Result]:
        self.folder.mkdir(parents=True, exist_ok=True)
        results = []
        for r in batch.recipients:
            data, message_id = self.message(batch, r)
            target = self.path_for(r.delivery_id)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, target)
            results.append(Result(r.delivery_id, Outcome.SENT, message_id=message_id))
        return results

    def check(self) -> list[str]:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return [f"outbox folder {self.folder} cannot be created: {exc}"]
        return [] if os.access(self.folder, os.W_OK) else [f"{self.folder} is not writable"]


def _address(name: str, addr: str) -> str:
    """A header address; a non-ASCII name is encoded (RFC 2047), a non-ASCII address is
    left as UTF-8 (RFC 6532)."""
    if not name:
        return addr
    if addr.isascii():
        return formataddr((name, addr), charset="utf-8")
    return f"{_text(name) if not name.isascii() else formataddr((name, 'x@x'))[:-6]} <{addr}>"


def _text(value: str) -> str:
    """A header value: as it is when ASCII, else RFC 2047 encoded."""
    return value if value.isascii() else Header(value, "utf-8").encode()
