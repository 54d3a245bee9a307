"""The HTML of a blog post page to blocks: find the article body, drop the page around it.

Navigation, scripts, styles, share buttons, comment forms, cookie banners and sidebars
are dropped (each reported); headings, paragraphs with emphasis and links, lists,
images with their alt text, quotes and code are kept.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace

from bs4 import BeautifulSoup, Comment, NavigableString, Tag

from ..blocks import (
    Article,
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
    append_span,
    marked_line,
    plain,
    trim_spans,
)
from ..i18n import normalise
from .clutter import cut_at_title, drop_tail, sign_off

CTA_MARKERS = ("👉", "➡️", "➡", "→")
_ALWAYS_DROP = (
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
_JUNK = re.compile(
    r"share|sharing|social|comment|respond|cookie|consent|gdpr|banner|subscribe|signup|"
    r"newsletter|related|breadcrumb|sidebar|widget|menu|navigation|navbar|popup|modal|advert|"
    r"(?:^|[-_ ])ads?(?:$|[-_ ])|promo|author-bio|post-meta|entry-meta|byline|pagination|"
    r"post-nav|tags-links|cat-links|skip-link|screen-reader",
    re.I,
)
_ROOTS = (
    "[itemprop=articleBody]",
    ".entry-content",
    ".post-content",
    ".post-body",
    ".article-body",
    ".article-content",
    ".blog-post-body",
    ".blog-item-content",
    ".sqs-block-content",
    "article",
    "main",
    "[role=main]",
)
#: page builders that cut an article into blocks: the root is what holds them all
_BLOCK_ROOTS = (".sqs-block-content",)
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
_ANCHOR_MARKS = {"¶", "#", "🔗", "§", "\uf0c1"}
_PERMALINK_CLASS = re.compile(r"headerlink|anchor|permalink|heading-link", re.I)
_FURNITURE = re.compile(
    r"sidebar|widget|related|toc|table-of-contents|author|about|promo|newsletter|"
    r"subscribe|share|social|ad(?:s|vert)?\b|sponsor|recent|popular|archive|search",
    re.I,
)


def _describe(tag: Tag) -> str:
    ident = tag.get("id")
    classes: list[str] = list(tag.get("class") or [])
    label = tag.name
    if ident:
        label += f"#{ident}"
    if classes:
        label += "." + ".".join(classes[:2])
    text = _WS.sub(" ", tag.get_text(" ")).strip()
    src = str(tag.get("src") or "") if tag.name in ("script", "iframe", "img") else ""
    return f"{label}" + (f" {src[:80]}" if src else "") + (f" ({text[:50]!r})" if text else "")


def _find_root(soup: BeautifulSoup) -> Tag:
    for selector in _ROOTS:
        found = soup.select(selector)
        if len(found) > 1 and selector in _BLOCK_ROOTS:
            return _common_ancestor(found)  # a page builder's blocks: all of them
        if found:
            return max(found, key=lambda t: len(t.get_text(" ", strip=True)))
    return soup.body or soup


def _common_ancestor(tags: list[Tag]) -> Tag:
    for candidate in [tags[0], *tags[0].parents]:
        if isinstance(candidate, Tag) and all(
            t is candidate or candidate in t.parents for t in tags
        ):
            return candidate
    return tags[0]


class _Inline:
    def __init__(self) -> None:
        self.spans: list[Span] = []
        self.images: list[Image] = []

    def feed(
        self,
        node: Tag | NavigableString,
        bold: bool = False,
        italic: bool = False,
        code: bool = False,
        href: str | None = None,
    ) -> None:
        if isinstance(node, Comment):
            return
        if isinstance(node, NavigableString):
            text = _WS.sub(" ", str(node))
            if text:
                self._add(Span(text, bold, italic, code, href))
            return
        name = node.name
        if name == "br":
            self.spans.append(Span("\n"))
            return
        if name == "img":
            self.images.append(_image(node))
            return
        if name in ("strong", "b"):
            bold = True
        elif name in ("em", "i", "cite"):
            italic = True
        elif name in ("code", "kbd"):
            code = True
        elif name == "a" and _is_permalink(node):
            return
        elif name == "a" and node.get("href"):
            href = str(node.get("href"))
        for child in node.children:
            self.feed(child, bold, italic, code, href)  # type: ignore[arg-type]

    def _add(self, span: Span) -> None:
        append_span(self.spans, span)

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


def _is_permalink(tag: Tag) -> bool:
    """A heading's "¶" / "#" / "🔗" anchor (Sphinx, WordPress, GitHub pages)."""
    classes = " ".join(tag.get("class") or [])
    text = tag.get_text("").strip()
    href = str(tag.get("href") or "")
    return text in _ANCHOR_MARKS or (
        href.startswith("#") and bool(_PERMALINK_CLASS.search(classes)) and len(text) <= 2
    )


def _int_attr(tag: Tag, name: str) -> int | None:
    value = str(tag.get(name) or "").strip().removesuffix("px")
    if not value.isdigit():
        m = re.search(rf"(?:^|;)\s*{name}\s*:\s*(\d+)px", str(tag.get("style") or ""))
        value = m.group(1) if m else ""
    return int(value) if value.isdigit() and int(value) > 0 else None


def _image(tag: Tag) -> Image:
    src = str(tag.get("src") or "")
    if not src or src.startswith("data:"):
        src = str(tag.get("data-src") or tag.get("data-lazy-src") or src)
    return Image(
        alt=_WS.sub(" ", str(tag.get("alt") or "")).strip(), src=src, width=_int_attr(tag, "width")
    )


def _inline(tag: Tag) -> tuple[Inline, list[Image]]:
    conv = _Inline()
    for child in tag.children:
        conv.feed(child)  # type: ignore[arg-type]
    return conv.result(), conv.images


def _paragraph_blocks(spans: Inline, images: list[Image]) -> list[Block]:
    out: list[Block] = []
    if spans:
        text = plain(spans).strip()
        marker = next((m for m in CTA_MARKERS if text.startswith(m)), None)
        if marker:
            href = next((s.href for s in spans if s.href), "") or ""
            out.append(marked_line(text[len(marker) :], href))
        else:
            out.append(Paragraph(spans))
    out.extend(images)
    return out


class _Walker:
    def __init__(self, notes: list[str]) -> None:
        self.notes = notes

    def blocks(self, root: Tag) -> list[Block]:
        out: list[Block] = []
        pending = _Inline()
        heading_label = ""  # a note's or an abstract's title, put before its paragraph

        def flush() -> None:
            nonlocal pending
            out.extend(_paragraph_blocks(pending.result(), pending.images))
            pending = _Inline()

        for child in root.children:
            if isinstance(child, Comment):
                continue
            if isinstance(child, NavigableString):
                pending.feed(child)
                continue
            if not isinstance(child, Tag):
                continue
            name = child.name
            if name in _INLINE and not _is_button(child):
                pending.feed(child)
                continue
            flush()
            if name in ("h1", "h2", "h3", "h4", "h5", "h6"):
                spans, images = _inline(child)
                if spans:
                    out.append(Heading(level=int(name[1]), spans=spans))
                out.extend(images)
            elif name == "p":
                links = child.find_all("a")
                text = _WS.sub(" ", child.get_text(" ")).strip()
                if (
                    len(links) == 1
                    and _is_button(links[0])
                    and (_WS.sub(" ", links[0].get_text(" ")).strip() == text)
                ):
                    out.append(marked_line(text, str(links[0].get("href") or "")))
                elif _is_label(child) and text:
                    heading_label = text.rstrip(":")
                else:
                    blocks = _paragraph_blocks(*_inline(child))
                    if heading_label and blocks and isinstance(blocks[0], Paragraph):
                        labelled = [Span(f"{heading_label}:", bold=True)]
                        for span in (Span(" "), *blocks[0].spans):
                            append_span(labelled, span)
                        blocks[0] = Paragraph(tuple(labelled))
                        heading_label = ""
                    out.extend(blocks)
            elif name == "a":
                label = _WS.sub(" ", child.get_text(" ")).strip()
                if label:
                    out.append(marked_line(label, str(child.get("href") or "")))
            elif name in ("ul", "ol"):
                out.append(self._list(child))
            elif name == "img":
                out.append(_image(child))
            elif name == "figure":
                img = child.find("img")
                cap = child.find("figcaption")
                caption = _WS.sub(" ", cap.get_text(" ")).strip() if cap else ""
                if isinstance(img, Tag):
                    out.append(replace(_image(img), caption=caption))
                else:  # an embed's link line (Ghost's, WordPress's embed cards), a quote ...
                    if isinstance(cap, Tag):
                        cap.extract()
                    out.extend(self.blocks(child))  # its content, then its caption
                    if caption:
                        out.append(Paragraph((Span(caption, italic=True),)))
            elif name == "blockquote":
                inner = self.blocks(child)
                paras = tuple(
                    b.spans if isinstance(b, Paragraph) else (Span(b.text()),)
                    for b in inner
                    if b.text()
                )
                if paras:
                    out.append(Quote(paragraphs=paras))
            elif name == "dl":
                out.extend(_definitions(child))
            elif name == "table" and "docinfo" in (child.get("class") or []):
                out.extend(_field_table(child))
            elif name == "pre":
                out.append(Code(code=child.get_text().rstrip("\n")))
            elif name == "hr":
                out.append(Rule())
            else:
                out.extend(self.blocks(child))
        flush()
        return out

    def _list(self, tag: Tag) -> ListBlock:
        items: list[ListItem] = []
        for li in tag.find_all("li", recursive=False):
            nested = li.find_all(["ul", "ol"])
            for n in nested:
                n.extract()
            spans, _ = _inline(li)
            detail: list[Span] = []
            for n in nested:
                for sub in n.find_all("li"):
                    if detail:
                        detail.append(Span("\n"))
                    detail.append(Span("• " + _WS.sub(" ", sub.get_text(" ")).strip()))
            items.append(ListItem(spans=spans, detail=tuple(detail)))
        start = int(str(tag.get("start") or 1)) if str(tag.get("start") or "1").isdigit() else 1
        return ListBlock(ordered=tag.name == "ol", items=tuple(items), start=start)


def _clean(tag: Tag) -> str:
    return _WS.sub(" ", tag.get_text(" ")).strip()


def _definitions(tag: Tag) -> list[Block]:
    """A field list ("Author: …", "Release: …") is one short line; another definition list
    is one paragraph per term."""
    pairs: list[tuple[str, Inline]] = []
    term = ""
    for child in tag.find_all(["dt", "dd"], recursive=False):
        if child.name == "dt":
            term = _clean(child).rstrip(":").strip()
        else:
            pairs.append((term, _inline(child)[0]))
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


def _field_table(tag: Tag) -> list[Block]:
    """Docutils' docinfo table (Author, Version, Date): one short line."""
    fields = []
    for row in tag.find_all("tr"):
        cells = [_clean(c).rstrip(":") for c in row.find_all(["th", "td"])]
        if len(cells) >= 2 and cells[1]:
            fields.append(f"{cells[0]}: {cells[1]}")
    return [Paragraph((Span(" · ".join(fields)),))] if fields else []


def _is_label(tag: Tag) -> bool:
    """A note's or a topic's title line ("Note", "Abstract") in documentation pages."""
    classes = " ".join(tag.get("class") or [])
    return bool(re.search(r"\b(admonition-title|topic-title|sidebar-title)\b", classes))


def _is_button(tag: Tag) -> bool:
    classes = " ".join(tag.get("class") or [])
    return tag.name == "a" and bool(re.search(r"\b(btn|button|cta)\b", classes, re.I))


def _meta(soup: BeautifulSoup, *names: str) -> str:
    for name in names:
        tag = soup.find("meta", attrs={"property": name}) or soup.find("meta", attrs={"name": name})
        if isinstance(tag, Tag) and tag.get("content"):
            return str(tag["content"]).strip()
    return ""


def _structured(soup: BeautifulSoup) -> list[dict[str, object]]:
    """The page's JSON-LD objects (WordPress, Squarespace, Ghost and most blog platforms
    describe the post there), flattened out of ``@graph`` lists; broken ones skipped."""
    found: list[dict[str, object]] = []
    for script in soup.find_all("script", attrs={"type": "application/ld+json"}):
        try:
            data = json.loads(script.get_text() or "null")
        except ValueError:
            continue
        stack = data if isinstance(data, list) else [data]
        while stack:
            item = stack.pop(0)
            if isinstance(item, dict):
                found.append(item)
                graph = item.get("@graph")
                stack.extend(graph if isinstance(graph, list) else [])
    return found


_ARTICLE_TYPES = {"Article", "BlogPosting", "NewsArticle", "Report", "TechArticle"}


def _is_article(item: dict[str, object]) -> bool:
    kind = item.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return any(k in _ARTICLE_TYPES for k in kinds)


def _person_name(value: object, by_id: dict[str, dict[str, object]]) -> str:
    if isinstance(value, list):
        return _person_name(value[0], by_id) if value else ""
    if isinstance(value, dict):
        if not value.get("name") and isinstance(value.get("@id"), str):
            value = by_id.get(str(value["@id"]), value)
        return str(value.get("name") or "")
    return str(value) if isinstance(value, str) else ""


_BY = re.compile(r"^\s*(?:written\s+|posted\s+|published\s+)?by\s+", re.I)
#: "Posted on March 3 by Meadow Counseling": the name after "by"
_BY_NAME = re.compile(r"\bby\s+([A-Z][\w.'’-]*(?:\s+(?:[A-Z][\w.'’-]*|de|van|von|la)){0,4})")
_BYLINES = (
    '[rel~="author"], [itemprop="author"], .byline, .author-name, .entry-author, '
    ".post-author, .author"
)


def _a_name(text: str) -> str:
    """``text`` if it reads as a person's or a practice's name (not a URL, a date or a
    sentence), else ""."""
    text = _WS.sub(" ", _BY.sub("", text)).strip(" ,|·•")
    text = re.split(r"\s+[|·•—–]\s+|\s+on\s+(?=\w+\s+\d)", text)[0].strip()
    if not text or len(text) > 60 or len(text.split()) > 6:
        return ""
    if re.search(r"\d|://|@|^www\.", text):
        return ""
    return text


def _author(soup: BeautifulSoup, items: list[dict[str, object]]) -> str:
    """The post's author: the page's meta author, its structured data, or its byline
    (read before the page's furniture, bylines included, is dropped)."""
    by_id = {str(i["@id"]): i for i in items if isinstance(i.get("@id"), str)}
    candidates = [_meta(soup, "author")]
    candidates += [_person_name(i.get("author"), by_id) for i in items if _is_article(i)]
    candidates += [t.get_text(" ", strip=True) for t in soup.select(_BYLINES)]
    for meta in soup.select(".post-meta, .entry-meta, .article-meta, .meta"):
        m = _BY_NAME.search(meta.get_text(" ", strip=True))
        candidates.append(m.group(1) if m else "")
    candidates.append(_meta(soup, "article:author"))  # often a profile's URL: then unused
    return next((name for c in candidates if (name := _a_name(c))), "")


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ][\d:.+Z-]*)?$")


def _published(soup: BeautifulSoup, items: list[dict[str, object]]) -> str:
    """When the post was published (ISO 8601): the meta tag, the structured data, or the
    ``<time datetime>`` of its byline."""
    candidates = [_meta(soup, "article:published_time")]
    candidates += [str(i.get("datePublished") or "") for i in items if _is_article(i)]
    for tag in soup.select(
        '[itemprop="datePublished"], time.published, time.entry-date, .posted-on time, '
        ".entry-meta time, .post-meta time, .byline time"
    ):
        candidates.append(str(tag.get("datetime") or tag.get("content") or ""))
    return next((c.strip() for c in candidates if _ISO_DATE.match(c.strip())), "")


_VIDEO_HOSTS = re.compile(r"youtube(?:-nocookie)?\.com|youtu\.be|vimeo\.com|wistia|loom\.com", re.I)
_YOUTUBE_ID = re.compile(r"youtube(?:-nocookie)?\.com/embed/([\w-]{6,})", re.I)
_SOCIAL = {
    "instagram-media": ("instagram", "See the post on Instagram"),
    "twitter-tweet": ("twitter", "See the post on X"),
    "tiktok-embed": ("tiktok", "See the video on TikTok"),
    "fb-post": ("facebook", "See the post on Facebook"),
}


def _link_line(soup: BeautifulSoup, label: str, url: str) -> Tag:
    p = soup.new_tag("p")
    p.append(f"{label}: ")
    a = soup.new_tag("a", href=url)
    a.string = url
    p.append(a)
    return p


def _embed_url(tag: Tag) -> str:
    src = str(tag.get("src") or tag.get("data-src") or "")
    if not src:
        source = tag.find("source")
        src = str(source.get("src") or "") if isinstance(source, Tag) else ""
    m = _YOUTUBE_ID.search(src)
    if m:
        return f"https://www.youtube.com/watch?v={m.group(1)}"
    if src.startswith("//"):
        src = "https:" + src
    return src.split("?")[0] if "player.vimeo.com" in src else src


def replace_embeds(soup: BeautifulSoup, notes: list[str]) -> None:
    """Videos, maps and social posts become a linked line ("Watch the video: URL"), so the
    text around them still makes sense; their scripts go."""
    for tag in soup.find_all(["iframe", "video", "embed", "object"]):
        if not isinstance(tag, Tag) or tag.decomposed:
            continue
        url = _embed_url(tag)
        if not url.startswith(("http://", "https://")):
            if tag.name in ("iframe", "video"):
                notes.append(f"dropped {_describe(tag)}: an embed without an address")
            tag.decompose()
            continue
        if tag.name == "video" or _VIDEO_HOSTS.search(url):
            label = "Watch the video"
        elif "google.com/maps" in url or "maps.google" in url:
            label = "See the map"
        else:
            label = "See it online"
        notes.append(f"embedded {tag.name} kept as a link: {label}: {url}")
        tag.replace_with(_link_line(soup, label, url))
    for cls, (host, label) in _SOCIAL.items():
        for tag in soup.find_all("blockquote", class_=cls):
            if not isinstance(tag, Tag) or tag.decomposed:
                continue
            url = str(tag.get("data-instgrm-permalink") or tag.get("cite") or "")
            if not url:
                links = [str(a.get("href") or "") for a in tag.find_all("a")]
                url = next((h for h in reversed(links) if host in h), "")
            url = url.split("?")[0]
            if not url:
                continue
            words = _clean(tag)
            if cls == "instagram-media" or not words:
                notes.append(f"embedded {host} post kept as a link: {url}")
                tag.replace_with(_link_line(soup, label, url))
            else:
                tag.append(_link_line(soup, label, url))
                notes.append(f"embedded {host} post kept as a quote with its link: {url}")


def _note_outside(root: Tag, notes: list[str]) -> None:
    """Name each piece of the page around the article (what stands beside it and beside
    each of its containers), one note each."""
    pieces: list[str] = []
    node: Tag = root
    while isinstance(node.parent, Tag) and node.name != "body":
        for sibling in node.parent.children:
            if sibling is node:
                continue
            text = (
                _WS.sub(" ", sibling.get_text(" ")).strip()
                if isinstance(sibling, Tag)
                else _WS.sub(" ", str(sibling)).strip()
                if isinstance(sibling, NavigableString) and not isinstance(sibling, Comment)
                else ""
            )
            if text and not (isinstance(sibling, Tag) and sibling.name == "h1"):  # the title
                pieces.append(
                    _describe(sibling) if isinstance(sibling, Tag) else f"text {text[:50]!r}"
                )
        node = node.parent
    for piece in pieces:
        notes.append(f"dropped {piece} (outside the article)")


def _http(url: str) -> str:
    return url if re.match(r"^https?://", url, re.I) else ""


def _drop_furniture(soup: BeautifulSoup, root: Tag, notes: list[str]) -> None:
    """Asides that hold the article's own text (an abstract, a note) stay; the ones that
    are site furniture (outside the article, or a sidebar, a widget) go."""
    for tag in soup.find_all("aside"):
        if not isinstance(tag, Tag) or tag.decomposed:
            continue
        ident = " ".join([str(tag.get("id") or ""), *(tag.get("class") or [])])
        inside = root in tag.parents
        if inside and not _FURNITURE.search(ident) and len(_clean(tag).split()) >= 8:
            continue
        notes.append(f"dropped {_describe(tag)}")
        tag.decompose()


def html_blocks(fragment: str, notes: list[str]) -> list[Block]:
    """Blocks of a piece of HTML (raw HTML inside Markdown): paragraphs, quotes, images and
    links are kept; embeds become linked lines; scripts and styles are dropped, each noted."""
    soup = BeautifulSoup(fragment, "lxml")
    replace_embeds(soup, notes)
    for tag in soup.find_all(_ALWAYS_DROP):
        if isinstance(tag, Tag) and not tag.decomposed:
            if tag.name in ("script", "style", "form", "nav", "footer"):
                notes.append(f"dropped {_describe(tag)[:80]}")
            tag.decompose()
    root = soup.body or soup
    return _Walker(notes).blocks(root)


def _without_site_name(title: str, site: str) -> str:
    """ "Post — Site" without " — Site" (og:title often carries the site's name)."""
    if site:
        m = re.match(rf"^(.*\S)\s+[|–—:-]\s+{re.escape(site)}$", title)
        if m:
            return m.group(1)
    return title


def _title_text(text: str) -> str:
    text = _WS.sub(" ", text).strip()
    while text and text[-1] in _ANCHOR_MARKS:
        text = text[:-1].rstrip()
    return text


def _page_language(soup: BeautifulSoup) -> str:
    """The page's declared language: ``<html lang>``, else its og:locale ("de_DE")."""
    root = soup.find("html")
    declared = str(root.get("lang") or root.get("xml:lang") or "") if isinstance(root, Tag) else ""
    return normalise(declared or _meta(soup, "og:locale")) or ""


def import_html(text: str, source: str) -> Article:
    soup = BeautifulSoup(text, "lxml")
    notes: list[str] = []
    title = _without_site_name(_title_text(_meta(soup, "og:title")), _meta(soup, "og:site_name"))
    canonical = soup.find("link", rel="canonical")
    url = _http(str(canonical.get("href") or "")) if isinstance(canonical, Tag) else ""
    url = url or _http(_meta(soup, "og:url"))
    structured = _structured(soup)  # (JSON-LD: read once, before the scripts are dropped)
    author = _author(soup, structured)
    subtitle = _meta(soup, "description", "og:description")
    date = _published(soup, structured)
    tags = [
        str(t["content"])
        for t in soup.find_all("meta", attrs={"property": "article:tag"})
        if isinstance(t, Tag) and t.get("content")
    ]
    page_title = soup.title.get_text(strip=True) if soup.title else ""
    language = _page_language(soup)

    replace_embeds(soup, notes)
    for tag in soup.find_all(_ALWAYS_DROP):
        if isinstance(tag, Tag) and tag.name in ("nav", "footer", "form", "button"):
            notes.append(f"dropped {_describe(tag)}")
        tag.decompose()
    root = _find_root(soup)
    _drop_furniture(soup, root, notes)
    if root is not soup.body:
        _note_outside(root, notes)
    for tag in list(root.find_all(True)):
        if not isinstance(tag, Tag) or tag.decomposed:
            continue
        ident = " ".join([str(tag.get("id") or ""), *(tag.get("class") or [])])
        if ident.strip() and _JUNK.search(ident) and tag.name not in ("p", "h1", "h2", "h3"):
            notes.append(f"dropped {_describe(tag)}")
            tag.decompose()
    for anchor in root.find_all("a"):
        if isinstance(anchor, Tag) and not anchor.decomposed and _is_permalink(anchor):
            anchor.decompose()
    h1 = root.find("h1") or soup.find("h1")
    if isinstance(h1, Tag):
        title = title or _title_text(h1.get_text(" "))
    if not title:
        title = re.split(r"\s+[|–—-]\s+", page_title)[0] if page_title else ""
    blocks = _Walker(notes).blocks(root)
    if blocks and isinstance(blocks[0], Heading) and blocks[0].text() == title:
        blocks.pop(0)
    title, blocks = cut_at_title(blocks, title, lambda b: "", notes)
    blocks = sign_off(drop_tail(blocks, lambda b: "", notes))
    return Article(
        title=title,
        subtitle=subtitle,
        author=author,
        url=url,
        date=date,
        tags=tags,
        blocks=blocks,
        notes=notes,
        language=language,
    )
