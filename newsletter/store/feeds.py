"""Feeds and the entries seen in them, in the database (what ``newsletter feeds`` and the
polls of :mod:`newsletter.feeds` read and write)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import StoreError
from .core import Store
from .feedrows import FeedInfo
from .models import Feed, FeedEntry
from .states import Approve, EntryState


def key_of(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _info(row: Any) -> FeedInfo:
    return FeedInfo(
        id=row.id,
        url=row.url,
        title=row.title,
        list_name=row.list_name,
        mode=row.mode,
        every=row.every,
        at=row.send_at,
        approve=Approve(row.approve),
        backfill=row.backfill,
        poll_seconds=row.poll_seconds,
        added_at=row.added_at,
        etag=row.etag,
        last_modified=row.last_modified,
        polled_at=row.polled_at,
        next_poll_at=row.next_poll_at,
        last_error=row.last_error,
    )


def insert_feed(
    store: Store,
    *,
    url: str,
    list_name: str,
    mode: str,
    every: str,
    at: str | None,
    approve: Approve,
    backfill: int,
    poll_seconds: int,
    now: datetime,
) -> FeedInfo:
    with store.begin() as conn:
        store.list_id(conn, list_name)  # an unknown list is an error now, not at every post
        try:
            with conn.begin_nested():
                conn.execute(
                    insert(Feed).values(
                        url=url,
                        url_key=key_of(url),
                        title="",
                        list_name=list_name,
                        mode=mode,
                        every=every,
                        send_at=at,
                        approve=approve.value,
                        backfill=backfill,
                        poll_seconds=poll_seconds,
                        added_at=now,
                        next_poll_at=now,
                    )
                )
        except IntegrityError:
            raise StoreError(
                f"feed {url} is already added", hint="'newsletter feeds list' shows it"
            ) from None
        row = conn.execute(select(Feed).where(Feed.url_key == key_of(url))).one()
        return _info(row)


def all_feeds(store: Store) -> list[FeedInfo]:
    with store.begin() as conn:
        return [_info(r) for r in conn.execute(select(Feed).order_by(Feed.id))]


def find_feed(store: Store, ref: str) -> FeedInfo:
    """A feed by its number in `feeds list` or its URL."""
    feeds = all_feeds(store)
    for f in feeds:
        if ref == f.url or (ref.isdigit() and int(ref) == f.id):
            return f
    hint = ("feeds: " + ", ".join(f"{f.id} {f.url}" for f in feeds)) if feeds else "none added"
    raise StoreError(f"no feed {ref!r}", hint=hint)


def delete_feed(store: Store, feed_id: int) -> None:
    with store.begin() as conn:
        conn.execute(delete(FeedEntry).where(FeedEntry.feed_id == feed_id))
        conn.execute(delete(Feed).where(Feed.id == feed_id))


def claim_due(store: Store, feed: FeedInfo, now: datetime) -> bool:
    """Take a due feed's poll for this process (another `send-due` may be polling too)."""
    with store.begin() as conn:
        result = conn.execute(
            update(Feed)
            .where(Feed.id == feed.id, Feed.next_poll_at <= now)
            .values(next_poll_at=now + timedelta(seconds=feed.poll_seconds))
        )
        return bool(result.rowcount)


def record_poll(
    store: Store,
    feed: FeedInfo,
    now: datetime,
    *,
    error: str | None,
    etag: str | None = None,
    last_modified: str | None = None,
    title: str | None = None,
    wait: timedelta | None = None,
) -> None:
    values: dict[str, Any] = {
        "polled_at": now,
        "last_error": error[:1000] if error else None,
        "next_poll_at": now + max(timedelta(seconds=feed.poll_seconds), wait or timedelta(0)),
    }
    if error is None:
        values.update(etag=etag, last_modified=last_modified)
    if title:
        values["title"] = title[:500]
    with store.begin() as conn:
        conn.execute(update(Feed).where(Feed.id == feed.id).values(**values))


#: an entry claimed this long ago and still importing was left by a poll that died
IMPORT_LEASE = timedelta(minutes=15)


def seen(store: Store, feed_id: int, now: datetime) -> tuple[set[str], set[str]]:
    """The keys and the links of the entries seen in a feed (an import that died is not)."""
    with store.begin() as conn:
        conn.execute(
            delete(FeedEntry).where(
                FeedEntry.feed_id == feed_id,
                FeedEntry.state == EntryState.IMPORTING.value,
                FeedEntry.seen_at < now - IMPORT_LEASE,
            )
        )
        rows = conn.execute(
            select(FeedEntry.entry_key, FeedEntry.link).where(FeedEntry.feed_id == feed_id)
        ).all()
    return {r.entry_key for r in rows}, {r.link for r in rows if r.link}


def links_elsewhere(store: Store, feed: FeedInfo) -> dict[str, str]:
    """The links of the posts the other feeds of ``feed``'s list brought (a blog's main
    feed and its category feed carry the same post): each link's first feed's URL."""
    with store.begin() as conn:
        rows = conn.execute(
            select(FeedEntry.link, Feed.url)
            .join(Feed, Feed.id == FeedEntry.feed_id)
            .where(Feed.list_name == feed.list_name, Feed.id != feed.id, FeedEntry.link != "")
            .order_by(FeedEntry.id.desc())
        ).all()
    return {link: url for link, url in rows}


def importing(store: Store, feed_id: int) -> bool:
    """Whether an entry of this feed is still being imported (by this poll or another)."""
    with store.begin() as conn:
        return bool(
            conn.scalar(
                select(FeedEntry.id).where(
                    FeedEntry.feed_id == feed_id, FeedEntry.state == EntryState.IMPORTING.value
                )
            )
        )


def claim_entry(
    store: Store,
    feed_id: int,
    *,
    key: str,
    link: str,
    title: str,
    published: datetime | None,
    state: EntryState,
    now: datetime,
    detail: str = "",
) -> int | None:
    """Record an entry as seen; None when another poll recorded it first."""
    try:
        with store.begin() as conn:
            result: Any = conn.execute(
                insert(FeedEntry).values(
                    feed_id=feed_id,
                    entry_key=key_of(key),
                    entry_id=key[:2000],
                    link=link[:2000],
                    title=title[:500],
                    published_at=published,
                    seen_at=now,
                    state=state.value,
                    detail=detail[:2000],
                )
            )
            return int(result.inserted_primary_key[0])
    except IntegrityError:
        return None


def set_entry(
    store: Store,
    entry_id: int,
    state: EntryState,
    *,
    detail: str = "",
    issue_path: str | None = None,
) -> None:
    values: dict[str, Any] = {"state": state.value, "detail": detail[:2000]}
    if issue_path is not None:
        values["issue_path"] = issue_path
    with store.begin() as conn:
        conn.execute(update(FeedEntry).where(FeedEntry.id == entry_id).values(**values))


def forget_entry(store: Store, entry_id: int) -> None:
    """Unclaim an entry whose import failed for a reason that may pass (tried again)."""
    with store.begin() as conn:
        conn.execute(delete(FeedEntry).where(FeedEntry.id == entry_id))


def entry_for_issue(store: Store, slug: str) -> tuple[int, FeedInfo, EntryState] | None:
    """The feed entry whose issue file has this slug (file name without .md)."""
    with store.begin() as conn:
        rows = conn.execute(
            select(FeedEntry.id, FeedEntry.feed_id, FeedEntry.issue_path, FeedEntry.state)
            .where(FeedEntry.issue_path.endswith(f"{slug}.md", autoescape=True))
            .order_by(FeedEntry.id.desc())
        ).all()
        for r in rows:
            if Path(str(r.issue_path)).stem == slug:
                feed = conn.execute(select(Feed).where(Feed.id == r.feed_id)).one()
                return r.id, _info(feed), EntryState(r.state)
    return None
