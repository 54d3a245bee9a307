"""A feed and an issue from a feed as the store gives them: plain dataclasses, without
SQLAlchemy (``newsletter status`` reads the issues that wait through :mod:`.report`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .states import Approve, EntryState


@dataclass(frozen=True)
class FeedInfo:
    id: int
    url: str
    title: str
    list_name: str
    mode: str
    every: str
    at: str | None
    approve: Approve
    backfill: int
    poll_seconds: int
    added_at: datetime
    etag: str | None
    last_modified: str | None
    polled_at: datetime | None
    next_poll_at: datetime
    last_error: str | None

    @property
    def schedule(self) -> str:
        return f"{self.mode}, every {self.every}" + (f" at {self.at}" if self.at else "")


@dataclass(frozen=True)
class Waiting:
    """An issue from a feed that waits for the editor."""

    path: str
    title: str
    state: EntryState
    feed_url: str
    detail: str
    seen_at: datetime


__all__ = ["FeedInfo", "Waiting"]
