"""The HTML of a blog post page to an article: the page's main content found by trafilatura
(the best Python extractor on the public article-extraction benchmark, see
``bench/extraction.py``), mapped to blocks; the page around it dropped, each piece named.

The pieces: :mod:`.prepare` readies the page (embeds as linked lines, the author's buttons,
image captions, share links and permalink marks out), trafilatura finds the article,
:mod:`.htmlmap` maps it to blocks, :mod:`.pagemeta` reads title, author, date, language and
description, and :mod:`.clutter` drops bylines and post navigation the extractor kept.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree
from lxml import html as lxml_html

from ..blocks import Article, Block, Heading, words
from .clutter import cut_at_title, drop_tail, sign_off
from .embeds import describe, localise
from .extract import article_blocks, extractor_meta
from .htmlmap import CTA_MARKERS, html_to_blocks
from .pagemeta import page_meta, title_text
from .prepare import prepare

_UNSEEN = ("script", "style", "noscript", "template", "head", "svg", "title")
_DROP_IN_FRAGMENTS = (
    "script",
    "style",
    "noscript",
    "template",
    "iframe",
    "svg",
    "canvas",
    "object",
    "embed",
    "form",
    "button",
    "input",
    "select",
    "textarea",
    "nav",
    "footer",
    "dialog",
    "link",
    "meta",
)
_NOTED_IN_FRAGMENTS = ("script", "style", "form", "nav", "footer")
MAX_DROPPED_NOTES = 40


def _load(text: str) -> lxml_html.HtmlElement | None:
    from trafilatura.utils import load_html

    try:
        tree = load_html(text)
    except (ValueError, etree.LxmlError):
        return None
    return tree if isinstance(tree, lxml_html.HtmlElement) else None


def _words_of(text: str) -> str:
    return " ".join(words(text.lower())) if not text.isspace() else ""


def _kept_lines(title: str, blocks: list[Block]) -> set[str]:
    lines = {_words_of(title)}
    for b in blocks:
        lines.add(_words_of(b.text()))
        lines.update(_words_of(line) for line in b.text().split("\n"))
    return lines


def dropped_notes(root: lxml_html.HtmlElement, kept: str, lines: set[str]) -> list[str]:
    """One note for each piece of the page none of whose words reached the article (its
    largest such element: the navigation, a cookie banner, a sidebar, the footer). A piece
    of one or two words ("About") counts as kept only when it is a whole line of the
    article, not a word found in some sentence."""
    etree.strip_elements(root, *_UNSEEN, with_tail=False)
    etree.strip_elements(root, etree.Comment, etree.ProcessingInstruction, with_tail=False)
    kept = f" {kept} "
    #: element -> (has words, has kept words, its own text was kept)
    seen: dict[Any, tuple[bool, bool, bool]] = {}

    def is_kept(w: str) -> bool:
        return w in lines or (w.count(" ") >= 2 and f" {w} " in kept)

    def weigh(el: lxml_html.HtmlElement) -> tuple[bool, bool]:
        own = [w for t in (el.text, *(c.tail for c in el)) if t and (w := _words_of(t))]
        own_kept = any(is_kept(w) for w in own) or (
            bool(own) and is_kept(_words_of(el.text_content()))
        )
        has, has_kept = bool(own), own_kept
        for child in el:
            if isinstance(child.tag, str):
                c_has, c_kept = weigh(child)
                has, has_kept = has or c_has, has_kept or c_kept
        seen[el] = (has, has_kept, own_kept)
        return has, has_kept

    notes: list[str] = []

    def name(el: lxml_html.HtmlElement) -> None:
        has, has_kept, own_kept = seen.get(el, (False, False, False))
        if has and not has_kept:
            notes.append(f"dropped {describe(el)}")
        elif has_kept and not own_kept:  # a container: what in it was dropped
            for child in el:
                if isinstance(child.tag, str):
                    name(child)

    body = root.find("body")
    start = body if body is not None else root
    weigh(start)
    name(start)
    if len(notes) > MAX_DROPPED_NOTES:
        more = len(notes) - MAX_DROPPED_NOTES
        notes = notes[:MAX_DROPPED_NOTES] + [f"dropped {more} more pieces of the page"]
    return notes


def _title(meta_title: str, blocks: list[Block], tree: lxml_html.HtmlElement) -> str:
    """The page's og:title, else the article's H1 (in what was kept, then in the page),
    else the extractor's title, else the first part of ``<title>``."""
    if meta_title:
        return meta_title
    h1 = next((b.text() for b in blocks if isinstance(b, Heading) and b.level == 1), "")
    if not h1:
        found = tree.find(".//h1")
        h1 = found.text_content() if found is not None else ""
    page_title = tree.findtext(".//title") or ""
    return (
        title_text(h1)
        or title_text(str(getattr(extractor_meta(tree), "title", "") or ""))
        or re.split(r"\s+[|–—-]\s+", page_title.strip())[0]
    )


def import_html(text: str, source: str) -> Article:
    notes: list[str] = []
    tree = _load(text)
    if tree is None:
        return Article(title="", blocks=[], notes=["the page has no HTML to read"])
    images = prepare(tree, notes)
    blocks = article_blocks(tree, images)
    meta = page_meta(tree, lambda: extractor_meta(tree))
    title = _title(meta.title, blocks, tree)
    kept = _words_of(" ".join([title, *(b.text() for b in blocks)]))
    try:
        notes.extend(dropped_notes(tree, kept, _kept_lines(title, blocks)))
    except RecursionError:  # a page nested deeper than Python recurses: no notes, same article
        notes.append("the page is nested too deeply to name what was dropped")
    if blocks and isinstance(blocks[0], Heading) and blocks[0].text() == title:
        blocks.pop(0)
    title, blocks = cut_at_title(blocks, title, lambda b: "", notes)
    blocks = localise(sign_off(drop_tail(blocks, lambda b: "", notes)), meta.language)
    return Article(
        title=title,
        subtitle=meta.description,
        author=meta.author,
        url=meta.url,
        date=meta.date,
        tags=meta.tags,
        language=meta.language,
        blocks=blocks,
        notes=notes,
    )


def html_blocks(fragment: str, notes: list[str]) -> list[Block]:
    """Blocks of a piece of HTML (raw HTML inside Markdown): paragraphs, quotes, images and
    links are kept; embeds become linked lines; scripts and styles are dropped, each noted."""
    try:
        root = lxml_html.fragment_fromstring(fragment, create_parent="div")
    except (ValueError, etree.LxmlError):
        return []
    images = prepare(root, notes)
    for el in list(root.iter(*_DROP_IN_FRAGMENTS)):
        if el.getparent() is None:
            continue
        if el.tag in _NOTED_IN_FRAGMENTS:
            notes.append(f"dropped {describe(el)[:80]}")
        el.drop_tree()
    return html_to_blocks(lxml_html.tostring(root, encoding="unicode"), images)


__all__ = ["CTA_MARKERS", "dropped_notes", "html_blocks", "import_html"]
