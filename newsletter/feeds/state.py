"""The states and outcomes of feeds, as enums and dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ..store.states import Approve as Approve
from ..store.states import EntryState as EntryState
from ..store.states import Fetch as Fetch


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
class NewIssue:
    """A feed entry turned into an issue file, and what became of it."""

    path: str
    title: str
    state: EntryState
    #: why it is held, or how the notification went
    detail: str = ""


@dataclass
class FeedResult:
    url: str
    fetch: Fetch = Fetch.NEW
    issues: list[NewIssue] = field(default_factory=list)
    #: one line each: the feed could not be read, an entry could not be imported
    errors: list[str] = field(default_factory=list)
    old: int = 0  # entries skipped as older than the feed's addition
    #: new posts another feed of the same list brought first: "'Title' (from URL)"
    duplicates: list[str] = field(default_factory=list)


@dataclass
class FeedReport:
    feeds: list[FeedResult] = field(default_factory=list)

    @property
    def issues(self) -> list[NewIssue]:
        return [i for f in self.feeds for i in f.issues]

    @property
    def errors(self) -> list[str]:
        return [e for f in self.feeds for e in f.errors]

    def lines(self) -> list[str]:
        """What the editor reads: one line per new issue and per error."""
        out: list[str] = []
        for f in self.feeds:
            for i in f.issues:
                out.append(
                    f"{f.url}: new post {i.title!r} -> {i.path}: {i.state}"
                    + (f" ({i.detail})" if i.detail else "")
                )
            out.extend(f"error: {e}" for e in f.errors)
        return out


@dataclass(frozen=True)
class Waiting:
    """An issue from a feed that waits for the editor."""

    path: str
    title: str
    state: EntryState
    feed_url: str
    detail: str
    seen_at: datetime
