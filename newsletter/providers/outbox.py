"""``outbox``: every message becomes a standard .eml file in a folder. No account needed.

The file name is the delivery's id, written atomically (a temporary file, then a rename),
so a batch resent after a crash replaces its files instead of doubling them.
"""

from __future__ import annotations

import os
import tempfile
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, make_msgid
from pathlib import Path
from typing import ClassVar

from .base import Batch, Provider, Recipient, Result


_QP_UTF8 = Charset("utf-8")
_QP_UTF8.body_encoding = QP  # readable in a text editor, smaller than base64 for prose


class OutboxProvider(Provider):
    name: ClassVar[str] = "outbox"
    max_batch: ClassVar[int] = 1000
    idempotent: ClassVar[bool] = True

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def message(self, batch: Batch, r: Recipient) -> tuple[Message, str]:
        """A multipart/alternative message (text, then HTML) and its Message-ID.

        Built with the compat32 email classes: several times faster than EmailMessage's
        header parsing, which matters at 100,000 messages."""
        html, text = batch.personalize(r)
        msg = MIMEMultipart("alternative")
        msg["From"] = _address(batch.from_name, batch.from_email)
        msg["To"] = _address(f"{r.first_name} {r.last_name}".strip(), r.email)
        msg["Subject"] = Header(batch.subject, "utf-8") if not batch.subject.isascii() \
            else batch.subject
        msg["Date"] = formatdate(usegmt=True)
        domain = batch.from_email.rpartition("@")[2] or "localhost"
        message_id = make_msgid(idstring=f"d{r.delivery_id}", domain=domain)
        msg["Message-ID"] = message_id
        if batch.reply_to:
            msg["Reply-To"] = batch.reply_to
        for name, value in batch.headers(r).items():
            msg[name] = value
        if batch.tag:
            msg["X-Newsletter-Part"] = batch.tag
        msg.attach(MIMEText(text, "plain", _QP_UTF8))  # type: ignore[arg-type]
        msg.attach(MIMEText(html, "html", _QP_UTF8))  # type: ignore[arg-type]
        return msg, message_id

    def path_for(self, delivery_id: int) -> Path:
        return self.folder / f"{delivery_id:010d}.eml"

    def send_batch(self, batch: Batch) -> list[Result]:
        self.folder.mkdir(parents=True, exist_ok=True)
        results = []
        for r in batch.recipients:
            msg, message_id = self.message(batch, r)
            target = self.path_for(r.delivery_id)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                f.write(msg.as_bytes())
            os.replace(tmp, target)
            results.append(Result(r.delivery_id, "sent", message_id=message_id))
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
    return formataddr((name, addr), charset="utf-8") if name else addr
