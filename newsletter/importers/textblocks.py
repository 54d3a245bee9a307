"""A copied article's paragraphs as blocks: headings, bullets, numbered steps and their
explanations, calls to action, photos' descriptions and prose.
"""

from __future__ import annotations

from ..blocks import Block, Heading, Image, ListBlock, ListItem, Paragraph, marked_line, spans_of
from .clutter import is_contact_line
from .textshapes import (
    BULLET,
    CHROME,
    CTA_ARROW,
    NUMBERED,
    is_cta,
    looks_like_heading,
    looks_like_photo,
    title_case_ratio,
)


def text_blocks(paras: list[tuple[int, list[str]]], notes: list[str], language: str) -> list[Block]:
    """The article's paragraphs as blocks; ``language``: the page's (a question on a line
    of its own is a heading in languages whose headings are not in title case)."""
    blocks: list[Block] = []
    for index, (line_no, lines) in enumerate(paras):
        has_next = index + 1 < len(paras)
        if all(CHROME.match(line) and len(line.split()) <= 10 for line in lines):
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
        and not (BULLET.match(line) or NUMBERED.match(line))
    )


def _heading_then_text(lines: list[str]) -> bool:
    first = lines[0]
    return (
        len(lines) > 1
        and looks_like_heading(first)
        and title_case_ratio(first) >= 0.6
        and not BULLET.match(lines[1])
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
    elif all(BULLET.match(line) for line in lines) or BULLET.match(first):
        items = _bullets(lines)
        if isinstance(prev, ListBlock) and not prev.ordered:
            blocks[-1] = ListBlock(ordered=False, items=prev.items + items)
        else:
            blocks.append(ListBlock(ordered=False, items=items))
    elif NUMBERED.match(first):
        _add_step(blocks, lines)
    elif isinstance(prev, ListBlock) and _explains_step(prev, lines):
        # "3. Step title" then its explanation as a separate paragraph
        last = prev.items[-1]
        detail = spans_of("\n".join(lines))
        blocks[-1] = ListBlock(True, prev.items[:-1] + (ListItem(last.spans, detail),), prev.start)
    elif all(is_cta(line) for line in lines):
        for line in lines:
            # the series' rule: an arrow line of encouragement is a paragraph
            blocks.append(marked_line(CTA_ARROW.sub("", line)))
    else:
        blocks.append(Paragraph(spans=spans_of("\n".join(lines))))


def _add_step(blocks: list[Block], lines: list[str]) -> None:
    prev = blocks[-1] if blocks else None
    numbered = NUMBERED.match(lines[0])
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
        if BULLET.match(line) or not items:
            items.append([BULLET.sub("", line, count=1)])
        else:
            items[-1].append(line)
    return tuple(ListItem(spans=spans_of(" ".join(i))) for i in items)
