"""Fetching a web page for an import (or a feed): one function, one clear error per failure.

:func:`fetch_page` gets a URL through :func:`newsletter.fetch.get` (one deadline, a size
cap, redirects checked hop by hop, no internal addresses unless allowed), and answers the
page's text and the URL it finally came from, or raises an InputError that names the URL
and what went wrong (no answer, an HTTP error, not a web page, too large, refused).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .. import __version__, fetch
from ..errors import InputError

if TYPE_CHECKING:
    import requests

DEFAULT_TIMEOUT = fetch.DEFAULT_DEADLINE  # [fetch] timeout
MAX_PAGE_BYTES = 20 * 1024 * 1024
HTML_TYPES = ("text/html", "application/xhtml+xml")
_CHARSET = re.compile(rb"""<meta[^>]+charset=["']?([\w-]+)""", re.I)


class UnsafeAddress(InputError):
    """The page (or a redirect) is on this machine or a private network: never fetched
    unless ``[fetch] allow_private = true``."""


@dataclass(frozen=True)
class FetchedPage:
    url: str  # after redirects
    text: str
    content_type: str


def fetch_page(
    url: str,
    *,
    timeout: float | None = None,
    limit: int = MAX_PAGE_BYTES,
    accept: tuple[str, ...] = HTML_TYPES,
    allow_private: bool = False,
) -> FetchedPage:
    """The text at ``url`` if it answers 2xx with one of the ``accept`` content types,
    within ``timeout`` seconds in all (connect, redirects and every read)."""
    timeout = timeout or DEFAULT_TIMEOUT
    headers = {
        "User-Agent": f"newsletter-import/{__version__}",
        "Accept": ", ".join(accept) + ", */*;q=0.5",
    }

    def check(response: requests.Response) -> None:
        mime = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if mime and mime not in accept:
            raise InputError(
                url,
                f"is not a web page (Content-Type: {mime})",
                hint="download it and import the file instead",
            )

    try:
        got = fetch.get(
            url,
            allow_private=allow_private,
            deadline=timeout,
            limit=limit,
            headers=headers,
            check=check,
        )
    except fetch.FetchError as exc:
        kind = UnsafeAddress if exc.kind == "refused" else InputError
        raise kind(url, exc.reason, hint=_HINTS.get(exc.kind)) from None
    if got.status >= 400:
        reason = f" {got.reason}" if got.reason else ""
        raise InputError(
            url, f"the server answered {got.status}{reason}", hint="check the address in a browser"
        )
    if got.status >= 300:
        raise InputError(url, f"the server answered {got.status} without a Location to follow")
    encoding = _encoding(got.content_type, got.body[:4096])
    text = got.body.decode(encoding, errors="replace")
    if not text.strip():
        raise InputError(url, "answered an empty page")
    return FetchedPage(url=got.url, text=text, content_type=got.content_type)


_HINTS = {
    "timeout": "try again later",
    "too-large": "save the article's part of the page and import that file",
}


def _encoding(content_type: str, head: bytes) -> str:
    m = re.search(r"charset=([\w-]+)", content_type, re.I)
    found = m.group(1) if m else None
    if not found:
        meta = _CHARSET.search(head)
        found = meta.group(1).decode("ascii") if meta else None
    if not found:
        return "utf-8"  # the default of HTML5
    try:
        return codecs.lookup(found).name
    except LookupError:
        return "utf-8"


__all__ = ["FetchedPage", "UnsafeAddress", "fetch_page"]
