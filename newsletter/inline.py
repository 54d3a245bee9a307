"""Inline text: spans, and how they are written as plain text and as Markdown.

A span carries its own emphasis and link, so a paragraph is flat and easy to render to
HTML (``render.inline_html``), plain text or Markdown, and easy to count words in.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass, replace

from .i18n import INVISIBLE, strip_invisible

#: links with any other scheme (javascript:, data:, ...) are never written out
SAFE_SCHEMES = ("http://", "https://", "mailto:")
#: plain text is wrapped at this many columns
WIDTH = 78


@dataclass(frozen=True)
class Span:
    """A run of inline text. ``text == "\\n"`` is a hard line break."""

    text: str
    bold: bool = False
    italic: bool = False
    code: bool = False
    href: str | None = None
    #: the number of the footnote this mark calls ("[1]"), 0 for text
    note: int = 0
    #: struck through (Markdown's ``~~old price~~``, HTML's ``<s>``, ``<del>``)
    strike: bool = False

    def __post_init__(self) -> None:
        # soft hyphens and zero-width spaces from a page never reach a subject, a preheader
        # or the text part: every importer's text comes through here
        if INVISIBLE.search(self.text):
            object.__setattr__(self, "text", strip_invisible(self.text))

    @property
    def is_break(self) -> bool:
        return self.text == "\n"

    @property
    def safe_href(self) -> str | None:
        """The link when it is one a reader may follow (http, https, mailto)."""
        if self.href and self.href.lower().startswith(SAFE_SCHEMES):
            return self.href
        return None


Inline = tuple[Span, ...]


def append_span(spans: list[Span], span: Span) -> None:
    """Add ``span``, merged into the previous one when they look the same."""
    if spans and not spans[-1].is_break and not span.is_break:
        last = spans[-1]
        if not (last.note or span.note) and _looks(last) == _looks(span):
            spans[-1] = replace(last, text=last.text + span.text)
            return
    spans.append(span)


def _looks(s: Span) -> tuple[bool, bool, bool, bool, str | None]:
    return s.bold, s.italic, s.code, s.strike, s.href


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


def span_links(spans: Iterable[Span]) -> list[str]:
    return [s.href for s in spans if s.href]


def _edges(text: str) -> tuple[str, str, str]:
    """``text`` as (leading blanks, core, trailing blanks)."""
    core = text.strip()
    if not core:
        return text, "", ""
    start = text.index(core[0])
    return text[:start], core, text[start + len(core) :]


# --- plain text --------------------------------------------------------------------------


#: where struck-through words open and close while the text part is written
_STRIKE_OPEN, _STRIKE_CLOSE = "\x01", "\x02"
_STRIKE_JOIN = re.compile(f"{_STRIKE_CLOSE}(\\s*){_STRIKE_OPEN}")


def inline_text(spans: Iterable[Span]) -> str:
    """Spans as plain text; a link is written after its words: "memoir (https://...)";
    struck-through words between tildes, as Markdown writes them: "~~$40~~ $30"."""
    out: list[str] = []
    after_link = False
    for s in spans:
        href = s.safe_href
        if s.is_break:
            out.append("\n")
            after_link = False
            continue
        text = s.text
        if after_link and text[:1].isalnum():
            text = " " + text  # "(https://a) Next", never "(https://a)Next"
        lead, core, trail = _edges(text)
        after_link = bool(href and core and href != core and not trail)
        if href and core and href != core:
            core = f"{core} ({href})"
        if s.strike and core:
            core = f"{_STRIKE_OPEN}{core}{_STRIKE_CLOSE}"
        out.append(f"{lead}{core}{trail}" if core else text)
    # one pair of tildes around words struck through together
    joined = _STRIKE_JOIN.sub(r"\1", "".join(out))
    return joined.replace(_STRIKE_OPEN, "~~").replace(_STRIKE_CLOSE, "~~")


def wrap(text: str, indent: str = "", first: str | None = None) -> str:
    """``text`` wrapped at WIDTH columns, each of its lines separately."""
    lines = []
    for i, para in enumerate(text.split("\n")):
        lead = first if first is not None and i == 0 else indent
        wrapped = textwrap.fill(
            para,
            WIDTH,
            initial_indent=lead,
            subsequent_indent=indent,
            break_long_words=False,
            break_on_hyphens=False,
        )
        lines.append(wrapped or lead.rstrip())
    return "\n".join(lines)


# --- Markdown ----------------------------------------------------------------------------

_ESCAPE = re.compile(r"([\\`*_\[\]<>])")
_TILDES = re.compile(r"~{2,}")
_LINE_START = re.compile(r"^(\s*)([#>+\-=|]|\d+(?=[.)]))")


def escape_markdown(text: str) -> str:
    text = _ESCAPE.sub(r"\\\1", text)
    # two tildes strike through; one ("~5 minutes") is left as it is
    text = _TILDES.sub(lambda m: "\\~" * len(m.group()), text)
    return re.sub(r"&(?=#?\w+;)", r"\\&", text)


def _escape_start(m: re.Match[str]) -> str:
    lead, mark = m.group(1), m.group(2)
    # "1." is escaped after the number ("1\."), other markers before them ("\#").
    return lead + (mark + "\\" if mark[0].isdigit() else "\\" + mark)


def _marks(s: Span) -> list[tuple[str, str]]:
    """The markers a span needs open, outermost first: its link, then bold, then italic,
    then strikethrough."""
    out: list[tuple[str, str]] = []
    if s.href:
        out.append(("link", s.href))
    if s.bold:
        out.append(("bold", ""))
    if s.italic:
        out.append(("italic", ""))
    if s.strike:
        out.append(("strike", ""))
    return out


def _open(mark: tuple[str, str]) -> str:
    return {"link": "[", "bold": "**", "italic": "*", "strike": "~~"}[mark[0]]


def _close(mark: tuple[str, str]) -> str:
    return f"](<{mark[1]}>)" if mark[0] == "link" else _open(mark)


def _code(text: str) -> str:
    ticks = "`" * (max((len(r) for r in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def inline_markdown(spans: Iterable[Span]) -> str:
    """Spans as CommonMark that reads back to the same spans: links and emphasis are
    nested (``**bold ending in *italic*.**``), markers never touch inner white space."""
    out: list[str] = []
    stack: list[tuple[str, str]] = []

    def close_to(depth: int) -> None:
        text = "".join(out)
        trail = text[len(text.rstrip(" ")) :]
        if len(stack) > depth and trail:
            out[:] = [text.rstrip(" ")]
        while len(stack) > depth:
            out.append(_close(stack.pop()))
        if trail and len(out) and not out[-1].endswith(trail):
            out.append(trail)

    for s in spans:
        if s.is_break:
            # emphasis closes before a line break: "**Question?**\" then the answer (a
            # marker at the start of the next line would open, not close: "**" shows)
            close_to(0)
            out.append("\\\n")
            continue
        if s.note:
            close_to(0)
            out.append(f"[^{s.note}]")
            continue
        if not s.text.strip() and not s.code:
            out.append(s.text)  # white space takes the markers already open
            continue
        want = _marks(s)
        keep = 0
        while keep < min(len(stack), len(want)) and stack[keep] == want[keep]:
            keep += 1
        close_to(keep)
        lead = s.text[: len(s.text) - len(s.text.lstrip())] if not s.code else ""
        out.append(lead)
        for mark in want[keep:]:
            stack.append(mark)
            out.append(_open(mark))
        if s.code:
            out.append(_code(s.text))
        else:
            core = s.text.strip()
            out.append(escape_markdown(core))
            out.append(s.text[len(s.text.rstrip()) :] if core else "")
    close_to(0)
    lines = "".join(out).split("\n")
    return "\n".join(_LINE_START.sub(_escape_start, ln) for ln in lines)


def indent_markdown(text: str, prefix: str) -> str:
    """``prefix`` before the first line, as many blanks before the others."""
    first, *rest = text.split("\n")
    pad = " " * len(prefix)
    return prefix + first + "".join("\n" + pad + ln for ln in rest)
