"""Markdown (CommonMark, via markdown-it-py) to blocks.

Also reads the front matter of posts from static-site generators (Jekyll, Eleventy:
YAML between ``---``; Hugo: TOML between ``+++``) and drops their template tags
(Liquid ``{% %}``, Hugo shortcodes ``{{< >}}``), reporting each.
"""

from __future__ import annotations

import html
import re
from collections import Counter

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.footnote import footnote_plugin

from ..blocks import (
    CTA_MARKERS,
    Article,
    Block,
    CallToAction,
    Code,
    Heading,
    Image,
    Inline,
    ListBlock,
    ListItem,
    Notes,
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
from ..i18n import normalise
from .clutter import cut_at_title, drop_tail, sign_off
from .embeds import LABELS, localise
from .frontmatter import ISSUE_FIELDS, date_text, read_front_matter

_HTML_TAG = re.compile(r"^<(/?)([a-zA-Z][\w-]*)\b([^>]*?)/?>$", re.S)
_HREF = re.compile(r"""\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.I)
_TEMPLATE_TAG = re.compile(r"\{%.*?%\}|\{\{[<%].*?[>%]\}\}", re.S)

_md = (
    MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"]).use(footnote_plugin)
)


#: markdown-it's tokens that open and close emphasis: (the emphasis, +1 open / -1 close)
_EMPHASIS_TOKENS = {
    "strong_open": ("bold", 1),
    "strong_close": ("bold", -1),
    "em_open": ("italic", 1),
    "em_close": ("italic", -1),
    "s_open": ("strike", 1),
    "s_close": ("strike", -1),
}
#: inline HTML tags that carry emphasis
_EMPHASIS_TAGS = {
    "strong": "bold",
    "b": "bold",
    "em": "italic",
    "i": "italic",
    "s": "strike",
    "del": "strike",
    "strike": "strike",
}


class _Inline:
    """Converts markdown-it inline children to spans and pulls images out."""

    def __init__(self) -> None:
        self.spans: list[Span] = []
        self.images: list[Image] = []
        #: how deep inside each emphasis the text is (bold, italic, strike)
        self.depth: Counter[str] = Counter()
        self.href: str | None = None

    def feed(self, tokens: list[Token]) -> None:
        for t in tokens:
            emphasis = _EMPHASIS_TOKENS.get(t.type)
            if emphasis:
                self.depth[emphasis[0]] += emphasis[1]
            else:
                getattr(self, f"_{t.type}", self._other)(t)

    def _text(self, t: Token) -> None:
        self._add(t.content)

    def _softbreak(self, t: Token) -> None:
        self._add(" ")

    def _hardbreak(self, t: Token) -> None:
        self.spans.append(Span("\n"))

    def _link_open(self, t: Token) -> None:
        self.href = str(t.attrs.get("href", "")) or None

    def _link_close(self, t: Token) -> None:
        self.href = None

    def _footnote_ref(self, t: Token) -> None:
        number = int(t.meta.get("id", 0)) + 1
        self.spans.append(Span(f"[{number}]", note=number))

    def _code_inline(self, t: Token) -> None:
        self.spans.append(Span(t.content, code=True, href=self.href))

    def _html_inline(self, t: Token) -> None:
        self._html(t.content)

    def _image(self, t: Token) -> None:
        alt = "".join(c.content for c in (t.children or []))
        caption = str(t.attrs.get("title") or "")
        self.images.append(Image(alt=alt, src=str(t.attrs.get("src", "")), caption=caption))

    def _other(self, t: Token) -> None:
        """A token without words of its own."""

    def _html(self, raw: str) -> None:
        """Inline HTML: <br>, <a href>, <em>/<i>, <strong>/<b>, <s>/<del> and <img> keep
        their meaning; other tags are dropped (their text arrives as text tokens)."""
        m = _HTML_TAG.match(raw.strip())
        if not m:
            return
        closing, name = m.group(1) == "/", m.group(2).lower()
        if name in _EMPHASIS_TAGS:
            emphasis = _EMPHASIS_TAGS[name]
            self.depth[emphasis] = max(0, self.depth[emphasis] + (-1 if closing else 1))
        elif name == "br":
            self.spans.append(Span("\n"))
        elif name == "a":
            href = _HREF.search(m.group(3)) if not closing else None
            self.href = (
                html.unescape(next(g for g in href.groups() if g is not None)) if href else None
            )
        elif name == "img" and not closing:
            from .html import html_blocks  # (lxml and the extractor: only when needed)

            self.images.extend(b for b in html_blocks(raw, []) if isinstance(b, Image))

    def _add(self, text: str) -> None:
        if text:
            on = {k for k, n in self.depth.items() if n > 0}
            span = Span(
                text,
                bold="bold" in on,
                italic="italic" in on,
                strike="strike" in on,
                href=self.href,
            )
            append_span(self.spans, span)

    def result(self) -> Inline:
        return trim_spans(self.spans)


def _inline(token: Token) -> tuple[Inline, list[Image]]:
    conv = _Inline()
    conv.feed(token.children or [])
    return conv.result(), conv.images


def _cta_from(spans: Inline) -> CallToAction | Paragraph | None:
    text = plain(spans).strip()
    for marker in CTA_MARKERS:
        if text.startswith(marker):
            href = next((s.href for s in spans if s.href), "") or ""
            return marked_line(text[len(marker) :], href)
    return None


def _split_break(spans: Inline) -> tuple[Inline, Inline]:
    """A list item's first paragraph: text before the first hard break, and after it."""
    for i, s in enumerate(spans):
        if s.is_break:
            return spans[:i], spans[i + 1 :]
    return spans, ()


class _Walker:
    def __init__(self, tokens: list[Token], notes: list[str], offset: int = 0) -> None:
        self.tokens = tokens
        self.pos = 0
        self.notes = notes
        self.offset = offset
        #: the file line each top-level block starts on, by id(block)
        self.lines: dict[int, int] = {}

    def blocks(self, until: str | None = None) -> list[Block]:
        out: list[Block] = []
        raw_html: list[str] = []
        raw_line = 0
        while self.pos < len(self.tokens):
            t = self.tokens[self.pos]
            if t.type == "html_block":
                raw_line = raw_line or self._line(t)
                raw_html.append(t.content)
                self.pos += 1
                continue
            if raw_html:
                self._raw_html(raw_html, raw_line, out)
                raw_html, raw_line = [], 0
            if until and t.type == until:
                self.pos += 1
                return out
            self.pos += 1
            first = len(out)
            self._block(t, out)
            for b in out[first:]:
                self.lines[id(b)] = self._line(t)
        if raw_html:
            self._raw_html(raw_html, raw_line, out)
        return out

    def _line(self, t: Token) -> int:
        return t.map[0] + 1 + self.offset if t.map else 0

    def _raw_html(self, chunks: list[str], line: int, out: list[Block]) -> None:
        """Raw HTML (cards, galleries, embeds) read by the HTML importer, noted."""
        from .html import html_blocks  # (lxml and the extractor: only when needed)

        raw = "".join(chunks)
        notes: list[str] = []
        blocks = html_blocks(raw, notes)
        where = f"line {line}: " if line else ""
        self.notes.extend(where + n for n in notes)
        if not blocks and raw.strip() and not raw.strip().startswith("<!--"):
            snippet = raw.strip().splitlines()[0][:60]
            self.notes.append(f"{where}dropped raw HTML without text: {snippet}")
        for b in blocks:
            self.lines[id(b)] = line
        out.extend(blocks)

    def _block(self, t: Token, out: list[Block]) -> None:
        if t.type == "heading_open":
            spans, images = _inline(self.tokens[self.pos])
            self.pos += 2
            out.append(Heading(level=int(t.tag[1]), spans=spans))
            out.extend(images)
        elif t.type == "paragraph_open":
            out.extend(self._paragraph())
        elif t.type in ("bullet_list_open", "ordered_list_open"):
            out.append(self._list(t))
        elif t.type == "blockquote_open":
            inner = self.blocks(until="blockquote_close")
            paras = tuple(b.spans if isinstance(b, Paragraph) else (Span(b.text()),) for b in inner)
            out.append(Quote(paragraphs=paras))
        elif t.type in ("fence", "code_block"):
            out.append(Code(code=t.content.rstrip("\n")))
        elif t.type == "hr":
            out.append(Rule())
        elif t.type == "table_open":
            out.append(self._table())
        elif t.type == "footnote_block_open":
            out.append(self._notes())

    def _paragraph(self) -> list[Block]:
        spans, images = _inline(self.tokens[self.pos])
        self.pos += 2  # inline, paragraph_close
        out: list[Block] = []
        if spans:
            cta = _cta_from(spans)
            out.append(cta if cta else Paragraph(spans=spans))
        out.extend(images)
        return out

    def _notes(self) -> Notes:
        """The footnotes' definitions, numbered in the order the text calls them."""
        items: list[tuple[int, Inline]] = []
        while self.pos < len(self.tokens):
            t = self.tokens[self.pos]
            self.pos += 1
            if t.type == "footnote_block_close":
                break
            if t.type == "footnote_open":
                number = int(t.meta.get("id", 0)) + 1
                spans: list[Span] = []
                for b in self.blocks(until="footnote_close"):
                    if spans:
                        spans.append(Span(" "))
                    spans.extend(b.spans if isinstance(b, Paragraph) else (Span(b.text()),))
                items.append((number, trim_spans(spans)))
        return Notes(tuple(items))

    def _table(self) -> Table:
        header: list[Inline] = []
        rows: list[list[Inline]] = []
        in_head = False
        while self.pos < len(self.tokens):
            t = self.tokens[self.pos]
            self.pos += 1
            if t.type == "table_close":
                break
            if t.type in ("thead_open", "thead_close"):
                in_head = t.type == "thead_open"
            elif t.type == "tr_open" and not in_head:
                rows.append([])
            elif t.type == "inline":
                spans, _ = _inline(t)
                (header if in_head else rows[-1]).append(spans)
        return Table(header=tuple(header), rows=tuple(tuple(r) for r in rows))

    def _list(self, opener: Token) -> ListBlock:
        ordered = opener.type == "ordered_list_open"
        start = int(opener.attrs.get("start", 1) or 1) if ordered else 1
        close = opener.type.replace("_open", "_close")
        items: list[ListItem] = []
        while self.pos < len(self.tokens):
            t = self.tokens[self.pos]
            self.pos += 1
            if t.type == close:
                break
            if t.type == "list_item_open":
                inner = self.blocks(until="list_item_close")
                head: Inline = ()
                detail: list[Span] = []
                for i, b in enumerate(inner):
                    if i == 0 and isinstance(b, Paragraph):
                        head, rest = _split_break(b.spans)
                        detail.extend(rest)
                        continue
                    text = (
                        "\n".join("• " + it.text() for it in b.items)
                        if isinstance(b, ListBlock)
                        else b.text()
                    )
                    if detail:
                        detail.append(Span("\n"))
                    detail.extend(b.spans if isinstance(b, Paragraph) else (Span(text),))
                items.append(ListItem(spans=head, detail=tuple(detail)))
        return ListBlock(ordered=ordered, items=tuple(items), start=start)


def parse_markdown(body: str, notes: list[str] | None = None) -> list[Block]:
    """Markdown body to blocks; raw HTML is read by the HTML importer, what it drops is
    reported in ``notes``."""
    notes = notes if notes is not None else []
    return _Walker(_md.parse(body), notes).blocks()


#: the line a video or a social post becomes, so the text around it still reads
EMBED_LABELS = {
    "youtube": LABELS["video"],
    "vimeo": LABELS["video"],
    "instagram": LABELS["instagram"],
    "tweet": LABELS["x"],
    "x": LABELS["x"],
}
_EMBED_URLS = {
    "youtube": "https://www.youtube.com/watch?v={id}",
    "vimeo": "https://vimeo.com/{id}",
    "instagram": "https://www.instagram.com/p/{id}/",
    "tweet": "https://x.com/{user}/status/{id}",
    "x": "https://x.com/{user}/status/{id}",
}
_SHORTCODE = re.compile(
    r"\{\{([<%])\s*(figure|img|image|youtube|vimeo|instagram|tweet|x)\b(.*?)\s*/?\s*[>%]\}\}"
    r"|\{%-?\s*include\s+([\w./-]*(?:image|img|figure|picture|photo)[\w./-]*)\s+(.*?)-?%\}",
    re.S | re.I,
)
_PARAM = re.compile(
    r"""([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([^\s"']+))|"([^"]*)"|(\S+)"""
)


_Params = tuple[dict[str, str], list[str]]


def _params(raw: str) -> _Params:
    named: dict[str, str] = {}
    positional: list[str] = []
    for m in _PARAM.finditer(raw):
        if m.group(1):
            value = next((g for g in m.group(2, 3, 4) if g is not None), "")
            named[m.group(1).lower()] = html.unescape(value.replace('\\"', '"'))
        else:
            positional.append(m.group(5) if m.group(5) is not None else m.group(6))
    return named, positional


def _md_text(text: str) -> str:
    """Words for a Markdown image's alt or title: one line, no Markdown of its own."""
    text = re.sub(r"<[^>]+>|\*\*|__|[*`]", "", " ".join(text.split()))
    return text.replace("[", "(").replace("]", ")").replace('"', "”")


def _embed_line(name: str, raw: str, params: _Params, notes: list[str], line: int) -> str:
    """A video's or a post's shortcode as a linked line ("Watch the video: <URL>")."""
    named, positional = params
    ident = named.get("id") or (positional[0] if positional else "")
    user = named.get("user") or ""
    if not ident or (name in ("tweet", "x") and not user):
        notes.append(f"line {line}: dropped template tag without an id: {raw[:60]}")
        return ""
    url = _EMBED_URLS[name].format(id=ident, user=user)
    notes.append(f"line {line}: {name} shortcode kept as a link: {url}")
    return f"\n\n{EMBED_LABELS[name]}: <{url}>\n\n"


_IMAGE_KEYS = ("src", "url", "file", "image", "path", "link")


def _shortcode(m: re.Match[str], notes: list[str], line: int) -> str:
    """A figure, image or video shortcode (Hugo's, Jekyll's include) as Markdown: an image
    with its alt text and caption, or a linked line for a video or a post."""
    name = (m.group(2) or "image").lower()
    named, positional = _params(m.group(3) if m.group(2) else m.group(5))
    if name in EMBED_LABELS:
        return _embed_line(name, m.group(0), (named, positional), notes, line)
    src = next((named[k] for k in _IMAGE_KEYS if named.get(k)), "")
    src = src or (positional[0] if positional else "")
    if not src:
        notes.append(f"line {line}: dropped template tag without an image: {m.group(0)[:60]}")
        return ""
    caption = named.get("caption") or named.get("description") or ""
    alt = named.get("alt") or named.get("title") or caption
    title = f' "{_md_text(caption)}"' if caption else ""
    return f"\n\n![{_md_text(alt)}](<{src}>{title})\n\n"


def expand_shortcodes(body: str, notes: list[str], offset: int = 0) -> str:
    """Hugo and Jekyll figure, image and video tags as the Markdown they stand for."""

    def one(m: re.Match[str]) -> str:
        return _shortcode(m, notes, offset + body.count("\n", 0, m.start()) + 1)

    return _SHORTCODE.sub(one, body)


_OPEN_BOLD = re.compile(r"^(\s*)\*\*(?=\S)([^*\n]*\S)[ \t]*\n(\s*)\*\*(?=\S)([^*\n]*)$", re.M)


def close_bold_lines(body: str) -> str:
    """A bold line whose closing ``**`` went to the start of the next line (a FAQ's
    question: "**Oil or Latex?" then "**Short answer…") ends its emphasis on its own line."""
    return _OPEN_BOLD.sub(r"\1**\2**\\\n\3\4", body)


def strip_template_tags(body: str, notes: list[str]) -> str:
    """Drop a static-site generator's tags (Liquid, Hugo shortcodes), reporting each."""
    for tag in _TEMPLATE_TAG.findall(body):
        notes.append(f"dropped template tag: {tag[:60]}")
    return _TEMPLATE_TAG.sub("", body)


_KEEP = {
    "title",
    "subtitle",
    "description",
    "excerpt",
    "summary",
    "date",
    "tags",
    "author",
    "url",
    "canonical_url",
    "canonicalURL",
    "categories",
    "lang",  # Hugo's and Jekyll's
}


def _first(meta: dict[str, object], *keys: str) -> str:
    """The first of ``keys`` the front matter sets, as text ("" for none)."""
    return str(next((meta[k] for k in keys if meta.get(k)), ""))


def _tags(meta: dict[str, object]) -> list[str]:
    tags = meta.get("tags") or meta.get("categories") or []
    if isinstance(tags, str):
        tags = [t.strip() for t in re.split(r"[,\s]+", tags) if t.strip()]
    return [str(t) for t in tags] if isinstance(tags, list) else []


def _fields(meta: dict[str, object], notes: list[str]) -> tuple[dict[str, object], ...]:
    """(our issue format's fields, the generator's other fields set aside, each noted)."""
    # an issue file (or a post written in our issue format) keeps its cta, series, parts...
    # but a generator's own `series` taxonomy (Hugo, Jekyll: a name or a list of names) or
    # `source` text is not ours: those are set aside like any other field
    own = {
        k: v
        for k, v in meta.items()
        if k not in _KEEP
        and k in ISSUE_FIELDS
        and (k not in ("series", "source") or isinstance(v, dict))
    }
    extra = {k: v for k, v in meta.items() if k not in _KEEP and k not in own}
    for key in extra:
        notes.append(f"set aside front matter field '{key}' (kept under 'source:')")
    return own, extra


def import_markdown(text: str, source: str) -> Article:
    """A Markdown post, with or without a static-site generator's front matter."""
    front = read_front_matter(text, source, lenient=True)
    meta = front.data
    body = "".join(text.splitlines(keepends=True)[front.body_line :])
    notes: list[str] = list(front.notes)
    body = close_bold_lines(expand_shortcodes(body, notes, front.body_line))
    walker = _Walker(_md.parse(strip_template_tags(body, notes)), notes, front.body_line)
    blocks = walker.blocks()

    def where(b: Block) -> str:
        line = walker.lines.get(id(b))
        return f"line {line}: " if line else ""

    title, blocks = cut_at_title(blocks, _first(meta, "title").strip(), where, notes)
    language = normalise(meta.get("language") or meta.get("lang")) or ""
    blocks = localise(sign_off(drop_tail(blocks, where, notes)), language)
    own, extra = _fields(meta, notes)
    return Article(
        title=title,
        subtitle=_first(meta, "subtitle", "description", "excerpt", "summary"),
        author=_first(meta, "author"),
        url=_first(meta, "url", "canonical_url", "canonicalURL"),
        date=date_text(meta.get("date"), source, front.lines.get("date")),
        tags=_tags(meta),
        blocks=blocks,
        notes=notes,
        extra=extra,
        issue_fields=own,
        issue_lines=front.lines,
        language=language,
    )
