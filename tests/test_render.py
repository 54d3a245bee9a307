"""Rendering: what a subscriber sees in the HTML and the text part."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from newsletter.blocks import Heading, Image, Paragraph, same_words
from newsletter.check import check_issue
from newsletter.config import Config, load_config
from newsletter.errors import ConfigError
from newsletter.importers import import_file
from newsletter.issuefile import load_issue, parse_issue
from newsletter.pipeline import import_article, render_issue, render_to_dir
from newsletter.render import GMAIL_CLIP_BYTES, Renderer, personalize
from newsletter.series import Part, build_series

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


class _CtaLines(HTMLParser):
    """Each in-body call-to-action line (class nl-cta-line) and the link it holds, if any."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[tuple[str, str | None]] = []
        self._depth = 0
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "p" and "nl-cta-line" in (a.get("class") or ""):
            self._depth, self._href, self._text = 1, None, []
        elif self._depth and tag == "a":
            self._href = a.get("href")

    def handle_endtag(self, tag: str) -> None:
        if self._depth and tag == "p":
            self.lines.append((" ".join("".join(self._text).split()), self._href))
            self._depth = 0

    def handle_data(self, data: str) -> None:
        if self._depth:
            self._text.append(data)


SEED_URL = "https://example.com/blog/working-mom-guilt"
BOOK = "https://example.com/book"


def _series_from(source: Path, workdir: Path, config: Config, **kw: str) -> Path:
    if source.suffix == ".md":
        return source
    return import_article(source, issues_dir=workdir / "issues", **kw).path


def _sentences_in(text: str, where: str) -> None:
    """Every sentence of ``text`` is one the article itself has, in ``where``."""
    from newsletter.summary import sentences

    flat = " ".join(where.split())
    for sentence in sentences(text):
        assert sentence in flat, sentence


def _check_framing(issue_path: Path, workdir: Path, config: Config, cta_url: str) -> None:
    series, rendered = render_issue(issue_path, config)
    n = len(series.parts)
    assert n >= 3
    subjects = [p.subject for p in series.parts]
    assert len(set(subjects)) == n, subjects
    assert all(len(s) <= 50 for s in subjects), subjects
    headings_of = [[b.text() for b in p.blocks if isinstance(b, Heading)] for p in series.parts]
    for r in rendered:
        part, k = r.part, r.index
        html, text = personalize(r, first_name="Ann", unsubscribe_url="https://u.example/x")
        shown = visible(html).text[0]
        # the series title and where the part is, above the content, in HTML and text
        head = shown.split("Hi Ann,")[0]
        assert series.title in head and f"Part {k} of {n}" in head
        lines = text.splitlines()
        assert lines[0] == series.title and lines[1] == "" and f"Part {k} of {n}" == lines[2]
        assert not any(set(ln) == {"#"} for ln in lines), "no row of # under the title"
        # never starts inside a section without its heading
        if k > 1:
            assert isinstance(part.blocks[0], Heading)
        # signed, in HTML and text
        assert "Until next time," in shown and "Until next time," in text
        # the reading order, the same in HTML and text: title and part, greeting, recap,
        # the part itself, its call to action, what comes next, sign-off, footer
        body = next(b.text() for b in part.blocks if isinstance(b, Paragraph))[:30]
        order = ["Hi Ann,"]  # after the title and "Part k of n" (checked above)
        order += ["Previously:"] if k > 1 else []
        order += [" ".join(body.split()), part.cta.label if part.cta else ""]
        order += ["Next time:"] if k < n else []
        order += ["Until next time,", "You are receiving this because"]
        for where in (shown, text):
            flat = " ".join(where.split())
            at = [flat.find(" ".join(x.split())) for x in order]
            assert -1 not in at and at == sorted(at), list(zip(order, at, strict=True))
        # recap and teaser are sentences from the article, never a list of headings
        if k > 1:
            prev = " ".join(b.text() for b in series.parts[k - 2].blocks)
            assert part.recap and part.recap[-1] in ".!?”’"
            assert not any(h in part.recap for h in headings_of[k - 2])
            _sentences_in(part.recap, prev)
            assert f"Previously: {part.recap}" in shown
        if k < n:
            nxt = series.parts[k]
            assert part.teaser.startswith(f"Part {k + 1} ")
            assert any(f"“{name}”" in part.teaser for name in headings_of[k])
            why = part.teaser.split("”: ", 1)[1]
            _sentences_in(why, " ".join(b.text() for b in nxt.blocks))
            assert "; " not in part.teaser.split("”")[0]
        # the preheader adds to the subject, then invisible filler keeps the body out
        assert part.preheader != part.subject
        first_para = next(b for b in part.blocks if isinstance(b, Paragraph))
        assert not first_para.text().startswith(part.preheader), "not the first visible line"
        assert part.preheader + "&zwnj;&nbsp;&zwnj;&nbsp;" in html
        # calls to action: every in-body line links to the CTA URL, none is shown twice
        ctas = _CtaLines()
        ctas.feed(html)
        for label, href in ctas.lines:
            assert href == cta_url, label
        assert part.cta is not None
        assert shown.count(part.cta.label) == 1, part.cta.label
        assert shown.count("Read the whole article") <= 1
        # one button, in the words of the issue's call to action, without a full stop
        buttons = re.findall(r"<mj-button href=[^>]*>\s*(.*?)\s*</mj-button>", r.mjml, re.S)
        assert len(buttons) == 1 and same_words(buttons[0], part.cta.label, prefix=True)
        assert buttons[0][-1:].isalnum(), buttons


def test_seed_series_done_when(seed_path: Path, workdir: Path, config: Config) -> None:
    path = import_article(seed_path, issues_dir=workdir / "issues", url=SEED_URL, cta_url=BOOK).path
    _check_framing(path, workdir, config, BOOK)
    series, rendered = render_issue(path, config)
    article = import_file(seed_path)
    photos = [b.alt for b in article.blocks if isinstance(b, Image)]
    seen = ""
    for r in rendered:
        shown = visible(r.html).text[0]
        seen += shown
        assert len(r.html.encode()) < GMAIL_CLIP_BYTES
        for photo in photos:
            assert photo not in shown and photo not in r.text
        assert not re.search(r"^\s*Next\s*$", r.text, re.M)
        assert "i.e" not in r.part.preheader[-4:]
    for h in (b.text() for b in article.blocks if isinstance(b, Heading)):
        assert h in seen
    assert "Default Parent" not in seen  # the next post's title, page chrome
    last = rendered[-1]
    # the seed's two action lines link to the booking page; the button is the first of
    # them, where it stands, and is not repeated below
    ctas = _CtaLines()
    ctas.feed(last.html)
    assert [label for label, _ in ctas.lines] == [
        "👉 Learn more about counseling for working moms and maternal mental health."
    ]
    shown = visible(last.html).text[0]
    assert shown.count("Reach out today to schedule a consultation") == 1
    assert f'href="{BOOK}"' in last.html.split("Reach out today")[0][-2000:]
    # a line of encouragement that starts with an arrow is a paragraph, not a CTA
    assert "You’re allowed to want both—and you deserve support" in shown
    assert "-> You’re allowed" not in last.text
    assert "-> Reach out today to schedule a consultation: https://example.com/book" in last.text


def test_uneven_sections_series_done_when(workdir: Path, config: Config) -> None:
    path = ARTICLES / "studio-partnerships.md"
    _check_framing(path, workdir, config, BOOK)
    series, _ = render_issue(path, config)
    assert len(series.parts) == 4
    assert [p.subject for p in series.parts] == [
        "Why Growth Feels So Hard for Small Studios",
        "Four Kinds of Partnership Worth Considering",
        "How to Start the Conversation",
        "Knowing When a Partnership Is Working",
    ]


def test_section_longer_than_a_part_series_done_when(workdir: Path, config: Config) -> None:
    """A long section with subsections and a list of therapist types: the break falls
    before a subsection, the part after it shows the section's heading again, and the
    list (shorter than a part) stays in one email."""
    path = ARTICLES / "teen-therapist.md"
    _check_framing(path, workdir, config, "https://example.com/consult")
    series, rendered = render_issue(path, config)
    last = rendered[-1]
    first, second = last.part.blocks[:2]
    assert isinstance(first, Heading) and first.continued
    assert first.text() == "Who Does What: Types of Therapists"
    assert isinstance(second, Heading) and second.text() == "What Insurance Usually Covers"
    assert "Who Does What: Types of Therapists (continued)" in visible(last.html).text[0]
    assert "Part 3 looks at “What Insurance Usually Covers”" in series.parts[1].teaser
    types = [p for p in series.parts if "Licensed clinical social workers" in p_text(p)]
    assert len(types) == 1 and "School counselors can be" in p_text(types[0])


def p_text(part: Part) -> str:
    return " ".join(b.text() for b in part.blocks)


def test_subject_style_is_a_setting(workdir: Path) -> None:
    (workdir / "newsletter.toml").write_text('[series]\nsubject = "{heading} ({k}/{n})"\n')
    config = load_config(workdir / "newsletter.toml")
    series, _ = render_issue(ARTICLES / "studio-partnerships.md", config)
    assert series.parts[2].subject == "How to Start the Conversation (3/4)"
    (workdir / "newsletter.toml").write_text('[series]\nsubject = "{title}: {heading}"\n')
    series, _ = render_issue(
        ARTICLES / "one-huge-section.md", load_config(workdir / "newsletter.toml")
    )
    subjects = [p.subject for p in series.parts]
    assert subjects[0] == "One Long Section About Habits: Everything in one place"
    assert all(s.startswith("One Long Section About Habits: ") for s in subjects)
    assert all(len(s) <= 60 for s in subjects) and len(set(subjects)) == len(subjects)
    assert not any(s.count("One Long Section About Habits") > 1 for s in subjects)
    (workdir / "newsletter.toml").write_text('[series]\nsubject = "{title}"\n')
    with pytest.raises(ConfigError, match="series.subject"):
        load_config(workdir / "newsletter.toml")


def test_part_starting_inside_a_section_shows_its_heading(config: Config) -> None:
    series, rendered = render_issue(ARTICLES / "one-huge-section.md", config)
    for r in rendered[1:]:
        first = r.part.blocks[0]
        assert isinstance(first, Heading) and first.continued
        assert "Everything in one place (continued)" in visible(r.html).text[0]
        assert "Everything in one place (continued)" in r.text
    assert len({p.subject for p in series.parts}) == len(series.parts)


def test_recap_and_teaser_can_be_set_per_part(tmp_path: Path, config: Config) -> None:
    text = (
        (ARTICLES / "studio-partnerships.md")
        .read_text()
        .replace(
            "---\n\n",
            "parts:\n  2: {recap: 'We met the four kinds of partner.', "
            "teaser: 'Next we write the first email together.'}\n---\n\n",
            1,
        )
    )
    series = build_series(parse_issue(text, tmp_path / "x.md"))
    assert series.parts[1].recap == "We met the four kinds of partner."
    assert series.parts[1].teaser == "Next we write the first email together."
    assert series.parts[2].recap != series.parts[1].recap


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
    assert (
        "-> Book a free 15-minute call to see whether working together would help: "
        "https://example.com/contact" in " ".join(parts[-1].text.split())
    )
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
    assert all(len(p.subject) <= 50 for p in series.parts)
    assert len({p.subject for p in series.parts}) == len(series.parts)
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
    """Copied text keeps no links: the CTA is a line of text, and check says so."""
    report = import_article(seed_path, issues_dir=workdir / "issues")
    manifest = json.loads(render_to_dir(report.path, workdir / "out", config).read_text())
    for entry in manifest["parts"]:
        shown = visible((workdir / "out" / entry["html"]).read_text()).text[0]
        assert entry["cta_url"] is None
        assert "Read the whole article" not in shown  # no article URL known either
    assert shown.count("Reach out today to schedule a consultation") == 1
    _, found = check_issue(report.path, config)
    # the last part has both of the seed's action lines, neither with a link
    n = len(manifest["parts"])
    assert [f.part for f in found.errors if f.code == "cta-line-no-link"] == [n, n]


def test_article_link_is_quiet_and_never_the_main_cta(
    seed_path: Path, workdir: Path, config: Config
) -> None:
    path = import_article(seed_path, issues_dir=workdir / "issues", url=SEED_URL).path
    series, rendered = render_issue(path, config)
    for r in rendered:
        assert r.part.cta is not None and r.part.cta.label.startswith("Reach out today")
        assert r.part.cta.url != SEED_URL
        shown = visible(r.html).text[0]
        assert shown.count("Read the whole article") == 1


def test_text_part_puts_a_figure_caption_on_its_own_line(workdir: Path, config: Config) -> None:
    path = import_article(ARTICLES / "blog-post.html", issues_dir=workdir / "issues").path
    _, rendered = render_issue(path, config)
    lines = "".join(r.text for r in rendered).splitlines()
    at = lines.index("[Image: A lamp glowing in a dark window at night]")
    assert lines[at + 1] == "Nights can feel very long."
    # and the HTML shows it under the image, as its own line
    html = "".join(r.html for r in rendered)
    assert "Nights can feel very long.</p>" in html.split("window.jpg", 1)[1][:3000]


def test_compiled_templates_are_kept_yet_follow_their_source_and_options(tmp_path: Path) -> None:
    """Environments share compiled templates (a Renderer per series, pages per language);
    a template compiled with escaping is never served to one without, and an edit shows."""
    import jinja2

    from newsletter import templatecache

    (tmp_path / "a.html").write_text("{{ x }}")

    def render(**options: object) -> str:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(tmp_path)),
            bytecode_cache=templatecache.COMPILED,
            **options,  # type: ignore[arg-type]
        )
        return env.get_template("a.html").render(x="<b>")

    assert render(autoescape=True) == "&lt;b&gt;"
    assert render(autoescape=False) == "<b>"
    assert render(autoescape=True) == "&lt;b&gt;"
    (tmp_path / "a.html").write_text("[{{ x }}]")
    assert render(autoescape=True) == "[&lt;b&gt;]"
    assert render(autoescape=jinja2.select_autoescape(["txt"])) == "[<b>]"
