"""A reader's erasure request (GDPR Art. 17), from the preferences page or
``newsletter subscribers remove --forget``.

The subscriber's rows go (:func:`newsletter.store.subscribers.forget`: only a hash of the
address stays, in the suppression list, so that no later import or form adds them back
unasked); SQLite's write-ahead log is emptied into the database, where deleted content is
overwritten; and the outbox's messages to them are removed: those of their ledger rows
(named by row id) and every confirmation email addressed to them.
"""

from __future__ import annotations

import email.parser
import email.utils
import logging
from pathlib import Path

from .config import Config
from .store import Store, email_key
from .store.subscribers import Forgotten, forget

log = logging.getLogger(__name__)


def erase(store: Store, config: Config, address: str) -> bool:
    """Erase ADDRESS everywhere this tool keeps it; False if it was not a subscriber (its
    hash is kept all the same, and outbox files to it are removed)."""
    forgotten = forget(store, address)
    remove_outbox_messages(config.outbox_path, address, forgotten)
    if not store.checkpoint():
        log.warning(
            "the database was busy: an erased address stays in its log until the next checkpoint"
        )
    return forgotten is not None


def remove_outbox_messages(folder: Path, address: str, forgotten: Forgotten | None) -> int:
    """Remove the outbox files written to ADDRESS. Returns how many."""
    if not folder.is_dir():
        return 0
    paths = [folder / f"{d:010d}.eml" for d in (forgotten.delivery_ids if forgotten else [])]
    key = email_key(address)
    parser = email.parser.BytesHeaderParser()
    for path in folder.glob("confirm-*.eml"):  # named by subscriber id, which may have changed
        try:
            with path.open("rb") as f:
                to = email.utils.parseaddr(str(parser.parse(f)["To"] or ""))[1]
        except OSError:
            continue
        if email_key(to) == key:
            paths.append(path)
    removed = 0
    for path in paths:
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        removed += 1
    return removed
