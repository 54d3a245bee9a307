"""The block model every stage shares: article -> blocks -> series -> rendered parts.

Blocks are small frozen dataclasses, and each block type is the one place that knows
everything about itself: its words (``text``), its links (``links``), the template that
makes it HTML (``template``), and how it is written as plain text (``to_text``) and as
Markdown (``to_markdown``). These are abstract on :class:`Block`, so a new type that
forgets one cannot be created (and ``tests/test_blocks.py`` walks every type).
"""

from __future__ import annotations

import html
import re
import textwrap
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar

from .inline import (
    WIDTH,
    Inline,
    Span,
    append_span,
    escape_markdown,
    indent_markdown,
    inline_markdown,
    inline_text,
    plain,
    span_links,
    spans_of,
    trim_spans,
    wrap,
)

__all__ = [
    "Article",
    "Block",
    "CallToAction",
    "Code",
    "Heading",
    "Image",
    "Inline",
    "ListBlock",
    "ListItem",
    "Notes",
    "Paragraph",
    "Quote",
    "Rule",
    "Span",
    "Table",
    "append_span",
    "asks_to_act",
    "block_types",
    "cited_notes",
    "plain",
    "same_words",
    "spans_of",
    "trim_spans",
    "words",
]

_WORD = re.compile(r"[\w’'][\w’'\-]*", re.UNICODE)


def words(text: str) -> list[str]:
    return _WORD.findall(text)


@dataclass(frozen=True)
class Block(ABC):
    #: the name of the type, as the templates and the issue file know it
    kind: ClassVar[str] = "block"

    @property
    def template(self) -> str:
        """The Jinja template (under templates/) that turns this block into MJML."""
        return f"components/{self.kind}.mjml.j2"

    @abstractmethod
    def text(self) -> str:
        """All the words a reader sees in this block, as plain text (what is counted)."""

    @abstractmethod
    def links(self) -> list[str]:
        """Every link the block asks the reader to follow."""

    @abstractmethod
    def to_text(self) -> str:
        """The block in the plain-text part of an email ("" when it shows nothing)."""

    @abstractmethod
    def to_markdown(self) -> str:
        """The block in an issue file."""

    def word_count(self) -> int:
        return len(words(self.text()))


def block_types() -> list[type[Block]]:
    """Every block type newsletter defines (the ones an article can contain)."""
    found: list[type[Block]] = []
    todo = list(Block.__subclasses__())
    while todo:
        cls = todo.pop(0)
        if cls.__module__.startswith("newsletter."):
            found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


@dataclass(frozen=True)
class Heading(Block):
    level: int
    spans: Inline
    #: repeated at the top of a part that starts inside this heading's section
    continued: bool = False
    kind = "heading"

    def text(self) -> str:
        return plain(self.spans)

    def links(self) -> list[str]:
        return span_links(self.spans)

    def to_text(self) -> str:
        title = inline_text(self.spans).replace("\n", " ") + (
            " (continued)" if self.continued else ""
        )
        return wrap(title) + "\n" + ("=" if self.level <= 2 else "-") * min(len(title), WIDTH)

    def to_markdown(self) -> str:
        return "#" * self.level + " " + inline_markdown(self.spans).replace("\\\n", " ")


@dataclass(frozen=True)
class Paragraph(Block):
    spans: Inline
    kind = "paragraph"

    def text(self) -> str:
        return plain(self.spans)

    def links(self) -> list[str]:
        return span_links(self.spans)

    def to_text(self) -> str:
        return wrap(inline_text(self.spans))

    def to_markdown(self) -> str:
        return inline_markdown(self.spans)


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

    def links(self) -> list[str]:
        return [h for item in self.items for h in span_links(item.spans + item.detail)]

    def _markers(self) -> list[tuple[str, ListItem]]:
        return [
            (f"{n}. " if self.ordered else "", item)
            for n, item in enumerate(self.items, start=self.start)
        ]

    def to_text(self) -> str:
        out = []
        for number, item in self._markers():
            marker = number or "* "
            text = inline_text(item.spans)
            if item.detail:
                text += "\n" + inline_text(item.detail)
            out.append(wrap(text, indent=" " * (len(marker) + 2), first="  " + marker))
        return "\n".join(out)

    def to_markdown(self) -> str:
        out = []
        for number, item in self._markers():
            text = inline_markdown(item.spans)
            if item.detail:
                text += "\\\n" + inline_markdown(item.detail)
            out.append(indent_markdown(text, number or "- "))
        return "\n".join(out)


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

    def links(self) -> list[str]:
        return []  # the picture is loaded, not followed

    def to_text(self) -> str:
        if not self.src:
            return ""
        # the caption on a line of its own, as the HTML shows it under the image
        return "\n".join(wrap(t) for t in (f"[Image: {self.alt}]", self.caption) if t)

    def to_markdown(self) -> str:
        if self.width and self.src:
            # Markdown has no width: a small image is written as HTML, read back the same.
            img = (
                f'<img src="{html.escape(self.src)}" alt="{html.escape(self.alt)}" '
                f'width="{self.width}">'
            )
            caption = (
                f"<figcaption>{html.escape(self.caption)}</figcaption>" if self.caption else ""
            )
            return f"<figure>{img}{caption}</figure>"
        title = ' "{}"'.format(self.caption.replace('"', '\\"')) if self.caption else ""
        return f"![{escape_markdown(self.alt)}](<{self.src}>{title})"


@dataclass(frozen=True)
class Quote(Block):
    paragraphs: tuple[Inline, ...]
    kind = "quote"

    def text(self) -> str:
        return "\n".join(plain(p) for p in self.paragraphs)

    def links(self) -> list[str]:
        return [h for p in self.paragraphs for h in span_links(p)]

    def to_text(self) -> str:
        return "\n".join(wrap(inline_text(p), indent="> ", first="> ") for p in self.paragraphs)

    def to_markdown(self) -> str:
        return "\n>\n".join(
            indent_markdown(inline_markdown(p), "> ").replace("\n  ", "\n> ")
            for p in self.paragraphs
        )


_ACTION = re.compile(
    r"^(?:please\s+)?(?:book|call|phone|reach out|get in touch|schedule|sign up|register|"
    r"subscribe|download|get|grab|claim|contact|e-?mail|message|text|write|join|learn|read|"
    r"discover|find out|start|begin|try|request|reserve|apply|enrol|enroll|buy|order|shop|"
    r"visit|click|tap|talk|let[’']s talk|send|follow|watch|listen|take|see|check out|"
    r"explore|donate|register|save|come)\b",
    re.I,
)
#: the same in the other languages the frame speaks (German, French, Spanish, Italian,
#: Dutch, Portuguese): imperatives and the infinitives buttons use
_ACTION_ELSEWHERE = re.compile(
    r"^(?:jetzt\s+|hier\s+|bitte\s+)?(?:vereinbaren|buchen|melden|rufen|schreiben|kontaktieren|"
    r"sichern|holen|laden|lesen|entdecken|starten|fordern|reservieren|abonnieren|"
    r"termin\s+vereinbaren|kostenlos(?:es)?\s+\w+\s+vereinbaren)\b"
    r"|^(?:prenez|prendre|réservez|réserver|contactez|contacter|inscrivez|appelez|écrivez|"
    r"découvrez|téléchargez|demandez|rejoignez|lisez)\b"
    r"|^(?:reserva|pide|llama|escríbe(?:me|nos)|contacta|suscríbete|descarga|descubre|agenda|"
    r"solicita|pedir|reservar)\b"
    r"|^(?:prenota|chiama|scrivi|contatta|iscriviti|scarica|scopri|richiedi|prenotare)\b"
    r"|^(?:boek|plan|maak\s+een\s+afspraak|bel|schrijf|neem\s+contact|meld\s+je|ontdek|"
    r"vraag|download)\b"
    r"|^(?:agende|marque|ligue|escreva|entre\s+em\s+contato|inscreva-se|baixe|descubra|"
    r"fale|agendar)\b",
    re.I,
)
_MARKER = re.compile(r"^[\W_]+")


def asks_to_act(text: str) -> bool:
    """True when a line asks the reader to do something ("Book a call", "Reach out...",
    "Vereinbaren Sie ein Gespräch", "Prenez rendez-vous"), not merely because it starts
    with an arrow ("👉 You deserve support" does not)."""
    line = _MARKER.sub("", text.strip())
    return bool(_ACTION.match(line) or _ACTION_ELSEWHERE.match(line))


def button_label(text: str) -> str:
    """The words of a line as a button shows them: without its closing full stop
    ("Reach out today to schedule a consultation." -> "... consultation")."""
    return text.strip().rstrip(".!:;, ").rstrip() or text.strip()


def same_words(a: str, b: str, *, prefix: bool = False) -> bool:
    """The same words, whatever the case, punctuation and emoji around them (``prefix``:
    ``a`` starts with the words of ``b``)."""
    wa, wb = words(a.lower()), words(b.lower())
    return wa[: len(wb)] == wb if prefix and wb else wa == wb


#: the arrows an author writes before a line that is a call to action ("👉 Book a session")
CTA_MARKERS = ("👉", "➡️", "➡", "→")


@dataclass(frozen=True)
class CallToAction(Block):
    """A line that asks the reader to act: a link when it has a URL, and the part's
    button, where it stands, when it is ``main`` (the same words as the issue's CTA)."""

    label: str
    url: str = ""
    main: bool = False
    kind = "cta"

    @property
    def button_label(self) -> str:
        return button_label(self.label)

    def text(self) -> str:
        return self.label

    def links(self) -> list[str]:
        return [self.url] if self.url else []

    def to_text(self) -> str:
        if not self.url:
            return wrap(f"-> {self.label}")
        return wrap(f"-> {self.button_label}: {self.url}")

    def to_markdown(self) -> str:
        label = escape_markdown(self.label)
        return f"👉 [{label}](<{self.url}>)" if self.url else f"👉 {label}"


def marked_line(label: str, url: str = "") -> CallToAction | Paragraph:
    """A line the author marked as a call to action (an arrow, a button): one when it asks
    the reader to act, else a paragraph with its link ("👉 You deserve support")."""
    label = label.strip()
    if asks_to_act(label):
        return CallToAction(label, url)
    return Paragraph((Span(label, href=url or None),))


@dataclass(frozen=True)
class Code(Block):
    code: str
    kind = "code"

    def text(self) -> str:
        return self.code

    def links(self) -> list[str]:
        return []

    def to_text(self) -> str:
        return textwrap.indent(self.code, "    ")

    def to_markdown(self) -> str:
        return "```\n" + self.code + "\n```"


@dataclass(frozen=True)
class Notes(Block):
    """Numbered footnotes (Markdown's ``[^1]``): the article's all at its end; each part
    of a series shows, at its end, the notes its text calls."""

    items: tuple[tuple[int, Inline], ...]
    kind = "notes"

    def text(self) -> str:
        return "\n".join(f"[{n}] {plain(spans)}" for n, spans in self.items)

    def links(self) -> list[str]:
        return [h for _, spans in self.items for h in span_links(spans)]

    def to_text(self) -> str:
        return "\n".join(
            wrap(f"[{n}] {inline_text(spans)}", indent="    ") for n, spans in self.items
        )

    def to_markdown(self) -> str:
        return "\n".join(f"[^{n}]: {inline_markdown(spans)}" for n, spans in self.items)

    def only(self, numbers: set[int]) -> Notes | None:
        """The notes whose numbers are in ``numbers`` (None when there are none)."""
        kept = tuple((n, s) for n, s in self.items if n in numbers)
        return Notes(kept) if kept else None


def cited_notes(block: Block) -> set[int]:
    """The numbers of the footnotes a block calls."""
    spans: list[Span] = []
    for name in ("spans", "detail"):
        spans.extend(getattr(block, name, ()))
    for item in getattr(block, "items", ()):
        if isinstance(item, ListItem):
            spans.extend(item.spans + item.detail)
    for p in getattr(block, "paragraphs", ()):
        spans.extend(p)
    if isinstance(block, Table):
        spans.extend(s for row in (block.header, *block.rows) for c in row for s in c)
    return {s.note for s in spans if s.note}


@dataclass(frozen=True)
class Table(Block):
    """A table (a Markdown or an HTML one). A phone has room for two or three short
    columns: a wider table is shown as one card per row, each cell under its column's
    name, in HTML and in the text part alike."""

    header: tuple[Inline, ...]
    rows: tuple[tuple[Inline, ...], ...]
    kind = "table"

    #: at most this many columns, each cell at most CELL_WORDS words, stay a grid
    GRID_COLUMNS: ClassVar[int] = 3
    CELL_WORDS: ClassVar[int] = 6

    def text(self) -> str:
        return "\n".join(
            " ".join(plain(c) for c in row)
            for row in ((self.header,) if self.header else ()) + self.rows
        )

    def links(self) -> list[str]:
        return [h for row in (self.header, *self.rows) for c in row for h in span_links(c)]

    @property
    def as_cards(self) -> bool:
        """Whether each row is shown as a card (the table is too wide for a phone)."""
        width = max([len(self.header)] + [len(r) for r in self.rows])
        longest = max((len(words(plain(c))) for r in self.rows for c in r), default=0)
        return width > self.GRID_COLUMNS or longest > self.CELL_WORDS

    def cards(self) -> list[list[tuple[Inline, Inline]]]:
        """Each row as (column name, cell) pairs; empty cells left out."""
        out = []
        for row in self.rows:
            pairs = []
            for i, cell in enumerate(row):
                name = self.header[i] if i < len(self.header) else ()
                if plain(cell).strip():
                    pairs.append((name, cell))
            out.append(pairs)
        return out

    def to_text(self) -> str:
        if self.as_cards or not self.header:
            out = []
            for pairs in self.cards():
                lines = [
                    (inline_text(name) + ": " if plain(name).strip() else "") + inline_text(cell)
                    for name, cell in pairs
                ]
                out.append("\n".join(wrap(ln, indent="  ") for ln in lines))
            return "\n\n".join(out)
        rows = [self.header, *self.rows]
        cols = [
            max(len(inline_text(r[i])) if i < len(r) else 0 for r in rows)
            for i in range(len(self.header))
        ]
        lines = []
        for n, row in enumerate(rows):
            cells = [inline_text(row[i]) if i < len(row) else "" for i in range(len(cols))]
            lines.append("  ".join(c.ljust(w) for c, w in zip(cells, cols, strict=True)).rstrip())
            if n == 0:
                lines.append("  ".join("-" * w for w in cols))
        return "\n".join(lines)

    def to_markdown(self) -> str:
        width = max([len(self.header)] + [len(r) for r in self.rows])

        def line(row: tuple[Inline, ...]) -> str:
            cells = [
                inline_markdown(row[i]).replace("|", "\\|") if i < len(row) else ""
                for i in range(width)
            ]
            return "| " + " | ".join(c.replace("\\\n", " ") for c in cells) + " |"

        header = self.header or tuple(() for _ in range(width))
        return "\n".join([line(header), "|" + "---|" * width] + [line(r) for r in self.rows])


@dataclass(frozen=True)
class Rule(Block):
    kind = "rule"

    def text(self) -> str:
        return ""

    def links(self) -> list[str]:
        return []

    def to_text(self) -> str:
        return "* * *"

    def to_markdown(self) -> str:
        return "---"


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
    #: the language the source declares ("de", from the page's lang or the front matter's
    #: language), or the one detected at import; "" when unknown
    language: str = ""
    #: what the importer set aside or dropped, one line each (shown to the editor)
    notes: list[str] = field(default_factory=list)
    #: front matter of the source that does not fit ours, kept for the editor
    extra: dict[str, object] = field(default_factory=dict)
    #: front matter fields of our own issue format (cta, series, parts, list...), kept as
    #: they are, and the source line of each (for error messages)
    issue_fields: dict[str, object] = field(default_factory=dict)
    issue_lines: dict[str, int] = field(default_factory=dict)
    #: what the import kept and dropped, line by line (importers.outline.Row)
    outline: list[object] = field(default_factory=list)

    def word_count(self) -> int:
        return sum(b.word_count() for b in self.blocks)

    def body_words(self) -> list[str]:
        return [w for b in self.blocks for w in words(b.text())]
