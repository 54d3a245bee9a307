"""The title of a copied page, by agreement: a line the page repeats (breadcrumb and
heading), the line before the first paragraph of prose, the slug of the URL or the file
name; never a run of menu words, a byline or a photo's description.
"""

from __future__ import annotations

import re

from .clutter import is_contact_line, looks_like_name
from .copied import Line, Verdict
from .textshapes import (
    chrome_para,
    looks_like_heading,
    looks_like_photo,
    near_clutter,
    never_heading,
)


def _title_index(paras: list[tuple[int, list[str]]]) -> int:
    """The paragraph that is the title of a copied page: the first line that is not page
    chrome (top of page, author, date, reading time, a photo's description, a location
    picker), or the first paragraph when there is no better candidate."""
    for i, (_, lines) in enumerate(paras[:15]):
        line = " ".join(lines)
        if chrome_para(lines):
            continue
        if len(lines) > 1:
            return 0
        if len(line.split()) < 3 or looks_like_photo(line, after_heading=False):
            continue
        if looks_like_name(line) and near_clutter(paras, i):
            continue
        if line.endswith((".", "!")) and len(line.split()) > 20:
            return 0  # the prose has begun: no title line
        return i
    return 0


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


def _never_title(lines: list[Line], i: int, verdict: Verdict) -> bool:
    """A line that cannot be the title: too short or too long, the page's frame, an
    address, a photo's description, a sentence, a web address, a quotation, a byline's
    name."""
    line = lines[i].text
    n = len(line.split())
    return (
        n < 2
        or n > 25
        or verdict.reason[i] in ("menu", "page chrome", "consent banner")
        or chrome_para([line])
        or is_contact_line(line)
        or looks_like_photo(line, after_heading=False)
        or (line.endswith(".") and n > 12)
        or never_heading(line)
        or _is_author(lines, i)
    )


def _before_prose(lines: list[Line], i: int, prose: int) -> int:
    """2 when line ``i`` comes right before the first paragraph of prose (but for chrome
    and photos' descriptions), 1 when close before it, else 0."""
    if i >= prose:
        return 0
    between = [
        j
        for j in range(i + 1, prose)
        if not (chrome_para([lines[j].text]) or looks_like_photo(lines[j].text, False))
    ]
    return 2 if len(between) <= 1 else 1 if len(between) <= 3 else 0


def _title_score(lines: list[Line], i: int, verdict: Verdict, name: set[str], prose: int) -> int:
    """How many signs agree that line ``i`` is the title (-1: it cannot be)."""
    if _never_title(lines, i, verdict):
        return -1
    line = lines[i].text
    score = 1 if looks_like_heading(line) or line.endswith("?") else 0
    if _repeated(lines, i):
        score += 2  # the breadcrumb's last step, or the page's <title> repeated
    if name and len(name & set(re.findall(r"\w+", line.lower()))) >= min(2, len(name)):
        score += 3  # the address's slug or the file's name
    return score + _before_prose(lines, i, prose)


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


def title_line(lines: list[Line], verdict: Verdict, source: str) -> int | None:
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


def fallback_title(
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
