"""Importers: what editors really have (Markdown, a blog page's HTML, copied text) to an
:class:`~newsletter.blocks.Article`.

Each importer is one function ``import_x(text, source) -> Article``; :func:`read_source`
does the checks they share (size, encoding, binary files) and :func:`detect_format`
picks one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from ..blocks import Article
from ..errors import InputError
from ..textfile import read_text
from .html import import_html
from .markdown import import_markdown
from .text import import_text

FORMATS: dict[str, Callable[[str, str], Article]] = {
    "markdown": import_markdown,
    "html": import_html,
    "text": import_text,
}
_EXTENSIONS = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".mdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".txt": "text",
    ".text": "text",
}
MAX_TEXT_BYTES = 2 * 1024 * 1024
MAX_HTML_BYTES = 20 * 1024 * 1024


def read_source(path: Path, *, limit: int = MAX_HTML_BYTES) -> str:
    """The text of a file, or an InputError that says what is wrong with it."""
    return read_text(path, expected="Markdown, HTML or text", limit=limit)


def detect_format(path: Path, text: str) -> str:
    by_ext = _EXTENSIONS.get(path.suffix.lower())
    if by_ext:
        return by_ext
    head = text.lstrip()[:2000].lower()
    if head.startswith(("<!doctype html", "<html")) or re.search(r"<(body|article|p)[\s>]", head):
        return "html"
    if text.startswith(("---\n", "+++\n")) or re.search(r"^#{1,6} \S", text, re.M):
        return "markdown"
    return "text"


def import_file(path: Path, fmt: str | None = None) -> Article:
    fmt = fmt or _EXTENSIONS.get(path.suffix.lower())
    text = read_source(path, limit=MAX_HTML_BYTES if fmt in (None, "html") else MAX_TEXT_BYTES)
    fmt = fmt or detect_format(path, text)
    if fmt != "html" and len(text.encode()) > MAX_TEXT_BYTES:
        read_source(path, limit=MAX_TEXT_BYTES)  # raises with the size message
    article = FORMATS[fmt](text, str(path))
    if not article.blocks:
        raise InputError(
            str(path),
            f"no article text found (read as {fmt})",
            hint="check the file, or pass --format",
        )
    return article


__all__ = ["FORMATS", "detect_format", "import_file", "read_source"]
