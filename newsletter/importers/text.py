"""Plain text copied from a web page (select all, copy, paste) to blocks.

What a copied blog page looks like: the title on the first line, paragraphs separated
by blank lines, section headings as short lines without end punctuation (or ending in
"?"), bullets as "•", "-" or "*", numbered steps ("1. Check the story…") followed by the
paragraph that explains them, call-to-action lines ("👉 …", "Reach out…"), lines that
only describe a photo (what is left of an image's alt text), and the page's navigation
at the end ("Next", "Previous", the title of the next post).
"""

from __future__ import annotations

import re

from ..blocks import (
    Article,
    Block,
    Heading,
    Image,
    ListBlock,
    ListItem,
    Paragraph,
    marked_line,
    spans_of,
)
from .clutter import is_contact_line, is_head_clutter, is_tail_clutter, looks_like_name, sign_off

_BULLET = re.compile(r"^\s*(?:[•●▪◦‣∙·]|[-*+](?=\s))\s*")
_NUMBERED = re.compile(r"^\s*(\d{1,3})[.)]\s+(\S.*)$")
_CTA_START = re.compile(
    r"^\s*(?:👉|➡️|➡|→|▶)\s*|^(?:reach out|schedule|book (?:a|your)|call us|contact us|"
    r"get in touch|sign up|register|subscribe|download|claim your)\b",
    re.I,
)
_CTA_ARROW = re.compile(r"^\s*(?:👉|➡️|➡|→|▶)\s*")
_CHROME = re.compile(
    r"^(?:next|previous|prev|older|newer|next post|previous post|older posts?|newer posts?|"
    r"share|share this(?: post| article)?:?|tweet|pin it|email|print|leave a comment|"
    r"leave a reply|\d+ comments?|comments|read more|back to (?:top|blog)|"
    r"posted (?:on|in|by) .*|published (?:on|in) .*|filed under .*|tags?:.*|categories:.*|"
    r"like this:?|like loading\.*|related posts?:?|← .*|.* →|« .*|.* »)$",
    re.I,
)
_PHOTO_WORDS = re.compile(
    r"\b(symboli[sz]ing|highlighting|representing|depicting|illustrating|evoking|conveying|"
    r"capturing|showing|stock photo|photo of|image of|picture of|illustration of|viewed from)\b",
    re.I,
)
_PERSONAL = re.compile(
    r"\b(i|i'm|i’m|i've|i’ve|me|my|we|we're|we’re|us|our|you|you're|"
    r"you’re|your|yours)\b",
    re.I,
)
_FINITE = re.compile(
    r"\b(is|are|was|were|has|have|had|will|would|can|could|do|does|did|"
    r"should|must|may|might)\b",
    re.I,
)
_MINOR = {
    "a",
    "an",
    "the",
    "and",
    "or",
    "but",
    "for",
    "nor",
    "of",
    "in",
    "on",
    "at",
    "to",
    "by",
    "with",
    "as",
    "from",
    "into",
    "is",
    "are",
    "be",
    "vs",
    "via",
    "if",
    "so",
    "it",
}
_END_PUNCT = (".", "!", ",", ";", ":", "…", '"', "”")


#: characters that print nothing: a line of only these is a blank line
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None) | {0xA0: " "}


def _paragraphs(text: str) -> list[tuple[int, list[str]]]:
    """Blank-line separated paragraphs as (first line number, lines); a list that follows
    a line without a blank line between starts a paragraph of its own, and so does each
    numbered step."""
    out: list[tuple[int, list[str]]] = []
    current: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.translate(_INVISIBLE).strip()
        starts_item = bool(_NUMBERED.match(line)) or (
            bool(_BULLET.match(line)) and bool(current) and not _BULLET.match(current[0])
        )
        if current and (not line or starts_item):
            out.append((start, current))
            current = []
        if line:
            if not current:
                start = number
            current.append(line)
    if current:
        out.append((start, current))
    return out


def _title_index(paras: list[tuple[int, list[str]]]) -> int:
    """The paragraph that is the title of a copied page: the first line that is not page
    chrome (top of page, author, date, reading time, a photo's description, a location
    picker), or the first paragraph when there is no better candidate."""
    for i, (_, lines) in enumerate(paras[:15]):
        line = " ".join(lines)
        if _chrome_para(lines):
            continue
        if len(lines) > 1:
            return 0
        if len(line.split()) < 3 or looks_like_photo(line, after_heading=False):
            continue
        if looks_like_name(line) and _near_clutter(paras, i):
            continue
        if line.endswith((".", "!")) and len(line.split()) > 20:
            return 0  # the prose has begun: no title line
        return i
    return 0


def _chrome_para(lines: list[str]) -> bool:
    """Page chrome: every line is, or a place name among addresses (a location picker)."""
    return any(is_head_clutter(ln) for ln in lines) and all(
        is_head_clutter(ln) or (len(lines) > 1 and len(ln.split()) <= 3) for ln in lines
    )


def _near_clutter(paras: list[tuple[int, list[str]]], i: int) -> bool:
    near = [paras[j][1] for j in (i - 1, i + 1) if 0 <= j < len(paras)]
    return any(_chrome_para(lines) for lines in near)


def _head_chrome(paras: list[tuple[int, list[str]]]) -> int:
    """How many paragraphs after the title are still page chrome ("Updated: Jun 2")."""
    n = 0
    while n < len(paras) and n < 6:
        lines = paras[n][1]
        line = " ".join(lines)
        name = len(lines) == 1 and looks_like_name(line) and _near_clutter(paras, n)
        if not (name or _chrome_para(lines)):
            break
        n += 1
    return n


def _title_case_ratio(line: str) -> float:
    ws = [w for w in re.findall(r"[A-Za-z][\w’'-]*", line) if w.lower() not in _MINOR]
    if not ws:
        return 0.0
    return sum(1 for w in ws if w[0].isupper()) / len(ws)


def looks_like_heading(line: str) -> bool:
    words = line.split()
    if not words or len(words) > 16 or len(line) > 110:
        return False
    if _BULLET.match(line) or _NUMBERED.match(line) or _CTA_ARROW.match(line):
        return False
    if line.endswith("?"):
        return _title_case_ratio(line) >= 0.6
    return not line.endswith(_END_PUNCT)


def looks_like_photo(line: str, after_heading: bool) -> bool:
    """A line that only describes a photo: third person, one sentence, descriptive."""
    if _PERSONAL.search(line) or len(line.split()) < 6:
        return False
    if _BULLET.match(line) or _NUMBERED.match(line) or _CTA_ARROW.match(line):
        return False
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", line) if s]
    score = 2 if _PHOTO_WORDS.search(line) else 0
    score += 1 if after_heading else 0
    score += 1 if len(sentences) == 1 else 0
    score += 1 if any(w.endswith("ing") for w in line.split()[1:5]) else 0
    score += 0 if _FINITE.search(line) else 1
    return score >= 4


def is_cta(line: str) -> bool:
    """An arrow line, or a short line that starts with an invitation ("Reach out…")."""
    return bool(_CTA_ARROW.match(line)) or (
        bool(_CTA_START.match(line)) and len(line.split()) <= 20
    )


def _is_topic(lines: list[str]) -> bool:
    return all(
        len(ln.split()) <= 3
        and ln[:1].isupper()
        and not ln.endswith(_END_PUNCT)
        and not is_contact_line(ln)
        for ln in lines
    )


def _chrome_tail(paras: list[tuple[int, list[str]]]) -> int:
    """Index of the first paragraph of the page navigation at the end (len if none)."""
    lines = [(pi, line) for pi, (_, ls) in enumerate(paras) for line in ls]
    tail_start = len(paras)
    # Look back from the end: navigation words, with at most three post titles between.
    gap = 0
    for back in range(1, min(16, len(lines)) + 1):
        pi, line = lines[-back]
        if _CHROME.match(line) or is_tail_clutter(line):
            tail_start = min(tail_start, pi)
            gap = 0
        else:
            gap += 1
            if gap > 3:
                break
    # Topic links just before ("Bookkeeping", "Small Business"): short lines, two or more.
    start = tail_start
    while start > 0 and _is_topic(paras[start - 1][1]):
        start -= 1
    if tail_start - start >= 2:
        tail_start = start
    if tail_start < len(paras):
        after = [line for pi, line in lines if pi >= tail_start]
        if any(len(line.split()) > 20 for line in after):
            return len(paras)
    return tail_start


def import_text(text: str, source: str) -> Article:
    paras = _paragraphs(text.replace("\r\n", "\n").replace("\r", "\n"))
    notes: list[str] = []
    if not paras:
        return Article(title="", blocks=[], notes=notes)
    index = _title_index(paras)
    title = " ".join(paras[index][1])
    after = paras[index + 1 :]
    skip = _head_chrome(after)
    for line_no, lines in paras[:index] + after[:skip]:
        where = "before" if line_no < paras[index][0] else "after"
        for k, line in enumerate(lines):
            notes.append(f"line {line_no + k}: dropped page chrome {where} the title: {line!r}")
    paras = after[skip:]
    tail = _chrome_tail(paras)
    for line_no, lines in paras[tail:]:
        for k, line in enumerate(lines):
            notes.append(f"line {line_no + k}: dropped page navigation: {line!r}")
    paras = paras[:tail]

    blocks: list[Block] = []
    for index, (line_no, lines) in enumerate(paras):
        prev = blocks[-1] if blocks else None
        has_next = index + 1 < len(paras)
        first = lines[0]
        if all(_CHROME.match(line) and len(line.split()) <= 10 for line in lines):
            for k, line in enumerate(lines):
                notes.append(f"line {line_no + k}: dropped page chrome: {line!r}")
            continue
        if len(lines) == 1 and has_next and looks_like_heading(first):
            blocks.append(Heading(level=2, spans=spans_of(first)))
            continue
        if (
            len(lines) > 1
            and looks_like_heading(first)
            and _title_case_ratio(first) >= 0.6
            and not _BULLET.match(lines[1])
            and not is_contact_line(first)
        ):
            # a heading copied without a blank line before its first paragraph
            blocks.append(Heading(level=2, spans=spans_of(first)))
            lines = lines[1:]
            line_no += 1
            first = lines[0]
        if len(lines) == 1 and looks_like_photo(first, isinstance(prev, Heading)):
            blocks.append(Image(alt=first))
            notes.append(f"line {line_no}: photo description kept as an image's alt text")
            continue
        if all(_BULLET.match(line) for line in lines) or _BULLET.match(first):
            items = _bullets(lines)
            if isinstance(prev, ListBlock) and not prev.ordered:
                blocks[-1] = ListBlock(ordered=False, items=prev.items + items)
            else:
                blocks.append(ListBlock(ordered=False, items=items))
            continue
        numbered = _NUMBERED.match(first)
        if numbered:
            number = int(numbered.group(1))
            item = ListItem(
                spans=spans_of(numbered.group(2)),
                detail=spans_of("\n".join(lines[1:])) if len(lines) > 1 else (),
            )
            if (
                isinstance(prev, ListBlock)
                and prev.ordered
                and number == prev.start + len(prev.items)
            ):
                blocks[-1] = ListBlock(True, prev.items + (item,), prev.start)
            else:
                blocks.append(ListBlock(ordered=True, items=(item,), start=number))
            continue
        if (
            isinstance(prev, ListBlock)
            and prev.ordered
            and not prev.items[-1].detail
            and all(item.detail for item in prev.items[:-1])
            and not looks_like_heading(first)
            and not is_cta(first)
            and not lines[-1].endswith(":")
        ):
            # "3. Step title" then its explanation as a separate paragraph
            last = prev.items[-1]
            detail = spans_of("\n".join(lines))
            blocks[-1] = ListBlock(
                True, prev.items[:-1] + (ListItem(last.spans, detail),), prev.start
            )
            continue
        if all(is_cta(line) for line in lines):
            for line in lines:
                # the series' rule: an arrow line of encouragement is a paragraph
                blocks.append(marked_line(_CTA_ARROW.sub("", line)))
            continue
        blocks.append(Paragraph(spans=spans_of("\n".join(lines))))
    return Article(title=title, blocks=sign_off(blocks), notes=notes)


def _bullets(lines: list[str]) -> tuple[ListItem, ...]:
    items: list[list[str]] = []
    for line in lines:
        if _BULLET.match(line) or not items:
            items.append([_BULLET.sub("", line, count=1)])
        else:
            items[-1].append(line)
    return tuple(ListItem(spans=spans_of(" ".join(i))) for i in items)
