"""An article in its own language: the frame's words (greeting, "Part k of n", recap and
teaser labels, sign-off, footer, the web pages, the confirmation email) come from the
catalogues, every part says its ``lang``, and invisible characters never reach a subject,
a preheader or the text part.

The German and French articles are written as their blogs publish them (a Markdown post
with soft hyphens from a hyphenation plugin, a WordPress page with ``&shy;``), and go
through the real importer, the splitter, the renderer, the outbox and the web app."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from babel.messages.extract import extract
from babel.messages.pofile import read_po
from jinja2.ext import babel_extract

from newsletter import i18n
from newsletter.config import Config, load_config
from newsletter.issuefile import load_issue, parse_issue
from newsletter.pipeline import import_article, load_series
from newsletter.render import RenderedPart, Renderer, first_name_fallback, personalize
from newsletter.schedule import queue_issue
from newsletter.series import Series
from newsletter.store.subscribers import add_subscriber

from .conftest import ARTICLES, REPO
from .helpers import one_line_error, outbox_messages, run_cli
from .test_signup import Site, start_site

#: what an English frame says and a German or French reader must never see
ENGLISH = (
    "Hi there",
    "Hi ",
    "Part ",
    "Previously",
    "Next time",
    "Until next time",
    "Read the whole article",
    "Prefer to read",
    "Unsubscribe",
    "View in your browser",
    "Your preferences",
    "You are receiving",
    "(continued)",
    "looks at",
    "goes on",
)
INVISIBLE = ("\u00ad", "\u200b", "\u200c", "\u2060", "\ufeff", "&shy;", "&#173;")


def split(source: Path, tmp_path: Path, config: Config | None = None) -> Series:
    """Import ``source`` as an editor would, then split it in three parts."""
    report = import_article(source, out=tmp_path / f"{source.stem}.md")
    issue = load_issue(report.path)
    issue.parts = 3
    return load_series(issue, config or Config(root=tmp_path))


def rendered(series: Series, tmp_path: Path) -> list[RenderedPart]:
    return Renderer(Config(root=tmp_path)).render_series(series)


def visible(html: str) -> str:
    """The words of an email's HTML (no styles, no tags, no attributes)."""
    html = re.sub(r"(?s)<(style|script|title)\b.*?</\1>|<!--.*?-->", " ", html)
    return re.sub(r"<[^>]+>", " ", html)


def assert_no_english(text: str, where: str) -> None:
    for phrase in ENGLISH:
        assert phrase not in text, f"{where}: English {phrase!r} in {text[:2000]}"


def assert_reads_in(series: Series, parts: list[RenderedPart], lang: str, where: str) -> None:
    assert len(parts) == 3
    for r in parts:
        html, text = personalize(
            r, first_name="", unsubscribe_url="https://x.example/u/t", fallback="there"
        )
        assert html.startswith("<!doctype html>") and f'<html lang="{lang}"' in html[:200]
        assert_no_english(visible(html), f"{where} part {r.index} HTML")
        assert_no_english(text, f"{where} part {r.index} text")
        for mark in INVISIBLE:
            assert mark not in r.part.subject and mark not in r.part.preheader
            assert mark not in r.text
            assert mark not in r.html


def test_a_german_post_reads_in_german_in_every_part(tmp_path: Path) -> None:
    source = ARTICLES / "pausen-de.md"
    assert "\u00ad" in source.read_text(encoding="utf-8")  # the plugin's soft hyphens
    series = split(source, tmp_path)
    # no lang in the post: told from its text, and written down for the editor
    assert series.language == "de"
    assert "language: de\n" in (tmp_path / "pausen-de.md").read_text(encoding="utf-8")
    parts = rendered(series, tmp_path)
    assert_reads_in(series, parts, "de", "German")
    one, two, three = parts
    assert "Teil 2 von 3" in two.text and "Teil 2 von 3" in visible(two.html)
    assert "Was bisher geschah:" in two.text and "Nächstes Mal:" in two.text
    assert "Teil 3 widmet sich „" in two.part.teaser
    assert "Bis zum nächsten Mal\nMiriam Kessler" in three.text
    assert "Abmelden: %%NL_UNSUBSCRIBE_URL%%" in one.text
    assert "Steuererklärung" in one.text  # the soft hyphen gone, the word whole
    # a reader without a first name: "Hallo zusammen,", with one: "Hallo Anna,"
    fallback = first_name_fallback(Config(root=tmp_path), series.language)
    _, text = personalize(one, first_name="", unsubscribe_url="u", fallback=fallback)
    assert "Hallo zusammen," in text
    html, text = personalize(one, first_name="Anna", unsubscribe_url="u", fallback=fallback)
    assert "Hallo Anna," in text and "Hallo Anna," in html


def test_a_french_wordpress_page_reads_in_french_in_every_part(tmp_path: Path) -> None:
    source = ARTICLES / "sommeil-fr.html"
    assert "&shy;" in source.read_text(encoding="utf-8")
    series = split(source, tmp_path)
    assert series.language == "fr-FR"  # the page's own lang
    parts = rendered(series, tmp_path)
    assert_reads_in(series, parts, "fr-FR", "French")
    one, two, three = parts
    assert "Partie 2 sur 3" in two.text
    assert "Précédemment\u00a0:" in two.text and "La prochaine fois\u00a0:" in two.text
    assert "Lire l’article en entier" in visible(three.html)
    assert "À bientôt," in three.text
    assert "Se désabonner" in visible(one.html)
    assert "l’inventaire" in two.text and "l’endormissement" in two.text


def test_english_articles_keep_the_english_frame(tmp_path: Path) -> None:
    issue = load_issue(REPO / "issues" / "calmer-mornings.md")
    series = load_series(issue, Config(root=tmp_path))
    assert series.language == "en"
    r = rendered(series, tmp_path)[1]
    assert '<html lang="en"' in r.html[:200]
    assert "Part 2 of " in r.text and "Previously: " in r.text and "Hi %%NL_FIRST_NAME%%," in r.text
    assert first_name_fallback(Config(root=tmp_path), "en") == "there"


def test_the_front_matter_and_the_setting_choose_the_language(tmp_path: Path) -> None:
    body = (ARTICLES / "pausen-de.md").read_text(encoding="utf-8").split("---\n", 2)[2]
    path = tmp_path / "p.md"
    path.write_text("---\ntitle: Pausen\n---\n" + body, encoding="utf-8")
    cfg = Config(root=tmp_path)
    assert load_series(path, cfg).language == "de"  # detected
    cfg.series.language = "nl"
    assert load_series(path, cfg).language == "nl"  # [series] language over the detector
    path.write_text(
        "---\ntitle: Pausen\nlanguage: de-AT\nseries:\n  parts: 2\n---\n" + body, encoding="utf-8"
    )
    series = load_series(path, cfg)  # the issue's own field over the setting
    assert series.language == "de-AT"
    r = Renderer(cfg).render_series(series)[1]
    assert '<html lang="de-AT"' in r.html[:200] and "Teil 2 von" in r.text
    # a short English note: too short to tell, so [brand] language
    path.write_text("---\ntitle: Hallo\n---\nKurz.\n", encoding="utf-8")
    cfg.series.language = ""
    cfg.brand.language = "it"
    assert load_series(path, cfg).language == "it"


def test_a_bad_language_field_is_one_line_naming_file_line_and_field(
    workdir: Path,
) -> None:
    (workdir / "issues").mkdir()
    path = workdir / "issues" / "p.md"
    path.write_text("---\ntitle: Pausen\nauthor: Mia\nlanguage: German\n---\nText.\n")
    result = run_cli("split", str(path))
    one_line_error(result, "p.md:4:", "field 'language'", "German", "language code")
    with pytest.raises(Exception, match="language code"):
        parse_issue(path.read_text(), path)


def test_a_bad_language_setting_is_refused(workdir: Path) -> None:
    (workdir / "newsletter.toml").write_text('[series]\nlanguage = "Deutsch"\n')
    with pytest.raises(Exception, match=r"series\.language.*language code"):
        load_config(workdir / "newsletter.toml")
    (workdir / "newsletter.toml").write_text('[series]\nlanguage = "pt_br"\n')
    assert load_config(workdir / "newsletter.toml").series.language == "pt-BR"


def test_invisible_characters_go_but_emoji_sequences_stay() -> None:
    family = "👩\u200d👩\u200d👧"
    text = f"Selbst\u00adfür\u200bsorge\u2060 für die {family}\ufeff Familie\u200c"
    assert i18n.strip_invisible(text) == f"Selbstfürsorge für die {family} Familie"


def test_subjects_and_preheaders_never_carry_soft_hyphens(tmp_path: Path) -> None:
    path = tmp_path / "x.md"
    path.write_text(
        "---\ntitle: Acht\u00adsamkeit im All\u00adtag\nlanguage: de\nseries:\n  parts: 2\n---\n"
        + "\n\n".join(
            f"## Ab\u00adschnitt {k}: Gelassen\u00adheit\n\n"
            + "Ein Satz über Auf\u200bmerksamkeit, den man gut lesen kann und der lang genug "
            "ist, um als Vorschau zu dienen. " * 12
            for k in range(1, 5)
        ),
        encoding="utf-8",
    )
    series = load_series(path, Config(root=tmp_path))
    for p in series.parts:
        for mark in INVISIBLE:
            assert mark not in p.subject + p.preheader + p.recap + p.teaser
    assert "Abschnitt" in series.parts[0].subject
    assert series.title == "Achtsamkeit im Alltag"


# --- the web pages, the confirmation email, the outbox ---------------------------------


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    monkeypatch.delenv("NEWSLETTER_SECRET", raising=False)
    monkeypatch.delenv("NEWSLETTER_DATABASE_URL", raising=False)
    toml = (
        '[sender]\nname = "Praxis Kessler"\nemail = "mia@example.com"\n'
        '[lists.readers]\nlanguage = "de"\ntitle = "Die Serie per E-Mail"\n'
        '[lists.lecteurs]\nlanguage = "fr"\n'
    )
    yield from start_site(tmp_path, toml)


def test_a_german_series_in_the_inbox_and_on_its_web_pages(site: Site, tmp_path: Path) -> None:
    report = import_article(
        ARTICLES / "pausen-de.md",
        out=tmp_path / "pausen.md",
        cta_url="https://praxis-kessler.example/termin",
    )
    add_subscriber(site.store, "anna@example.com", first_name="Anna", list_name="readers")
    add_subscriber(site.store, "kim@example.com", list_name="readers")
    queue_issue(site.store, site.config, report.path, list_name="readers", every="1d")
    site.send_due()
    sent = {m["To"].addresses[0].addr_spec: m for m in outbox_messages(site.config.outbox_path)}
    assert set(sent) == {"anna@example.com", "kim@example.com"}
    for address, greeting in (
        ("anna@example.com", "Hallo Anna,"),
        ("kim@example.com", "Hallo zusammen,"),
    ):
        msg = sent[address]
        html = msg.get_body(("html",)).get_content()
        text = msg.get_body(("plain",)).get_content()
        assert '<html lang="de"' in html[:200]
        assert greeting in text and greeting in html
        assert "Vereinbaren Sie ein kostenloses Kennenlerngespräch" in html  # its button
        assert_no_english(visible(html), f"{address} HTML")
        assert_no_english(text, f"{address} text")
        assert "\u00ad" not in str(msg["Subject"]) + text
    link = str(sent["kim@example.com"]["List-Unsubscribe"]).strip("<>")
    page = requests.get(link, timeout=60)
    assert page.status_code == 200 and '<html lang="de">' in page.text
    assert "Von allem abmelden" in page.text and "Unsubscribe" not in page.text
    prefs = requests.get(link, params={"preferences": ""}, timeout=60)
    assert prefs.status_code == 200 and "Ihre Einstellungen" in prefs.text
    assert "Speichern" in prefs.text and "Pause for a while" not in prefs.text
    done = requests.post(link, data={"scope": "all"}, timeout=60)
    assert done.status_code == 200 and "Sie sind abgemeldet" in done.text
    archived = requests.get(f"{site.base}/archive/pausen/1/", timeout=60)
    assert archived.status_code == 200 and '<html lang="de"' in archived.text
    assert "Alle Teile von „Warum Pausen keine Schwäche sind“" in archived.text
    assert "Hallo zusammen," in archived.text  # nobody's copy


def test_the_form_and_its_confirmation_in_the_lists_language(site: Site) -> None:
    with site.store.begin() as conn:
        site.store.list_id(conn, "lecteurs", create=True)
    form = requests.get(f"{site.base}/subscribe/lecteurs", timeout=60)
    assert form.status_code == 200 and '<html lang="fr">' in form.text
    assert "Adresse e-mail" in form.text and "S’inscrire" in form.text
    assert "Email address" not in form.text
    answer = site.post("lecteurs", email="lea@example.com")
    assert answer.status_code == 200 and "Consultez votre boîte de réception" in answer.text
    bad = site.post("lecteurs", email="")
    assert bad.status_code == 400 and "Merci d’indiquer votre adresse e-mail." in bad.text
    confirm = next(
        m for m in outbox_messages(site.config.outbox_path) if m["X-Newsletter-Part"] == "confirm"
    )
    assert str(confirm["Subject"]).startswith("Merci de confirmer")
    text = confirm.get_body(("plain",)).get_content()
    assert "Le lien est valable 7 jours." in text and "Please confirm" not in text
    link = re.search(r"(http://\S+/confirm/\S+)", text)
    assert link
    page = requests.get(link.group(1), timeout=60)
    assert '<html lang="fr">' in page.text and "Oui, je m’inscris" in page.text
    done = requests.post(link.group(1), timeout=60)
    assert done.status_code == 200 and "Inscription confirmée" in done.text
    # the German list answers in German, a list without a language in [brand] language
    assert "Schauen Sie in Ihr Postfach" in site.post("readers", email="jo@example.com").text


# --- the catalogues cannot drift from the code --------------------------------------------

KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2), "N_": None}
#: the reader-facing Python: each English phrase there is a catalogue message
READER_FACING = [
    "newsletter/render.py",
    "newsletter/series.py",
    "newsletter/summary.py",
    "newsletter/signup.py",
    "newsletter/pipeline.py",
    *(p.relative_to(REPO).as_posix() for p in (REPO / "newsletter" / "web").glob("*.py")),
]
#: not for readers: the one-click answer goes to a mail program
NOT_FOR_READERS = {"Unsubscribed.\n"}


def messages() -> dict[tuple[object, str | None], list[str]]:
    found: dict[tuple[object, str | None], list[str]] = {}
    for path in sorted((REPO / "newsletter").rglob("*.py")):
        with path.open("rb") as f:
            for line, msg, _, context in extract("python", f, KEYWORDS):
                found.setdefault((msg, context), []).append(f"{path.name}:{line}")
    options = {"extensions": "jinja2.ext.i18n", "trimmed": "false"}
    for path in sorted((REPO / "templates").rglob("*")):
        if path.is_file():
            with path.open("rb") as f:
                for line, msg, _, context in extract(babel_extract, f, KEYWORDS, options=options):
                    found.setdefault((msg, context), []).append(f"{path.name}:{line}")
    return found


def catalogue(lang: str) -> dict[tuple[object, str | None], object]:
    with i18n.po_path(lang).open("rb") as f:
        cat = read_po(f, locale=lang)
    return {(m.id, m.context): m.string for m in cat if m.id}


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"%\(\w+\)s|\{\w+\}", text))


@pytest.mark.parametrize("lang", [lang for lang in i18n.LANGUAGES if lang != "en"])
def test_every_message_is_translated_and_keeps_its_placeholders(lang: str) -> None:
    code = messages()
    assert len(code) > 80
    have = catalogue(lang)
    missing = [m for m in code if not have.get(m) or not all(have[m])]  # type: ignore[call-overload]
    assert not missing, f"{i18n.po_path(lang)} lacks {missing}"
    stale = [m for m in have if m not in code]
    assert not stale, f"{i18n.po_path(lang)}: no longer in the code: {stale}"
    for (msgid, _), string in have.items():
        ids = msgid if isinstance(msgid, tuple) else (msgid,)
        strings = string if isinstance(string, tuple) else (string,)
        for s in strings:
            # (the validator's English reason may be left out of a translated answer)
            assert placeholders(ids[-1]) - {"%(why)s"} <= placeholders(str(s)), (lang, s)
            assert placeholders(str(s)) <= placeholders(ids[-1]), (lang, s)
            assert str(s).strip() == str(s), (lang, s)


def test_the_catalogues_are_shipped_and_load() -> None:
    for lang in i18n.LANGUAGES[1:]:
        assert i18n.po_path(lang).is_file()
        assert i18n.translations(lang).gettext("Unsubscribe") != "Unsubscribe"
    assert i18n.translations("de-CH").gettext("Unsubscribe") == "Abmelden"
    assert i18n.translations("pl").gettext("Unsubscribe") == "Unsubscribe"  # no catalogue


def template_text(path: Path) -> str:
    """What a template shows that is not a catalogue message: its text without Jinja
    tags, expressions, comments, HTML/MJML tags, CSS and scripts' code."""
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"(?s)\{%-?\s*trans\b.*?endtrans\s*-?%\}", " ", text)
    text = re.sub(r"(?s)\{#.*?#\}|\{\{.*?\}\}|\{%.*?%\}", " ", text)
    text = re.sub(r"(?s)<(mj-style|style|script)\b.*?</\1>", " ", text)
    text = re.sub(r"(?s)<[^>]*>", " ", text)
    return text


def test_templates_show_no_words_outside_the_catalogue() -> None:
    shown = {}
    for path in sorted((REPO / "templates").rglob("*")):
        # (the desk is the editor's, in English)
        if path.is_file() and path.name != "feed.xml" and "desk" not in path.parts:
            words = re.findall(r"[A-Za-z]{2,}", template_text(path))
            if words:
                shown[path.name] = words
    assert not shown, f"words a reader sees that no catalogue holds: {shown}"


def test_reader_facing_python_has_no_english_outside_the_catalogue() -> None:
    frame = re.compile(
        r"(?<![-\w])(Hi|Part|Previously|Next time|Until next time|Read the whole|Unsubscribe|"
        r"Your preferences|Please|Thank|Check your|subscribed|continued|Find out more|"
        r"looks at|goes on|Erase|Paused|Saved|No such list|Too many)\b"
    )
    found = []
    for rel in READER_FACING:
        tree = ast.parse((REPO / rel).read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
        }
        translated = {
            id(arg)
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and getattr(node.func, "id", getattr(node.func, "attr", "")) in KEYWORDS
            for arg in node.args
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings | translated
                and node.value not in NOT_FOR_READERS
                and frame.search(node.value)
            ):
                found.append(f"{rel}:{node.lineno}: {node.value!r}")
    assert not found, "English for readers outside the catalogue:\n" + "\n".join(found)


def test_german_sentences_keep_their_abbreviations(tmp_path: Path) -> None:
    """A recap, a teaser or a preheader is a whole sentence: "z. B." or "3. März" inside
    a German sentence does not end it."""
    path = tmp_path / "x.md"
    section = (
        "## {head}\n\n"
        "Kleine Rituale helfen, z. B. ein Spaziergang nach dem Essen oder eine Tasse Tee "
        "ohne Handy am Abend. Ab dem 3. März biete ich dazu bzw. zu verwandten Themen eine "
        "Gruppe für Eltern an, die im Alltag oft über ihre Grenzen gehen. "
        "Viele Eltern erzählen mir, dass sie sich erst ausruhen, wenn alles erledigt ist, "
        "und genau das gelingt im Familienalltag fast nie.\n\n"
    )
    heads = ["Rituale im Alltag", "Pausen für Eltern", "Grenzen erkennen", "Hilfe annehmen"]
    path.write_text(
        "---\ntitle: Kleine Pausen\nlanguage: de\nseries:\n  parts: 2\n---\n\n"
        + "".join(section.format(head=h) for h in heads),
        encoding="utf-8",
    )
    series = load_series(path, Config(root=tmp_path))
    framed = [series.parts[0].teaser, series.parts[1].recap]
    framed += [p.preheader for p in series.parts]
    for text in framed:
        assert text and not re.search(r"\b(z|bzw|3)\.$", text), text
        assert not re.match(r"(B\.|März|zu verwandten)", text), text
