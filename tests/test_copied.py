"""Text copied from real pages (select all, copy): the page's frame is dropped, line by
line, and the article is kept, whatever the page's language."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from newsletter.blocks import Heading
from newsletter.cli import cli
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
    headings = [b.text() for b in import_source(path).blocks if isinstance(b, Heading)]
    assert headings == [
        "Wie oft muss Wolle überhaupt gewaschen werden?",
        "Von Hand waschen",
        "Trocknen ohne Verziehen",
    ]


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


def _cli(*args: str) -> click.testing.Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_outline_review_and_quick_correction(workdir: Path) -> None:
    """The editor sees what was kept and dropped, line by line; sees it again later;
    and corrects the article's start, end and title without touching any file."""
    source = ARTICLES / "copied-seo-post.txt"
    assert _cli("init", ".").exit_code == 0
    first = _cli("import", str(source))
    assert first.exit_code == 0, first.output
    lines = [ln.strip() for ln in first.output.splitlines()]
    assert "1  dropped page chrome before the title: 'Skip to content'" in lines
    assert "16  title   How to Price Your Bookkeeping Services in 2025" in lines
    assert any(ln.startswith("21  kept    heading: Why hourly pricing") for ln in lines)
    assert any(ln.startswith("61  dropped page navigation: 'We use cookies") for ln in lines)
    issue = workdir / "issues" / "how-to-price-your-bookkeeping-services-in-2025.md"

    review = _cli("import", "--review", str(issue))
    assert review.exit_code == 0
    assert "1  dropped page chrome before the title: 'Skip to content'" in review.output
    assert "16  title   How to Price Your Bookkeeping Services in 2025" in review.output

    again = _cli(
        "import", "--review", str(issue), "--start", "Clients also dread", "--end", "29",
        "--title", "Pricing, briefly",
    )  # fmt: skip
    assert again.exit_code == 0, again.output
    written = issue.read_text(encoding="utf-8")
    assert "title: Pricing, briefly" in written
    body = written.split("---\n", 2)[2]
    assert body.lstrip().startswith("Clients also dread open-ended bills.")
    assert "Monthly packages." in body and "sixty days' notice" not in body
    assert "Hourly billing feels fair" not in body
    assert "23  dropped by --start: 'Hourly billing" in again.output

    # once the editor has changed the issue file, a correction never overwrites it
    issue.write_text(written + "\nMy own closing line.\n", encoding="utf-8")
    refused = _cli("import", "--review", str(issue), "--start", "19")
    assert refused.exit_code == 1 and "already exists" in refused.output
    assert "My own closing line." in issue.read_text(encoding="utf-8")
    missing = _cli("import", "--review", str(issue), "--start", "no such words here")
    assert missing.exit_code == 1
    assert "--start: no line of the source holds 'no such words here'" in missing.output


def test_a_listicle_keeps_its_numbered_products_and_drops_its_table_of_contents(
    tmp_path: Path,
) -> None:
    """A review page copied from the browser: its "Our top picks" list and "Jump to:"
    links repeat the products' and the sections' headings; the numbered products are the
    article, never navigation, and each heading is kept once, where it heads its text."""
    path = ARTICLES / "copied-listicle.txt"
    article = import_source(path)
    assert article.title == "The 5 Best Espresso Machines for Beginners in 2025"
    assert article.author == "Jenna Park"
    title, everything = _everything(path, tmp_path)
    for product in ("Breville Bambino Plus", "De'Longhi Dedica Arte", "Casabrews 3700"):
        assert product in everything, product
    body = "\n".join(b.text() for b in article.blocks)
    for once in ("Breville Bambino Plus", "Rancilio Silvia", "How we tested", "What to look for"):
        assert body.count(once) == 1, once
    assert "Price: $499" in body
    headings = [b.text() for b in article.blocks if isinstance(b, Heading)]
    assert headings == ["How we tested", "What to look for"]  # a price is not a heading
    for chrome in (
        "Reading time",
        "Jump to",
        "Related articles",
        "The Best Coffee Grinders Under $200",
        "Milk Frothers vs. Steam Wands",
        "All rights reserved",
    ):
        assert chrome not in everything, chrome


@pytest.mark.parametrize(
    ("name", "title", "author", "chrome"),
    [
        (
            "copied-portuguese.txt",
            "Como plantar manjericão em vasos",
            "Ana Souza",
            ("Tempo de leitura", "Leia também", "Como fazer pesto", "Ervas que crescem"),
        ),
        (
            "copied-french.txt",
            "Aider un enfant à s'endormir seul",
            "Claire Moreau",
            ("Lecture : 6 min", "À lire aussi", "Les terreurs nocturnes", "publié le"),
        ),
        (
            "copied-german-byline.txt",
            "Fahrradkette richtig reinigen und ölen",
            "Jonas Weber",
            ("Lesezeit", "Das könnte Sie auch", "Schlauch flicken", "Aktualisiert am"),
        ),
    ],
)
def test_bylines_reading_times_and_related_posts_in_other_languages(
    tmp_path: Path, name: str, title: str, author: str, chrome: tuple[str, ...]
) -> None:
    """The byline ("par Claire Moreau", "von Jonas Weber", "por Ana Souza") names the
    author, who signs every part; the reading time, the date and the related posts go;
    neither the pull quote before the article nor a shop's address is a subject."""
    path = ARTICLES / name
    article = import_source(path)
    assert (article.title, article.author) == (title, author)
    issue = parse_issue(dump_issue(article), tmp_path / "issue.md")
    series = build_series(issue)
    parts = Renderer(Config(root=tmp_path)).render_series(series)
    everything = " ".join(p.html + "\n" + p.text for p in parts)
    for part in parts:
        assert author in part.text.split("-- \n")[0][-200:], part.text[-300:]
    for line in chrome:
        assert line not in everything, line
    for part in series.parts:
        assert not re.match(r"[“”«»„\"]|https?://|www\.", part.subject), part.subject
    headings = [b.text() for b in article.blocks if isinstance(b, Heading)]
    assert not any(h.startswith(("http", "“", "«")) for h in headings), headings
    assert not any(line.startswith(("par ", "von ", "por ")) for line in everything.split("\n"))
