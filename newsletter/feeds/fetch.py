"""Fetching a feed politely: conditional GET (ETag, Last-Modified), a
timeout, a size cap and a redirect limit. Every failure is a one-line FeedError."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import requests

from ..errors import NewsletterError
from ..issuefile import is_http_url

USER_AGENT = "newsletter-feeds/0.1 (+https://pypi.org/project/feedparser/)"
TIMEOUT = (10.0, 30.0)  # connect, read (seconds)
MAX_REDIRECTS = 5
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


def _retry_after(value: str | None) -> timedelta | None:
    if not value:
        return None
    if value.strip().isdigit():
        return timedelta(seconds=int(value.strip()))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(when - datetime.now(UTC), timedelta(0))


def fetch(
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    limit: int = MAX_FEED_BYTES,
    session: requests.Session | None = None,
) -> Fetched:
    """GET ``url``; with ``etag``/``last_modified`` an unchanged resource costs no body."""
    if not is_http_url(url):
        raise FeedError(f"{url}: expected an absolute http(s) URL")
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    own = session is None
    s = session or requests.Session()
    s.max_redirects = MAX_REDIRECTS
    try:
        try:
            with s.get(url, headers=headers, timeout=TIMEOUT, stream=True) as resp:
                if resp.status_code == 304:
                    return Fetched(resp.url, None, resp.headers.get("ETag") or etag, last_modified)
                if resp.status_code in (429, 503):
                    after = _retry_after(resp.headers.get("Retry-After"))
                    if after is not None:
                        raise RetryLater(
                            f"{url}: HTTP {resp.status_code}, the server asks to wait "
                            f"{int(after.total_seconds())}s",
                            after,
                        )
                if resp.status_code >= 400:
                    raise FeedError(f"{url}: HTTP {resp.status_code} {resp.reason or ''}".rstrip())
                declared = resp.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > limit:
                    raise FeedError(f"{url}: {int(declared)} bytes, more than {limit} allowed")
                chunks: list[bytes] = []
                size = 0
                for chunk in resp.iter_content(64 * 1024):
                    size += len(chunk)
                    if size > limit:
                        raise FeedError(f"{url}: more than {limit} bytes, not read further")
                    chunks.append(chunk)
                return Fetched(
                    resp.url,
                    b"".join(chunks),
                    resp.headers.get("ETag"),
                    resp.headers.get("Last-Modified"),
                    resp.headers.get("Content-Type", ""),
                )
        except requests.TooManyRedirects:
            raise FeedError(
                f"{url}: more than {MAX_REDIRECTS} redirects (a redirect loop?)"
            ) from None
        except requests.Timeout:
            raise FeedError(f"{url}: no answer within {TIMEOUT[1]:g}s") from None
        except requests.ConnectionError as exc:
            raise FeedError(f"{url}: cannot connect ({_reason(exc)})") from None
        except requests.RequestException as exc:
            raise FeedError(f"{url}: {type(exc).__name__}: {_reason(exc)}") from None
    finally:
        if own:
            s.close()


def _reason(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text[:200] or type(exc).__name__
