"""Split an article's blocks into a series of parts a reader finishes in a few minutes.

Breaks fall only between blocks. Each candidate break has a cost (cheap before a section
heading, dear inside a list, forbidden right after a heading or between a lead-in and its
list); each part has a cost for straying from the balanced length. The breaks are the
ones with the least total cost, found by dynamic programming over all candidates, as in
optimal line breaking. The result is deterministic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .blocks import Block, CallToAction, Heading, Image, ListBlock, Paragraph, Rule
from .errors import NewsletterError

WORDS_PER_MINUTE = 230
DEFAULT_MINUTES = 2.0
MAX_PARTS = 100
FORBIDDEN = math.inf


@dataclass(frozen=True)
class Chunk:
    """One part of the series: a run of blocks and why it ends where it does."""

    blocks: tuple[Block, ...]
    words: int
    reason: str


def target_words(minutes_per_part: float) -> int:
    return round(minutes_per_part * WORDS_PER_MINUTE)


def auto_parts(total_words: int, target: int) -> int:
    """An article shorter than about 1.5 targets stays one email."""
    if total_words < 1.5 * target:
        return 1
    return max(2, round(total_words / target))


def _split_long_lists(blocks: list[Block], target: int) -> list[Block]:
    """A list longer than a part becomes consecutive lists, so a break can fall inside it."""
    out: list[Block] = []
    for b in blocks:
        if isinstance(b, ListBlock) and b.word_count() > target and len(b.items) > 1:
            current: list = []
            words = 0
            start = b.start
            for item in b.items:
                w = len(item.text().split())
                if current and words + w > target / 2:
                    out.append(ListBlock(b.ordered, tuple(current), start))
                    start += len(current)
                    current, words = [], 0
                current.append(item)
                words += w
            out.append(ListBlock(b.ordered, tuple(current), start))
        else:
            out.append(b)
    return out


def break_cost(before: Block, after: Block) -> tuple[float, str]:
    """The cost of ending a part after ``before`` and starting the next with ``after``."""
    if isinstance(before, Heading):
        return FORBIDDEN, "a heading never ends a part"
    if (
        isinstance(after, ListBlock)
        and isinstance(before, Paragraph)
        and (before.text().rstrip().endswith(":"))
    ):
        return FORBIDDEN, "a lead-in stays with its list"
    if isinstance(after, Heading):
        name = after.text()
        if after.level <= 2:
            return 0.0, f"before the section {name!r}"
        return 10.0 * (after.level - 2), f"before the subsection {name!r}"
    if isinstance(before, Rule) or isinstance(after, Rule):
        return 5.0, "at a scene break"
    if isinstance(before, ListBlock) and isinstance(after, ListBlock):
        return 120.0, "inside a long list, between two items"
    if isinstance(after, CallToAction):
        return 300.0, "before a call to action"
    if isinstance(before, Image):
        return 200.0, "after an image"
    if isinstance(after, Image):
        return 120.0, "before an image"
    return 80.0, "between paragraphs, no section boundary near the balanced point"


def chunk(
    blocks: list[Block], *, parts: int | None = None, minutes_per_part: float = DEFAULT_MINUTES
) -> list[Chunk]:
    """Split ``blocks`` into ``parts`` parts (automatic when None). Nothing lost or doubled."""
    target = target_words(minutes_per_part)
    units = _split_long_lists(list(blocks), target)
    if not units:
        return []
    counts = [b.word_count() for b in units]
    total = sum(counts)
    n = parts if parts is not None else auto_parts(total, target)
    if n > MAX_PARTS:
        raise NewsletterError(
            f"the article would make {n} parts; the most a series can have is {MAX_PARTS}",
            hint="split the article into several issues, or raise series.minutes_per_part",
        )
    costs = [(0.0, "")] + [break_cost(units[i - 1], units[i]) for i in range(1, len(units))]
    possible = 1 + sum(1 for c, _ in costs[1:] if c != FORBIDDEN)
    n = max(1, min(n, possible))
    prefix = [0]
    for c in counts:
        prefix.append(prefix[-1] + c)
    ideal = total / n

    def length_cost(j: int, i: int) -> float:
        w = prefix[i] - prefix[j]
        over = (w - ideal) / max(ideal, 1.0)
        cost = 1000.0 * over * over
        if w > 2 * max(target, ideal):
            cost += 1e6 * (w / max(target, ideal))
        if w == 0:
            cost += 1e9
        return cost

    m = len(units)
    best: list[list[float]] = [[math.inf] * (m + 1) for _ in range(n + 1)]
    back = [[-1] * (m + 1) for _ in range(n + 1)]
    best[0][0] = 0.0
    for k in range(1, n + 1):
        for i in range(k, m - (n - k) + 1):
            row = best[k - 1]
            for j in range(i - 1, k - 2, -1):
                if row[j] == math.inf:
                    continue
                bc = costs[j][0] if j > 0 else 0.0
                if bc == FORBIDDEN:
                    continue
                cost = row[j] + bc + length_cost(j, i)
                if cost < best[k][i]:
                    best[k][i], back[k][i] = cost, j
                # Parts much longer than three balanced parts never win: stop looking back.
                if prefix[i] - prefix[j] > 4 * max(ideal, target) and best[k][i] < math.inf:
                    break
    if best[n][m] == math.inf:  # cannot happen while n <= possible, kept as a guard
        raise NewsletterError("could not split the article into parts")
    cuts = [m]
    for k in range(n, 0, -1):
        cuts.append(back[k][cuts[-1]])
    cuts.reverse()
    chunks = []
    for k in range(n):
        j, i = cuts[k], cuts[k + 1]
        reason = "end of the article" if i == m else costs[i][1]
        chunks.append(Chunk(tuple(units[j:i]), prefix[i] - prefix[j], reason))
    return chunks
