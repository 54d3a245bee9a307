"""Videos, maps and social posts in a page become a linked line ("Watch the video: URL"),
so the text around them still makes sense in an email; their scripts go.

Works on an lxml tree, before the extractor reads the page (an extractor drops iframes,
and with them the sentence that says "watch this").
"""

from __future__ import annotations

import re

from lxml import html as lxml_html

from .. import i18n
from ..blocks import Block, Paragraph, Quote, Span
from ..fetch import is_http_url
from ..i18n import N_

_WS = re.compile(r"\s+")
_VIDEO_HOSTS = re.compile(r"youtube(?:-nocookie)?\.com|youtu\.be|vimeo\.com|wistia|loom\.com", re.I)
_YOUTUBE_ID = re.compile(r"youtube(?:-nocookie)?\.com/embed/([\w-]{6,})", re.I)
#: the words of each line an embed becomes (catalogue messages: the line is written in the
#: article's language by :func:`localise`)
LABELS = {
    "video": N_("Watch the video"),
    "map": N_("See the map"),
    "other": N_("See it online"),
    "instagram": N_("See the post on Instagram"),
    "x": N_("See the post on X"),
    "tiktok": N_("See the video on TikTok"),
    "facebook": N_("See the post on Facebook"),
}
#: a social post's blockquote class: (its host, the line's words)
SOCIAL = {
    "instagram-media": ("instagram", LABELS["instagram"]),
    "twitter-tweet": ("twitter", LABELS["x"]),
    "tiktok-embed": ("tiktok", LABELS["tiktok"]),
    "fb-post": ("facebook", LABELS["facebook"]),
}
#: a paragraph this module wrote carries its link here, so the mapping can find it again
LINK_ATTR = "data-newsletter-link"


def clean_text(el: lxml_html.HtmlElement) -> str:
    return _WS.sub(" ", el.text_content()).strip()


def _label(el: lxml_html.HtmlElement) -> str:
    label = str(el.tag)
    ident = el.get("id")
    classes = (el.get("class") or "").split()
    if ident:
        label += f"#{ident}"
    if classes:
        label += "." + ".".join(classes[:2])
    return label


def describe(el: lxml_html.HtmlElement) -> str:
    """``header.site-header with nav.main-nav ('the first words')``: an element (and the
    landmarks inside it), as a note names it."""
    label = _label(el)
    inside = [_label(d) for d in el.iter("nav", "aside", "footer", "form") if d is not el][:2]
    if inside:
        label += " with " + ", ".join(inside)
    text = _WS.sub(" ", " ".join(el.itertext())).strip()
    src = (el.get("src") or "") if el.tag in ("script", "iframe", "img") else ""
    return label + (f" {src[:80]}" if src else "") + (f" ({text[:50]!r})" if text else "")


def link_line(label: str, url: str) -> lxml_html.HtmlElement:
    """``<p>Label: URL</p>``, its link kept aside (an extractor reads a line that is mostly
    a link as navigation; the mapping links the URL again)."""
    p = lxml_html.Element("p")
    p.set(LINK_ATTR, url)
    p.text = f"{label}: {url}"
    return p


def _embed_url(el: lxml_html.HtmlElement) -> str:
    src = el.get("src") or el.get("data-src") or ""
    if not src:
        source = el.find(".//source")
        src = (source.get("src") or "") if source is not None else ""
    m = _YOUTUBE_ID.search(src)
    if m:
        return f"https://www.youtube.com/watch?v={m.group(1)}"
    if src.startswith("//"):
        src = "https:" + src
    return src.split("?")[0] if "player.vimeo.com" in src else src


#: elements that hold an embed and nothing else, replaced with it: a paragraph of its own
#: cannot stand inside a paragraph or a span ("<p><span class=embed-youtube><iframe>")
_WRAPPERS = ("p", "span", "a", "em", "strong", "i", "b", "font", "center")


def _figure_wrapper(el: lxml_html.HtmlElement) -> bool:
    """The div an embed block puts between its figure and its iframe (WordPress's
    ``figure.wp-block-embed > div.wp-block-embed__wrapper``)."""
    parent = el.getparent()
    return el.tag == "div" and parent is not None and parent.tag == "figure"


def _alone(el: lxml_html.HtmlElement) -> lxml_html.HtmlElement:
    """``el``, or the outermost paragraph or inline element that holds it alone."""
    target = el
    parent = el.getparent()
    while (
        parent is not None
        and parent.getparent() is not None  # (never the fragment's own root)
        and (parent.tag in _WRAPPERS or _figure_wrapper(parent))
        and len(parent) == 1
        and not (parent.text or "").strip()
        and not (target.tail or "").strip()
    ):
        target, parent = parent, parent.getparent()
    return target


def _replace(old: lxml_html.HtmlElement, new: lxml_html.HtmlElement) -> None:
    new.tail = old.tail
    parent = old.getparent()
    if parent is not None:
        parent.replace(old, new)


def _drop(el: lxml_html.HtmlElement) -> None:
    parent = el.getparent()
    if parent is not None:
        el.drop_tree()  # keeps the tail text


_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)


def _unseen(el: lxml_html.HtmlElement) -> bool:
    """A frame no reader sees on the page: hidden, zero or one pixel in size, or inside
    ``<noscript>`` (a tag manager's or an analytics service's, not the author's)."""
    sizes = [str(el.get(side, "")).strip().removesuffix("px") for side in ("width", "height")]
    return (
        el.get("hidden") is not None
        or bool(_HIDDEN_STYLE.search(el.get("style", "")))
        or any(size in ("0", "1") for size in sizes)
        or any(a.tag == "noscript" for a in el.iterancestors())
    )


def _media(root: lxml_html.HtmlElement, notes: list[str]) -> None:
    for el in list(root.iter("iframe", "video", "embed", "object")):
        if el.getparent() is None or any(a.tag in ("video", "object") for a in el.iterancestors()):
            continue
        if _unseen(el):
            _drop(el)
            continue
        url = _embed_url(el)
        if not is_http_url(url):
            if el.tag in ("iframe", "video"):
                notes.append(f"dropped {describe(el)}: an embed without an address")
            _drop(el)
            continue
        if el.tag == "video" or _VIDEO_HOSTS.search(url):
            label = LABELS["video"]
        elif "google.com/maps" in url or "maps.google" in url:
            label = LABELS["map"]
        else:
            label = LABELS["other"]
        notes.append(f"embedded {el.tag} kept as a link: {label}: {url}")
        _replace(_alone(el), link_line(label, url))


def _social(root: lxml_html.HtmlElement, notes: list[str]) -> None:
    for quote in list(root.iter("blockquote")):
        classes = (quote.get("class") or "").split()
        kind = next((c for c in classes if c in SOCIAL), None)
        if kind is None or quote.getparent() is None:
            continue
        host, label = SOCIAL[kind]
        url = quote.get("data-instgrm-permalink") or quote.get("cite") or ""
        if not url:
            links = [a.get("href") or "" for a in quote.iter("a")]
            url = next((h for h in reversed(links) if host in h), "")
        url = url.split("?")[0]
        if not url:
            continue
        if kind == "instagram-media" or not clean_text(quote):
            notes.append(f"embedded {host} post kept as a link: {url}")
            _replace(quote, link_line(label, url))
        else:
            quote.append(link_line(label, url))
            notes.append(f"embedded {host} post kept as a quote with its link: {url}")


def _label_words() -> dict[str, str]:
    """Every catalogue's words for each line's label -> the label's message."""
    found = {}
    for code in i18n.LANGUAGES:
        _ = i18n.translations(code).gettext
        found.update({_(message): message for message in LABELS.values()})
    return found


def _embed_label(spans: tuple[Span, ...], words: dict[str, str]) -> str:
    """The label's message when ``spans`` are a line an embed became ("Label: URL")."""
    if len(spans) != 2 or spans[0].href or not spans[1].href or spans[1].text != spans[1].href:
        return ""
    label, colon, rest = spans[0].text.rpartition(":")
    return words.get(label.strip(), "") if colon and not rest.strip() else ""


def localise(blocks: list[Block], language: str) -> list[Block]:
    """``blocks`` with each line an embed became ("Watch the video: URL") in the words of
    ``language``'s catalogue (the article's language; "" for the one its text is in)."""
    words = _label_words()

    def lines(b: Block) -> tuple[tuple[Span, ...], ...]:
        if isinstance(b, Paragraph):
            return (b.spans,)
        return b.paragraphs if isinstance(b, Quote) else ()

    if not any(_embed_label(spans, words) for b in blocks for spans in lines(b)):
        return blocks
    if not language:
        language = i18n.detect("\n".join(b.text() for b in blocks[:200])) or i18n.DEFAULT
    _ = i18n.translations(language).gettext

    def one(spans: tuple[Span, ...]) -> tuple[Span, ...]:
        message = _embed_label(spans, words)
        return (Span(f"{_(message)}: "), spans[1]) if message else spans

    return [
        Paragraph(one(b.spans))
        if isinstance(b, Paragraph)
        else Quote(tuple(one(p) for p in b.paragraphs))
        if isinstance(b, Quote)
        else b
        for b in blocks
    ]


def replace_embeds(root: lxml_html.HtmlElement, notes: list[str]) -> None:
    """Videos, maps and social posts become a linked line, each noted."""
    _media(root, notes)
    _social(root, notes)


__all__ = [
    "LABELS",
    "LINK_ATTR",
    "SOCIAL",
    "clean_text",
    "describe",
    "link_line",
    "localise",
    "replace_embeds",
]
