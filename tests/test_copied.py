"""Text copied from real pages (select all, copy): the page's frame is dropped, line by
line, and the article is kept, whatever the page's language."""

from __future__ import annotations

from pathlib import Path

from newsletter.blocks import Heading
from newsletter.config import Config
from newsletter.importers import import_source
from newsletter.issuefile import dump_issue, parse_issue
from newsletter.render import Renderer
from newsletter.series import build_series

from .conftest import ARTICLES


def _everything(path: Path, tmp_path: Path) -> tuple[str, str]:
    """(the title, every rendered part's HTML and text together)."""
    article = import_source(path)
    issue = parse_issue(dump_issue(article), tmp_path / "issue.md")
    parts = Renderer(Config(root=tmp_path)).render_series(build_series(issue))
    return article.title, " ".join(p.html + "\n" + p.text for p in parts)


def test_navigation_twice_cookie_banner_author_box_and_promo(tmp_path: Path) -> None:
    path = ARTICLES / "copied-seo-post.txt"
    title, everything = _everything(path, tmp_path)
    assert title == "How to Price Your Bookkeeping Services in 2025"
    for chrome in (
        "Skip to content",
        "Book a Call",
        "Home »",
        "7 min read",
        "FREE DOWNLOAD",
        "Download now",
        "Share this",
        "Like Loading",
        "About the author",
        "founder of Ledgerlight",
        "Related posts",
        "Why We Stopped Offering Discounts",
        "Subscribe to our newsletter",
        "All rights reserved",
        "We use cookies",
        "Back to top",
    ):
        assert chrome not in everything, chrome
    for kept in (
        "Pricing is the question I hear most",
        "Why hourly pricing holds you back",
        "Value pricing. For clean-up projects",
        "How to raise your prices without losing clients",
        "far less likely to discount on the spot",
    ):
        assert kept in everything, kept
    article = import_source(path)
    headings = [b.text() for b in article.blocks if isinstance(b, Heading)]
    assert headings == [
        "Why hourly pricing holds you back",
        "Three models that work",
        "How to raise your prices without losing clients",
    ]
    notes = "\n".join(article.notes)
    assert "line 61: dropped page navigation: 'We use cookies" in notes
    assert "line 35: dropped promotion box: 'Download now'" in notes


def test_german_page_with_its_menu_twice_and_a_breadcrumb(tmp_path: Path) -> None:
    path = ARTICLES / "copied-german.txt"
    title, everything = _everything(path, tmp_path)
    assert title == "Wollpullover richtig waschen: So bleibt er weich"
    for chrome in (
        "Zum Inhalt springen",
        "Impressum",
        "Startseite",
        "von Anna Berger",
        "Über die Autorin",
        "Ähnliche Beiträge",
        "Kaschmir",
        "Nach oben",
        "Wir verwenden Cookies",
        "Akzeptieren",
    ):
        assert chrome not in everything, chrome
    for kept in (
        "Ein guter Wollpullover hält viele Jahre",
        "Von Hand waschen",
        "Trocknen ohne Verziehen",
        "so weich wie vorher",
    ):
        assert kept in everything, kept


def test_a_title_is_never_a_run_of_menu_words(tmp_path: Path) -> None:
    """A page whose menu comes before anything else, and whose title is given only by
    the page's address (the file's name)."""
    text = (
        "Shop\nTips\nFashion\nAbout\nPrivacy\nImprint\n\n"
        "Caring for linen is easier than its reputation suggests. Wash it cool, skip the "
        "dryer, and let the creases be part of its charm; after a few washes it softens "
        "and drapes the way you bought it for.\n\n"
        "Most stains come out with cold water and a little soap if you treat them the same "
        "day. Leave hot water for the towels, because heat sets the stain into the fibres.\n"
    )
    path = tmp_path / "caring-for-linen.txt"
    path.write_text(text, encoding="utf-8")
    article = import_source(path)
    assert article.title == "Caring for linen"
    assert article.blocks[0].text().startswith("Caring for linen is easier")
    assert not any(b.text() in ("Shop", "Imprint") for b in article.blocks)
