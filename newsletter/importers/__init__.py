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
    name = str(path)
    if not path.exists():
        raise InputError(name, "no such file")
    if path.is_dir():
        raise InputError(name, "is a folder, expected a file")
    size = path.stat().st_size
    if size > limit:
        raise InputError(
            name,
            f"is {size / 1_048_576:.1f} MB; the most one issue can take is "
            f"{limit / 1_048_576:.0f} MB",
            hint="split it into several articles",
        )
    data = path.read_bytes()
    if b"\x00" in data[:8192]:
        raise InputError(name, "is a binary file, expected Markdown, HTML or text")
    if not data.strip():
        raise InputError(name, "is empty, expected an article")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            name,
            f"is not UTF-8 text (byte 0x{data[exc.start]:02x})",
            line=line,
            hint="save it as UTF-8 and try again",
        ) from None


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
