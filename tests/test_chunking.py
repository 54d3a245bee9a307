"""The chunker: nothing lost, nothing doubled, breaks where an editor would put them."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from newsletter.blocks import Heading, ListBlock, Paragraph, words
from newsletter.chunking import chunk, target_words
from newsletter.importers import import_file
from newsletter.issuefile import load_issue

from .conftest import ARTICLES

SHAPES = ["no-headings", "very-short", "one-huge-section", "long-lists", "very-long"]


def _body_words(blocks) -> Counter[str]:
    return Counter(w for b in blocks for w in words(b.text()))


@pytest.mark.parametrize("name", SHAPES)
def test_every_word_in_exactly_one_part(name: str) -> None:
    issue = load_issue(ARTICLES / f"{name}.md")
    chunks = chunk(issue.blocks, parts=issue.parts, minutes_per_part=issue.minutes_per_part)
    assert sum((_body_words(c.blocks) for c in chunks), Counter()) == _body_words(issue.blocks)
    # and in order: the parts put back together are the article
    text = " ".join(b.text() for c in chunks for b in c.blocks)
    assert words(text) == [w for b in issue.blocks for w in words(b.text())]
    target = target_words(issue.minutes_per_part)
    for c in chunks:
        assert c.words <= 2.2 * target, (name, [x.words for x in chunks])
        assert c.blocks


def test_seed_words_conserved(seed_path: Path) -> None:
    article = import_file(seed_path)
    chunks = chunk(article.blocks)
    assert 3 <= len(chunks) <= 5
    assert sum((_body_words(c.blocks) for c in chunks), Counter()) == _body_words(article.blocks)


@pytest.mark.parametrize("name", SHAPES)
def test_no_part_ends_with_a_heading_or_cuts_a_lead_in(name: str) -> None:
    issue = load_issue(ARTICLES / f"{name}.md")
    chunks = chunk(issue.blocks)
    for c in chunks[:-1]:
        last = c.blocks[-1]
        assert not isinstance(last, Heading)
        assert not (isinstance(last, Paragraph) and last.text().rstrip().endswith(":"))


def test_short_article_stays_one_email() -> None:
    issue = load_issue(ARTICLES / "very-short.md")
    assert len(chunk(issue.blocks)) == 1
    issue = load_issue(ARTICLES / "no-headings.md")  # under 1.5 targets
    assert len(chunk(issue.blocks)) == 1


def test_parts_are_balanced_and_prefer_section_boundaries() -> None:
    issue = load_issue(ARTICLES / "very-long.md")
    chunks = chunk(issue.blocks)
    counts = [c.words for c in chunks]
    assert len(chunks) == round(sum(counts) / target_words(2.0))
    assert max(counts) < 2 * min(counts)
    starting_with_heading = sum(isinstance(c.blocks[0], Heading) for c in chunks[1:])
    assert starting_with_heading >= len(chunks[1:]) * 0.6


def test_part_count_from_front_matter_is_honoured() -> None:
    issue = load_issue(ARTICLES / "very-long.md")
    for n in (1, 2, 7):
        assert len(chunk(issue.blocks, parts=n)) == n


def test_long_list_can_be_split_between_items() -> None:
    issue = load_issue(ARTICLES / "long-lists.md")
    chunks = chunk(issue.blocks)
    assert len(chunks) >= 3
    numbers = []
    for c in chunks:
        for b in c.blocks:
            if isinstance(b, ListBlock) and b.ordered:
                numbers.extend(range(b.start, b.start + len(b.items)))
    assert numbers == list(range(1, 61)), "numbering continues across parts"


def test_deterministic() -> None:
    issue = load_issue(ARTICLES / "very-long.md")
    assert chunk(issue.blocks) == chunk(issue.blocks)
