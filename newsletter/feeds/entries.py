"""A feed's bytes to entries, and an entry to an :class:`~newsletter.blocks.Article`.

feedparser reads the feed (RSS 0.9x to 2.0, RSS 1.0, Atom) and cleans each entry's HTML of
scripts and embeds. An entry that carries its full text (``content:encoded``, Atom
``content``) is imported from it; one with a summary only is imported from its page,
fetched and imported like ``newsletter import URL``. Relative links and images are made
absolute against the post's URL.
"""

from __future__ import annotations

import calendar
import html
import io
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser
from bs4 import BeautifulSoup

from ..blocks import Article
from ..errors import InputError
from ..fetch import is_http_url
from ..importers import import_url
from ..importers.fetch import UnsafeAddress
from ..importers.html import import_html
from ..importers.links import resolve_links
from .fetch import FeedError


class EntryUnusable(FeedError):
    """An entry that can never become an issue (no link and no content ...)."""


#: the line WordPress SEO plugins (Yoast, Rank Math) append to every post in the feed
_APPEARED_FIRST = re.compile(r"^\s*The post .+ appeared first on .+$", re.S)


@dataclass(frozen=True)
class Entry:
    """One entry of a feed, as this tool needs it."""

    key: str  # the id/guid, else the link
    title: str
    link: str
    published: datetime | None  # naive UTC
    author: str
    tags: tuple[str, ...]
    content: str  # the full text's HTML, "" when the feed gives a summary only
    summary: str


@dataclass
class ParsedFeed:
    title: str
    entries: list[Entry] = field(default_factory=list)
    #: entries that cannot become an issue (no id and no link), one line each
    problems: list[str] = field(default_factory=list)


def _text(value: str) -> str:
    """A title as plain text: feedparser may leave markup and entities in it."""
    return " ".join(BeautifulSoup(html.unescape(value or ""), "lxml").get_text(" ").split())


def _when(parsed: Any) -> datetime | None:
    if not parsed:
        return None
    return datetime.fromtimestamp(calendar.timegm(parsed), UTC).replace(tzinfo=None)


def _terms(tags: list[Any]) -> tuple[str, ...]:
    """Category names (RSS ``category``, Atom ``term``/``label``), without duplicates."""
    names = (_text(t.get("term") or t.get("label") or "") for t in tags)
    return tuple(dict.fromkeys(n for n in names if n))


def parse_feed(url: str, body: bytes, content_type: str = "") -> ParsedFeed:
    """The entries of a feed, newest first as the feed lists them; FeedError if not a feed."""
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    d = feedparser.parse(io.BytesIO(body), response_headers=headers, resolve_relative_uris=False)
    if not d.get("version") and not d.entries:
        raise _not_a_feed(url, body, d.get("bozo_exception"))
    out = ParsedFeed(title=_text(d.feed.get("title", "")))
    for n, e in enumerate(d.entries, start=1):
        link = str(e.get("link") or "")
        link = urljoin(url, link) if link else ""
        key = str(e.get("id") or "") or link
        title = _text(e.get("title", ""))
        if key:
            out.entries.append(_entry(e, key, title, link))
        else:
            out.problems.append(
                f"{url}: entry {n} ({title[:60] or 'no title'!r}) has no id and no link"
            )
    return out


def _not_a_feed(url: str, body: bytes, exc: Any) -> FeedError:
    """What the body is instead of a feed (an HTML page, or not XML; feedparser's reason)."""
    why = f" ({' '.join(str(exc).split())[:120]})" if exc else ""
    start = body[:200].decode("utf-8", "replace").lstrip().lower()
    kind = "an HTML page" if start.startswith(("<!doctype html", "<html")) else "not XML"
    return FeedError(f"{url}: not an RSS or Atom feed: {kind}{why}")


def _entry(e: Any, key: str, title: str, link: str) -> Entry:
    """A feedparser entry as an :class:`Entry`: its longest HTML content is its full text."""
    contents = [c for c in e.get("content") or [] if "html" in c.get("type", "html")]
    content = max((str(c.get("value") or "") for c in contents), key=len, default="")
    return Entry(
        key=key,
        title=title,
        link=link,
        published=_when(e.get("published_parsed") or e.get("updated_parsed")),
        # author_detail's name: "author" may add an address ("Dana (noreply@...)")
        author=_text((e.get("author_detail") or {}).get("name") or e.get("author", "")),
        tags=_terms(e.get("tags") or []),
        content=content,
        summary=str(e.get("summary") or ""),
    )


def _page(entry: Entry, body_html: str) -> str:
    """A feed entry's content as a page the HTML importer reads like a blog post."""
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>"
        f"{html.escape(entry.title)}</title></head><body><article>"
        f"<h1>{html.escape(entry.title)}</h1>{body_html}</article></body></html>"
    )


def entry_article(
    entry: Entry, feed_url: str, *, allow_private: bool = False, timeout: float | None = None
) -> tuple[Article, str]:
    """The article of an entry and where its text came from ("feed" or the page's URL).

    EntryUnusable when the entry can never become an issue; FeedError when its page could
    not be fetched (it may answer next time)."""
    if entry.content or (entry.summary.strip() and not entry.link):
        source = "feed" if entry.content else "feed (summary only: the entry has no link)"
        article = _from_feed(entry, feed_url, source)
    elif entry.link:
        article = _from_page(entry, feed_url, allow_private=allow_private, timeout=timeout)
        source = entry.link
    else:
        raise EntryUnusable(
            f"{feed_url}: entry {entry.title or entry.key!r} has no link and no content"
        )
    if not article.blocks:
        raise EntryUnusable(f"{source}: no article text found in entry {entry.title!r}")
    _complete(article, entry)
    return article, source


def _from_feed(entry: Entry, feed_url: str, source: str) -> Article:
    """The entry's text in the feed (its content, else its summary), without the line SEO
    plugins append; links resolved against the post (else the feed)."""
    soup = BeautifulSoup(_page(entry, entry.content or entry.summary), "lxml")
    for p in soup.find_all("p"):
        if _APPEARED_FIRST.match(p.get_text(" ")):
            p.decompose()
    article = import_html(str(soup), source)
    resolve_links(article, entry.link or feed_url)
    return article


def _from_page(
    entry: Entry, feed_url: str, *, allow_private: bool, timeout: float | None
) -> Article:
    """The entry's page, fetched and imported; links resolved against the page."""
    if not is_http_url(entry.link):
        raise EntryUnusable(
            f"{feed_url}: entry {entry.title!r}: link {entry.link!r} is not http(s)"
        )
    try:
        return import_url(entry.link, allow_private=allow_private, timeout=timeout)
    except UnsafeAddress as exc:  # an address inside: never imported
        raise EntryUnusable(exc.message) from None
    except InputError as exc:
        raise FeedError(exc.message) from None


def _complete(article: Article, entry: Entry) -> None:
    """What the feed says of the post, where the article's text does not say it."""
    # the feed's title is the post's own, without the site's name a page title carries
    article.title = entry.title or article.title
    if not is_http_url(article.url):
        article.url = entry.link if is_http_url(entry.link) else ""
    article.author = entry.author or article.author
    article.tags = list(dict.fromkeys([*entry.tags, *article.tags]))
    if entry.published and not article.date:
        article.date = entry.published.strftime("%Y-%m-%d")
