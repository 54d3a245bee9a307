"""``outbox``: every message becomes a standard .eml file in a folder. No account needed.

The file name is the delivery's id, written atomically (a temporary file, then a rename),
so a batch resent after a crash replaces its files instead of doubling them.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
import tempfile
from email.message import EmailMessage
from email.policy import SMTPUTF8
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import ClassVar

from .base import Batch, Provider, Recipient, Result


class OutboxProvider(Provider):
    name: ClassVar[str] = "outbox"
    max_batch: ClassVar[int] = 1000
    idempotent: ClassVar[bool] = True

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def message(self, batch: Batch, r: Recipient) -> EmailMessage:
        html, text = batch.personalize(r)
        msg = EmailMessage()
        msg["From"] = batch.from_header
        msg["To"] = r.display
        msg["Subject"] = batch.subject
        msg["Date"] = format_datetime(datetime.now(UTC))
        domain = batch.from_email.rpartition("@")[2] or "localhost"
        msg["Message-ID"] = make_msgid(idstring=f"d{r.delivery_id}", domain=domain)
        if batch.reply_to:
            msg["Reply-To"] = batch.reply_to
        for name, value in batch.headers(r).items():
            msg[name] = value
        if batch.tag:
            msg["X-Newsletter-Part"] = batch.tag
        msg.set_content(text)
        msg.add_alternative(html, subtype="html")
        return msg

    def path_for(self, delivery_id: int) -> Path:
        return self.folder / f"{delivery_id:010d}.eml"

    def send_batch(self, batch: Batch) -> list[Result]:
        self.folder.mkdir(parents=True, exist_ok=True)
        results = []
        for r in batch.recipients:
            msg = self.message(batch, r)
            target = self.path_for(r.delivery_id)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".eml")
            with os.fdopen(fd, "wb") as f:
                # An address with non-ASCII characters needs SMTPUTF8 (RFC 6532).
                f.write(msg.as_bytes(policy=SMTPUTF8) if not r.email.isascii()
                        else msg.as_bytes())
            os.replace(tmp, target)
            results.append(Result(r.delivery_id, "sent", message_id=str(msg["Message-ID"])))
        return results

    def check(self) -> list[str]:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return [f"outbox folder {self.folder} cannot be created: {exc}"]
        return [] if os.access(self.folder, os.W_OK) else [f"{self.folder} is not writable"]
