"""Fetching a feed politely: conditional GET (ETag, Last-Modified), through
:func:`newsletter.fetch.get` (one deadline for the whole fetch, a size cap, redirects
checked hop by hop, no internal addresses unless ``[fetch] allow_private``). Every failure
is a one-line FeedError."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from .. import fetch as http
from ..errors import NewsletterError

USER_AGENT = "newsletter-feeds/0.1 (+https://pypi.org/project/feedparser/)"
#: seconds for a whole fetch (connect, redirects, every read): [fetch] timeout
DEADLINE = http.DEFAULT_DEADLINE
MAX_REDIRECTS = http.MAX_REDIRECTS
MAX_FEED_BYTES = 10 * 1024 * 1024


class FeedError(NewsletterError):
    """A feed or a page could not be fetched or read; the message names the URL."""


@dataclass(frozen=True)
class Fetched:
    """What a GET gave: ``body`` is None when the server answered 304 Not Modified."""

    url: str  # after redirects
    body: bytes | None
    etag: str | None = None
    last_modified: str | None = None
    content_type: str = ""

    @property
    def not_modified(self) -> bool:
        return self.body is None


class RetryLater(FeedError):
    """The server asked us to come back later (429 or 503 with Retry-After)."""

    def __init__(self, message: str, after: timedelta) -> None:
        super().__init__(message)
        self.after = after


def fetch(
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    limit: int = MAX_FEED_BYTES,
    allow_private: bool = False,
    deadline: float | None = None,
) -> Fetched:
    """GET ``url``; with ``etag``/``last_modified`` an unchanged resource costs no body."""
    if not http.is_http_url(url):
        raise FeedError(f"{url}: expected an absolute http(s) URL")
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        got = http.get(
            url,
            allow_private=allow_private,
            deadline=deadline or DEADLINE,
            limit=limit,
            headers=headers,
        )
    except http.FetchError as exc:
        raise FeedError(exc.message) from None
    if got.status == 304:
        return Fetched(got.url, None, got.headers.get("ETag") or etag, last_modified)
    if got.status in (429, 503):
        after = http.retry_after(got.headers.get("Retry-After"))
        if after is not None:
            raise RetryLater(
                f"{url}: HTTP {got.status}, the server asks to wait {int(after)}s",
                timedelta(seconds=after),
            )
    if got.status >= 300:
        raise FeedError(f"{url}: HTTP {got.status} {got.reason}".rstrip())
    return Fetched(
        got.url,
        got.body,
        got.headers.get("ETag"),
        got.headers.get("Last-Modified"),
        got.content_type,
    )
