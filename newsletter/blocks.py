"""The block model every stage shares: article -> blocks -> series -> rendered parts.

Blocks are small frozen dataclasses. Inline text is a tuple of ``Span``; a span carries
its own emphasis and link, so a paragraph is flat and easy to render to HTML, plain text
or Markdown, and easy to count words in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

_WORD = re.compile(r"[\w’'][\w’'\-]*", re.UNICODE)


@dataclass(frozen=True)
class Span:
    """A run of inline text. ``text == "\\n"`` is a hard line break."""

    text: str
    bold: bool = False
    italic: bool = False
    code: bool = False
    href: str | None = None

    @property
    def is_break(self) -> bool:
        return self.text == "\n"


Inline = tuple[Span, ...]


def append_span(spans: list[Span], span: Span) -> None:
    """Add ``span``, merged into the previous one when they look the same."""
    if spans and not spans[-1].is_break and not span.is_break:
        last = spans[-1]
        if (last.bold, last.italic, last.code, last.href) == (
            span.bold,
            span.italic,
            span.code,
            span.href,
        ):
            spans[-1] = replace(last, text=last.text + span.text)
            return
    spans.append(span)


def trim_spans(spans: list[Span]) -> Inline:
    """Without leading and trailing blanks and line breaks."""
    out = list(spans)
    while out and (out[0].is_break or not out[0].text.strip()):
        out.pop(0)
    while out and (out[-1].is_break or not out[-1].text.strip()):
        out.pop()
    if out:
        out[0] = replace(out[0], text=out[0].text.lstrip())
        out[-1] = replace(out[-1], text=out[-1].text.rstrip())
    return tuple(out)


def plain(spans: Iterable[Span]) -> str:
    """The visible text of inline spans (line breaks become newlines)."""
    return "".join(s.text for s in spans)


def spans_of(text: str) -> Inline:
    """Inline content for plain text (newlines become hard breaks)."""
    out: list[Span] = []
    for i, line in enumerate(text.split("\n")):
        if i:
            out.append(Span("\n"))
        if line:
            out.append(Span(line))
    return tuple(out)


def words(text: str) -> list[str]:
    return _WORD.findall(text)


@dataclass(frozen=True)
class Block:
    kind = "block"

    def text(self) -> str:
        """All the words a reader sees in this block, as plain text."""
        raise NotImplementedError

    def word_count(self) -> int:
        return len(words(self.text()))


@dataclass(frozen=True)
class Heading(Block):
    level: int
    spans: Inline
    kind = "heading"

    def text(self) -> str:
        return plain(self.spans)


@dataclass(frozen=True)
class Paragraph(Block):
    spans: Inline
    kind = "paragraph"

    def text(self) -> str:
        return plain(self.spans)


@dataclass(frozen=True)
class ListItem:
    """One item; ``detail`` is the explanation under a numbered step, if any."""

    spans: Inline
    detail: Inline = ()

    def text(self) -> str:
        return " ".join(t for t in (plain(self.spans), plain(self.detail)) if t)


@dataclass(frozen=True)
class ListBlock(Block):
    ordered: bool
    items: tuple[ListItem, ...]
    start: int = 1
    kind = "list"

    def text(self) -> str:
        return "\n".join(item.text() for item in self.items)


@dataclass(frozen=True)
class Image(Block):
    """An image. ``src`` is empty when only its description survived (copied text);
    ``width`` is the image's own width in pixels when the page gave it (a small image,
    such as an author's photo, is not stretched to the column)."""

    alt: str
    src: str = ""
    caption: str = ""
    width: int | None = None
    kind = "image"

    def text(self) -> str:
        return " ".join(t for t in (self.alt, self.caption) if t)


@dataclass(frozen=True)
class Quote(Block):
    paragraphs: tuple[Inline, ...]
    kind = "quote"

    def text(self) -> str:
        return "\n".join(plain(p) for p in self.paragraphs)


@dataclass(frozen=True)
class CallToAction(Block):
    """A line that asks the reader to act (a button when it has a URL)."""

    label: str
    url: str = ""
    kind = "cta"

    def text(self) -> str:
        return self.label


@dataclass(frozen=True)
class Code(Block):
    code: str
    kind = "code"

    def text(self) -> str:
        return self.code


@dataclass(frozen=True)
class Rule(Block):
    kind = "rule"

    def text(self) -> str:
        return ""


@dataclass
class Article:
    """An imported article: metadata plus body blocks."""

    title: str
    blocks: list[Block]
    subtitle: str = ""
    author: str = ""
    url: str = ""
    date: str = ""
    tags: list[str] = field(default_factory=list)
    #: what the importer set aside or dropped, one line each (shown to the editor)
    notes: list[str] = field(default_factory=list)
    #: front matter of the source that does not fit ours, kept for the editor
    extra: dict[str, object] = field(default_factory=dict)

    def word_count(self) -> int:
        return sum(b.word_count() for b in self.blocks)

    def body_words(self) -> list[str]:
        return [w for b in self.blocks for w in words(b.text())]
