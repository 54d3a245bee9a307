"""Rendering: what a subscriber sees in the HTML and the text part."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

from newsletter.blocks import Heading, Image
from newsletter.config import Config
from newsletter.importers import import_file
from newsletter.issuefile import load_issue, parse_issue
from newsletter.pipeline import import_article, render_issue, render_to_dir
from newsletter.render import GMAIL_CLIP_BYTES, Renderer, personalize
from newsletter.series import build_series

from .conftest import ARTICLES, REPO


class _Visible(HTMLParser):
    """The text a reader sees (no head, no comments), and every <img>."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.images: list[dict[str, str | None]] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("head", "style", "title"):
            self._skip += 1
        if tag == "img":
            self.images.append(dict(attrs))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("head", "style", "title"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text.append(data)


def visible(html: str) -> _Visible:
    p = _Visible()
    p.feed(html)
    p.text = [" ".join("".join(p.text).split())]
    return p


def test_seed_series_done_when(seed_path: Path, workdir: Path, config: Config) -> None:
    report = import_article(
        seed_path, issues_dir=workdir / "issues", url="https://example.com/blog/working-mom-guilt"
    )
    manifest_path = render_to_dir(report.path, workdir / "out", config)
    manifest = json.loads(manifest_path.read_text())
    parts = manifest["parts"]
    assert 3 <= len(parts) <= 5
    article = import_file(seed_path)
    headings = [b.text() for b in article.blocks if isinstance(b, Heading)]
    photos = [b.alt for b in article.blocks if isinstance(b, Image)]
    seen = ""
    for k, entry in enumerate(parts, start=1):
        html = (workdir / "out" / entry["html"]).read_text()
        text = (workdir / "out" / entry["text"]).read_text()
        assert len(html.encode()) < GMAIL_CLIP_BYTES
        assert entry["subject"] and len(entry["subject"]) <= 70
        assert 40 <= len(entry["preheader"]) <= 110
        assert entry["cta_url"] == "https://example.com/blog/working-mom-guilt"
        shown = visible(html).text[0]
        seen += shown
        assert "Reach out today to schedule a consultation" in shown  # the CTA button
        if k > 1:
            assert "Previously:" in shown and "Previously:" in text
        else:
            assert "Previously:" not in shown
        for photo in photos:
            assert photo not in shown and photo not in text
        assert not re.search(r"^\s*Next\s*$", text, re.M)
    for h in headings:
        assert h in seen
    assert "Default Parent" not in seen  # the next post's title, page chrome


def test_html_is_accessible_and_dark_mode_ready(config: Config) -> None:
    series, parts = render_issue(REPO / "issues" / "calmer-mornings.md", config)
    for r in parts:
        assert re.search(r'<html[^>]* lang="en"', r.html)
        assert f"<title>{r.part.subject}</title>" in r.html
        assert '<meta name="color-scheme" content="light dark"' in r.html
        assert "prefers-color-scheme: dark" in r.html
        for img in visible(r.html).images:
            assert img.get("alt"), img
        assert r.part.preheader in r.html


def test_article_text_is_escaped_and_never_a_template(tmp_path: Path, config: Config) -> None:
    text = (
        "---\ntitle: 'Tags <b>bold</b> {{ 7*7 }}'\ncta: {label: Go, url: 'https://e.com/?a=1&b=2'}\n"
        "---\n\nA <script>alert(1)</script> paragraph with {{ config }} and {% if x %}.\n\n"
        "[click](javascript:alert(1)) and %%NL_FIRST_NAME%% literally.\n"
    )
    issue = parse_issue(text, tmp_path / "evil.md")
    r = Renderer(config).render_series(build_series(issue))[0]
    html, _ = personalize(r, first_name="Ann", unsubscribe_url="https://u.example/x")
    assert "<script" not in html
    assert "{{ config }} and {% if x %}" in visible(html).text[0]
    assert "49" not in visible(html).text[0]
    assert not re.search(r"href=\"\s*javascript", html, re.I)
    assert "%%NL_FIRST_NAME%%" in visible(html).text[0], "article text is not a placeholder"
    assert "https://e.com/?a=1&amp;b=2" in html


def test_personalisation_escapes_subscriber_fields(config: Config) -> None:
    series, parts = render_issue(REPO / "issues" / "calmer-mornings.md", config)
    html, text = personalize(
        parts[0],
        first_name='<img src=x onerror="alert(1)">{{ 7*7 }}',
        unsubscribe_url="https://u.example/unsub?t=a&b",
    )
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html or "&lt;img" in html
    assert 'href="https://u.example/unsub?t=a&amp;b"' in html
    assert "Unsubscribe: https://u.example/unsub?t=a&b" in text
    html2, _ = personalize(parts[0], first_name="", unsubscribe_url="https://u.example/x")
    assert "Hi there," in visible(html2).text[0]


def test_text_part_is_wrapped_and_writes_links_out(config: Config) -> None:
    series, parts = render_issue(REPO / "issues" / "calmer-mornings.md", config)
    for r in parts:
        for line in r.text.splitlines():
            assert len(line) <= 78 or "://" in line, line
    assert "Book a free 15-minute call: https://example.com/contact" in parts[-1].text
    assert "Read the whole article: https://example.com/blog/calmer-mornings" in parts[0].text


def test_user_template_overrides_the_built_in_one(workdir: Path, config: Config) -> None:
    (workdir / "templates" / "components").mkdir(parents=True)
    (workdir / "templates" / "components" / "footer.mjml.j2").write_text(
        "<mj-section><mj-column><mj-text>Custom footer for {{ sender.name }} "
        '<a href="{{ unsubscribe_url }}">Leave</a></mj-text></mj-column></mj-section>'
    )
    series, parts = render_issue(REPO / "issues" / "calmer-mornings.md", config)
    assert "Custom footer for Your Name" in parts[0].html


def test_subjects_fit_and_follow_overrides(tmp_path: Path) -> None:
    issue = load_issue(ARTICLES / "very-long.md")
    series = build_series(issue)
    assert all(len(p.subject) <= 70 for p in series.parts)
    assert all(f"Part {p.index} of {len(series.parts)}" in p.subject for p in series.parts)
    text = (
        (ARTICLES / "very-long.md")
        .read_text()
        .replace("---\n\n", "parts:\n  2: {subject: My own subject}\n---\n\n", 1)
    )
    issue = parse_issue(text, tmp_path / "x.md")
    assert build_series(issue).parts[1].subject == "My own subject"
    assert [p.teaser for p in series.parts[:-1]] and all(p.teaser for p in series.parts[:-1])
    assert series.parts[-1].teaser == ""


def test_seed_without_a_url_still_has_its_call_to_action(
    seed_path: Path, workdir: Path, config: Config
) -> None:
    """Copied text keeps no links: the CTA is a line of text until the editor adds one."""
    report = import_article(seed_path, issues_dir=workdir / "issues")
    manifest = json.loads(render_to_dir(report.path, workdir / "out", config).read_text())
    for entry in manifest["parts"]:
        shown = visible((workdir / "out" / entry["html"]).read_text()).text[0]
        assert "Reach out today to schedule a consultation" in shown
        assert entry["cta_url"] is None
