"""A page made ready for the extractor, keeping what an extractor would lose and an email
needs: embeds become linked lines, the author's buttons become lines that remember their
link, images remember their caption and width; share links and heading permalink marks
("¶", "#", "🔗") go. Works on an lxml tree, in place."""

from __future__ import annotations

import re

from lxml import html as lxml_html

from .embeds import LINK_ATTR, clean_text, replace_embeds
from .htmlmap import BUTTON_ATTR, IMAGE_TOKEN, ImageInfo
from .links import is_share_link

_ANCHOR_MARKS = {"¶", "#", "🔗", "§", "\uf0c1"}
_PERMALINK_CLASS = re.compile(r"headerlink|anchor|permalink|heading-link", re.I)
_BUTTON_CLASS = re.compile(r"(?:^|[\s_-])(?:btn|button|cta)(?:$|[\s_-])", re.I)
#: a button that is the page's, not the author's: sharing, following, liking, signing up to
#: the site, moving between posts
_PAGE_BUTTON = re.compile(
    r"share|social|follow|like|subscribe|signup|sign-up|newsletter|login|log-in|search|menu|"
    r"nav|cookie|consent|comment|reply|print|pagination|prev|next|more-link|read-more",
    re.I,
)
_BLOCKS = ("p", "div", "li", "span", "strong", "b", "em", "center")


def _is_permalink(a: lxml_html.HtmlElement) -> bool:
    classes = a.get("class") or ""
    text = a.text_content().strip()
    href = a.get("href") or ""
    return text in _ANCHOR_MARKS or (
        href.startswith("#") and bool(_PERMALINK_CLASS.search(classes)) and len(text) <= 2
    )


def _drop(el: lxml_html.HtmlElement) -> None:
    if el.getparent() is not None:
        el.drop_tree()


def _button_line(a: lxml_html.HtmlElement) -> None:
    """``<a class="btn" href=U>Book a session</a>`` as a line of its own that keeps ``U``
    (an extractor drops a lone link as navigation)."""
    label = clean_text(a)
    target = a
    for parent in a.iterancestors(*_BLOCKS):
        if clean_text(parent) != label:
            break
        target = parent
    line = lxml_html.Element("p")
    line.set(LINK_ATTR, a.get("href") or "")
    line.set(BUTTON_ATTR, "1")
    line.text = label
    line.tail = target.tail
    parent = target.getparent()
    if parent is not None:
        parent.replace(target, line)


def _links(root: lxml_html.HtmlElement, notes: list[str]) -> None:
    shared: list[str] = []
    for a in list(root.iter("a")):
        if a.getparent() is None:
            continue
        href = (a.get("href") or "").strip()
        if is_share_link(href):
            shared.append(clean_text(a) or href[:40])
            _drop(a)
        elif _is_permalink(a):
            _drop(a)
        elif (
            href
            and _BUTTON_CLASS.search(a.get("class") or "")
            and not _PAGE_BUTTON.search(f"{a.get('class')} {a.get('id') or ''} {href}")
            and clean_text(a)
        ):
            _button_line(a)
    if shared:
        shown = ", ".join(repr(s[:30]) for s in shared[:6]) + (", ..." if len(shared) > 6 else "")
        notes.append(f"dropped {len(shared)} share links: {shown}")


def _figure_caption(img: lxml_html.HtmlElement) -> str:
    """The caption of the figure ``img`` stands in (``<figcaption>``, WordPress's
    ``.wp-caption-text``), or ""."""
    for depth, parent in enumerate(img.iterancestors()):
        if depth > 3 or parent.tag in ("p", "article", "section", "main", "body"):
            return ""
        if parent.tag == "figure" or "wp-caption" in (parent.get("class") or "").split():
            for cap in parent.iter("figcaption", "p", "div", "span"):
                if cap.tag == "figcaption" or "wp-caption-text" in (cap.get("class") or ""):
                    return clean_text(cap)
            return ""
    return ""


def _width(img: lxml_html.HtmlElement) -> int | None:
    value = (img.get("width") or "").strip().removesuffix("px")
    if not value.isdigit():
        m = re.search(r"(?:^|;)\s*width\s*:\s*(\d+)px", img.get("style") or "")
        value = m.group(1) if m else ""
    return int(value) if value.isdigit() and int(value) > 0 else None


def _images(root: lxml_html.HtmlElement) -> dict[str, ImageInfo]:
    """Each image's caption and width, found again by a token in its title (the extractor
    keeps an image's src, alt and title only)."""
    found: dict[str, ImageInfo] = {}
    for n, img in enumerate(root.iter("img")):
        token = f"{IMAGE_TOKEN}{n}"
        found[token] = ImageInfo(
            caption=_figure_caption(img), width=_width(img), title=img.get("title") or ""
        )
        img.set("title", token)
    return found


_FURNITURE = re.compile(
    r"sidebar|widget|related|toc|table-of-contents|author|about|promo|newsletter|"
    r"subscribe|share|social|ad(?:s|vert)?\b|sponsor|recent|popular|archive|search",
    re.I,
)


def _article_asides(root: lxml_html.HtmlElement) -> None:
    """An aside inside the article that holds its own text (an abstract, a note: not a
    sidebar or a widget) is read as part of it; an extractor drops every aside."""
    for aside in list(root.iter("aside")):
        ident = f"{aside.get('id') or ''} {aside.get('class') or ''}"
        inside = any(
            a.tag in ("article", "main") or a.get("role") == "main" for a in aside.iterancestors()
        )
        if inside and not _FURNITURE.search(ident) and len(clean_text(aside).split()) >= 8:
            aside.tag = "div"


def _embed_cards(root: lxml_html.HtmlElement) -> None:
    """A figure without an image (Ghost's and WordPress's embed cards: the video's line and
    a caption) is read as its content, then its caption in italics."""
    for figure in list(root.iter("figure")):
        if figure.find(f".//p[@{LINK_ATTR}]") is None or figure.find(".//img") is not None:
            continue
        figure.tag = "div"
        figure.attrib.clear()  # "kg-embed-card": an extractor drops embeds by their class
        for cap in figure.iter("figcaption"):
            cap.tag = "p"
            em = lxml_html.Element("em")
            em.text, cap.text = cap.text, None
            for child in list(cap):
                em.append(child)
            cap.append(em)


_INLINE = {"strong", "b", "em", "i", "span", "a", "u", "mark", "small"}


def _breaks_out_of_emphasis(root: lxml_html.HtmlElement) -> None:
    """``<strong>The handoff<br></strong>We met…`` (Medium's bold lead-ins): the line break
    goes after the emphasis, where it means the same (an extractor drops it inside)."""
    for br in list(root.iter("br")):
        parent = br.getparent()
        while (
            parent is not None
            and parent.tag in _INLINE
            and parent[-1] is br
            and not (br.tail or "").strip()
        ):
            tail, parent.tail = parent.tail, None
            parent.remove(br)
            br.tail = tail
            parent.addnext(br)
            parent = br.getparent()


def prepare(root: lxml_html.HtmlElement, notes: list[str]) -> dict[str, ImageInfo]:
    """Make the page ready for the extractor (in place); the images' details, by token."""
    _breaks_out_of_emphasis(root)
    replace_embeds(root, notes)
    _embed_cards(root)
    _article_asides(root)
    _links(root, notes)
    return _images(root)


__all__ = ["prepare"]
