"""An issue as a series of parts, each with its subject, preheader, recap, teaser and CTA.

The framing reads as if an editor wrote it: subjects name what each part is about (the
specific words first, distinct within the series, numbered as the ``[series] subject``
setting says); the preheader adds a sentence to the subject; the recap and the teaser are
sentences from the article (see :mod:`summary`); every in-body call to action links to the
issue's CTA URL, and the one with the issue's own CTA words becomes the part's button.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from . import i18n, summary
from .blocks import Block, CallToAction, Heading, Notes, cited_notes, marked_line, same_words
from .chunking import WORDS_PER_MINUTE, Chunk, chunk
from .config import SeriesStyle
from .issuefile import CTA, Issue, PartOverride

SUBJECT_MAX = 60  # what mail clients show on a phone; the hard limit is about 70
SUBJECT_AIM = 50  # what a subject aims at, so that the specific words are seen
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
        return [b.text() for b in self.blocks if isinstance(b, Heading) and not b.continued]

    @property
    def button(self) -> bool:
        """Whether the CTA gets a button of its own after the text (not when an in-body
        line with the same words already is the button)."""
        main = any(isinstance(b, CallToAction) and b.main for b in self.blocks)
        return self.cta is not None and not main

    @property
    def article_link(self) -> bool:
        """Whether to show the quiet "Read the whole article" link: not when the button
        already goes there."""
        return bool(self.article_url) and not (self.cta and self.cta.url == self.article_url)


@dataclass(frozen=True)
class Series:
    slug: str
    title: str
    subtitle: str
    author: str
    url: str
    parts: tuple[Part, ...]
    #: the article's language ("de", "pt-BR"): the parts' ``lang`` and their frame's words
    language: str = i18n.DEFAULT

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


def _clauses(text: str) -> list[str]:
    """The specific words of a heading first: without a "Chapter 4:" or "2." label, then
    its pieces ("Feeling Pulled? Could X Help?" -> both questions)."""
    bare = summary.LABEL.sub("", text).strip()
    pieces = re.findall(r"[^?!:—–|]+[?!]?", bare)
    return [bare, *(p.strip() for p in pieces if len(p.strip()) >= 12)]


#: words a cut subject does not end on
_SMALL = summary.STOP | {"rather", "instead", "than", "as", "per", "via"}


def _fit(text: str, room: int) -> str:
    """``text`` cut at a word boundary to fit ``room`` characters, never ending on a
    small word ("Every client and regular attention…", not "…rather than…")."""
    text = " ".join(text.split())
    if len(text) <= room:
        return text
    kept = shorten(text, room - 1, ellipsis="").split()  # and room for the "…"
    while len(kept) > 2 and kept[-1].lower() in _SMALL:
        kept.pop()
    return " ".join(kept).rstrip(" ,;:—–-") + "…"


def _topics(
    title: str, blocks: tuple[Block, ...], n: int, language: str = i18n.DEFAULT
) -> list[list[str]]:
    """What a part could be called, best first, in groups: each heading of its own (its
    specific words, then its pieces), each heading it goes on with, then its key sentences.
    A heading's "Chapter 4:" label is never part of a subject, and the series title only
    names a series of one part."""
    groups: list[list[str]] = []
    if n == 1:
        groups.append([" ".join(title.split()), short_title(" ".join(title.split()))])
    # one line each: a heading's line break never reaches a Subject header
    heads = [(" ".join(b.text().split()), b.continued) for b in blocks if isinstance(b, Heading)]
    for h, continued in heads:
        if not continued:
            groups.append(_clauses(h) if summary.LABEL.sub("", h).strip() else [h])
    for h, continued in heads:
        if continued:
            continued_mark = i18n.translations(language).gettext("(continued)")
            groups.append([f"{summary.unlabelled(h)} {continued_mark}"])
    key = [s.text for s in summary.ranked(blocks, benefit=True, language=language)]
    groups.append([t[:-1] if t.endswith(".") and not t.endswith("..") else t for t in key])
    return [list(dict.fromkeys(t for t in g if t)) for g in groups if any(g)]


def _subject(
    style: SeriesStyle,
    title: str,
    blocks: tuple[Block, ...],
    k: int,
    n: int,
    used: set[str],
    language: str = i18n.DEFAULT,
) -> str:
    head = short_title(" ".join(title.split()))
    # a long title in every subject is cut too, so that the part's own words still fit
    over = len(style.subject.format(heading="", title=head, k=k, n=n)) - (SUBJECT_MAX - 28)
    if "{title}" in style.subject and over > 0:
        head = _fit(head, max(12, len(head) - over))

    def fmt(topic: str) -> str:
        if n == 1:
            return topic
        return style.subject.format(heading=topic, title=head, k=k, n=n)

    part_k = i18n.translations(language).gettext("Part %(k)s of %(n)s") % {"k": k, "n": n}
    groups = _topics(title, blocks, n, language) or [[part_k]]
    # what phones show; with the title in every subject, what most mail clients show
    limits = (SUBJECT_AIM, SUBJECT_MAX) if "{title}" in style.subject else (SUBJECT_AIM,)
    for limit in limits:
        room = max(12, limit - (len(fmt("")) if n > 1 else 0))
        for group in groups:
            # the whole words of a heading (or one of its pieces), else, when nothing
            # longer may be tried, its head
            cut = [_fit(group[0], room)] if limit == limits[-1] else []
            for topic in [*(t for t in group if len(t) <= room), *cut]:
                if (s := fmt(topic)) not in used:
                    return s
    # every candidate is taken (a heading that comes back): the part's number tells it apart
    tag = f" ({k}/{n})"
    room = max(12, limits[-1] - len(tag) - (len(fmt("")) if n > 1 else 0))
    return fmt(_fit(groups[0][0], room)) + tag


def _preheader(blocks: tuple[Block, ...], subject: str, language: str = i18n.DEFAULT) -> str:
    """A sentence that adds to the subject: representative, not the first one the reader
    sees anyway, and not the subject again."""
    found = summary.ranked(blocks, benefit=True, language=language)
    opening = next(iter(summary.prose(blocks)), "")
    first = next(iter(summary.sentences(opening, language)), "")
    fits = [
        s.text
        for s in found
        if PREHEADER_MIN <= len(s.text) <= PREHEADER_MAX
        and s.text != first
        and not same_words(s.text, subject)
    ]
    if fits:
        return fits[0]
    best = found[0].text if found else " ".join(summary.prose(blocks))
    return shorten(best, PREHEADER_MAX - 10) if best else ""


def frame_ctas(blocks: tuple[Block, ...], cta: CTA | None) -> tuple[Block, ...]:
    """In-body calls to action as a reader should meet them.

    A line that does not ask the reader to act is a paragraph, whatever arrow it starts
    with; every other one links to the CTA URL when it has no link of its own; the one with
    the issue's CTA words (or starts with them) is the part's button, where it stands, and
    goes where the issue's CTA goes."""
    out: list[Block] = []
    main_done = False
    for b in blocks:
        if isinstance(b, CallToAction):
            if not isinstance(marked := marked_line(b.label, b.url), CallToAction):
                out.append(marked)  # an issue file written before the importers knew
                continue
            if not b.url and cta and cta.url:
                b = replace(b, url=cta.url)
            if cta and not main_done and same_words(b.label, cta.label, prefix=True):
                # the issue's cta.url wins over the line's own link (a page's sign-up link)
                b = replace(b, main=True, url=cta.url or b.url)
                main_done = True
        out.append(b)
    return tuple(out)


def _part_blocks(c: Chunk, cta: CTA | None) -> tuple[Block, ...]:
    heads = tuple(replace(h, continued=True) for h in c.continues)
    return heads + frame_ctas(c.blocks, cta)


def _with_notes(blocks: tuple[Block, ...], notes: list[Notes]) -> tuple[Block, ...]:
    """A part's blocks with, at its end, the footnotes its text calls."""
    cited = {n for b in blocks for n in cited_notes(b)}
    own = [kept for ns in notes if (kept := ns.only(cited))]
    return blocks + tuple(own)


def article_language(issue: Issue, style: SeriesStyle, fallback: str = i18n.DEFAULT) -> str:
    """The issue's ``language:``, else ``[series] language``, else the one its text is
    in, else ``fallback``."""
    if issue.language or style.language:
        return issue.language or style.language
    text = "\n".join(b.text() for b in issue.blocks[:200])
    return i18n.choose(text=f"{issue.title}\n{text}", default=fallback)


def build_series(
    issue: Issue, style: SeriesStyle | None = None, *, fallback_language: str = i18n.DEFAULT
) -> Series:
    """``fallback_language``: when the issue does not say and its text is too short to
    tell (``[brand] language``)."""
    style = style or SeriesStyle()
    language = article_language(issue, style, fallback_language)
    notes = [b for b in issue.blocks if isinstance(b, Notes)]
    body = [b for b in issue.blocks if not isinstance(b, Notes)]
    chunks = chunk(body, parts=issue.parts, minutes_per_part=issue.minutes_per_part)
    n = len(chunks)
    ctas = [
        o.cta if (o := issue.overrides.get(k)) and o.cta else issue.cta for k in range(1, n + 1)
    ]
    blocks = [_with_notes(_part_blocks(c, ctas[k]), notes) for k, c in enumerate(chunks)]
    parts = []
    used: set[str] = {o.subject for o in issue.overrides.values() if o.subject}
    for k, c in enumerate(chunks, start=1):
        override = issue.overrides.get(k) or PartOverride()
        own = blocks[k - 1]
        subject = override.subject or _subject(style, issue.title, own, k, n, used, language)
        used.add(subject)
        recap = override.recap or (summary.recap(blocks[k - 2], language) if k > 1 else "")
        teaser = override.teaser or (summary.teaser(blocks[k], k + 1, language) if k < n else "")
        parts.append(
            Part(
                index=k,
                total=n,
                blocks=own,
                words=c.words,
                subject=subject,
                preheader=override.preheader or _preheader(own, subject, language),
                recap=recap,
                teaser=teaser,
                cta=ctas[k - 1],
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
        language=language,
    )
