"""A file or a web page to an :class:`~newsletter.blocks.Article`: the importer for its
format, the span the editor chose, links resolved, what the title and byline say."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from ..blocks import Article
from ..errors import InputError
from ..fetch import is_http_url
from ..i18n import strip_invisible
from . import _EXTENSIONS, MAX_HTML_BYTES, MAX_TEXT_BYTES, detect_format, read_source
from .clutter import byline_name, repeats_opening
from .fetch import fetch_page
from .html import import_html
from .links import resolve_links
from .markdown import import_markdown
from .outline import Row, bounds, cut, outline_rows
from .text import import_text

FORMATS: dict[str, Callable[[str, str], Article]] = {
    "markdown": import_markdown,
    "html": import_html,
    "text": import_text,
}


def _read(text: str, source: str, fmt: str, start: str, end: str) -> Article:
    """The article of ``text`` in ``fmt``; ``start``/``end`` (a line number or a line's
    words) say where it runs, whatever the importer would have found; with its outline."""
    span = bounds(text, start, end)
    if fmt == "text":
        article = import_text(text, source, span)
    else:
        article = FORMATS[fmt](text, source)
        if span:
            cut(article, text, *span)
    article.outline = list(outline_rows(article, text))
    return article


def import_file(path: Path, fmt: str | None = None, *, start: str = "", end: str = "") -> Article:
    fmt = fmt or _EXTENSIONS.get(path.suffix.lower())
    text = read_source(path, limit=MAX_HTML_BYTES if fmt in (None, "html") else MAX_TEXT_BYTES)
    fmt = fmt or detect_format(path, text)
    if fmt != "html" and len(text.encode()) > MAX_TEXT_BYTES:
        read_source(path, limit=MAX_TEXT_BYTES)  # raises with the size message
    article = _read(text, str(path), fmt, start, end)
    if not article.blocks:
        raise InputError(
            str(path),
            f"no article text found (read as {fmt})",
            hint="check the file, or pass --format",
        )
    return article


def import_url(
    url: str,
    fmt: str | None = None,
    *,
    start: str = "",
    end: str = "",
    allow_private: bool = False,
    timeout: float | None = None,
) -> Article:
    """The article of a web page, fetched (an InputError names the URL when it cannot be);
    its relative links are resolved against the address it came from. ``allow_private``
    and ``timeout``: ``[fetch]`` in newsletter.toml."""
    page = fetch_page(url, allow_private=allow_private, timeout=timeout)
    fmt = fmt or "html"
    article = _read(page.text, url, fmt, start, end)
    if not article.url:
        article.url = page.url
    resolve_links(article, page.url)
    if not article.blocks:
        raise InputError(url, f"no article text found (read as {fmt})")
    return article


def import_source(
    source: str | Path,
    fmt: str | None = None,
    *,
    url: str = "",
    title: str = "",
    allow_private: bool = False,
    timeout: float | None = None,
    start: str = "",
    end: str = "",
) -> Article:
    """A file or a web address to an Article: ``url`` (the article's address) and
    ``title`` win over what the source says; relative links are resolved against the
    article's address."""
    if isinstance(source, str) and is_http_url(source):
        article = import_url(
            source, fmt, start=start, end=end, allow_private=allow_private, timeout=timeout
        )
    else:
        path = Path(source)
        if not path.exists() and re.match(r"^(?:www\.)?[\w-]+(?:\.[\w-]+)+/", str(source)):
            raise InputError(
                str(source), "no such file", hint=f"for a web page, write https://{source}"
            )
        article = import_file(path, fmt, start=start, end=end)
    if url:
        article.url = url
    if article.url and not is_http_url(article.url):
        article.notes.append(f"ignored the article's url {article.url!r}: not an http(s) address")
        article.url = ""
    resolve_links(article, article.url)
    if article.subtitle and repeats_opening(article.subtitle, article.blocks):
        article.notes.append(
            f"left out the subtitle {article.subtitle[:60]!r}: it repeats the first paragraph"
        )
        article.subtitle = ""
    if title.strip():
        article.title = title.strip()
        article.outline = [
            Row(0, "title", f"{article.title} (--title)")
            if getattr(r, "status", "") == "title"
            else r
            for r in article.outline
        ]
    # (the body's text is cleaned in its spans; these become subjects and the sign-off)
    article.title, article.subtitle, article.author = (
        strip_invisible(article.title),
        strip_invisible(article.subtitle),
        # a byline in any language the frame speaks ("par Claire Moreau") is its name
        byline_name(strip_invisible(article.author)) or strip_invisible(article.author),
    )
    return article
