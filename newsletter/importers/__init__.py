"""Importers: what editors really have (Markdown, a blog page's HTML, copied text) to an
:class:`~newsletter.blocks.Article`.

Each importer is one function ``import_x(text, source) -> Article``; :func:`read_source`
does the checks they share (size, encoding, binary files) and :func:`detect_format`
picks one. Reading a file or a web page to an article (:func:`import_source`) is in
:mod:`.source`, loaded when first asked for: the commands that only read issue files
(``send-due``, ``run``) never load the HTML extractor.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..textfile import read_text

if TYPE_CHECKING:
    from .source import FORMATS, import_file, import_source, import_url

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


_LAZY = ("FORMATS", "import_file", "import_source", "import_url")


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from . import source

        return getattr(source, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "FORMATS",
    "detect_format",
    "import_file",
    "import_source",
    "import_url",
    "read_source",
]
