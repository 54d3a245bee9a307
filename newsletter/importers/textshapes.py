"""The shapes of a copied page's lines: what is a heading, a bullet, a numbered step, a
call to action, a photo's description, and the page's own lines before and after the
article ("5 min read", "Next post", topic links).
"""

from __future__ import annotations

import re

from .clutter import is_contact_line, is_head_clutter, is_tail_clutter, looks_like_name
from .copied import WEB_ADDRESS, Line

BULLET = re.compile(r"^\s*(?:[•●▪◦‣∙·]|[-*+](?=\s))\s*")
NUMBERED = re.compile(r"^\s*(\d{1,3})[.)]\s+(\S.*)$")
_CTA_START = re.compile(
    r"^\s*(?:👉|➡️|➡|→|▶)\s*|^(?:reach out|schedule|book (?:a|your)|call us|contact us|"
    r"get in touch|sign up|register|subscribe|download|claim your)\b",
    re.I,
)
CTA_ARROW = re.compile(r"^\s*(?:👉|➡️|➡|→|▶)\s*")
CHROME = re.compile(
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
END_PUNCT = (".", "!", ",", ";", ":", "…", '"', "”")
#: characters that print nothing: a line of only these is a blank line
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None) | {0xA0: " "}


def paragraphs(text: str) -> list[tuple[int, list[str]]]:
    """Blank-line separated paragraphs as (first line number, lines); a list that follows
    a line without a blank line between starts a paragraph of its own, and so does each
    numbered step."""
    out: list[tuple[int, list[str]]] = []
    current: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.translate(_INVISIBLE).strip()
        starts_item = bool(NUMBERED.match(line)) or (
            bool(BULLET.match(line)) and bool(current) and not BULLET.match(current[0])
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


def chrome_para(lines: list[str]) -> bool:
    """Page chrome: every line is, or a place name among addresses (a location picker)."""
    return any(is_head_clutter(ln) for ln in lines) and all(
        is_head_clutter(ln) or (len(lines) > 1 and len(ln.split()) <= 3) for ln in lines
    )


def near_clutter(paras: list[tuple[int, list[str]]], i: int) -> bool:
    near = [paras[j][1] for j in (i - 1, i + 1) if 0 <= j < len(paras)]
    return any(chrome_para(lines) for lines in near)


def head_chrome(paras: list[tuple[int, list[str]]]) -> int:
    """How many paragraphs after the title are still page chrome ("Updated: Jun 2")."""
    n = 0
    while n < len(paras) and n < 6:
        lines = paras[n][1]
        line = " ".join(lines)
        name = len(lines) == 1 and looks_like_name(line) and near_clutter(paras, n)
        if not (name or chrome_para(lines)):
            break
        n += 1
    return n


def title_case_ratio(line: str) -> float:
    ws = [w for w in re.findall(r"[A-Za-z][\w’'-]*", line) if w.lower() not in _MINOR]
    if not ws:
        return 0.0
    return sum(1 for w in ws if w[0].isupper()) / len(ws)


#: a quotation alone on a line (a pull quote): “…”, «…», „…“, "…"
QUOTED = re.compile(r"^[\"“”„«»‘’‚‹›「『].*[\"“”«»‘’‹›」』]$")
#: a field and its value ("Price: $499", "Preis: 49 €", "Servings: 4")
_FIELD = re.compile(r"^[^\W\d][\w\s]{0,30}:\s*[$€£¥]?\s?\d[\d.,]*\s*\S{0,3}$")


def never_heading(line: str) -> bool:
    """A line that is never a heading nor a title, however short: a web address, a
    quotation, a field's value ("Price: $499")."""
    return bool(WEB_ADDRESS.match(line) or QUOTED.match(line) or _FIELD.match(line))


def looks_like_heading(line: str) -> bool:
    words = line.split()
    if not words or len(words) > 16 or len(line) > 110:
        return False
    if BULLET.match(line) or NUMBERED.match(line) or CTA_ARROW.match(line):
        return False
    if never_heading(line):
        return False
    if line.endswith("?"):
        return title_case_ratio(line) >= 0.6
    return not line.endswith(END_PUNCT)


def looks_like_photo(line: str, after_heading: bool) -> bool:
    """A line that only describes a photo: third person, one sentence, descriptive."""
    if _PERSONAL.search(line) or len(line.split()) < 6:
        return False
    if BULLET.match(line) or NUMBERED.match(line) or CTA_ARROW.match(line):
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
    return bool(CTA_ARROW.match(line)) or (bool(_CTA_START.match(line)) and len(line.split()) <= 20)


def _is_topic(lines: list[str]) -> bool:
    return all(
        len(ln.split()) <= 3
        and ln[:1].isupper()
        and not ln.endswith(END_PUNCT)
        and not is_contact_line(ln)
        for ln in lines
    )


def chrome_tail(paras: list[tuple[int, list[str]]]) -> int:
    """Index of the first paragraph of the page navigation at the end (len if none)."""
    lines = [(pi, line) for pi, (_, ls) in enumerate(paras) for line in ls]
    tail_start = len(paras)
    # Look back from the end: navigation words, with at most three post titles between.
    gap = 0
    for back in range(1, min(16, len(lines)) + 1):
        pi, line = lines[-back]
        if CHROME.match(line) or is_tail_clutter(line):
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


def clean_lines(text: str) -> list[Line]:
    """The file's non-empty lines, numbered, without invisible characters."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    out = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.translate(_INVISIBLE).strip()
        if line:
            out.append(Line(number, line))
    return out
