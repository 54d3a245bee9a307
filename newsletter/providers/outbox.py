"""``outbox``: every message becomes a standard .eml file in a folder. No account needed.

The file name is the delivery's id (a message that is not a ledger row, with a negative
id, is named by its kind: ``confirm-000000001.eml``, ``proof-000000002.eml``, so that no
name starts with a dash), written atomically (a temporary file, then a rename),
so a batch resent after a crash replaces its files instead of doubling them. Temporary
files left by a process killed mid-write are removed when the outbox is next opened.
"""

from __future__ import annotations

import binascii
import os
import tempfile
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import ClassVar

from .. import headers
from .base import Batch, Outcome, Provider, Recipient, Result


def build_message(batch: Batch, r: Recipient) -> tuple[bytes, str]:
    """An RFC 5322 message, multipart/alternative (text, then HTML), and its Message-ID
    (ours, ``<…d{delivery id}@sender domain>``: a bounce names the delivery). The outbox
    writes it, the smtp provider sends it.

    Written directly rather than through email.generator: the bodies are encoded
    quoted-printable by binascii (C), which keeps 100,000 messages fast."""
    html, text = batch.personalize(r)
    domain = batch.from_email.rpartition("@")[2] or "localhost"
    message_id = make_msgid(idstring=f"d{r.delivery_id}", domain=domain)
    head = [
        headers.fold_address("From", batch.from_name, batch.from_email),
        headers.fold_address("To", f"{r.first_name} {r.last_name}", r.email),
        headers.fold("Subject", batch.subject),
        f"Date: {formatdate(usegmt=True)}\r\n",
        f"Message-ID: {message_id}\r\n",
    ]
    if batch.reply_to:
        head.append(headers.fold("Reply-To", batch.reply_to))
    head.extend(headers.fold(k, v, tokens=True) for k, v in batch.headers(r).items())
    if batch.tag:
        head.append(headers.fold("X-Newsletter-Part", batch.tag, tokens=True))
    boundary = f"=_nl_{r.delivery_id}_{os.urandom(6).hex()}"
    out = [
        (
            "".join(head) + f"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; "
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


class OutboxProvider(Provider):
    name: ClassVar[str] = "outbox"
    max_batch: ClassVar[int] = 1000
    idempotent: ClassVar[bool] = True

    def __init__(self, folder: Path) -> None:
        # The outbox only writes files; [tracking] has nothing to act on here.
        self.folder = folder
        if folder.is_dir():
            self.clean_stale()

    def message(self, batch: Batch, r: Recipient) -> tuple[bytes, str]:
        return build_message(batch, r)

    def path_for(self, delivery_id: int, kind: str = "message") -> Path:
        if delivery_id < 0:  # not a ledger row: a leading dash would read as an option
            return self.folder / f"{kind}-{-delivery_id:09d}.eml"
        return self.folder / f"{delivery_id:010d}.eml"

    def send_batch(self, batch: Batch) -> list[Result]:
        self.folder.mkdir(parents=True, exist_ok=True)
        results = []
        for r in batch.recipients:
            data, message_id = self.message(batch, r)
            kind = batch.metadata.get("kind", "message")
            self._write(self.path_for(r.delivery_id, kind), data)
            results.append(Result(r.delivery_id, Outcome.SENT, message_id=message_id))
        return results

    def _write(self, target: Path, data: bytes) -> None:
        """Write to a temporary name (``.PID-….tmp``), then rename: a reader never sees
        half a message, and the temporary file is removed if writing fails."""
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=f".{os.getpid()}-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def clean_stale(self) -> int:
        """Remove the temporary files of writers that died mid-write (killed: no cleanup
        ran). Those of a running process are left alone. Returns how many were removed."""
        removed = 0
        for path in self.folder.glob(".*.tmp"):
            pid = path.name[1:].partition("-")[0]
            if pid.isdigit() and _alive(int(pid)):
                continue
            path.unlink(missing_ok=True)
            removed += 1
        return removed

    def check(self) -> list[str]:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return [f"outbox folder {self.folder} cannot be created: {exc}"]
        return [] if os.access(self.folder, os.W_OK) else [f"{self.folder} is not writable"]


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True
