"""Fetching a web page for an import (or a feed): one function, one clear error per failure.

:func:`fetch_page` gets a URL with a timeout and a size cap, follows redirects, and
answers the page's text and the URL it finally came from, or raises an InputError that
names the URL and what went wrong (no answer, an HTTP error, not a web page, too large).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import requests

from .. import __version__
from ..errors import InputError

DEFAULT_TIMEOUT = 15.0
MAX_PAGE_BYTES = 20 * 1024 * 1024
HTML_TYPES = ("text/html", "application/xhtml+xml")
_CHARSET = re.compile(rb"""<meta[^>]+charset=["']?([\w-]+)""", re.I)


@dataclass(frozen=True)
class FetchedPage:
    url: str  # after redirects
    text: str
    content_type: str


def is_web_address(value: str) -> bool:
    return bool(re.match(r"^https?://\S+$", value, re.I))


def fetch_page(
    url: str,
    *,
    timeout: float | None = None,
    limit: int = MAX_PAGE_BYTES,
    accept: tuple[str, ...] = HTML_TYPES,
    session: requests.Session | None = None,
) -> FetchedPage:
    """The text at ``url`` if it answers 2xx with one of the ``accept`` content types."""
    timeout = timeout or DEFAULT_TIMEOUT
    getter = session or requests
    headers = {
        "User-Agent": f"newsletter-import/{__version__}",
        "Accept": ", ".join(accept) + ", */*;q=0.5",
    }
    try:
        with getter.get(url, timeout=timeout, headers=headers, stream=True) as response:
            if response.status_code >= 400:
                reason = f" {response.reason}" if response.reason else ""
                raise InputError(
                    url,
                    f"the server answered {response.status_code}{reason}",
                    hint="check the address in a browser",
                )
            content_type = response.headers.get("Content-Type", "")
            mime = content_type.split(";")[0].strip().lower()
            if mime and mime not in accept:
                raise InputError(
                    url,
                    f"is not a web page (Content-Type: {mime})",
                    hint="download it and import the file instead",
                )
            data = bytearray()
            for chunk in response.iter_content(65536):
                data.extend(chunk)
                if len(data) > limit:
                    raise InputError(
                        url,
                        f"is larger than {limit // 1_048_576} MB, the most a page can be",
                        hint="save the article's part of the page and import that file",
                    )
            final_url = response.url or url
            encoding = _encoding(content_type, bytes(data[:4096]))
    except requests.Timeout:
        raise InputError(
            url, f"no answer within {timeout:g} seconds", hint="try again later"
        ) from None
    except requests.TooManyRedirects:
        raise InputError(url, "redirects too many times") from None
    except requests.RequestException as exc:
        raise InputError(url, f"could not be fetched ({_reason(exc)})") from None
    text = bytes(data).decode(encoding, errors="replace")
    if not text.strip():
        raise InputError(url, "answered an empty page")
    return FetchedPage(url=final_url, text=text, content_type=content_type)


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


def _reason(exc: requests.RequestException) -> str:
    text = str(exc.__cause__ or exc) or type(exc).__name__
    if isinstance(exc, requests.ConnectionError):
        if "Name or service not known" in text or "getaddrinfo" in text:
            return "no such host"
        if "Connection refused" in text:
            return "connection refused"
        return "could not connect"
    return type(exc).__name__


__all__ = ["FetchedPage", "fetch_page", "is_web_address"]
