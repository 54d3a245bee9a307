"""Framing sentences and rules: sentence ends, recaps, subjects, calls to action."""

from __future__ import annotations

from pathlib import Path

from newsletter.blocks import Article, CallToAction, Paragraph, Span, asks_to_act, spans_of
from newsletter.config import Config
from newsletter.issuefile import CTA, load_issue, parse_issue
from newsletter.pipeline import article_cta, import_article, render_issue
from newsletter.series import build_series, frame_ctas
from newsletter.summary import recap, sentences

from .conftest import ARTICLES


def test_abbreviations_do_not_end_a_sentence() -> None:
    text = (
        "Kids need a caregiver who is attuned, i.e. emotionally available when you are "
        "with them. Dr. Lee agrees with that. Does it work? Yes."
    )
    assert sentences(text) == (
        "Kids need a caregiver who is attuned, i.e. emotionally available when you are with them.",
        "Dr. Lee agrees with that.",
        "Does it work?",
        "Yes.",
    )


def test_recap_is_whole_sentences_of_the_part() -> None:
    para = Paragraph(
        spans_of(
            "Sleep matters for the whole family, i.e. for parents as much as for babies. "
            "A calm bedtime routine helps babies settle and helps parents rest. "
            "That is all."
        )
    )
    text = recap((para,))
    assert text.startswith("Sleep matters for the whole family, i.e. for parents")
    assert "That is all" not in text  # leans on the sentence before it
    for s in sentences(text):
        assert s in para.text()


def test_a_line_asks_to_act_by_its_words_not_its_arrow() -> None:
    for line in (
        "👉 Reach out today to schedule a consultation.",
        "Book a free 15-minute call",
        "→ Download the checklist",
        "Sign up for the spring workshop",
        "👉 Learn more about counseling for working moms.",
    ):
        assert asks_to_act(line), line
    for line in (
        "👉 You’re allowed to want both—and you deserve support along the way.",
        "→ Mornings are hard for everyone.",
        "Booking season is here again.",
    ):
        assert not asks_to_act(line), line


def test_subjects_put_specific_words_first() -> None:
    series = build_series(load_issue(ARTICLES / "very-long.md"))
    subjects = [p.subject for p in series.parts]
    assert not any(s.lower().startswith("chapter") for s in subjects), subjects
    assert len(set(subjects)) == len(subjects)
    assert all(len(s) <= 50 for s in subjects)


def test_long_heading_gives_its_first_question_as_subject(tmp_path: Path) -> None:
    body = (ARTICLES / "studio-partnerships.md").read_text()
    body = body.replace(
        "## How to Start the Conversation",
        "## Nervous About Reaching Out? How to Start the Conversation With a Partner",
    )
    series = build_series(parse_issue(body, tmp_path / "x.md"))
    assert series.parts[2].subject == "Nervous About Reaching Out?"


def test_sign_off_is_a_setting(workdir: Path) -> None:
    config = Config(root=workdir)
    _, parts = render_issue(ARTICLES / "studio-partnerships.md", config)
    assert "Until next time,\nMaya Lindqvist" in parts[0].text
    config.series.sign_off = "Warmly, {author}"
    _, parts = render_issue(ARTICLES / "studio-partnerships.md", config)
    assert "Warmly, Maya Lindqvist" in parts[0].text and "Warmly, Maya Lindqvist" in parts[0].html
    config.series.sign_off = ""
    _, parts = render_issue(ARTICLES / "studio-partnerships.md", config)
    assert "Maya Lindqvist" not in parts[0].text


def test_an_arrow_line_that_asks_nothing_is_text_and_keeps_its_link() -> None:
    encouragement = CallToAction("You deserve support along the way.")
    badge = CallToAction("Free consultation", url="https://example.com/free")
    book = CallToAction("Book a session")
    cta = CTA("Book a session", "https://example.com/book")
    out = frame_ctas((encouragement, badge, book), cta)
    assert out[0] == Paragraph((Span("You deserve support along the way."),))
    assert out[1] == Paragraph((Span("Free consultation", href="https://example.com/free"),))
    assert out[2] == CallToAction("Book a session", "https://example.com/book", main=True)
    # and an article whose only arrow line is encouragement has no call to action of its own
    article = Article("T", [Paragraph(spans_of("Text.")), encouragement])
    assert article_cta(article) is None
    assert article_cta(article, "https://example.com/book") == CTA(
        "Find out more", "https://example.com/book"
    )


def _subjects_name_their_part(path: Path, tmp_path: Path) -> list[str]:
    from newsletter.series import short_title

    series = build_series(load_issue(import_article(path, out=tmp_path / f"{path.stem}.md").path))
    subjects = [p.subject for p in series.parts]
    assert len(set(subjects)) == len(subjects), subjects
    for p in series.parts:
        assert len(p.subject) <= 50, p.subject
        # never the series title (nor its head) while the style is "{heading}"
        assert p.subject not in (series.title, short_title(series.title)), (p.index, subjects)
        assert not p.subject.lower().startswith("chapter"), p.subject
        # named after one of its headings, else one of its sentences, in its own words
        stem = p.subject.removesuffix(" (continued)").rstrip("…")
        assert stem in " ".join(b.text() for b in p.blocks), p.subject
    return subjects


def test_every_subject_names_its_part_never_the_series_title(tmp_path: Path) -> None:
    subjects = _subjects_name_their_part(ARTICLES / "very-long.md", tmp_path)
    # part 7 opens "Chapter 9: Every client and regular attention rather than heroics"
    assert subjects[6] == "Every client and regular attention…"
    subjects = _subjects_name_their_part(ARTICLES / "one-huge-section.md", tmp_path)
    assert subjects[:2] == ["Everything in one place", "Everything in one place (continued)"]
    _subjects_name_their_part(ARTICLES / "long-lists.md", tmp_path)


def test_a_sentence_the_article_says_twice_is_recapped_once() -> None:
    from newsletter.blocks import ListBlock, ListItem
    from newsletter.summary import ranked

    said = "The first draft rewards a clear plan written down."
    part = (
        ListBlock(False, (ListItem(spans_of(said)), ListItem(spans_of("Rest as much as effort.")))),
        Paragraph(spans_of(f"{said} Every client asks for honest feedback from a friend.")),
        Paragraph(spans_of("the FIRST draft rewards a clear plan — written down!")),
    )
    texts = [s.text for s in ranked(part)]
    assert len(texts) == 3 and texts.count(said) == 1, texts  # the third says it again
    keys = [
        " ".join(s.lower().strip(".!").replace(" —", "").split()) for s in sentences(recap(part))
    ]
    assert len(set(keys)) == len(keys), recap(part)


def test_every_subject_style_fits_a_series_of_long_headings() -> None:
    from newsletter.config import SeriesStyle

    issue = load_issue(ARTICLES / "very-long.md")
    for style, limit in (
        ("{heading} ({k}/{n})", 50),
        ("Part {k}: {heading}", 50),
        ("{title}: {heading}", 60),  # a 45-character title: its head is cut too
    ):
        subjects = [p.subject for p in build_series(issue, SeriesStyle(subject=style)).parts]
        assert all(len(s) <= limit for s in subjects), (style, subjects)
        assert len(set(subjects)) == len(subjects), subjects


def test_teasers_name_the_next_part_without_its_chapter_label(tmp_path: Path) -> None:
    """Each part's headings read "Chapter N: ..." in this article: the teaser names the
    next part by its words, not by its number."""
    issue = load_issue(import_article(ARTICLES / "very-long.md", out=tmp_path / "v.md").path)
    series = build_series(issue)
    headings = " ".join(b.text() for p in series.parts for b in p.blocks if b.kind == "heading")
    assert "Chapter 9: Every client" in headings  # the labels are in the article
    teasers = [p.teaser for p in series.parts if p.teaser]
    assert len(teasers) == len(series.parts) - 1
    assert not [t for t in teasers if "chapter" in t.lower()], teasers
    assert series.parts[5].teaser.startswith(
        "Part 7 looks at “Every client and regular attention rather than heroics”:"
    )
