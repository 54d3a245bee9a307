"""HTML to blocks: the thin mapping from an article's markup (trafilatura's extracted body,
or raw HTML inside Markdown) to :mod:`newsletter.blocks`.

Headings, paragraphs with emphasis, links and line breaks, lists, tables, images with their
alt text, caption and width, quotes, code, definition lists and field lists ("Author: …,
Release: …" as one line), a note's title before its paragraph, and the lines
:mod:`.prepare` wrote for embeds and the author's buttons.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from bs4 import BeautifulSoup, Comment, Tag
from bs4.element import NavigableString
from lxml import etree

from ..blocks import (
    CTA_MARKERS,
    Block,
    Code,
    Heading,
    Image,
    Inline,
    ListBlock,
    ListItem,
    Paragraph,
    Quote,
    Rule,
    Span,
    Table,
    append_span,
    marked_line,
    plain,
    trim_spans,
)
from .embeds import LINK_ATTR

#: a paragraph that was the author's button (a link styled as one) carries this attribute
BUTTON_ATTR = "data-newsletter-button"
#: an image's details the extractor does not keep (caption, width) are found by this title
IMAGE_TOKEN = "newsletter-image:"
_INLINE = {
    "a",
    "em",
    "i",
    "strong",
    "b",
    "span",
    "code",
    "br",
    "small",
    "sup",
    "sub",
    "mark",
    "u",
    "s",
    "abbr",
    "cite",
    "q",
    "time",
    "label",
    "font",
    "kbd",
    "var",
    "del",
    "ins",
}
_WS = re.compile(r"\s+")


@dataclass(frozen=True)
class ImageInfo:
    caption: str = ""
    width: int | None = None
    title: str = ""


def clean(tag: Tag) -> str:
    return _WS.sub(" ", tag.get_text(" ")).strip()


# --- trafilatura's XML to plain HTML ---------------------------------------------------------

_HI = {"#b": "strong", "#i": "em", "#u": "u", "#t": "code", "#sub": "sub", "#sup": "sup"}
_RENAME = {"lb": "br", "quote": "blockquote", "row": "tr", "graphic": "img", "del": "del"}
_INLINE_PARENTS = {"p", "item", "head", "hi", "ref", "cell", "li", "td", "th", "a", "strong", "em"}


def _html_tag(el: etree._Element) -> str:
    tag = str(el.tag)
    rend = el.get("rend") or ""
    if tag == "head":
        return rend if re.fullmatch(r"h[1-6]", rend) else "h3"
    if tag == "list":
        return rend if rend in ("ul", "ol", "dl") else "ul"
    if tag == "item":
        return rend[:2] if rend[:3] in ("dt-", "dd-") else "li"
    if tag == "hi":
        return _HI.get(rend, "span")
    if tag == "ref":
        return "a"
    if tag == "cell":
        return "th" if el.get("role") == "head" else "td"
    if tag == "code":
        parent = el.getparent()
        return "code" if parent is not None and parent.tag in _INLINE_PARENTS else "pre"
    return _RENAME.get(tag, tag)


def xml_to_html(body: etree._Element) -> str:
    """trafilatura's XML body (``head rend=h2``, ``hi rend=#b``, ``ref target``, ``list``,
    ``graphic``…) as the HTML it stands for."""
    for el in body.iter():
        if not isinstance(el.tag, str):
            continue
        new = _html_tag(el)
        if el.tag == "ref":
            target = el.attrib.pop("target", None)
            if target:
                el.set("href", target)
        if el.tag in ("head", "list", "item", "hi"):
            el.attrib.pop("rend", None)
        el.tag = new
    body.tag = "div"
    html: str = etree.tostring(body, encoding="unicode", method="html")
    return html


# --- inline content -------------------------------------------------------------------------


class _Inline:
    def __init__(self, images: dict[str, ImageInfo]) -> None:
        self.spans: list[Span] = []
        self.images: list[Image] = []
        self.info = images

    def feed(
        self,
        node: Tag | NavigableString,
        bold: bool = False,
        italic: bool = False,
        code: bool = False,
        href: str | None = None,
        strike: bool = False,
    ) -> None:
        if isinstance(node, Comment):
            return
        if isinstance(node, NavigableString):
            text = _WS.sub(" ", str(node))
            if text:
                append_span(self.spans, Span(text, bold, italic, code, href, strike=strike))
            return
        name = node.name
        if name == "br":
            self.spans.append(Span("\n"))
            return
        if name == "img":
            self.images.append(image(node, self.info))
            return
        if name in ("strong", "b"):
            bold = True
        elif name in ("em", "i", "cite"):
            italic = True
        elif name in ("code", "kbd"):
            code = True
        elif name in ("del", "s", "strike"):
            strike = True
        elif name == "a" and node.get("href"):
            href = str(node.get("href"))
        for child in node.children:
            self.feed(child, bold, italic, code, href, strike)  # type: ignore[arg-type]

    def result(self) -> Inline:
        # HTML white space: one space between words, none around line breaks.
        spans: list[Span] = []
        for s in self.spans:
            if spans and spans[-1].text.endswith(" ") and s.text.startswith(" "):
                s = replace(s, text=s.text.lstrip())
            if s.is_break and spans:
                spans[-1] = replace(spans[-1], text=spans[-1].text.rstrip())
            elif spans and spans[-1].is_break:
                s = replace(s, text=s.text.lstrip())
            if s.text:
                spans.append(s)
        return trim_spans(spans)


def image(tag: Tag, images: dict[str, ImageInfo]) -> Image:
    src = str(tag.get("src") or "")
    if not src or src.startswith("data:"):
        src = str(tag.get("data-src") or tag.get("data-lazy-src") or src)
    title = str(tag.get("title") or "")
    info = images.get(title) if title.startswith(IMAGE_TOKEN) else None
    info = info or ImageInfo()  # (prepare.py gives every image its token)
    alt = _WS.sub(" ", str(tag.get("alt") or "")).strip()
    return Image(alt=alt, src=src, caption=info.caption, width=info.width)


def inline(tag: Tag, images: dict[str, ImageInfo]) -> tuple[Inline, list[Image]]:
    conv = _Inline(images)
    for child in tag.children:
        conv.feed(child)  # type: ignore[arg-type]
    return conv.result(), conv.images


_SAFE = ("http://", "https://", "mailto:", "tel:")
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad"


def _paragraph_blocks(spans: Inline, images: list[Image]) -> list[Block]:
    out: list[Block] = []
    if plain(spans).strip().strip(_INVISIBLE).strip():  # not a spacer (a zero-width space)
        text = plain(spans).strip()
        marker = next((m for m in CTA_MARKERS if text.startswith(m)), None)
        if marker:
            href = next((s.href for s in spans if s.href), "") or ""
            out.append(marked_line(text[len(marker) :], href))
        else:
            out.append(Paragraph(spans))
    out.extend(images)
    return out


def _written_line(tag: Tag) -> Block:
    """A line :mod:`.prepare` wrote: an embed's "Watch the video: URL", or the author's
    button (a call to action when it asks the reader to act)."""
    url = str(tag.get(LINK_ATTR) or "").strip()
    if re.match(r"^[a-z][\w+.-]*:", url, re.I) and not url.lower().startswith(_SAFE):
        url = ""  # javascript:, data: ... never a link in an email
    text = clean(tag)
    if tag.get(BUTTON_ATTR):
        return marked_line(text, url)
    label, sep, rest = text.partition(": ")
    if sep and rest == url:
        return Paragraph((Span(f"{label}: "), Span(url, href=url)))
    return Paragraph((Span(text, href=url or None),))


def _is_label(tag: Tag) -> bool:
    """A note's or a topic's title line ("Note", "Abstract") in documentation pages."""
    classes = " ".join(tag.get("class") or [])
    return bool(re.search(r"\b(admonition-title|topic-title|sidebar-title)\b", classes))


def _labelled(label: str, blocks: list[Block]) -> list[Block]:
    if label and blocks and isinstance(blocks[0], Paragraph):
        spans = [Span(f"{label}:", bold=True)]
        for span in (Span(" "), *blocks[0].spans):
            append_span(spans, span)
        blocks[0] = Paragraph(tuple(spans))
    return blocks


# --- blocks ----------------------------------------------------------------------------------


class Walker:
    """Blocks of an HTML element's children."""

    def __init__(self, images: dict[str, ImageInfo] | None = None) -> None:
        self.images = images or {}

    def blocks(self, root: Tag) -> list[Block]:
        out: list[Block] = []
        pending = _Inline(self.images)
        self.label = ""  # a note's or an abstract's title, put before its paragraph
        for child in root.children:
            if isinstance(child, Comment):
                continue
            if isinstance(child, NavigableString) or (
                isinstance(child, Tag) and child.name in _INLINE
            ):
                pending.feed(child)
                continue
            if not isinstance(child, Tag):
                continue
            out.extend(_paragraph_blocks(pending.result(), pending.images))
            pending = _Inline(self.images)
            out.extend(self._block(child))
        out.extend(_paragraph_blocks(pending.result(), pending.images))
        return _captions_once(out)

    def _block(self, tag: Tag) -> list[Block]:
        name = tag.name
        if name in ("h1", "h2", "h3", "h4", "h5", "h6"):
            spans, images = inline(tag, self.images)
            heading: list[Block] = [Heading(level=int(name[1]), spans=spans)] if spans else []
            return heading + list(images)
        if name == "p":
            return self._paragraph(tag)
        if name == "a":
            label = clean(tag)
            return [marked_line(label, str(tag.get("href") or ""))] if label else []
        if name in ("ul", "ol"):
            return [self._list(tag)]
        if name == "img":
            return [image(tag, self.images)]
        if name == "figure":
            return self._figure(tag)
        if name == "blockquote":
            paras = tuple(
                b.spans if isinstance(b, Paragraph) else (Span(b.text()),)
                for b in self.blocks(tag)
                if b.text()
            )
            return [Quote(paragraphs=paras)] if paras else []
        if name == "dl":
            return self._definitions(tag)
        if name == "table":
            return self._table(tag)
        if name == "pre":
            return [Code(code=tag.get_text().rstrip("\n"))]
        if name == "hr":
            return [Rule()]
        return self.blocks(tag)

    def _paragraph(self, tag: Tag) -> list[Block]:
        if tag.get(LINK_ATTR) is not None:
            return [_written_line(tag)]
        text = clean(tag)
        if _is_label(tag) and text:
            self.label = text.rstrip(":")
            return []
        blocks = _labelled(self.label, _paragraph_blocks(*inline(tag, self.images)))
        if blocks:
            self.label = ""
        return blocks

    def _figure(self, tag: Tag) -> list[Block]:
        img = tag.find("img")
        cap = tag.find("figcaption")
        caption = clean(cap) if isinstance(cap, Tag) else ""
        if isinstance(img, Tag):
            found = image(img, self.images)
            return [replace(found, caption=found.caption or caption)]
        # an embed's link line (Ghost's, WordPress's embed cards), a quote ...
        if isinstance(cap, Tag):
            cap.extract()
        out = self.blocks(tag)  # its content, then its caption
        return out + ([Paragraph((Span(caption, italic=True),))] if caption else [])

    def _list(self, tag: Tag) -> ListBlock:
        items: list[ListItem] = []
        for li in tag.find_all("li", recursive=False):
            nested = li.find_all(["ul", "ol"])
            for n in nested:
                n.extract()
            spans, _ = inline(li, self.images)
            detail: list[Span] = []
            for n in nested:
                for sub in n.find_all("li"):
                    if detail:
                        detail.append(Span("\n"))
                    detail.append(Span("• " + clean(sub)))
            if spans or detail:
                items.append(ListItem(spans=spans, detail=tuple(detail)))
        start = str(tag.get("start") or "1")
        return ListBlock(
            ordered=tag.name == "ol", items=tuple(items), start=int(start) if start.isdigit() else 1
        )

    def _definitions(self, tag: Tag) -> list[Block]:
        """A field list ("Author: …", "Release: …") is one short line; another definition
        list is one paragraph per term."""
        pairs: list[tuple[str, Inline]] = []
        term = ""
        for child in tag.find_all(["dt", "dd"], recursive=False):
            if child.name == "dt":
                term = clean(child).rstrip(":").strip()
            else:
                pairs.append((term, inline(child, self.images)[0]))
                term = ""
        classes = " ".join(tag.get("class") or [])
        short = all(len(plain(d).split()) <= 8 for _, d in pairs)
        if "field-list" in classes or "docinfo" in classes or (short and len(pairs) > 1):
            line = " · ".join(f"{t}: {plain(d)}" if t else plain(d) for t, d in pairs)
            return [Paragraph((Span(line),))] if line else []
        out: list[Block] = []
        for t, d in pairs:
            spans: list[Span] = [Span(t, bold=True), Span(": ")] if t else []
            out.append(Paragraph(tuple(spans) + d))
        return out

    def _table(self, tag: Tag) -> list[Block]:
        """A field table (two short columns, "Author | Lena") is one line; any other a
        table block (its header row, when it has one, and its rows)."""
        rows: list[tuple[bool, list[Inline]]] = []
        for tr in tag.find_all("tr"):
            cells = [c for c in tr.find_all(["th", "td"], recursive=False) if isinstance(c, Tag)]
            texts = [inline(c, self.images)[0] for c in cells]
            if any(plain(c).strip() for c in texts):
                is_head = bool(cells) and all(c.name == "th" for c in cells)
                if not (is_head and rows and rows[-1] == (True, texts)):  # a repeated header
                    rows.append((is_head, texts))
        if not rows:
            return []
        if all(len(r) == 2 and not h for h, r in rows) and _fields([r for _, r in rows]):
            fields = " · ".join(
                f"{plain(r[0]).strip().rstrip(':')}: {plain(r[1])}" for _, r in rows
            )
            return [Paragraph((Span(fields),))]
        names = rows[0][1] if rows[0][0] else []
        body = tuple(tuple(texts) for _, texts in rows[1 if names else 0 :])
        return [Table(header=tuple(names), rows=body)] if body else []


def _fields(rows: list[list[Inline]]) -> bool:
    """Rows of "Label | short value" (Docutils' docinfo: Author, Version, Date)."""
    return all(len(plain(r[0]).split()) <= 3 and len(plain(r[1]).split()) <= 8 for r in rows)


def _captions_once(blocks: list[Block]) -> list[Block]:
    """An image's caption shown once: the extractor keeps a figure's caption as the next
    paragraph, which the image already carries."""
    out: list[Block] = []
    for b in blocks:
        prev = out[-1] if out else None
        if (
            isinstance(b, Paragraph)
            and isinstance(prev, Image)
            and prev.caption
            and " ".join(b.text().split()) == " ".join(prev.caption.split())
        ):
            continue
        out.append(b)
    return out


def html_to_blocks(html: str, images: dict[str, ImageInfo] | None = None) -> list[Block]:
    soup = BeautifulSoup(html, "lxml")
    return Walker(images).blocks(soup.body or soup)


__all__ = [
    "BUTTON_ATTR",
    "CTA_MARKERS",
    "IMAGE_TOKEN",
    "ImageInfo",
    "Walker",
    "html_to_blocks",
    "xml_to_html",
]
