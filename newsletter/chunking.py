"""Split an article's blocks into a series of parts a reader finishes in a few minutes.

Breaks fall only between blocks, and an editor's priorities decide where: a section is
kept whole whenever that is possible, so a part may run from about 0.6 to 1.6 times the
target length; breaking inside a section costs far more than an uneven length; a list is
split only when it alone is longer than a part. Each candidate break has a cost, each part
a cost for straying from the target, and the breaks are the ones with the least total
cost, found by dynamic programming over all candidates, as in optimal line breaking. The
result is deterministic. A part that has to start inside a section carries the section's
heading again (``Chunk.continues``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .blocks import Block, CallToAction, Heading, Image, ListBlock, ListItem, Paragraph, Rule
from .errors import NewsletterError

WORDS_PER_MINUTE = 230
DEFAULT_MINUTES = 2.0
MAX_PARTS = 100
FORBIDDEN = math.inf
#: a part may run this much shorter or longer than the target to keep sections whole
SHORTEST, LONGEST = 0.6, 1.6
#: what an uneven length costs at most inside the range above is 1000 * 0.6**2 = 360;
#: any break inside a section costs more than that
LENGTH_WEIGHT = 1000.0
OUT_OF_RANGE = 20000.0


@dataclass(frozen=True)
class Break:
    """Where a part ends: the cost of breaking there and, in words, why."""

    cost: float
    reason: str


@dataclass(frozen=True)
class Chunk:
    """One part of the series: a run of blocks and why it ends where it does."""

    blocks: tuple[Block, ...]
    words: int
    reason: str
    #: the next-best place for this break and what it would cost ("" for the last part)
    alternative: str = ""
    #: the headings of the section (and subsection) this part starts inside, if any
    continues: tuple[Heading, ...] = ()


def target_words(minutes_per_part: float) -> int:
    return round(minutes_per_part * WORDS_PER_MINUTE)


def auto_parts(total_words: int, target: int) -> int:
    """An article shorter than about 1.5 targets stays one email."""
    if total_words < 1.5 * target:
        return 1
    return max(2, round(total_words / target))


def _split_long_lists(blocks: list[Block], longest: float, target: int) -> list[Block]:
    """A list longer than a part becomes consecutive lists, so a break can fall inside it."""
    out: list[Block] = []
    for b in blocks:
        if isinstance(b, ListBlock) and b.word_count() > longest and len(b.items) > 1:
            current: list[ListItem] = []
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


def _enclosing(units: list[Block]) -> list[tuple[Heading, ...]]:
    """For each unit, the headings it sits under (outermost first), itself excluded."""
    out: list[tuple[Heading, ...]] = []
    chain: list[Heading] = []
    for b in units:
        out.append(tuple(chain))
        if isinstance(b, Heading):
            chain = [h for h in chain if h.level < b.level] + [b]
    return out


def break_cost(before: Block, after: Block, top: int = 2, section: str = "") -> Break:
    """The cost of ending a part after ``before`` and starting the next with ``after``.

    ``top`` is the level of the article's section headings; ``section`` the name of the
    section both blocks are in ("" before the first heading).
    """
    inside = f"inside the section {section!r}" if section else "inside the introduction"
    if isinstance(before, Heading):
        return Break(FORBIDDEN, "a heading never ends a part")
    if (
        isinstance(after, ListBlock)
        and isinstance(before, Paragraph)
        and before.text().rstrip().endswith(":")
    ):
        return Break(FORBIDDEN, "a lead-in stays with its list")
    if isinstance(after, Heading):
        name = after.text()
        if after.level <= top:
            return Break(0.0, f"before the section {name!r}")
        return Break(400.0 * (after.level - top), f"before the subsection {name!r}, {inside}")
    if isinstance(before, ListBlock) and isinstance(after, ListBlock):
        return Break(2500.0, f"inside a list longer than a part, {inside}")
    if isinstance(before, Rule) or isinstance(after, Rule):
        return Break(800.0, f"at a scene break {inside}")
    if isinstance(after, CallToAction):
        return Break(3000.0, f"before a call to action, {inside}")
    if isinstance(before, Image):
        return Break(2500.0, f"after an image, {inside}")
    if isinstance(after, Image):
        return Break(1800.0, f"before an image, {inside}")
    return Break(1500.0, f"between paragraphs {inside}")


def _length_cost(words: int, ideal: float) -> float:
    if words == 0:
        return 1e9
    r = words / max(ideal, 1.0)
    cost = LENGTH_WEIGHT * (r - 1) ** 2
    if r > LONGEST:
        cost += OUT_OF_RANGE * (1 + r - LONGEST)
    elif r < SHORTEST:
        cost += OUT_OF_RANGE * (1 + SHORTEST - r)
    return cost


def chunk(
    blocks: list[Block], *, parts: int | None = None, minutes_per_part: float = DEFAULT_MINUTES
) -> list[Chunk]:
    """Split ``blocks`` into ``parts`` parts (automatic when None). Nothing lost or doubled."""
    target = target_words(minutes_per_part)
    total = sum(b.word_count() for b in blocks)
    n = parts if parts is not None else auto_parts(total, target)
    if n > MAX_PARTS:
        raise NewsletterError(
            f"the article would make {n} parts; the most a series can have is {MAX_PARTS}",
            hint="split the article into several issues, or raise series.minutes_per_part",
        )
    # with a number of parts given, lengths are measured against an even share
    ideal = float(target) if parts is None else total / max(n, 1)
    units = _split_long_lists(list(blocks), LONGEST * ideal, round(ideal))
    if not units:
        return []
    within = _enclosing(units)
    costs = _break_costs(units, within)
    possible = 1 + sum(1 for c in costs[1:] if c.cost != FORBIDDEN)
    m = len(units)
    prefix = [0]
    for b in units:
        prefix.append(prefix[-1] + b.word_count())
    tries = _part_counts(parts, n, possible)
    best, back = _solve(costs, prefix, m, max(tries), ideal)
    n = min(tries, key=lambda k: (best[k][m], tries.index(k)))
    if best[n][m] == math.inf:  # cannot happen while n <= possible, kept as a guard
        raise NewsletterError("could not split the article into parts")
    cuts = [m]
    for k in range(n, 0, -1):
        cuts.append(back[k][cuts[-1]])
    cuts.reverse()
    return [_chunk(units, within, costs, prefix, cuts, k, ideal) for k in range(n)]


def _break_costs(units: list[Block], within: list[tuple[Heading, ...]]) -> list[Break]:
    """What a break before each unit costs (none before the first)."""
    levels = [b.level for b in units if isinstance(b, Heading)]
    top = min(levels) if levels else 2
    return [Break(0.0, "")] + [
        break_cost(units[i - 1], units[i], top, within[i][0].text() if within[i] else "")
        for i in range(1, len(units))
    ]


def _part_counts(parts: int | None, n: int, possible: int) -> list[int]:
    """The numbers of parts worth trying: automatic, one part more or fewer than the even
    count when that keeps sections whole; else the number asked (at most the breaks
    allow)."""
    tries = []
    if parts is None and n > 1:
        tries = [k for k in (n, n - 1, n + 1) if 1 <= k <= min(possible, MAX_PARTS)]
    return tries or [max(1, min(n, possible))]


def _chunk(
    units: list[Block],
    within: list[tuple[Heading, ...]],
    costs: list[Break],
    prefix: list[int],
    cuts: list[int],
    k: int,
    ideal: float,
) -> Chunk:
    """Part ``k`` (from 0) between its cuts, with why it ends there and the next best place."""
    m = len(units)
    j, i = cuts[k], cuts[k + 1]
    reason = "end of the article" if i == m else costs[i].reason
    alternative = "" if i == m else _next_best(costs, prefix, cuts[k], i, cuts[k + 2], ideal)
    first = units[j]
    # a part that starts inside a section (or at one of its subsections) carries the
    # headings it sits under
    continues: tuple[Heading, ...] = ()
    if j and isinstance(first, Heading):
        continues = tuple(h for h in within[j] if h.level < first.level)
    elif j:
        continues = within[j]
    return Chunk(tuple(units[j:i]), prefix[i] - prefix[j], reason, alternative, continues)


def _solve(
    costs: list[Break], prefix: list[int], m: int, n: int, ideal: float
) -> tuple[list[list[float]], list[list[int]]]:
    """best[k][i]: the least cost of cutting the first i units into k parts."""
    best: list[list[float]] = [[math.inf] * (m + 1) for _ in range(n + 1)]
    back = [[-1] * (m + 1) for _ in range(n + 1)]
    best[0][0] = 0.0
    for k in range(1, n + 1):
        row = best[k - 1]
        for i in range(k, m + 1):
            for j in range(i - 1, k - 2, -1):
                if row[j] == math.inf:
                    continue
                bc = costs[j].cost if j > 0 else 0.0
                if bc == FORBIDDEN:
                    continue
                cost = row[j] + bc + _length_cost(prefix[i] - prefix[j], ideal)
                if cost < best[k][i]:
                    best[k][i], back[k][i] = cost, j
                # Parts far longer than the longest allowed never win: stop looking back.
                if prefix[i] - prefix[j] > 3 * LONGEST * ideal and best[k][i] < math.inf:
                    break
    return best, back


def _next_best(
    costs: list[Break],
    prefix: list[int],
    start: int,
    at: int,
    end: int,
    ideal: float,
) -> str:
    """The best other place for the break at ``at``, the breaks around it kept."""

    def local(q: int) -> float:
        return (
            costs[q].cost
            + _length_cost(prefix[q] - prefix[start], ideal)
            + _length_cost(prefix[end] - prefix[q], ideal)
        )

    options = [q for q in range(start + 1, end) if q != at and costs[q].cost != FORBIDDEN]
    if not options:
        return "no other place: the breaks around it leave no choice"
    q = min(options, key=lambda x: (local(x), abs(x - at)))
    before, after = prefix[q] - prefix[start], prefix[end] - prefix[q]
    return f"{costs[q].reason} (parts of {before} and {after} words)"
