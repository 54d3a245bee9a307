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
from .copied import Line, Verdict, classify

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


def _clean_lines(text: str) -> list[Line]:
    """The file's non-empty lines, numbered, without invisible characters."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    out = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.translate(_INVISIBLE).strip()
        if line:
            out.append(Line(number, line))
    return out


def _name_words(source: str) -> set[str]:
    """The words of the page's address slug or the file's name ("working-mom-guilt")."""
    stem = re.split(r"[?#]", source.rstrip("/"))[0].rsplit("/", 1)[-1]
    stem = re.sub(r"\.(?:txt|text|html?|md)$", "", stem, flags=re.I)
    return {w for w in re.findall(r"[^\W\d_]+", stem.lower()) if len(w) > 2}


_CRUMB = re.compile(r"[»›>/|–—:-]|\s-\s")


def _repeated(lines: list[Line], i: int) -> bool:
    """Whether the page says line ``i`` again: the same line, or as the last step of a
    breadcrumb or in its <title> ("Home » Tips » Title", "Title | Site")."""
    line = lines[i].text
    for j, other in enumerate(lines):
        t = other.text
        if j == i or line not in t:
            continue
        rest = t.replace(line, "", 1)
        if not rest.strip() or (_CRUMB.search(rest) and len(rest) <= 80):
            return True
    return False


def _title_score(lines: list[Line], i: int, verdict: Verdict, name: set[str], prose: int) -> int:
    """How many signs agree that line ``i`` is the title (-1: it cannot be)."""
    line = lines[i].text
    words_ = line.split()
    if (
        len(words_) < 2
        or len(words_) > 25
        or verdict.reason[i] in ("menu", "page chrome", "consent banner")
        or _chrome_para([line])
        or is_contact_line(line)
        or looks_like_photo(line, after_heading=False)
        or (line.endswith(".") and len(words_) > 12)
        or _is_author(lines, i)
    ):
        return -1
    score = 1 if looks_like_heading(line) or line.endswith("?") else 0
    if _repeated(lines, i):
        score += 2  # the breadcrumb's last step, or the page's <title> repeated
    if name and len(name & set(re.findall(r"\w+", line.lower()))) >= min(2, len(name)):
        score += 3  # the address's slug or the file's name
    if i < prose:
        between = [
            j
            for j in range(i + 1, prose)
            if not (_chrome_para([lines[j].text]) or looks_like_photo(lines[j].text, False))
        ]
        score += 2 if len(between) <= 1 else 1 if len(between) <= 3 else 0  # before the prose
    return score


def _is_author(lines: list[Line], i: int) -> bool:
    """A name the page also gives as a byline ("Written by Priya Raman", "More from …")."""
    line = lines[i].text
    if not looks_like_name(line):
        return False
    by = re.compile(rf"\b(?:by|from|von|par|di|por|door)\s+{re.escape(line)}\b", re.I)
    return any(by.search(ln.text) for ln in lines)


def _first_prose(lines: list[Line], verdict: Verdict) -> int:
    for j in range(verdict.start, verdict.end):
        text = lines[j].text
        if verdict.keep[j] and len(text) >= 70 and not looks_like_photo(text, False):
            return j
    return verdict.start


def _title_line(lines: list[Line], verdict: Verdict, source: str) -> int | None:
    """The title by agreement: a line the page repeats (breadcrumb and heading), the
    line before the first paragraph of prose, the slug of the URL or the file name;
    never a run of menu words."""
    name = _name_words(source)
    prose = _first_prose(lines, verdict)
    lo = max(0, verdict.start - 40)
    hi = min(len(lines), prose + 1)
    best, best_score = None, 0
    for i in range(lo, hi):
        score = _title_score(lines, i, verdict, name, prose)
        if score > best_score or (score == best_score and best is not None and score > 0):
            best, best_score = i, score
    return best


def _closing(line: str) -> bool:
    return (
        len(line.split()) >= 3
        and (line.endswith((".", "!", "?")) or is_cta(line))
        and not is_tail_clutter(line)
        and not is_contact_line(line)
        and not _CHROME.match(line)
    )


def _signature_end(lines: list[Line], end: int) -> int:
    """After the article: a sign-off block (a name, credentials, an address, an e-mail,
    a phone) that belongs to it."""
    while end < len(lines):
        # a closing sentence too short for the classifier ("Reach out today."), or a
        # heading and its one short paragraph
        if _closing(lines[end].text):
            end += 1
        elif (
            end + 1 < len(lines)
            and looks_like_heading(lines[end].text)
            and not is_tail_clutter(lines[end].text)
            and _closing(lines[end + 1].text)
        ):
            end += 2
        else:
            break
    stop = end
    for j in range(end, min(len(lines), end + 6)):
        text = lines[j].text
        if is_contact_line(text) or (looks_like_name(text) and j == stop):
            stop = j + 1
        else:
            break
    return stop if any(is_contact_line(ln.text) for ln in lines[end:stop]) else end


def _select(
    lines: list[Line], source: str, notes: list[str], span: tuple[int, int] | None
) -> tuple[str, list[Line], str]:
    """(title, the article's lines): the rest named in ``notes``, line by line. ``span``:
    the first and last line of the article as the editor gave them (--start, --end)."""
    verdict = classify(lines)
    title_i = _title_line(lines, verdict, source)
    keep = list(verdict.keep)
    end = _signature_end(lines, verdict.end)
    for j in range(verdict.end, end):
        keep[j] = True
    if span:
        for j, ln in enumerate(lines):
            keep[j] = span[0] <= ln.number <= span[1] and j != title_i
            outside = "--start" if ln.number < span[0] else "--end"
            verdict.reason[j] = "" if span[0] <= ln.number <= span[1] else f"by {outside}"
    elif title_i is not None:
        keep[title_i] = False
        # a title inside the stretch: what stands before it is a kicker or a byline
        before = [j for j in range(verdict.start, title_i) if keep[j]]
        if sum(len(lines[j].text.split()) for j in before) <= _PRE_TITLE_WORDS:
            for j in before:
                keep[j] = False
    title = " ".join(lines[title_i].text.split()) if title_i is not None else ""
    kept = [j for j, k in enumerate(keep) if k]
    first, last = (kept[0], kept[-1]) if kept else (len(lines), len(lines))
    body = []
    for j, ln in enumerate(lines):
        if keep[j]:
            body.append(ln)
            continue
        if j == title_i:
            continue
        why = f" ({verdict.reason[j]})" if verdict.reason[j] in _SAY else ""
        if verdict.reason[j].startswith("by --"):
            what, why = verdict.reason[j], ""
        elif j < first:
            what = "page chrome before the title"
        elif j > last:
            what = "page navigation"
        else:
            what = verdict.reason[j] or "boilerplate"
        notes.append(f"line {ln.number}: dropped {what}: {ln.text!r}{why}")
    return title, body, verdict.language


_SAY = {"menu", "repeated from the page", "consent banner"}
_PRE_TITLE_WORDS = 60


def _regroup(lines: list[Line]) -> list[tuple[int, list[str]]]:
    """The kept lines as the file's paragraphs (lines next to each other stay together)."""
    text_lines: list[str] = []
    last = None
    for ln in lines:
        if last is not None and ln.number != last + 1:
            text_lines.append("")
        text_lines.append(ln.text)
        last = ln.number
    paras = _paragraphs("\n".join(text_lines))
    # back to the file's line numbers
    numbers = [ln.number for ln in lines]
    out = []
    k = 0
    for _, para in paras:
        out.append((numbers[k], para))
        k += len(para)
    return out


def import_text(text: str, source: str, span: tuple[int, int] | None = None) -> Article:
    """Copied text to an article; ``span``: the lines the editor says it runs over."""
    notes: list[str] = []
    lines = _clean_lines(text)
    if not lines:
        return Article(title="", blocks=[], notes=notes)
    title, body, language = _select(lines, source, notes, span)
    paras = _regroup(body)
    if not title and paras:
        title, paras = _fallback_title(paras, source, notes)
    if span:
        blocks = _blocks(paras, notes, language)
        return Article(title=title, blocks=sign_off(blocks), notes=notes)
    skip = _head_chrome(paras)
    for line_no, lines_ in paras[:skip]:
        for k, line in enumerate(lines_):
            notes.append(f"line {line_no + k}: dropped page chrome after the title: {line!r}")
    paras = paras[skip:]
    tail = _chrome_tail(paras)
    for line_no, lines_ in paras[tail:]:
        for k, line in enumerate(lines_):
            notes.append(f"line {line_no + k}: dropped page navigation: {line!r}")
    blocks = _blocks(paras[:tail], notes, language)
    return Article(title=title, blocks=sign_off(blocks), notes=notes)


def _fallback_title(
    paras: list[tuple[int, list[str]]], source: str, notes: list[str]
) -> tuple[str, list[tuple[int, list[str]]]]:
    """No line agreed to be the title: the first one that is not page chrome, when it is
    short enough for a subject, else the file's name or the article's first words (said
    in the notes)."""
    index = _title_index(paras)
    line = " ".join(" ".join(paras[index][1]).split())
    if len(line.split()) <= 20:
        return line, paras[index + 1 :]
    slug = _slug_title(source)
    if slug:
        notes.append(f"no title line found: the title is the file's name, {slug!r}")
        return slug, paras
    title = " ".join(line.split()[:10]) + "…"
    notes.append(f"no title line found: the title is the article's first words, {title!r}")
    return title, paras


def _slug_title(source: str) -> str:
    """ "caring-for-linen.txt" -> "Caring for linen" ("" for a name that is not words)."""
    stem = re.split(r"[?#]", source.rstrip("/"))[0].rsplit("/", 1)[-1]
    stem = re.sub(r"\.(?:txt|text|html?|md)$", "", stem, flags=re.I)
    parts = [p for p in re.split(r"[-_\s]+", stem) if p]
    if len(parts) < 2 or not all(p.isalpha() for p in parts):
        return ""
    return " ".join(parts).capitalize()


def _blocks(paras: list[tuple[int, list[str]]], notes: list[str], language: str) -> list[Block]:
    """The article's paragraphs as blocks; ``language``: the page's (a question on a line
    of its own is a heading in languages whose headings are not in title case)."""
    blocks: list[Block] = []
    for index, (line_no, lines) in enumerate(paras):
        has_next = index + 1 < len(paras)
        if all(_CHROME.match(line) and len(line.split()) <= 10 for line in lines):
            for k, line in enumerate(lines):
                notes.append(f"line {line_no + k}: dropped page chrome: {line!r}")
            continue
        if len(lines) == 1 and has_next and _heading_line(lines[0], language):
            blocks.append(Heading(level=2, spans=spans_of(lines[0])))
            continue
        if _heading_then_text(lines):
            # a heading copied without a blank line before its first paragraph
            blocks.append(Heading(level=2, spans=spans_of(lines[0])))
            lines = lines[1:]
            line_no += 1
        _add_para(blocks, line_no, lines, notes)
    return blocks


def _heading_line(line: str, language: str) -> bool:
    if looks_like_heading(line):
        return True
    return (
        language not in ("English", "")
        and line.endswith("?")
        and len(line.split()) <= 12
        and not (_BULLET.match(line) or _NUMBERED.match(line))
    )


def _heading_then_text(lines: list[str]) -> bool:
    first = lines[0]
    return (
        len(lines) > 1
        and looks_like_heading(first)
        and _title_case_ratio(first) >= 0.6
        and not _BULLET.match(lines[1])
        and not is_contact_line(first)
    )


def _add_para(blocks: list[Block], line_no: int, lines: list[str], notes: list[str]) -> None:
    """One paragraph of the article as a block: a photo's description, bullets, a
    numbered step (or its explanation), calls to action or prose."""
    prev = blocks[-1] if blocks else None
    first = lines[0]
    if len(lines) == 1 and looks_like_photo(first, isinstance(prev, Heading)):
        blocks.append(Image(alt=first))
        notes.append(f"line {line_no}: photo description kept as an image's alt text")
    elif all(_BULLET.match(line) for line in lines) or _BULLET.match(first):
        items = _bullets(lines)
        if isinstance(prev, ListBlock) and not prev.ordered:
            blocks[-1] = ListBlock(ordered=False, items=prev.items + items)
        else:
            blocks.append(ListBlock(ordered=False, items=items))
    elif _NUMBERED.match(first):
        _add_step(blocks, lines)
    elif isinstance(prev, ListBlock) and _explains_step(prev, lines):
        # "3. Step title" then its explanation as a separate paragraph
        last = prev.items[-1]
        detail = spans_of("\n".join(lines))
        blocks[-1] = ListBlock(True, prev.items[:-1] + (ListItem(last.spans, detail),), prev.start)
    elif all(is_cta(line) for line in lines):
        for line in lines:
            # the series' rule: an arrow line of encouragement is a paragraph
            blocks.append(marked_line(_CTA_ARROW.sub("", line)))
    else:
        blocks.append(Paragraph(spans=spans_of("\n".join(lines))))


def _add_step(blocks: list[Block], lines: list[str]) -> None:
    prev = blocks[-1] if blocks else None
    numbered = _NUMBERED.match(lines[0])
    assert numbered
    number = int(numbered.group(1))
    item = ListItem(
        spans=spans_of(numbered.group(2)),
        detail=spans_of("\n".join(lines[1:])) if len(lines) > 1 else (),
    )
    if isinstance(prev, ListBlock) and prev.ordered and number == prev.start + len(prev.items):
        blocks[-1] = ListBlock(True, prev.items + (item,), prev.start)
    else:
        blocks.append(ListBlock(ordered=True, items=(item,), start=number))


def _explains_step(prev: ListBlock, lines: list[str]) -> bool:
    first = lines[0]
    return (
        prev.ordered
        and not prev.items[-1].detail
        and all(item.detail for item in prev.items[:-1])
        and not looks_like_heading(first)
        and not is_cta(first)
        and not lines[-1].endswith(":")
    )


def _bullets(lines: list[str]) -> tuple[ListItem, ...]:
    items: list[list[str]] = []
    for line in lines:
        if _BULLET.match(line) or not items:
            items.append([_BULLET.sub("", line, count=1)])
        else:
            items[-1].append(line)
    return tuple(ListItem(spans=spans_of(" ".join(i))) for i in items)
