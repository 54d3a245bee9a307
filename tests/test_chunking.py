"""The chunker: nothing lost, nothing doubled, breaks where an editor would put them."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from newsletter.blocks import Heading, ListBlock, ListItem, Paragraph, spans_of, words
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
    target = target_words(2.0)
    assert abs(len(chunks) - round(sum(counts) / target)) <= 1
    assert all(0.6 * target <= w <= 1.6 * target for w in counts), counts
    # every chapter fits in a part, so every part starts with a chapter heading
    assert all(isinstance(c.blocks[0], Heading) for c in chunks)


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


def _section_words(blocks) -> list[int]:
    sizes: list[int] = []
    for b in blocks:
        if isinstance(b, Heading) or not sizes:
            sizes.append(0)
        sizes[-1] += b.word_count()
    return sizes


def test_uneven_sections_make_one_part_each() -> None:
    """430/620/540/420 words: equal lengths would cut two sections, an editor cuts none."""
    issue = load_issue(ARTICLES / "studio-partnerships.md")
    sections = _section_words(issue.blocks)
    assert len(sections) == 4 and max(sections) - min(sections) > 180, sections
    chunks = chunk(issue.blocks)
    assert [c.words for c in chunks] == sections
    for c in chunks:
        assert isinstance(c.blocks[0], Heading) and not c.continues
    # the reasons name the section each break comes before, and the next-best place
    assert chunks[1].reason == "before the section 'How to Start the Conversation'"
    assert "inside the section" in chunks[1].alternative
    assert "words)" in chunks[1].alternative
    assert chunks[-1].reason == "end of the article" and chunks[-1].alternative == ""


def test_part_starting_inside_a_section_repeats_its_heading() -> None:
    issue = load_issue(ARTICLES / "one-huge-section.md")
    chunks = chunk(issue.blocks)
    assert len(chunks) >= 2
    heading = issue.blocks[0]
    assert isinstance(heading, Heading)
    for c in chunks[1:]:
        assert not isinstance(c.blocks[0], Heading)
        assert c.continues == (heading,)
        assert "inside the section 'Everything in one place'" in c.reason or c is chunks[-1]


def test_a_list_shorter_than_a_part_is_never_split() -> None:
    intro = Paragraph(spans_of(" ".join(["Some words before the list."] * 60)))
    lead = Paragraph(spans_of("These are the kinds of therapist you may meet:"))
    items = tuple(
        ListItem(spans_of(f"Therapist type {k}: " + "who they help and how they work " * 4))
        for k in range(1, 18)
    )
    therapists = ListBlock(False, items)
    outro = Paragraph(spans_of(" ".join(["Some words after the list."] * 60)))
    assert target_words(2.0) < therapists.word_count() < 1.6 * target_words(2.0)
    chunks = chunk([intro, lead, therapists, outro])
    lists = [b for c in chunks for b in c.blocks if isinstance(b, ListBlock)]
    assert lists == [therapists]


def test_long_section_breaks_before_a_subsection() -> None:
    issue = load_issue(ARTICLES / "teen-therapist.md")
    chunks = chunk(issue.blocks)
    assert len(chunks) == 3
    assert chunks[1].reason == (
        "before the subsection 'What Insurance Usually Covers', "
        "inside the section 'Who Does What: Types of Therapists'"
    )
    section = chunks[2].continues
    assert [h.text() for h in section] == ["Who Does What: Types of Therapists"]
    assert isinstance(chunks[2].blocks[0], Heading) and chunks[2].blocks[0].level == 3


def test_an_article_with_no_place_to_break_stays_one_part() -> None:
    """A list (shorter than a part) right after its heading and lead-in: no break is
    allowed anywhere, though the article is long enough for two parts."""
    heading = Heading(2, spans_of("Every idea we tried"))
    lead = Paragraph(spans_of("Here they are, in the order we tried them:"))
    items = tuple(ListItem(spans_of("An idea that worked for us " * 3)) for _ in range(9))
    long_list = ListBlock(False, items)
    one = chunk([heading, lead, Paragraph(spans_of("Word " * 900))])
    assert len(one) == 1  # better one long email than one of a heading and a lead-in
    none = chunk([heading, lead, long_list], minutes_per_part=0.5)
    assert len(none) == 1
