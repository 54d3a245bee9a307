"""Plain text copied from a web page (select all, copy, paste) to blocks.

What a copied blog page looks like: the title on the first line, paragraphs separated
by blank lines, section headings as short lines without end punctuation (or ending in
"?"), bullets as "•", "-" or "*", numbered steps ("1. Check the story…") followed by the
paragraph that explains them, call-to-action lines ("👉 …", "Reach out…"), lines that
only describe a photo (what is left of an image's alt text), and the page's navigation
at the end ("Next", "Previous", the title of the next post).

:mod:`.copied` classifies the lines, :mod:`.texttitle` finds the title, this module
selects the article's lines and :mod:`.textblocks` makes them blocks.
"""

from __future__ import annotations

from ..blocks import Article
from .clutter import byline_name, is_contact_line, is_tail_clutter, looks_like_name, sign_off
from .copied import Line, Verdict, classify
from .textblocks import text_blocks
from .textshapes import (
    CHROME,
    chrome_tail,
    clean_lines,
    head_chrome,
    is_cta,
    looks_like_heading,
    paragraphs,
)
from .texttitle import fallback_title, title_line


def _closing(line: str) -> bool:
    return (
        len(line.split()) >= 3
        and (line.endswith((".", "!", "?")) or is_cta(line))
        and not is_tail_clutter(line)
        and not is_contact_line(line)
        and not CHROME.match(line)
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


def _by_span(
    lines: list[Line], verdict: Verdict, span: tuple[int, int], title_i: int | None
) -> list[bool]:
    """The lines the editor's --start and --end hold (but the title), the others' reason
    said."""
    keep = []
    for j, ln in enumerate(lines):
        inside = span[0] <= ln.number <= span[1]
        keep.append(inside and j != title_i)
        verdict.reason[j] = "" if inside else "by --start" if ln.number < span[0] else "by --end"
    return keep


def _before_title(lines: list[Line], verdict: Verdict, keep: list[bool], title_i: int) -> None:
    """A title inside the stretch: the few words before it are a kicker or a byline."""
    keep[title_i] = False
    before = [j for j in range(verdict.start, title_i) if keep[j]]
    if sum(len(lines[j].text.split()) for j in before) <= _PRE_TITLE_WORDS:
        for j in before:
            keep[j] = False


def _dropped(reason: str, j: int, first: int, last: int) -> tuple[str, str]:
    """(what a dropped line is, why) as the note says it."""
    if reason.startswith("by --"):
        return reason, ""
    why = f" ({reason})" if reason in _SAY else ""
    if j < first:
        return "page chrome before the title", why
    if j > last:
        return "page navigation", why
    return reason or "boilerplate", why


def _select(
    lines: list[Line], source: str, notes: list[str], span: tuple[int, int] | None
) -> tuple[str, list[Line], str]:
    """(title, the article's lines): the rest named in ``notes``, line by line. ``span``:
    the first and last line of the article as the editor gave them (--start, --end)."""
    verdict = classify(lines)
    title_i = title_line(lines, verdict, source)
    keep = list(verdict.keep)
    end = _signature_end(lines, verdict.end)
    for j in range(verdict.end, end):
        keep[j] = True
    if span:
        keep = _by_span(lines, verdict, span, title_i)
    elif title_i is not None:
        _before_title(lines, verdict, keep, title_i)
    title = " ".join(lines[title_i].text.split()) if title_i is not None else ""
    kept = [j for j, k in enumerate(keep) if k]
    first, last = (kept[0], kept[-1]) if kept else (len(lines), len(lines))
    for j, ln in enumerate(lines):
        if not keep[j] and j != title_i:
            what, why = _dropped(verdict.reason[j], j, first, last)
            notes.append(f"line {ln.number}: dropped {what}: {ln.text!r}{why}")
    return title, [ln for j, ln in enumerate(lines) if keep[j]], verdict.language


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
    paras = paragraphs("\n".join(text_lines))
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
    lines = clean_lines(text)
    if not lines:
        return Article(title="", blocks=[], notes=notes)
    title, body, language = _select(lines, source, notes, span)
    paras = _regroup(body)
    if not title and paras:
        title, paras = fallback_title(paras, source, notes)
    if span:
        blocks = text_blocks(paras, notes, language)
        return Article(title=title, blocks=sign_off(blocks), notes=notes)
    skip = head_chrome(paras)
    for line_no, lines_ in paras[:skip]:
        for k, line in enumerate(lines_):
            notes.append(f"line {line_no + k}: dropped page chrome after the title: {line!r}")
    paras = paras[skip:]
    tail = chrome_tail(paras)
    for line_no, lines_ in paras[tail:]:
        for k, line in enumerate(lines_):
            notes.append(f"line {line_no + k}: dropped page navigation: {line!r}")
    blocks = text_blocks(paras[:tail], notes, language)
    author = _byline(lines, paras[0][0] if paras else lines[-1].number + 1)
    return Article(title=title, blocks=sign_off(blocks), notes=notes, author=author)


def _byline(lines: list[Line], first: int) -> str:
    """The author a byline before the article names ("par Claire Moreau", "By Jenna
    Park"), the one nearest the article; "" when there is none."""
    names = [name for ln in lines if ln.number < first and (name := byline_name(ln.text))]
    return names[-1] if names else ""
