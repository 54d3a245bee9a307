"""Inline text: spans, and how they are written as plain text and as Markdown.

A span carries its own emphasis and link, so a paragraph is flat and easy to render to
HTML (``render.inline_html``), plain text or Markdown, and easy to count words in.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass, replace

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


def inline_text(spans: Iterable[Span]) -> str:
    """Spans as plain text; a link is written after its words: "memoir (https://...)"."""
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
            text = f"{lead}{core} ({href}){trail}"
        out.append(text)
    return "".join(out)


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
_LINE_START = re.compile(r"^(\s*)([#>+\-=|]|\d+(?=[.)]))")


def escape_markdown(text: str) -> str:
    text = _ESCAPE.sub(r"\\\1", text)
    return re.sub(r"&(?=#?\w+;)", r"\\&", text)


def _escape_start(m: re.Match[str]) -> str:
    lead, mark = m.group(1), m.group(2)
    # "1." is escaped after the number ("1\."), other markers before them ("\#").
    return lead + (mark + "\\" if mark[0].isdigit() else "\\" + mark)


def inline_markdown(spans: Iterable[Span]) -> str:
    out: list[str] = []
    for s in spans:
        if s.is_break:
            out.append("\\\n")
            continue
        if s.code:
            piece = f"`{s.text}`"
        else:
            lead, core, trail = _edges(s.text)
            piece = escape_markdown(core)
            if core and s.italic:
                piece = f"*{piece}*"
            if core and s.bold:
                piece = f"**{piece}**"
            piece = lead + piece + trail
        if s.href:
            piece = f"[{piece}](<{s.href}>)"
        out.append(piece)
    text = "".join(out)
    lines = text.split("\n")
    return "\n".join(_LINE_START.sub(_escape_start, ln) for ln in lines)


def indent_markdown(text: str, prefix: str) -> str:
    """``prefix`` before the first line, as many blanks before the others."""
    first, *rest = text.split("\n")
    pad = " " * len(prefix)
    return prefix + first + "".join("\n" + pad + ln for ln in rest)
