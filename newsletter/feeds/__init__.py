"""From a blog's feed to a queued series, with the editor's approval.

``add_feed`` remembers a feed and reads it once (entries already there are not imported,
unless ``backfill``); ``poll_due_feeds`` polls the feeds whose interval has passed: each new
entry becomes an issue file that waits for ``approve_issue`` (manual) or is queued when its
checks pass (auto).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputError, StoreError
from ..store import utcnow
from .state import (
    Approve,
    EntryState,
    FeedInfo,
    FeedReport,
    FeedResult,
    Fetch,
    NewIssue,
    Waiting,
)

if TYPE_CHECKING:
    from ..config import Config
    from ..schedule import Queued
    from ..store import Store

log = logging.getLogger("newsletter.feeds")
MIN_POLL_SECONDS = 300  # be polite to the blog


def add_feed(
    config: Config,
    store: Store,
    url: str,
    *,
    list_name: str,
    mode: str = "sequence",
    every: str = "3d",
    at: str | None = None,
    approve: str = Approve.MANUAL,
    backfill: int = 0,
    poll: str | None = None,
    now: datetime | None = None,
) -> tuple[FeedInfo, FeedResult]:
    """Add a feed and read it once; the feed is refused when it cannot be read."""
    from ..store import feeds as records
    from ..timing import cadence, parse_interval
    from .fetch import FeedError
    from .poll import poll_one

    now = now or utcnow()
    _, send_at = cadence(mode, every, at)
    if approve not in Approve.__members__.values():
        raise InputError("--approve", f"expected auto or manual, got {approve!r}")
    if backfill < 0:
        raise InputError("--backfill", f"expected a number of posts from 0, got {backfill}")
    poll_field = "--poll" if poll else "[feeds] poll"
    seconds = int(
        (parse_interval(poll, "--poll") if poll else config.feeds.poll_interval).total_seconds()
    )
    if seconds < MIN_POLL_SECONDS:
        raise InputError(
            poll_field,
            f"{poll or config.feeds.poll!r} is too often for a blog: expected 5m or more",
        )
    feed = records.insert_feed(
        store,
        url=url,
        list_name=list_name,
        mode=mode,
        every=every,
        at=send_at.strftime("%H:%M") if send_at else None,
        approve=Approve(approve),
        backfill=backfill,
        poll_seconds=seconds,
        now=now,
    )
    result = poll_one(config, store, feed, now)
    if result.fetch is Fetch.ERROR:
        records.delete_feed(store, feed.id)
        raise FeedError(result.errors[0], hint="the feed was not added")
    return records.find_feed(store, str(feed.id)), result


def list_feeds(store: Store) -> list[FeedInfo]:
    from ..store import feeds as records

    return records.all_feeds(store)


def remove_feed(store: Store, ref: str) -> FeedInfo:
    """Forget a feed (by number or URL); its issue files stay."""
    from ..store import feeds as records

    feed = records.find_feed(store, ref)
    records.delete_feed(store, feed.id)
    return feed


def check_feeds(
    config: Config, store: Store, ref: str | None = None, now: datetime | None = None
) -> FeedReport:
    """Poll now, whatever the interval: every feed, or the one named."""
    from ..store import feeds as records
    from .poll import poll_one

    now = now or utcnow()
    feeds = [records.find_feed(store, ref)] if ref else records.all_feeds(store)
    return FeedReport([poll_one(config, store, f, now) for f in feeds])


def waiting_issues(store: Store) -> list[Waiting]:
    """Issues from feeds that wait for the editor (manual approval, or held by checks)."""
    with store.report() as report:
        return report.waiting()


def approve_issue(
    config: Config, store: Store, issue: Path, *, force: bool = False, now: datetime | None = None
) -> Queued:
    """Check and queue an issue from a feed, with the feed's list, mode and schedule."""
    from ..store import feeds as records
    from .poll import queue_for_feed

    found = records.entry_for_issue(store, issue.stem)
    if found is None:
        raise StoreError(
            f"{issue}: not an issue from a feed",
            hint=f"queue it with 'newsletter queue {issue} --list NAME'",
        )
    entry_id, feed, state = found
    if state is EntryState.QUEUED:
        raise StoreError(f"{issue}: already approved and queued", hint="'newsletter status'")
    q = queue_for_feed(config, store, feed, issue, now, force=force)
    records.set_entry(store, entry_id, EntryState.QUEUED, detail="approved")
    return q


def poll_quietly(
    config: Config, store: Store, say: Callable[[str], None], now: datetime | None = None
) -> FeedReport:
    """For `run` and `send-due`: poll due feeds; whatever goes wrong is said, never raised,
    so that a feed never stops the sending."""
    try:
        from ..store import feeds as records

        feeds = records.all_feeds(store)
        if not feeds:
            return FeedReport()  # (no feed: the feed reader and the extractor stay unloaded)
        from .poll import poll_due_feeds  # inside: even a broken install never stops sending

        report = poll_due_feeds(config, store, now or utcnow(), feeds)
    except Exception as exc:  # a feed must never stop the sending
        log.exception("polling feeds failed")
        say(f"feeds: polling failed: {type(exc).__name__}: {' '.join(str(exc).split())}")
        return FeedReport()
    for line in report.lines():
        say(line)
    return report


__all__ = [
    "Approve",
    "EntryState",
    "FeedInfo",
    "FeedReport",
    "FeedResult",
    "Fetch",
    "NewIssue",
    "Waiting",
    "add_feed",
    "approve_issue",
    "check_feeds",
    "list_feeds",
    "poll_quietly",
    "remove_feed",
    "waiting_issues",
]
