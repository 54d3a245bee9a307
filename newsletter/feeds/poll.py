"""Polling feeds: new entries become issue files, queued or waiting for the editor.

``poll_due_feeds`` is what `newsletter run` and `newsletter send-due` call; ``poll_feed``
polls one feed now (`newsletter feeds check`). A feed that cannot be read, or an entry that
cannot be imported, is one line in the report: it never stops the other feeds.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from ..check import check_issue
from ..config import Config
from ..errors import NewsletterError
from ..issuefile import dump_issue
from ..pipeline import article_cta, check_issue_text, free_issue_path, slugify
from ..schedule import Queued, queue_issue
from ..store import Store
from ..store import feeds as records
from .entries import Entry, EntryUnusable, entry_article, parse_feed
from .fetch import FeedError, RetryLater, fetch
from .notify import notify_editor
from .state import Approve, EntryState, FeedInfo, FeedReport, FeedResult, Fetch, NewIssue

log = logging.getLogger("newsletter.feeds")


def poll_due_feeds(
    config: Config, store: Store, now: datetime, feeds: list[FeedInfo] | None = None
) -> FeedReport:
    """Poll every feed (of ``feeds``, read already; else of the store) whose interval has
    passed (``now``: naive UTC)."""
    report = FeedReport()
    for feed in records.all_feeds(store) if feeds is None else feeds:
        if feed.next_poll_at <= now and records.claim_due(store, feed, now):
            report.feeds.append(poll_one(config, store, feed, now))
    return report


def poll_one(config: Config, store: Store, feed: FeedInfo, now: datetime) -> FeedResult:
    """Poll one feed; even a failure nobody foresaw is one line, and the next feed goes on."""
    try:
        return poll_feed(config, store, feed, now)
    except Exception as exc:  # one feed must never stop the others
        log.exception("polling %s failed", feed.url)
        why = " ".join(str(exc).split())[:300]
        return FeedResult(
            feed.url, Fetch.ERROR, errors=[f"{feed.url}: {type(exc).__name__}: {why}"]
        )


def poll_feed(config: Config, store: Store, feed: FeedInfo, now: datetime) -> FeedResult:
    result = FeedResult(feed.url)
    try:
        got = fetch(
            feed.url,
            etag=feed.etag,
            last_modified=feed.last_modified,
            allow_private=config.fetch.allow_private,
            deadline=config.fetch.timeout,
        )
        if got.not_modified:
            result.fetch = Fetch.NOT_MODIFIED
            records.record_poll(
                store, feed, now, error=None, etag=got.etag, last_modified=got.last_modified
            )
            return result
        parsed = parse_feed(got.url, got.body or b"", got.content_type)
    except FeedError as exc:
        result.fetch = Fetch.ERROR
        result.errors.append(exc.message)
        wait = exc.after if isinstance(exc, RetryLater) else None
        records.record_poll(store, feed, now, error=exc.message, wait=wait)
        return result
    result.errors.extend(parsed.problems)
    importing = _to_take(store, feed, parsed.entries, now, result)
    # oldest first, so that two new posts are queued in the order they were written
    retry = False
    for entry in reversed(importing):
        retry |= not _import_entry(config, store, feed, entry, now, result)
    # An entry to try again, or one another poll is importing (it may die): the next poll
    # must get the whole feed, not a 304.
    again = retry or records.importing(store, feed.id)
    records.record_poll(
        store,
        feed,
        now,
        error="; ".join(result.errors) or None,
        etag=None if again else got.etag,
        last_modified=None if again else got.last_modified,
        title=parsed.title,
    )
    return result


def _to_take(
    store: Store, feed: FeedInfo, entries: list[Entry], now: datetime, result: FeedResult
) -> list[Entry]:
    """The entries not seen before that are to be imported; the others not seen before
    are recorded as old (written before the feed was added) or as duplicates."""
    keys, links = records.seen(store, feed.id, now)
    fresh = [
        e for e in entries if records.key_of(e.key) not in keys and not (e.link and e.link in links)
    ]
    importing = _to_import(feed, fresh)
    for entry in fresh:
        if entry not in importing and _claim(store, feed, entry, EntryState.OLD, now):
            result.old += 1
    # The same post through two feeds of one list (the blog's feed and a category's) goes
    # out once: it is recorded here as a duplicate of the first feed's.
    elsewhere = records.links_elsewhere(store, feed) if importing else {}
    for entry in [e for e in importing if e.link and e.link in elsewhere]:
        importing.remove(entry)
        first = elsewhere[entry.link]
        if _claim(store, feed, entry, EntryState.DUPLICATE, now, detail=f"also in {first}"):
            result.duplicates.append(f"{entry.title!r} (from {first})")
    return importing


def _to_import(feed: FeedInfo, fresh: list[Entry]) -> list[Entry]:
    """New entries written after the feed was added, plus the N newest older ones on the
    first poll when the feed was added with --backfill N."""
    first_poll = feed.polled_at is None
    new = [
        e
        for e in fresh
        if (e.published is not None and e.published >= feed.added_at)
        or (e.published is None and not first_poll)
    ]
    if first_poll and feed.backfill:
        older = [e for e in fresh if e not in new]
        older.sort(key=lambda e: e.published or datetime.min, reverse=True)
        new += older[: feed.backfill]
    return [e for e in fresh if e in new]  # in the feed's order, newest first


def _import_entry(
    config: Config, store: Store, feed: FeedInfo, entry: Entry, now: datetime, result: FeedResult
) -> bool:
    """Import one entry; False when it is to be tried again at the next poll."""
    entry_id = _claim(store, feed, entry, EntryState.IMPORTING, now)
    if entry_id is None:
        return True  # another poll took it
    try:
        article, _source = entry_article(
            entry,
            feed.url,
            allow_private=config.fetch.allow_private,
            timeout=config.fetch.timeout,
        )
    except EntryUnusable as exc:
        records.set_entry(store, entry_id, EntryState.FAILED, detail=exc.message)
        result.errors.append(exc.message)
        return True
    except FeedError as exc:  # the page may answer next time: tried again at the next poll
        records.forget_entry(store, entry_id)
        result.errors.append(f"{exc.message} (tried again at the next poll)")
        return False
    article.extra = {"feed": feed.url, "entry": entry.key}
    path = _issue_path(config, article.title)
    text = dump_issue(article, cta=article_cta(article), list_name=feed.list_name)
    try:
        check_issue_text(text, path, source=entry.link or feed.url)
    except NewsletterError as exc:  # an issue file `split` would refuse is never written
        records.set_entry(store, entry_id, EntryState.FAILED, detail=exc.message)
        result.errors.append(exc.message)
        return True
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        records.forget_entry(store, entry_id)
        result.errors.append(f"{path}: cannot write the issue file: {exc.strerror or exc}")
        return False
    shown = _shown(config, path)
    records.set_entry(store, entry_id, EntryState.IMPORTING, issue_path=shown)
    if feed.approve is Approve.MANUAL:
        detail = _notify(config, feed, path, shown, article.title, entry_id)
        state = EntryState.WAITING
    else:
        state, detail = _auto_queue(config, store, feed, path, now)
        if state is EntryState.HELD:  # the editor is told, as for a manual approval
            note = _notify(config, feed, path, shown, article.title, entry_id, held=True)
            detail = f"{detail}; {note}"
    records.set_entry(store, entry_id, state, detail=detail)
    result.issues.append(NewIssue(shown, article.title, state, detail))
    log.info("feed %s: %s -> %s (%s)", feed.url, article.title, shown, state)
    return True


def _claim(
    store: Store, feed: FeedInfo, entry: Entry, state: EntryState, now: datetime, detail: str = ""
) -> int | None:
    """Record the entry as seen; None when another poll recorded it first."""
    return records.claim_entry(
        store,
        feed.id,
        key=entry.key,
        link=entry.link,
        title=entry.title,
        published=entry.published,
        state=state,
        now=now,
        detail=detail,
    )


def _issue_path(config: Config, title: str) -> Path:
    return free_issue_path(config.resolve(config.issues_dir), slugify(title))


def _shown(config: Config, path: Path) -> str:
    """The issue's path as the editor types it: relative to the newsletter's folder."""
    try:
        return str(path.relative_to(config.root))
    except ValueError:
        return str(path)


def _notify(
    config: Config,
    feed: FeedInfo,
    path: Path,
    shown: str,
    title: str,
    entry_id: int,
    held: bool = False,
) -> str:
    try:
        return notify_editor(config, feed, path, shown, title, entry_id, held=held)
    except NewsletterError as exc:
        return f"the note to the editor was not sent: {exc.message}"
    except OSError as exc:  # the outbox cannot be written: the issue waits all the same
        log.warning("feed %s: the note for %s was not written: %s", feed.url, shown, exc)
        return f"the note to the editor was not sent: {exc.strerror or exc}"


def _auto_queue(
    config: Config, store: Store, feed: FeedInfo, path: Path, now: datetime
) -> tuple[EntryState, str]:
    """Queue when the checks pass; otherwise hold it with the reasons."""
    _, report = check_issue(path, config)
    if report.errors:
        reasons = "; ".join(
            (f"part {f.part}: " if f.part else "") + f.message for f in report.errors[:3]
        )
        return EntryState.HELD, f"{len(report.errors)} check error(s): {reasons}"
    try:
        q = queue_for_feed(config, store, feed, path, now)
    except NewsletterError as exc:
        return EntryState.HELD, str(exc)
    return EntryState.QUEUED, f"{q.parts} parts, {q.rows} messages scheduled"


def queue_for_feed(
    config: Config,
    store: Store,
    feed: FeedInfo,
    path: Path,
    now: datetime | None,
    *,
    force: bool = False,
) -> Queued:
    """Queue an issue from FEED with the feed's list, mode, interval and hour."""
    return queue_issue(
        store,
        config,
        path,
        list_name=feed.list_name,
        every=feed.every,
        mode=feed.mode,
        at=feed.at,
        force=force,
        now=now,
    )
