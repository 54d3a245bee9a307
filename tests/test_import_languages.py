"""An article imported in its own language keeps its language everywhere an importer
writes words of its own ("Watch the video: URL" lines for embeds), says so when the frame
has no catalogue for it (the part keeps its ``lang``, and ``dir`` for a language written
right to left), and keeps what the author struck through (``~~old price~~``).

The pages are written as their sites publish them: a German WordPress post with a
Jetpack YouTube embed and an Instagram embed, a French Hugo post with a ``youtube``
shortcode, a Russian and a Hebrew Markdown post."""

from __future__ import annotations

import re
from pathlib import Path

from newsletter import i18n
from newsletter.config import Config
from newsletter.issuefile import load_issue
from newsletter.pipeline import import_article, load_series
from newsletter.render import RenderedPart, Renderer

from .conftest import ARTICLES
from .helpers import run_cli

ENGLISH_EMBED_WORDS = ("Watch the video", "See the post on", "See it online", "See the map")


def _imported(source: Path, tmp_path: Path) -> tuple[str, list[RenderedPart]]:
    """(the issue file, every rendered part) of ``source`` imported as an editor does."""
    report = import_article(source, out=tmp_path / "issues" / f"{source.stem}.md")
    series = load_series(load_issue(report.path), Config(root=tmp_path))
    parts = Renderer(Config(root=tmp_path)).render_series(series)
    return report.path.read_text(encoding="utf-8"), parts


def _words(parts: list[RenderedPart]) -> str:
    return "\n".join(re.sub(r"<[^>]+>", " ", p.html) + "\n" + p.text for p in parts)


def test_a_german_pages_embeds_become_german_lines(tmp_path: Path) -> None:
    issue, parts = _imported(ARTICLES / "sauerteig-de.html", tmp_path)
    assert "Video ansehen: [https://www.youtube.com/watch?v=Xk3dFv9QpLs]" in issue
    assert "Beitrag auf Instagram ansehen: [https://www.instagram.com/p/C3sXyZ0Lm2Q/]" in issue
    everything = _words(parts)
    assert "Video ansehen: https://www.youtube.com/watch?v=Xk3dFv9QpLs" in everything
    for english in ENGLISH_EMBED_WORDS:
        assert english not in issue and english not in everything, english
    # the sentence after the video still has its video before it
    assert everything.index("Video ansehen") < everything.index("Im Video sehen Sie")


def test_a_french_hugo_shortcode_becomes_a_french_line(tmp_path: Path) -> None:
    issue, parts = _imported(ARTICLES / "sommeil-hugo-fr.md", tmp_path)
    assert "Regarder la vidéo: [https://www.youtube.com/watch?v=dQw4w9WgXcQ]" in issue
    assert not any(english in _words(parts) for english in ENGLISH_EMBED_WORDS)


def test_an_english_page_keeps_the_english_line(tmp_path: Path) -> None:
    page = tmp_path / "talk.html"
    page.write_text(
        '<!doctype html><html lang="en"><head><title>Saying no kindly</title></head><body>'
        "<article><h1>Saying no kindly</h1><p>Boundaries protect the relationship as much "
        "as they protect you, and a short, warm no is easier to hear than a long one.</p>"
        '<p><iframe width="560" height="315" src="https://www.youtube.com/embed/abc123XYZ78">'
        "</iframe></p><p>Keep it short and warm, and say it once, early, before the tension "
        "rises and everyone is tired.</p></article></body></html>",
        encoding="utf-8",
    )
    issue, _ = _imported(page, tmp_path)
    assert "Watch the video: [https://www.youtube.com/watch?v=abc123XYZ78]" in issue


def test_the_language_the_editor_sets_names_the_embed_lines(tmp_path: Path) -> None:
    """A page that declares no language, imported for a series whose ``[series] language``
    is Dutch: its video's line is in Dutch like the rest of the frame (the text alone would
    have said English)."""
    page = tmp_path / "talk.html"
    page.write_text(
        "<!doctype html><html><head><title>Saying no kindly</title></head><body>"
        "<article><h1>Saying no kindly</h1><p>Boundaries protect the relationship as much "
        "as they protect you, and a short, warm no is easier to hear than a long one.</p>"
        '<p><iframe width="560" height="315" src="https://www.youtube.com/embed/abc123XYZ78">'
        "</iframe></p><p>Keep it short and warm, and say it once, early, before the tension "
        "rises and everyone is tired.</p></article></body></html>",
        encoding="utf-8",
    )
    report = import_article(page, out=tmp_path / "talk.md", language="nl")
    issue = report.path.read_text(encoding="utf-8")
    assert "language: nl" in issue
    assert "Watch the video" not in issue
    label = i18n.translations("nl").gettext("Watch the video")
    assert label != "Watch the video"
    assert f"{label}: [https://www.youtube.com/watch?v=abc123XYZ78]" in issue


def test_a_wordpress_embed_block_keeps_its_video_line(tmp_path: Path) -> None:
    """WordPress's block editor wraps a video in ``figure.wp-block-embed >
    div.wp-block-embed__wrapper``: its line stays where the video was (it was lost while
    the import said it was kept)."""
    page = tmp_path / "talk.html"
    page.write_text(
        '<!doctype html><html lang="en"><head><title>Saying no kindly</title></head><body>'
        '<article class="post"><h1 class="entry-title">Saying no kindly</h1>'
        '<div class="entry-content"><p>Boundaries protect the relationship as much as they '
        "protect you, and a short, warm no is easier to hear than a long one.</p>"
        '<figure class="wp-block-embed is-type-video is-provider-youtube wp-block-embed-youtube '
        'wp-embed-aspect-16-9 wp-has-aspect-ratio"><div class="wp-block-embed__wrapper">\n'
        '<iframe title="Saying no kindly" width="640" height="360" '
        'src="https://www.youtube.com/embed/abc123XYZ78?feature=oembed" frameborder="0" '
        'allow="accelerometer; autoplay; encrypted-media" allowfullscreen></iframe>\n'
        "</div></figure><p>Keep it short and warm, and say it once, early, before the "
        "tension rises and everyone is tired.</p></div></article></body></html>",
        encoding="utf-8",
    )
    issue, _ = _imported(page, tmp_path)
    body = issue.split("---\n", 2)[2]
    video = body.index("Watch the video: [https://www.youtube.com/watch?v=abc123XYZ78]")
    assert body.index("a long one.") < video < body.index("Keep it short")


def test_struck_through_words_stay_struck_through(tmp_path: Path) -> None:
    """``~~90 €~~`` and ``<del>`` in a post: struck through in the email, between tildes
    in the text part, and kept so in the issue file."""
    issue, parts = _imported(ARTICLES / "sommeil-hugo-fr.md", tmp_path)
    assert "~~90 €~~ 70 €" in issue and "~~sur rendez-vous uniquement~~" in issue
    html = "".join(p.html for p in parts)
    text = "".join(p.text for p in parts)
    assert "<s>90 €</s> 70 €" in html and "<s>sur rendez-vous uniquement</s>" in html
    assert "~~90 €~~ 70 €" in text and "~~" not in re.sub(r"<[^>]+>", "", html)


SALE_PAGE = """<!doctype html><html lang="en"><head><title>Spring workshop - Calm Minds</title>
<meta property="og:title" content="Our spring workshop on sleep"></head><body>
<nav><a href="/">Home</a> <a href="/blog">Blog</a> <a href="/contact">Contact</a></nav>
<main><article class="post"><h1 class="entry-title">Our spring workshop on sleep</h1>
<div class="entry-content">
<p>Most parents we meet spend their evenings beside a child's bed, waiting for sleep that
takes its time. Our spring workshop walks you through a short, calm routine that works for
most families within a few weeks, with room for your questions.</p>
<p>The workshop costs <del>90 euros</del> 70 euros until the end of March, and the evening
session is <s>by appointment only</s> open to everyone who registers.</p>
<p>We keep the groups small, so that every parent can describe their own evenings and leave
with a plan that fits their family rather than a list of rules from a book.</p>
</div></article></main>
<footer>© Calm Minds</footer></body></html>
"""


def test_a_pages_struck_through_words_stay_struck_through(tmp_path: Path) -> None:
    """``<del>`` and ``<s>`` in a page's article (a changed price, a withdrawn condition):
    struck through in the email and between tildes in the issue file and the text part."""
    page = tmp_path / "workshop.html"
    page.write_text(SALE_PAGE, encoding="utf-8")
    issue, parts = _imported(page, tmp_path)
    assert "~~90 euros~~ 70 euros" in issue and "~~by appointment only~~" in issue
    html = "".join(p.html for p in parts)
    assert "<s>90 euros</s> 70 euros" in html and "<s>by appointment only</s>" in html
    assert "~~90 euros~~ 70 euros" in "".join(p.text for p in parts)


RUSSIAN = """---
title: Как помочь ребёнку заснуть
---

Многие родители проводят вечера у кровати ребёнка и ждут, пока он уснёт. Это не каприз и
не ошибка воспитания: засыпать самостоятельно нужно учиться, как и всему остальному, и
учатся этому постепенно, маленькими шагами, неделя за неделей.

## Короткий и одинаковый ритуал

Ванна, пижама, сказка, объятие, свет выключен. Важнее не содержание, а порядок: когда шаги
каждый вечер идут в одном и том же порядке, ребёнок знает, что будет дальше, и меньше
сопротивляется. Через несколько недель большинство детей засыпают сами.
"""


def test_a_language_without_a_catalogue_says_so_and_keeps_its_lang(workdir: Path) -> None:
    """A Russian post: the editor is told in one line that the frame's words will be in
    English; every part is ``lang="ru"``, the frame's English words say they are English."""
    assert run_cli("init", ".").exit_code == 0
    Path("sleep.md").write_text(RUSSIAN, encoding="utf-8")
    result = run_cli("import", "sleep.md")
    assert result.exit_code == 0, result.output
    said = [ln.strip() for ln in result.output.splitlines() if "no catalogue" in ln]
    assert said == [
        "no catalogue for 'ru': the frame's fixed words are in English; set [series] "
        "language or add newsletter/locale/ru"
    ]
    issue = Path(re.findall(r"-> (\S+\.md)", result.output)[0])
    assert "language: ru" in issue.read_text(encoding="utf-8")
    parts = Renderer(Config(root=workdir)).render_series(load_series(issue))
    for part in parts:
        assert re.search(r'<html lang="ru" dir="ltr"', part.html)
        assert '<span lang="en">Unsubscribe</span>' in part.html
        assert "Unsubscribe:" in part.text
    # a language the frame speaks: not a word about catalogues
    Path("de.md").write_text("---\ntitle: Schlaf\nlanguage: de\n---\n\nEin Satz.\n")
    assert "no catalogue" not in run_cli("import", "de.md").output


HEBREW = """---
title: איך לעזור לילד להירדם לבד
language: he
series:
  parts: 2
---

הורים רבים יושבים בערב ליד מיטת הילד ומחכים שיירדם. זה לא גחמה וזו לא טעות חינוכית: להירדם
לבד לומדים, כמו כל דבר אחר, בצעדים קטנים.

- אמבטיה ופיג'מה
- סיפור וחיבוק

## טקס קצר וקבוע

אמבטיה, פיג'מה, סיפור, חיבוק, אור כבוי. הסדר חשוב יותר מהתוכן: כשהשלבים חוזרים בכל ערב
באותו סדר, הילד יודע מה יבוא ומתנגד פחות.

> ״אצלנו הערב היה שעה של משא ומתן.״
"""


def test_a_right_to_left_article_reads_right_to_left(tmp_path: Path) -> None:
    """Hebrew: the part is ``dir="rtl"`` (text aligned right, lists and quotes on the
    right), the English frame's words read left to right inside it."""
    source = tmp_path / "sleep-he.md"
    source.write_text(HEBREW, encoding="utf-8")
    _, parts = _imported(source, tmp_path)
    for part in parts:
        assert re.search(r'<html lang="he" dir="rtl"', part.html)
        assert "text-align:right" in part.html and "direction:rtl" in part.html
        assert '<span lang="en" dir="ltr">Unsubscribe</span>' in part.html
    assert "border-right: 4px solid" in parts[0].html  # the quote's bar on the right


def test_a_french_byline_gives_the_authors_name(tmp_path: Path) -> None:
    """``<p class="byline">par Claire Moreau</p>``: the author is Claire Moreau, who signs
    every part ("À bientôt, Claire Moreau"), never "par Claire Moreau"."""
    page = tmp_path / "sommeil.html"
    page.write_text(
        '<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Le sommeil des '
        "petits – Le Carnet du Sommeil</title></head><body><article><h1>Le sommeil des petits"
        '</h1><p class="byline">par Claire Moreau</p><p>Beaucoup de parents passent leurs '
        "soirées assis au bord du lit, à attendre que leur enfant s'endorme. Ce n'est ni un "
        "caprice ni un échec éducatif : s'endormir seul s'apprend.</p><p>L'apprentissage se "
        "fait par petites étapes, soir après soir, sans brusquer l'enfant ni culpabiliser."
        "</p></article></body></html>",
        encoding="utf-8",
    )
    issue, parts = _imported(page, tmp_path)
    assert "author: Claire Moreau" in issue
    assert all("par Claire" not in p.text for p in parts)
    assert all("Claire Moreau" in p.text.split("-- \n")[0][-100:] for p in parts)
