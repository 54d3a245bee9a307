"""The store: subscribers, lists, suppressions, queued series and the delivery ledger.

``Store`` opens the database (SQLite by default, PostgreSQL to scale) and brings its schema
up to date; the functions in ``subscribers`` and ``ledger`` take a Store. ``Store`` (and
SQLAlchemy with it) is loaded when first asked for: ``newsletter status`` reads an
up-to-date database without it (:mod:`.report`).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .states import SuppressionReason

if TYPE_CHECKING:
    from .core import Store

SUPPRESSION_REASONS = tuple(SuppressionReason)


def utcnow() -> datetime:
    """Naive UTC, as stored."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def email_key(email: str) -> str:
    return email.strip().lower()


def erased_key(email: str) -> str:
    """What is kept of an erased address: a hash, enough to refuse re-adding it."""
    return "sha256:" + hashlib.sha256(email_key(email).encode()).hexdigest()


def __getattr__(name: str) -> Any:
    if name == "Store":
        from .core import Store

        return Store
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["SUPPRESSION_REASONS", "Store", "email_key", "erased_key", "utcnow"]
