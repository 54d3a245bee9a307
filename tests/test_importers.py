"""Importers: what editors really have becomes clean blocks; nothing is dropped silently."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from newsletter.blocks import CallToAction, Heading, Image, ListBlock, Paragraph, words
from newsletter.importers import import_file
from newsletter.issuefile import dump_issue, parse_issue

from .conftest import ARTICLES


def _seed_lines(path: Path) -> list[str]:
    return [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]


def test_copied_text_finds_title_sections_lists_ctas_and_photos(seed_path: Path) -> None:
    article = import_file(seed_path)
    lines = _seed_lines(seed_path)
    assert article.title == lines[0]
    headings = [b.text() for b in article.blocks if isinstance(b, Heading)]
    # Section headings: short lines without end punctuation that introduce text.
    expected = [
        ln
        for ln in lines[1:]
        if len(ln.split()) <= 16
        and not ln.endswith((".", ":"))
        and not ln.startswith(("•", "👉"))
        and ln[0].isupper()
        and ln not in ("Next",)
        and not ln[0].isdigit()
    ]
    for h in headings:
        assert h in expected
    assert len(headings) >= 7
    photos = [b for b in article.blocks if isinstance(b, Image)]
    assert len(photos) == 3 and all(p.alt and not p.src for p in photos)
    prose = " ".join(b.text() for b in article.blocks if isinstance(b, Paragraph))
    for p in photos:
        assert p.alt not in prose
    bullet_lists = [b for b in article.blocks if isinstance(b, ListBlock) and not b.ordered]
    assert [len(b.items) for b in bullet_lists] == [3, 4]
    steps = [b for b in article.blocks if isinstance(b, ListBlock) and b.ordered]
    assert len(steps) == 1 and len(steps[0].items) == 4
    assert all(item.detail for item in steps[0].items), "each step keeps its explanation"
    ctas = [b for b in article.blocks if isinstance(b, CallToAction)]
    assert len(ctas) >= 2 and not any(c.label.startswith("👉") for c in ctas)


def test_copied_text_drops_page_navigation_and_says_so(seed_path: Path) -> None:
    article = import_file(seed_path)
    last_line = _seed_lines(seed_path)[-1]
    body = " ".join(b.text() for b in article.blocks)
    assert last_line not in body
    assert not any(b.text().strip() == "Next" for b in article.blocks)
    dropped = [n for n in article.notes if "dropped" in n]
    assert any("'Next'" in n for n in dropped)
    assert any(last_line in n for n in dropped)


def test_copied_text_keeps_every_prose_word(seed_path: Path) -> None:
    """Every word is in the body except the title and the lines reported as dropped."""
    article = import_file(seed_path)
    dropped = {int(n.split()[1].rstrip(":")) for n in article.notes if "dropped" in n}
    assert dropped, "the page navigation is reported line by line"
    lines = seed_path.read_text(encoding="utf-8").splitlines()
    kept = [
        re.sub(r"^\s*\d+\.\s", "", ln)
        for number, ln in enumerate(lines, start=1)
        if number not in dropped and number > 1
    ]
    assert Counter(article.body_words()) == Counter(words("\n".join(kept)))


def test_html_page_keeps_the_article_and_drops_the_page(tmp_path: Path) -> None:
    article = import_file(ARTICLES / "blog-post.html")
    assert article.title == "Sleep After a Loss"
    assert article.url == "https://example.com/blog/sleep-after-loss"
    text = " ".join(b.text() for b in article.blocks)
    for junk in (
        "cookies",
        "Share on Facebook",
        "Leave a comment",
        "Recent posts",
        "All rights reserved",
        "tracking-script-text",
        "About us",
    ):
        assert junk not in text
    assert [b.text() for b in article.blocks if isinstance(b, Heading)] == [
        "Why grief disturbs sleep",
        "When to ask for help",
    ]
    images = [b for b in article.blocks if isinstance(b, Image)]
    assert [i.alt for i in images] == [
        "A lamp glowing in a dark window at night",
        "A path through a quiet park in the morning",
    ]
    assert images[0].caption == "Nights can feel very long."
    lists = [b for b in article.blocks if isinstance(b, ListBlock)]
    assert len(lists) == 1 and len(lists[0].items) == 3
    para = next(
        b for b in article.blocks if isinstance(b, Paragraph) and "office hours" in b.text()
    )
    assert any(s.italic and s.text == "nights" for s in para.spans)
    link = [s for b in article.blocks if isinstance(b, Paragraph) for s in b.spans if s.href]
    assert link and link[0].href == "https://example.com/contact"
    cta = [b for b in article.blocks if isinstance(b, CallToAction)]
    assert cta == [CallToAction(label="Book a session", url="https://example.com/book")]
    assert any("share-buttons" in n for n in article.notes)
    assert any("nav" in n for n in article.notes)


def test_jekyll_and_hugo_front_matter() -> None:
    jekyll = import_file(ARTICLES / "jekyll-post.md")
    assert jekyll.title == "Three Questions Before You Hire"
    assert jekyll.subtitle == "A short checklist for first-time employers."
    assert jekyll.tags == ["hiring", "small-business"]
    assert jekyll.date.startswith("2026-03-01")
    assert set(jekyll.extra) == {"layout", "permalink"}
    assert any("{% include toc.html %}" in n for n in jekyll.notes)
    assert "include" not in " ".join(b.text() for b in jekyll.blocks)
    hugo = import_file(ARTICLES / "hugo-post.md")
    assert hugo.title == "Pricing Your Services"
    assert hugo.tags == ["pricing", "freelance"]
    assert "figure" not in " ".join(b.text() for b in hugo.blocks)
    assert len([b for b in hugo.blocks if isinstance(b, Heading)]) == 2


def test_issue_file_round_trip_keeps_every_block(seed_path: Path, tmp_path: Path) -> None:
    for source in (seed_path, ARTICLES / "blog-post.html", ARTICLES / "jekyll-post.md"):
        article = import_file(source)
        issue = parse_issue(dump_issue(article), tmp_path / "x.md")
        assert issue.blocks == article.blocks, source
        assert issue.title == article.title


def test_markdown_special_characters_survive_the_round_trip(tmp_path: Path) -> None:
    text = (
        "---\ntitle: Edge cases\n---\n\n"
        "Prices: 5 * 3 = 15, a_b_c, [not a link], <b>not bold</b>, &amp; stays.\n\n"
        "1\\. Not a list item.\n\n# Heading with *stars*\n"
    )
    issue = parse_issue(text, tmp_path / "edge.md")
    again = parse_issue(dump_issue(issue.article), tmp_path / "edge.md")
    assert again.blocks == issue.blocks


def test_copied_text_from_another_blog() -> None:
    """A second copied page, of another shape: chrome at the top and the bottom, a photo
    line that does not follow a heading, '-' bullets, '1)' steps with their explanation."""
    article = import_file(ARTICLES / "copied-garden.txt")
    assert article.title == "Five Easy Herbs for a Kitchen Windowsill"
    kinds = [b.kind for b in article.blocks]
    assert kinds == [
        "paragraph",
        "image",
        "heading",
        "paragraph",
        "paragraph",
        "list",
        "heading",
        "list",
        "heading",
        "paragraph",
        "cta",
    ]
    steps = article.blocks[7]
    assert isinstance(steps, ListBlock) and steps.ordered and len(steps.items) == 5
    assert all(item.detail for item in steps.items)
    body = " ".join(b.text() for b in article.blocks)
    for chrome in ("Posted on", "Share this", "Like Loading", "Previous Post", "Seed Swaps"):
        assert chrome not in body
        assert any(chrome in n for n in article.notes), chrome


def test_round_trip_over_every_block_type(tmp_path: Path) -> None:
    """An issue file written from blocks of every type reads back as the same blocks."""
    from newsletter.blocks import Article, Code, Quote, Rule, Span
    from newsletter.blocks import ListItem as Item

    link = "https://example.com/a?b=1&c=(2)"
    blocks = [
        Heading(2, (Span("A heading with "), Span("emphasis", italic=True))),
        Paragraph(
            (
                Span("Bold ending in ", bold=True),
                Span("italic", bold=True, italic=True),
                Span(".", bold=True),
                Span(" Then "),
                Span("a link with ", href=link),
                Span("bold", bold=True, href=link),
                Span(", "),
                Span("x = `y` * 2", code=True),
                Span(", 5 * 3 [not a link] <b>not bold</b> &amp; a_b_c."),
            )
        ),
        Paragraph((Span("Jane Doe, LMFT"), Span("\n"), Span("jane@example.com"))),
        ListBlock(False, (Item((Span("one"),)), Item((Span("two", italic=True),)))),
        ListBlock(
            True,
            (Item((Span("Step"),), (Span("Why it helps."),)), Item((Span("Next step"),))),
            start=3,
        ),
        Image(alt="A photo [with] brackets", src="https://example.com/p.jpg", caption="Cap"),
        Image(alt="Avatar", src="https://example.com/a.jpg", width=100),
        Image(alt="A small chart", src="https://example.com/c.png", caption="Q3", width=320),
        Image(alt="A photo description without its image"),
        Quote(((Span("First "), Span("quoted", bold=True)), (Span("Second paragraph."),))),
        CallToAction("Book a session", "https://example.com/book"),
        CallToAction("Call us today"),
        Code("def f(x):\n    return x * 2  # *not* emphasis"),
        Rule(),
        Paragraph((Span("# not a heading, 1. not a list"),)),
    ]
    article = Article(title="Every block: a test", blocks=list(blocks))
    issue = parse_issue(dump_issue(article), tmp_path / "every.md")
    assert issue.blocks == blocks
    assert issue.title == article.title


def test_round_trip_of_every_fixture(tmp_path: Path) -> None:
    for path in sorted(ARTICLES.iterdir()):
        article = import_file(path)
        issue = parse_issue(dump_issue(article), tmp_path / "x.md")
        assert issue.blocks == article.blocks, path.name


def test_copied_titles_that_look_a_little_like_chrome_stay_titles(tmp_path: Path) -> None:
    """Titles starting with "By", holding a month or a colon are titles, not bylines."""
    body = (
        "The first paragraph of the article is here, and it is long enough to be prose. "
        "It goes on for a while.\n\nA Heading\n\nMore text follows the heading, as it does.\n"
    )
    for title in (
        "By the Sea: What Summer Taught Me",
        "May Flowers and Other Spring Chores",
        "Next Steps After a Diagnosis",
        "Home Office Tax Rules, Explained",
    ):
        path = tmp_path / "post.txt"
        path.write_text(f"{title}\n\n{body}", encoding="utf-8")
        article = import_file(path)
        assert article.title == title
        assert not article.notes


def test_html_note_titles_lead_only_their_own_paragraph(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(
        "<html><body><article><h1>Notes</h1><p>An opening paragraph of the article.</p>"
        '<a href="https://example.com/book">Book a session</a>'
        "<p>A paragraph after a button, with no label before it.</p>"
        '<div class="admonition note"><p class="admonition-title">Note</p>'
        "<p>Labelled text.</p></div></article></body></html>",
        encoding="utf-8",
    )
    texts = [b.text() for b in import_file(page).blocks]
    assert texts == [
        "An opening paragraph of the article.",
        "Book a session",
        "A paragraph after a button, with no label before it.",
        "Note: Labelled text.",
    ]


def test_an_arrow_line_is_a_call_to_action_only_when_it_asks_to_act(
    seed_path: Path, tmp_path: Path
) -> None:
    """The importers and the series use one rule: the import report counts only the
    lines that will be shown as calls to action."""
    from newsletter.pipeline import import_article

    report = import_article(seed_path, out=tmp_path / "seed.md")
    assert "8 sections, 3 lists, 2 calls to action, 3 images" in report.found
    for name, asks, says in (
        (
            "studio-partnerships.md",
            "Book a free strategy call to find the right first partner for your studio.",
            "Whatever you decide, your studio deserves to grow at a pace you can keep.",
        ),
        (
            "teen-therapist.md",
            "Schedule a free 15-minute consultation to talk through what your teen needs.",
            "Reaching out is a sign of strength, for your teen and for you.",
        ),
    ):
        article = import_file(ARTICLES / name)
        assert [b.text() for b in article.blocks if isinstance(b, CallToAction)] == [asks]
        assert says in [b.text() for b in article.blocks if isinstance(b, Paragraph)]


YOAST_PAGE = """<!doctype html><html><head>
<title>Grief and Sleep - Juniper Counseling</title>
<meta property="og:title" content="Grief and Sleep - Juniper Counseling">
<meta property="og:site_name" content="Juniper Counseling">
<meta property="article:author" content="https://www.facebook.com/juniper.counseling">
<script type="application/ld+json" class="yoast-schema-graph">{"@context":"https://schema.org",
"@graph":[{"@type":"Article","@id":"https://juniper.example/grief-sleep/#article",
"author":{"name":"Dr. Maya Lin","@id":"https://juniper.example/#/schema/person/7d1"},
"headline":"Grief and Sleep","datePublished":"2024-03-03T08:00:00+00:00"},
{"@type":"Person","@id":"https://juniper.example/#/schema/person/7d1","name":"Dr. Maya Lin"}]}
</script>
<script type="application/ld+json">{ not json, as some plugins write it </script>
</head><body>
<nav><a href="/">Home</a> <a href="/blog">Blog</a></nav>
<article><header><h1>Grief and Sleep</h1>
<div class="entry-meta">By <a rel="author" href="/author/maya">Dr. Maya Lin</a>
| March 3, 2024</div>
</header>
<div class="entry-content"><p>Grief changes how we sleep. Many people wake at three in the
morning and cannot settle again, and that is a normal part of loss.</p>
<h2>What helps</h2><p>A steady evening routine helps the body expect rest again.</p></div>
</article><footer>© 2024 Juniper Counseling</footer></body></html>"""


def test_html_author_and_date_from_the_structured_data_or_the_byline(tmp_path: Path) -> None:
    """No meta author, a profile URL as article:author: the name comes from the JSON-LD
    (a Person referenced by @id, as Yoast writes it), else from the byline; the byline
    itself stays out of the body."""
    page = tmp_path / "grief.html"
    page.write_text(YOAST_PAGE, encoding="utf-8")
    article = import_file(page)
    assert (article.author, article.date) == ("Dr. Maya Lin", "2024-03-03T08:00:00+00:00")
    assert "March 3, 2024" not in " ".join(b.text() for b in article.blocks)
    no_data = YOAST_PAGE.replace('"name":"Dr. Maya Lin"', '"name":""')
    page.write_text(no_data.replace("datePublished", "dateModified"), encoding="utf-8")
    assert (import_file(page).author, import_file(page).date) == ("Dr. Maya Lin", "")
    served = import_file(ARTICLES / "served-post.html")  # "Posted on <time> by Dana"
    assert (served.author, served.date) == ("Dana", "2024-03-04")


def test_an_embed_card_keeps_its_link_and_its_caption(tmp_path: Path) -> None:
    """Ghost and WordPress put a video in a <figure> with a caption and no image: the
    video's link line stays (it was lost, the caption kept alone)."""
    page = tmp_path / "card.html"
    page.write_text(
        "<html><head><title>Saying no</title></head><body><article><h1>Saying no</h1>"
        "<p>Boundaries protect the relationship as much as they protect you, all evening.</p>"
        '<figure class="kg-card kg-embed-card"><iframe width="560" height="315" '
        'src="https://www.youtube.com/embed/abc123XYZ78" allowfullscreen></iframe>'
        "<figcaption>A two-minute practice for saying no kindly.</figcaption></figure>"
        "<p>Keep it short and warm, and say it once, early, before the tension rises.</p>"
        "</article></body></html>",
        encoding="utf-8",
    )
    texts = [b.text() for b in import_file(page).blocks]
    link = texts.index("Watch the video: https://www.youtube.com/watch?v=abc123XYZ78")
    assert texts[link + 1] == "A two-minute practice for saying no kindly."
