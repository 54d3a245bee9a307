"""The article in a page, found by trafilatura and mapped to blocks.

trafilatura decides what is article best when it reads text alone: asked to keep links and
images too, its link-density and image rules change what it keeps (on the public benchmark
in ``bench/extraction.py``: F1 0.963 on text alone, 0.951 with links and images). So it
reads the page twice: once for the text (what is article), once for the markup (links,
images); the article is the first reading's blocks, each taken from the second reading
where it has the same words (with its links), with the second reading's images that stand
inside the article.
"""

from __future__ import annotations

import logging
from difflib import SequenceMatcher
from typing import Any

from lxml import etree
from lxml import html as lxml_html

from ..blocks import Block, CallToAction, Image, words
from .htmlmap import ImageInfo, html_to_blocks, xml_to_html

for _name in ("trafilatura", "htmldate", "courlan", "justext", "readability"):
    # the extractor's own log lines ("discarding data: None") are not for the editor
    logging.getLogger(_name).addHandler(logging.NullHandler())

#: trafilatura's settings: structure kept (formatting, tables), comments left out, and its
#: "fast" mode (no second opinion from readability and jusText: faster and, on the
#: benchmark, more precise)
EXTRACTOR: dict[str, Any] = {
    "fast": True,
    "include_comments": False,
    "include_formatting": True,
    "include_tables": True,
    "output_format": "xml",
}
#: the second reading keeps links and images
MARKUP = {"include_links": True, "include_images": True}
#: below this many characters trafilatura distrusts its reading and takes the whole page's
#: text instead, in one paragraph; a short post is read again without that rule
SHORT = 250
_CONFIGS: dict[int, Any] = {}


def _config(min_size: int) -> Any:
    from trafilatura.settings import use_config

    if min_size not in _CONFIGS:
        config = use_config()
        config.set("DEFAULT", "MIN_EXTRACTED_SIZE", str(min_size))
        _CONFIGS[min_size] = config
    return _CONFIGS[min_size]


def _read(
    tree: lxml_html.HtmlElement, images: dict[str, ImageInfo], min_size: int = SHORT, **extra: Any
) -> list[Block]:
    from trafilatura import bare_extraction

    try:
        doc = bare_extraction(tree, config=_config(min_size), **EXTRACTOR, **extra)
    except (ValueError, TypeError, etree.LxmlError):
        return []
    body = getattr(doc, "body", None)
    return html_to_blocks(xml_to_html(body), images) if body is not None else []


def _key(block: Block) -> str:
    return "" if isinstance(block, Image) else " ".join(words(block.text().lower()))


def merge(text: list[Block], markup: list[Block]) -> list[Block]:
    """The blocks of the text reading, each replaced by the markup reading's block with the
    same words (its links), plus the markup reading's images that stand between blocks of
    the article or just before its first."""
    a_keys, b_keys = [_key(b) for b in text], [_key(b) for b in markup]
    matcher = SequenceMatcher(None, a_keys, b_keys, autojunk=False)
    codes = matcher.get_opcodes()
    inside = [k for k, c in enumerate(codes) if c[0] == "equal"]
    out: list[Block] = []
    for n, (op, i1, i2, j1, j2) in enumerate(codes):
        # inside the article, or just before it (a post's opening photo)
        between = bool(inside) and inside[0] - 1 <= n < inside[-1]
        b_images = [b for b in markup[j1:j2] if isinstance(b, Image)]
        if op == "equal" or (
            op == "replace" and " ".join(a_keys[i1:i2]) == " ".join(k for k in b_keys[j1:j2] if k)
        ):
            out.extend(markup[j1:j2])
        else:
            out.extend(text[i1:i2])
            if between or (op == "replace" and i2 > i1):
                out.extend(b_images)
    return _no_repeated_ctas(out)


def _no_repeated_ctas(blocks: list[Block]) -> list[Block]:
    out: list[Block] = []
    for b in blocks:
        if isinstance(b, CallToAction) and out and out[-1] == b:
            continue
        out.append(b)
    return out


def article_blocks(tree: lxml_html.HtmlElement, images: dict[str, ImageInfo]) -> list[Block]:
    """The article's blocks (``tree`` is left as it was)."""
    text = _read(tree, images)
    min_size = SHORT
    if len(text) <= 2 and sum(b.word_count() for b in text) < 2 * SHORT // 5:
        # a short page: trafilatura's own reading, when it keeps most of the words
        own = _read(tree, images, min_size=0)
        if sum(b.word_count() for b in own) >= 0.6 * sum(b.word_count() for b in text):
            text, min_size = own, 0
    markup = _read(tree, images, min_size=min_size, **MARKUP)
    if not text:
        return markup
    return merge(text, markup)


def extractor_meta(tree: lxml_html.HtmlElement) -> Any:
    """trafilatura's reading of the page's metadata (meta tags, JSON-LD, title, author),
    without its date search (ours reads the page's own published date only)."""
    try:
        from trafilatura.metadata import (
            examine_meta,
            extract_author,
            extract_meta_json,
            extract_title,
        )

        found = extract_meta_json(tree, examine_meta(tree))
        found.title = found.title or extract_title(tree)
        found.author = found.author or extract_author(tree)
        return found
    except Exception:  # noqa: BLE001 - a fallback only: its bugs must not stop an import
        return None


__all__ = ["EXTRACTOR", "article_blocks", "extractor_meta", "merge"]
