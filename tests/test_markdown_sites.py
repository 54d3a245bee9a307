"""Markdown as static-site generators write it: Hugo and Jekyll shortcodes, footnotes,
tables, bold FAQ lines, seen in every rendered part as a reader gets it."""

from __future__ import annotations

import re
from pathlib import Path

from bs4 import BeautifulSoup

from newsletter.blocks import Image, Span, Table, plain
from newsletter.config import Config
from newsletter.importers import import_source
from newsletter.issuefile import dump_issue, parse_issue
from newsletter.render import RenderedPart, Renderer
from newsletter.series import build_series

from .conftest import ARTICLES

SITE = "https://keys.example/posts/split-keyboard-2/"


def _parts(
    tmp_path: Path, parts: int | None = None, name: str = "hugo-build-log.md"
) -> list[RenderedPart]:
    article = import_source(ARTICLES / name, url=SITE)
    text = dump_issue(article)
    if parts:
        text = text.replace("parts: auto", f"parts: {parts}")
    issue = parse_issue(text, tmp_path / "issue.md")
    return Renderer(Config(root=tmp_path)).render_series(build_series(issue))


def test_hugo_figures_keep_their_alt_text_and_captions(tmp_path: Path) -> None:
    article = import_source(ARTICLES / "hugo-build-log.md", url=SITE)
    images = [b for b in article.blocks if isinstance(b, Image)]
    assert [(i.src, i.alt, i.caption) for i in images] == [
        (
            "https://keys.example/images/build/pcb.jpg",
            "Two green keyboard PCBs joined by small tabs",
            "Both halves, still joined, on the cutting mat.",
        ),
        (
            "https://keys.example/images/build/diodes.jpg",
            "Diodes",
            "Forty-two 1N4148 diodes, cathodes facing the same way",
        ),
    ]
    html = " ".join(p.html for p in _parts(tmp_path))
    soup = BeautifulSoup(html, "html.parser")
    img = soup.find("img", src="https://keys.example/images/build/pcb.jpg")
    assert img is not None and img.get("alt") == "Two green keyboard PCBs joined by small tabs"
    assert "Both halves, still joined, on the cutting mat." in soup.get_text(" ")
    text = " ".join(p.text for p in _parts(tmp_path))
    assert "Forty-two 1N4148 diodes, cathodes facing the same way" in text
    assert "Watch the video: https://www.youtube.com/watch?v=w7Ft2ymGmfc" in " ".join(text.split())
    assert "{{" not in html + text


def test_footnotes_end_the_part_that_cites_them(tmp_path: Path) -> None:
    parts = _parts(tmp_path, parts=2)
    assert len(parts) == 2
    one, two = parts
    # part 1 calls note 1 (mouse bites): it ends with it; part 2 calls note 2 (sockets)
    assert "[1]" in one.text and "Rows of small drilled holes" in one.text
    assert "Kailh sockets" not in one.text
    assert "[2]" in two.text and "Kailh sockets" in two.text
    assert "Rows of small drilled holes" not in two.text
    assert "[^" not in one.text + two.text + one.html + two.html
    # a mark belongs in the body, never in a subject, a preheader or a recap
    for p in parts:
        assert "[" not in p.part.subject + p.part.preheader + p.part.recap + p.part.teaser
    for p in parts:
        body = p.text.split("Until next time")[0]
        last_note = max(body.rfind("Rows of small"), body.rfind("Kailh sockets"))
        assert last_note > max(body.rfind("snap them"), body.rfind("AliExpress"), 0)
        assert "<sup>[" in p.html


def test_a_table_reads_on_a_phone_and_in_the_text_part(tmp_path: Path) -> None:
    article = import_source(ARTICLES / "hugo-build-log.md", url=SITE)
    (table,) = [b for b in article.blocks if isinstance(b, Table)]
    assert [plain(r[0]) for r in table.rows] == ["1N4148 diode", "Hot-swap socket", "Pro Micro"]
    text = " ".join(p.text for p in _parts(tmp_path))
    html = " ".join(p.html for p in _parts(tmp_path))
    assert "Hot-swap socket" in text and "---|" not in text
    # three short columns fit a phone: a grid, in HTML and aligned in the text part
    assert "<th" in html and "Where from" in html
    row = next(ln for ln in text.splitlines() if ln.startswith("Hot-swap socket"))
    assert row.split() == ["Hot-swap", "socket", "42", "AliExpress"]
    # a wide table becomes a card per row, never a grid wider than the screen
    wide = Table(
        tuple((Span(h),) for h in ("Paint", "Dries in", "Sands", "Best for")),
        (tuple((Span(c),) for c in ("Oil", "24 hours", "No", "Trim and doors")),),
    )
    assert wide.as_cards and wide.to_text().splitlines()[0].strip() == "Paint: Oil"


def test_bold_faq_lines_leave_no_markers(tmp_path: Path) -> None:
    parts = _parts(tmp_path)
    for p in parts:
        soup = BeautifulSoup(p.html, "html.parser")
        assert "**" not in soup.get_text(" ") and "**" not in p.text
    html = " ".join(p.html for p in parts)
    assert re.search(r"<strong>Why hot-swap\?</strong><br ?/?>\s*Because I change", html)
    text = "\n".join(p.text for p in parts)
    assert "Why hot-swap?\nBecause I change switches" in text
