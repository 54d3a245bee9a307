"""An issue as a series of parts, each with its subject, preheader, recap, teaser and CTA."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from .blocks import Block, CallToAction, Heading, Image, ListBlock, Paragraph, Quote
from .chunking import WORDS_PER_MINUTE, chunk
from .issuefile import CTA, Issue

SUBJECT_MAX = 60  # what mail clients show on a phone; the hard limit is about 70
PREHEADER_MIN, PREHEADER_MAX = 40, 110


@dataclass(frozen=True)
class Part:
    index: int  # 1-based
    total: int
    blocks: tuple[Block, ...]
    words: int
    subject: str
    preheader: str
    recap: str  # "" for part 1
    teaser: str  # "" for the last part
    cta: CTA | None
    article_url: str
    break_reason: str
    #: the next-best place for the break after this part ("" for the last part)
    break_alternative: str = ""

    @property
    def minutes(self) -> float:
        return self.words / WORDS_PER_MINUTE

    @property
    def headings(self) -> list[str]:
        return [b.text() for b in self.blocks if isinstance(b, Heading)]


@dataclass(frozen=True)
class Series:
    slug: str
    title: str
    subtitle: str
    author: str
    url: str
    parts: tuple[Part, ...]

    @property
    def words(self) -> int:
        return sum(p.words for p in self.parts)


def shorten(text: str, limit: int, ellipsis: str = "…") -> str:
    """Cut ``text`` at a word boundary so that it fits ``limit`` characters."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - len(ellipsis) + 1]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:—–-") + ellipsis


def short_title(title: str) -> str:
    """The head of a title before a dash or colon ("Guilt Is Real—But…" -> "Guilt Is Real")."""
    head = re.split(r"\s*[—–:|]\s*|\s+-\s+", title, maxsplit=1)[0].strip()
    return head if len(head) >= 12 else title


def _subject(title: str, part_blocks: tuple[Block, ...], k: int, n: int) -> str:
    if n == 1:
        return shorten(title, SUBJECT_MAX)
    suffix = f" (Part {k} of {n})"
    room = SUBJECT_MAX - len(suffix)
    heading = next((b.text() for b in part_blocks if isinstance(b, Heading)), "")
    candidates = [title, short_title(title)] if k == 1 else [heading, short_title(title)]
    for c in candidates:
        if c and len(c) <= room:
            return c + suffix
    return shorten(short_title(title), room) + suffix


def _prose(blocks: tuple[Block, ...]) -> list[str]:
    out = []
    for b in blocks:
        if isinstance(b, Paragraph | Quote | CallToAction):
            out.append(b.text())
        elif isinstance(b, ListBlock):
            out.extend(i.text() for i in b.items)
    return [" ".join(t.split()) for t in out if t.strip()]


def _cut_sentence(text: str, limit: int) -> str:
    """Up to ``limit`` characters, ending at a sentence end if one falls late enough."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    ends = [m.end() for m in re.finditer(r"[.!?](?=\s)", text[: limit + 1])]
    ends = [e for e in ends if e >= PREHEADER_MIN]
    return text[: ends[-1]] if ends else shorten(text, limit)


def _preheader(blocks: tuple[Block, ...]) -> str:
    text = ""
    for piece in _prose(blocks):
        text = f"{text} {piece}".strip()
        if len(text) >= PREHEADER_MIN:
            break
    if not text:
        text = " ".join(b.text() for b in blocks if isinstance(b, Heading | Image))
    return _cut_sentence(text, 100)


def _summary(part_blocks: tuple[Block, ...]) -> str:
    headings = [b.text() for b in part_blocks if isinstance(b, Heading)]
    if headings:
        return shorten("; ".join(headings), 140)
    first = next(iter(_prose(part_blocks)), "")
    sentence = re.split(r"(?<=[.!?])\s+", first)[0] if first else ""
    return shorten(sentence, 140)


def build_series(issue: Issue) -> Series:
    chunks = chunk(issue.blocks, parts=issue.parts, minutes_per_part=issue.minutes_per_part)
    n = len(chunks)
    parts = []
    for k, c in enumerate(chunks, start=1):
        override = issue.overrides.get(k)
        subject = (
            override.subject
            if override and override.subject
            else _subject(issue.title, c.blocks, k, n)
        )
        preheader = override.preheader if override and override.preheader else _preheader(c.blocks)
        recap = _summary(chunks[k - 2].blocks) if k > 1 else ""
        nxt = chunks[k].blocks if k < n else ()
        teaser = ""
        if nxt:
            first_heading = next((b.text() for b in nxt if isinstance(b, Heading)), "")
            teaser = first_heading or _summary(nxt)
        cta = override.cta if override and override.cta else issue.cta
        parts.append(
            Part(
                index=k,
                total=n,
                blocks=tuple(replace(h, continued=True) for h in c.continues) + c.blocks,
                words=c.words,
                subject=subject,
                preheader=preheader,
                recap=recap,
                teaser=teaser,
                cta=cta,
                article_url=issue.url,
                break_reason=c.reason,
                break_alternative=c.alternative,
            )
        )
    return Series(
        slug=issue.slug,
        title=issue.title,
        subtitle=issue.subtitle,
        author=issue.author,
        url=issue.url,
        parts=tuple(parts),
    )
