"""A blog page's HTML, as real sites write it, becomes an issue a reader would get untouched:
the article found by the extractor, the page around it (comments, likes, share buttons,
sign-up widgets, footers) dropped and named, the author's own call to action kept and the
page's share links never taken for one."""

from __future__ import annotations

from pathlib import Path

from bs4 import BeautifulSoup

from newsletter.blocks import CallToAction, Heading, Image, Paragraph, Table, plain
from newsletter.config import Config
from newsletter.importers import import_file
from newsletter.issuefile import load_issue
from newsletter.pipeline import import_article
from newsletter.render import Renderer
from newsletter.series import build_series

from .conftest import ARTICLES


def _parts(issue_path: Path, root: Path) -> list[tuple[str, str, str]]:
    """(HTML, visible text of the HTML, text part) of every part of an issue file."""
    parts = Renderer(Config(root=root)).render_series(build_series(load_issue(issue_path)))
    out = []
    for p in parts:
        soup = BeautifulSoup(p.html, "lxml")
        for tag in soup(["style", "script", "title"]):
            tag.decompose()
        out.append((p.html, " ".join(soup.get_text(" ").split()), p.text))
    return out


def test_wordpress_page_with_comments_likes_and_footer(tmp_path: Path) -> None:
    article = import_file(ARTICLES / "wordpress-com-post.html")
    assert article.title == "Five Things I Wish I Knew Before Opening My Practice"
    assert (article.author, article.language) == ("Sarah Duran", "en")
    assert article.date.startswith("2025-03-03")
    headings = [b.text() for b in article.blocks if isinstance(b, Heading)]
    assert headings == [
        "1. Your calendar is your business plan",
        "2. Say your fee out loud before the first session",
        "3. Referrals come from people, not directories",
    ]
    photo = next(b for b in article.blocks if isinstance(b, Image))
    assert photo.caption == "My first office, the week I moved in."
    assert photo.alt == "A small therapy office with two armchairs and a window"
    body = " ".join(b.text() for b in article.blocks)
    assert body.startswith("Three years ago I signed a lease")
    assert body.endswith("I would love to hear what worries you most.")
    for chrome in (
        "Willow Creek Therapy",  # the site's name, never a heading
        "Share this",
        "Like this",
        "Loading",
        "Related",
        "Posted in",
        "thoughts on",
        "Maya R.",
        "changed how I answer the phone",  # a reader's comment
        "Leave a comment",
        "Subscribe",
        "Blog at WordPress.com",
        "Previous Post",
        "Skip to content",
    ):
        assert chrome not in body, chrome
    for piece in ("comments-area", "colophon", "jp-post-flair", "widget-area", "share links"):
        assert any(piece in n for n in article.notes), piece

    # the author's button is the call to action; the issue's cta.url is where it goes
    report = import_article(
        ARTICLES / "wordpress-com-post.html",
        issues_dir=tmp_path,
        cta_url="https://willowcreek.example/book",
    )
    issue = load_issue(report.path)
    assert issue.cta is not None
    assert (issue.cta.label, issue.cta.url) == (
        "Book a free consultation",
        "https://willowcreek.example/book",
    )
    everything = _parts(report.path, tmp_path)
    html = "".join(h for h, _, _ in everything)
    assert "https://willowcreek.example/book" in html
    assert "subscribe.wordpress.com" not in html
    assert "willowcreektherapy.wordpress.com/contact/" not in html, "cta.url wins for the button"
    for _, visible, text in everything:
        for chrome in ("Like this", "Blog at WordPress.com", "Subscribe to Blog", "Maya R."):
            assert chrome not in visible and chrome not in text


def test_medium_bold_lead_in_with_a_line_break_shows_no_markup(tmp_path: Path) -> None:
    """Medium writes a bold lead-in as ``<strong>The handoff<br></strong>We met…``."""
    report = import_article(ARTICLES / "medium-post.html", issues_dir=tmp_path)
    article = report.article
    assert article.title == "What I Learned Handing Off My First Client"
    assert article.author == "Priya Natarajan"
    lead_in = next(b for b in article.blocks if b.text().startswith("The handoff"))
    assert isinstance(lead_in, Paragraph)
    assert [(s.text, s.bold) for s in lead_in.spans[:2]] == [("The handoff", True), ("\n", False)]
    assert lead_in.spans[2].text.startswith("We met three times")
    assert load_issue(report.path).blocks == article.blocks, "the issue file reads back the same"
    for _, visible, text in _parts(report.path, tmp_path):
        assert "**" not in visible and "**" not in text
        assert "The handoffWe" not in visible
        for chrome in ("Follow", "5 min read", "Sign in", "312 Followers", "More from"):
            assert chrome not in visible, chrome


BYLINE_PAGE = (ARTICLES / "byline-post.html").read_text(encoding="utf-8")


def test_byline_posted_on_date_by_name(tmp_path: Path) -> None:
    page = tmp_path / "gentle-mornings.html"
    page.write_text(BYLINE_PAGE, encoding="utf-8")
    report = import_article(page, issues_dir=tmp_path / "issues")
    assert report.article.author == "Sarah Duran"
    assert report.article.language == "en-GB"
    assert "Posted on" not in " ".join(b.text() for b in report.article.blocks)
    assert any("Posted on March 3, 2025" in n for n in report.article.notes)
    for _, visible, text in _parts(report.path, tmp_path):
        assert "Posted" not in visible and "Posted" not in text
        assert "Sarah Duran" in text, "the sign-off names the author"


SHARE_PAGE = (ARTICLES / "share-email-post.html").read_text(encoding="utf-8")


def test_a_share_by_email_link_is_never_the_call_to_action(tmp_path: Path) -> None:
    page = tmp_path / "rest.html"
    page.write_text(SHARE_PAGE, encoding="utf-8")
    report = import_article(page, issues_dir=tmp_path / "issues")  # its self-check passes
    issue = load_issue(report.path)
    assert issue.cta is None or not issue.cta.url.startswith("mailto:")
    assert not [b for b in report.article.blocks if isinstance(b, CallToAction)]
    links = [s.href for b in report.article.blocks if isinstance(b, Paragraph) for s in b.spans]
    assert "mailto:hello@juniper.example?subject=Rest" in links, "the author's address stays"
    assert not any(h and h.startswith("mailto:?") for h in links)
    assert any("share links" in n and "E-mail this to a friend" in n for n in report.article.notes)

    # with the author's own call to action, that is the one, and cta.url wins
    with_cta = SHARE_PAGE.replace(
        '</div>\n<p class="share-bottom">',
        '<p><a class="button" href="https://juniper.example/book">Book a session</a></p>'
        '</div>\n<p class="share-bottom">',
    )
    page.write_text(with_cta, encoding="utf-8")
    report = import_article(page, issues_dir=tmp_path / "issues", force=True)
    issue = load_issue(report.path)
    assert issue.cta is not None
    assert (issue.cta.label, issue.cta.url) == ("Book a session", "https://juniper.example/book")


TABLE_PAGE = (ARTICLES / "fees-table.html").read_text(encoding="utf-8")


def test_a_table_reads_as_rows(tmp_path: Path) -> None:
    page = tmp_path / "fees.html"
    page.write_text(TABLE_PAGE, encoding="utf-8")
    report = import_article(page, issues_dir=tmp_path / "issues")
    table = next(b for b in report.article.blocks if isinstance(b, Table))
    assert [plain(c) for c in table.header] == ["Session", "Length", "Fee"]
    assert [[plain(c) for c in row] for row in table.rows] == [
        ["Individual", "50 minutes", "$140"],
        ["Couples", "80 minutes", "$190"],
        ["Group", "90 minutes", "$60"],
    ]
    assert load_issue(report.path).blocks == report.article.blocks, "it reads back the same"
    text = "\n".join(t for _, _, t in _parts(report.path, tmp_path))
    assert "Couples" in text and "80 minutes" in text and "$190" in text
    assert "Sliding-scale places are available" in text


def test_the_page_language_is_the_article_language(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(BYLINE_PAGE.replace('lang="en-GB"', 'lang="de-DE"'), encoding="utf-8")
    assert import_file(page).language == "de-DE"
    no_lang = BYLINE_PAGE.replace(' lang="en-GB"', "").replace(
        "<head>", '<head><meta property="og:locale" content="fr_FR">'
    )
    page.write_text(no_lang, encoding="utf-8")
    assert import_file(page).language == "fr-FR"


def test_a_tag_managers_hidden_frame_is_no_embed(tmp_path: Path) -> None:
    """Google Tag Manager's ``<noscript><iframe width=0 height=0 style=display:none>`` and
    a one-pixel analytics frame are the site's trackers, not the author's embeds: no "See it
    online" line and no note saying one was kept; the author's video still is."""
    page = tmp_path / "post.html"
    page.write_text(
        '<!doctype html><html lang="en"><head><title>Saying no kindly</title></head><body>'
        '<noscript><iframe src="https://www.googletagmanager.com/ns.html?id=GTM-5HBJC2K" '
        'height="0" width="0" style="display:none;visibility:hidden"></iframe></noscript>'
        "<article><h1>Saying no kindly</h1><p>Boundaries protect the relationship as much "
        "as they protect you, and a short, warm no is easier to hear than a long one.</p>"
        '<iframe src="https://stats.example-analytics.com/px?site=42" width="1" height="1">'
        "</iframe>"
        '<p><iframe width="560" height="315" src="https://www.youtube.com/embed/abc123XYZ78">'
        "</iframe></p><p>Keep it short and warm, and say it once, early, before the tension "
        "rises and everyone is tired.</p></article></body></html>",
        encoding="utf-8",
    )
    article = import_file(page)
    kept = [n for n in article.notes if "kept as a link" in n]
    assert kept == [
        "embedded iframe kept as a link: Watch the video: "
        "https://www.youtube.com/watch?v=abc123XYZ78"
    ]
    text = "\n".join(b.text() for b in article.blocks)
    assert "googletagmanager" not in text and "example-analytics" not in text
    assert "https://www.youtube.com/watch?v=abc123XYZ78" in text
