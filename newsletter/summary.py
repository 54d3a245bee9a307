"""Sentences that frame a part: the recap of the previous part, the teaser for the next
one, the preheader. Extractive: sentences come from the article itself (boundaries from
sentencex, Wikimedia's segmenter for some 300 languages, so "i.e." or "Dr." never end
one), ranked by how well they stand for their part:
the part's own vocabulary and headings, a sensible length, no dangling "This" or "And"
at the start that needs the sentence before it.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from .blocks import Block, Heading, ListBlock, Paragraph, Quote, Span, plain, words

STOP = frozenset(
    re.findall(
        r"\S+",
        """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing don down during each
    even ever every few for from further get gets got had has have having he her here hers
    herself him himself his how i if in into is it its itself just let like may me might
    more most much must my myself no nor not now of off on once only or other our ours
    ourselves out over own really same she should so some still such than that the their
    theirs them themselves then there these they this those through to too under until up
    us very was we were what when where which while who whom why will with would you your
    yours yourself yourselves s t ll ve re d m""",
    )
)
_DANGLING = re.compile(
    r"^(this|that|these|those|it|they|he|she|and|but|or|so|also|then|here|there)\b", re.I
)
_LEAD = re.compile(r"^[^\w“\"'(]+")
_BENEFIT = frozenset(re.findall(r"\S+", "you your how can help helps learn ways way why what"))


#: an opening quotation mark left at a sentence's end ('he said. "' then 'We ...'): it opens
#: the next sentence
_OPENING_QUOTE = re.compile(r"\s([\"“„«‘'‚‹])$")


@lru_cache(maxsize=4096)
def sentences(text: str, language: str = "en") -> tuple[str, ...]:
    """The sentences of a paragraph, each trimmed (abbreviations like "i.e." or, in
    German, "z. B." kept inside)."""
    import sentencex  # loaded when a series is built, not when the CLI starts

    text = " ".join(text.split())
    if not text:
        return ()
    out: list[str] = []
    carry = ""
    for found in sentencex.segment(language.split("-")[0].lower() or "en", text):
        sentence = carry + found.strip()
        carry = ""
        quote = _OPENING_QUOTE.search(sentence)
        if quote:
            sentence, carry = sentence[: quote.start()], quote.group(1)
        if sentence:
            out.append(sentence)
    if carry:
        out.append(carry)
    return tuple(out)


def _terms(text: str) -> list[str]:
    out = []
    for w in words(text.lower().replace("’", "'")):
        w = w.split("'")[0]
        if len(w) > 2 and w not in STOP:
            out.append(w[:-1] if w.endswith("s") and len(w) > 4 else w)
    return out


@dataclass(frozen=True)
class Sentence:
    text: str
    position: int
    score: float


def prose(blocks: tuple[Block, ...]) -> list[str]:
    """The prose of a part (paragraphs, quotes, list items), without headings or CTAs."""
    out: list[str] = []
    for b in blocks:
        if isinstance(b, Paragraph):
            out.append(_words_only(b.spans))
        elif isinstance(b, Quote):
            out.extend(_words_only(p) for p in b.paragraphs)
        elif isinstance(b, ListBlock):
            for item in b.items:
                out.append(_words_only(item.spans))
                if item.detail:
                    out.append(_words_only(item.detail))
    return [p for p in out if p.strip()]


def _words_only(spans: tuple[Span, ...]) -> str:
    """The text of spans without footnote marks ("[1]" belongs in the body, not in a
    subject, a preheader or a recap)."""
    return plain(s for s in spans if not s.note)


def _key(sentence: str) -> str:
    """A sentence as its words, whatever the case, quotes and punctuation around them."""
    return " ".join(words(sentence.lower().replace("’", "'")))


def ranked(
    blocks: tuple[Block, ...], *, benefit: bool = False, language: str = "en"
) -> list[Sentence]:
    """The part's sentences, the most representative first (ties: earlier first).

    ``benefit``: prefer sentences that speak to the reader ("you", "how", "can"), which
    say why the part is worth opening.
    """
    # each sentence once: an article that says a thing twice ("…written down." in a list
    # and again in a paragraph) must not have it twice in a recap
    seen: set[str] = set()
    found = []
    for s in (s for p in prose(blocks) for s in sentences(p, language)):
        if _key(s) not in seen:
            seen.add(_key(s))
            found.append(s)
    vocab = Counter(t for s in found for t in set(_terms(s)))
    heads = {t for b in blocks if isinstance(b, Heading) for t in _terms(b.text())}
    out = []
    for pos, s in enumerate(found):
        terms = set(_terms(s))
        if not terms:
            continue
        score = sum(vocab[t] - 1 for t in terms) / math.sqrt(len(terms)) + 2.0 * len(terms & heads)
        score += 1.0  # so that the penalties below still order sentences without repeats
        if not 40 <= len(s) <= 200:
            score *= 0.3
        if s.endswith("?"):
            score *= 0.4
        if s[-1:] not in '.!?”"’)':
            score *= 0.3  # a fragment, like a list item without a full stop
        if _DANGLING.match(s) or s[:1].islower():
            score *= 0.5
        if ":" in s[:25]:
            score *= 0.6  # "At work: ..." leans on the list it came from
        if benefit:
            score *= 1.0 + 0.4 * len({w.lower() for w in words(s)} & _BENEFIT)
        out.append(Sentence(_LEAD.sub("", s), pos, score))
    out.sort(key=lambda x: (-x.score, x.position))
    return out


def _repeats(a: str, b: str) -> bool:
    """Whether sentence ``a`` mostly says what ``b`` says (half its terms or more)."""
    ta, tb = set(_terms(a)), set(_terms(b))
    return not ta or len(ta & tb) >= len(ta) / 2


def recap(blocks: tuple[Block, ...], language: str = "en") -> str:
    """One or two sentences that stand for what ``blocks`` covered, in article order."""
    best = ranked(blocks, language=language)
    if not best:
        return ""
    chosen = [best[0]]
    if len(best[0].text) < 90 and len(best) > 1:
        second = next(
            (
                s
                for s in best[1:3]
                if len(s.text) + len(best[0].text) < 220 and not _repeats(s.text, best[0].text)
            ),
            None,
        )
        if second:
            chosen.append(second)
    return " ".join(s.text for s in sorted(chosen, key=lambda s: s.position))


def _first_section(blocks: tuple[Block, ...]) -> tuple[Block, ...]:
    heads = [i for i, b in enumerate(blocks) if isinstance(b, Heading) and not b.continued]
    return blocks[: heads[1]] if len(heads) > 1 else blocks


#: a heading's numbering: "Chapter 4:", "Step 2 -", "3."
LABEL = re.compile(
    r"^(?:(?:chapter|part|step|section|lesson|day|week|tip)\s+\w+|\d+)\s*[:.)—–-]\s*", re.I
)


def unlabelled(heading: str) -> str:
    """A heading without its "Chapter 4:" or "2." label (as it is when that is all it says)."""
    return LABEL.sub("", heading).strip() or heading.strip()


def teaser(blocks: tuple[Block, ...], index: int, language: str = "en") -> str:
    """A sentence that names what part ``index`` covers and why to open it."""
    opening = _first_section(blocks)
    best = [
        s for s in ranked(opening, benefit=True, language=language) if len(s.text) <= 160
    ] or ranked(blocks, benefit=True, language=language)
    why = best[0].text if best else ""
    carried = [b for b in blocks if isinstance(b, Heading) and b.continued]
    rest = blocks[len(carried) :]
    # (named without its "Chapter 4:" label: "Part 5 looks at “Chapter 4: …”" reads oddly)
    from .i18n import translations

    _ = translations(language).gettext
    if rest and isinstance(rest[0], Heading):  # starts at a (sub)section of its own
        name, goes_on = unlabelled(rest[0].text()), False
    elif carried:
        name, goes_on = unlabelled(carried[-1].text()), True
    else:
        first = next((b for b in blocks if isinstance(b, Heading)), None)
        name, goes_on = (unlabelled(first.text()) if first else ""), False
    values = {"k": index, "name": name, "why": why}
    if name and why:
        if goes_on:
            return _("Part %(k)s goes on with “%(name)s”: %(why)s") % values
        return _("Part %(k)s looks at “%(name)s”: %(why)s") % values
    if name:
        if goes_on:
            return _("Part %(k)s goes on with “%(name)s”.") % values
        return _("Part %(k)s looks at “%(name)s”.") % values
    return _("Part %(k)s goes on: %(why)s") % values if why else ""
