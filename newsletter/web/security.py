"""Security headers on every answer of the reader pages and of the preview, and the
checks that keep anonymous input from ever causing a 500.

Every HTML page gets a strict Content-Security-Policy built from the page itself: its
inline ``<script>`` and ``<style>`` elements are allowed by their SHA-256 hash, nothing else
runs (no inline event handler, no script from elsewhere). Pages cannot be framed
(``frame-ancestors 'none'``) except the subscribe form and its answer, which a blog may
embed. No page sends a Referer (the token pages' addresses hold a reader's token), every
answer is ``nosniff``, and anything personal (token pages, the data download, the form's
answers) is ``Cache-Control: no-store``.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

from flask import Flask, Response, g, request

from ..headers import unstorable

#: an inline element's content (not one with a src): what a hash in the policy allows
_INLINE = {
    "script": re.compile(r"<script(?![^>]*\ssrc\s*=)[^>]*>(.*?)</script\s*>", re.I | re.S),
    "style": re.compile(r"<style[^>]*>(.*?)</style\s*>", re.I | re.S),
}
#: the deepest JSON a form or a webhook may send (a subscribe form is flat)
MAX_JSON_DEPTH = 32


def hashes(html: str, tag: str) -> list[str]:
    """``'sha256-…'`` sources for every inline ``tag`` element of ``html``."""
    found = dict.fromkeys(
        "'sha256-" + base64.b64encode(hashlib.sha256(m.encode()).digest()).decode() + "'"
        for m in _INLINE[tag].findall(html)
    )
    return list(found)


def policy(html: str, *, framing: str = "'none'", origin: str = "") -> str:
    """The Content-Security-Policy of one HTML page; ``origin`` is ``[web] base_url``'s (the
    forms post there, which may not be the address the page was opened at)."""
    own = f"'self' {origin}".strip()
    scripts = " ".join(hashes(html, "script")) or "'none'"
    styles = " ".join(hashes(html, "style")) or "'none'"
    return "; ".join(
        (
            "default-src 'none'",
            f"script-src {scripts}",
            f"style-src {styles}",
            # style="" attributes (the e-mails' own markup) cannot run anything
            "style-src-attr 'unsafe-inline'",
            "img-src * data:",
            "font-src * data:",
            f"connect-src {own}",
            "frame-src 'self'",
            f"form-action {own}",
            "base-uri 'none'",
            f"frame-ancestors {framing}",
        )
    )


def allow_framing(framing: str = "*") -> None:
    """This answer may be shown in a frame (the subscribe form and its answer)."""
    g.newsletter_framing = framing


def secure(response: Response, *, personal: bool, origin: str = "") -> Response:
    """The headers every answer gets (see the module's docstring)."""
    h = response.headers
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("Referrer-Policy", "no-referrer")
    framing = g.get("newsletter_framing", "'none'")
    if framing == "'none'":
        h.setdefault("X-Frame-Options", "DENY")
    # (a 304 has no body: the policy of the page the client holds stays as it was sent)
    if (
        response.mimetype == "text/html"
        and not response.is_streamed
        and response.status_code != 304
    ):
        page = response.get_data(as_text=True)
        h.setdefault("Content-Security-Policy", policy(page, framing=framing, origin=origin))
    if personal and "Cache-Control" not in h:
        h["Cache-Control"] = "no-store"
    return response


def install(
    app: Flask, *, public: Iterable[str] = ("/archive", "/healthz"), base_url: str = ""
) -> None:
    """Every answer of ``app`` gets the headers; those under ``public`` may be cached."""
    prefixes = tuple(public)
    parts = urlsplit(base_url)
    origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""

    @app.after_request
    def _headers(response: Response) -> Response:
        personal = not request.path.startswith(prefixes)
        return secure(response, personal=personal, origin=origin)


# --- anonymous input -----------------------------------------------------------------------


def bad_field(fields: Mapping[str, str] | Iterable[tuple[str, str]]) -> str | None:
    """A one-line message naming the first field that cannot be stored, or None."""
    items = fields.items() if isinstance(fields, Mapping) else fields
    for key, value in items:
        for text in (key, value):
            why = unstorable(str(text))
            if why:
                shown = key if unstorable(key) is None else "a field name"
                return f"The field “{shown}” {why}."
    return None


def json_depth(raw: bytes) -> int:
    """How deeply a JSON text nests its arrays and objects (strings are skipped)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


__all__ = [
    "MAX_JSON_DEPTH",
    "allow_framing",
    "bad_field",
    "hashes",
    "install",
    "json_depth",
    "policy",
    "secure",
]
