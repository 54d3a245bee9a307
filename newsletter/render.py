"""Render a series' parts: Jinja2 templates produce MJML, mjml-python compiles it to HTML.

Each part is compiled once. Per-subscriber fields (first name, unsubscribe URL) are
placeholders in the compiled HTML and text, filled in by :func:`personalize`, escaped.
The plain-text alternative is generated from the blocks, wrapped at 78 columns, with
links written out.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import mjml
from markupsafe import Markup, escape

from . import i18n, templatecache
from .blocks import Inline
from .config import GREETING_FALLBACK, Brand, Config, SeriesStyle
from .errors import NewsletterError
from .inline import wrap
from .resources import templates_dir
from .series import Part, Series
from .signing import SAMPLE_TOKEN, unsubscribe_link

FIRST_NAME = "%%NL_FIRST_NAME%%"
UNSUBSCRIBE_URL = "%%NL_UNSUBSCRIBE_URL%%"
#: the preferences page: the signed unsubscribe link with "?preferences", so every
#: provider's own substitution of the unsubscribe URL fills it in too
PREFERENCES_URL = UNSUBSCRIBE_URL + "?preferences"
#: every per-subscriber placeholder ``fill`` replaces
MARKERS = (FIRST_NAME, UNSUBSCRIBE_URL)
MARKER = re.compile("|".join(re.escape(m) for m in MARKERS))
_TOKEN_GUARD = ("%%NL_", "%%NL&#95;")
GMAIL_CLIP_BYTES = 102 * 1024
#: after the preheader: invisible characters that fill the inbox preview, so that the body
#: text (the header, the recap) never runs on after the preheader
PREVIEW_FILLER = Markup("&zwnj;&nbsp;" * 90)


def _guard(text: str) -> str:
    return text.replace(*_TOKEN_GUARD)


def inline_html(spans: Inline) -> Markup:
    """Spans to HTML: text escaped, emphasis and safe links kept."""
    out: list[str] = []
    for s in spans:
        if s.is_break:
            out.append("<br>")
            continue
        piece = _guard(html.escape(s.text, quote=False))
        if s.note:
            out.append(f"<sup>{piece}</sup>")
            continue
        if s.code:
            piece = f"<code>{piece}</code>"
        if s.strike:
            piece = f"<s>{piece}</s>"
        if s.italic:
            piece = f"<em>{piece}</em>"
        if s.bold:
            piece = f"<strong>{piece}</strong>"
        if s.safe_href:
            piece = f'<a href="{_guard(html.escape(s.safe_href))}">{piece}</a>'
        out.append(piece)
    return Markup("".join(out))


def frame_words(language: str) -> Callable[[str], Markup]:
    """The template's ``frame(words)``: the frame's words (escaped), marked as English
    when ``language`` has no catalogue (see ``i18n.frame_attributes``)."""
    attributes = i18n.frame_attributes(language)

    def frame(words: str) -> Markup:
        text = escape(words)
        return Markup(f"<span{attributes}>{text}</span>") if attributes and words else text

    return frame


def _guarded(value: Any) -> Any:
    if isinstance(value, str) and not isinstance(value, Markup):
        return Markup(_guard(html.escape(value)))
    return value


@dataclass(frozen=True)
class RenderedPart:
    part: Part
    mjml: str
    html: str  # with placeholders; see personalize()
    text: str  # with placeholders

    @property
    def index(self) -> int:
        return self.part.index

    @property
    def size(self) -> int:
        return len(self.html.encode("utf-8"))


class Renderer:
    """Holds the Jinja environment (user templates first, then the built-in ones)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        loaders: list[jinja2.BaseLoader] = []
        if config.user_templates.is_dir():
            loaders.append(jinja2.FileSystemLoader(str(config.user_templates)))
        loaders.append(jinja2.FileSystemLoader(str(templates_dir())))
        self.env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            finalize=_guarded,
            # A Renderer renders one series (the preview makes a new one on every change):
            # no stat() of every template on every lookup.
            auto_reload=False,
            extensions=["jinja2.ext.i18n"],
            bytecode_cache=templatecache.COMPILED,
        )
        self.env.filters["inline"] = inline_html
        #: seconds spent in MJML compilation by the last render_series call
        self.mjml_seconds = 0.0

    def greeting(self, language: str = i18n.DEFAULT) -> Markup:
        fmt = greeting_format(self.config, language)
        if not fmt:
            return Markup("")
        before, _, after = fmt.partition("{first_name}")
        if not _:
            return Markup(html.escape(fmt))
        return Markup(html.escape(before) + FIRST_NAME + html.escape(after))

    def sign_off(self, series: Series) -> list[str]:
        """The lines that end every part ("Until next time," / the author), or none."""
        return sign_off_lines(self.config, series)

    def _framed_sign_off(self, series: Series) -> list[str]:
        """The sign-off's lines, the default's words marked as the frame's."""
        lines = self.sign_off(series)
        if self.config.series.sign_off != SeriesStyle.sign_off:
            return lines  # the editor's own words
        author = series.author or self.config.sender.name
        frame = frame_words(series.language)
        return [line if line == author else frame(line) for line in lines]

    def mjml_source(self, series: Series, part: Part) -> str:
        try:
            i18n.install(self.env, series.language)
            template = self.env.get_template("email.mjml.j2")
            return template.render(
                series=series,
                part=part,
                language=series.language,
                direction=i18n.direction(series.language),
                frame=frame_words(series.language),
                brand=self.config.brand,
                sender=self.config.sender,
                greeting=self.greeting(series.language),
                sign_off=self._framed_sign_off(series),
                preview_filler=PREVIEW_FILLER,
                unsubscribe_url=Markup(UNSUBSCRIBE_URL),
                preferences_url=Markup(PREFERENCES_URL),
                archive_url=archive_url(self.config, series.slug, part.index),
            )
        except jinja2.TemplateSyntaxError as exc:
            raise NewsletterError(
                f"template {exc.filename or exc.name}:{exc.lineno}: {exc.message}"
            ) from None
        except jinja2.TemplateError as exc:
            raise NewsletterError(
                f"template error while rendering part {part.index}: {exc}",
                hint="check your templates/ overrides",
            ) from None

    def render_part(self, series: Series, part: Part) -> RenderedPart:
        source = self.mjml_source(series, part)
        started = time.perf_counter()
        try:
            compiled = mjml.mjml2html(source)
        except ValueError as exc:
            raise NewsletterError(
                f"MJML error in part {part.index}: {exc}", hint="check your templates/ overrides"
            ) from None
        self.mjml_seconds += time.perf_counter() - started
        return RenderedPart(
            part=part,
            mjml=source,
            html=compiled,
            text=render_text(series, part, self.config, self.sign_off(series)),
        )

    def render_series(self, series: Series) -> list[RenderedPart]:
        self.mjml_seconds = 0.0
        return [self.render_part(series, p) for p in series.parts]


def greeting_format(config: Config, language: str) -> str:
    """``[brand] greeting`` ("" for none); left at its default, in ``language``."""
    fmt = config.brand.greeting
    if fmt == Brand.greeting:
        return i18n.translations(language).gettext("Hi {first_name},")
    return fmt


def first_name_fallback(config: Config, language: str) -> str:
    """What the greeting says without a first name ("Hi there,"): ``[brand]
    first_name_fallback``, or at its default, the catalogue's word for ``language``."""
    fallback = config.brand.first_name_fallback
    if fallback == Brand.first_name_fallback and config.brand.greeting == Brand.greeting:
        return i18n.translations(language).pgettext("greeting without a name", "there")
    return fallback


def sign_off_lines(config: Config, series: Series) -> list[str]:
    """``[series] sign_off`` (at its default, in the series' language) with the author."""
    author = series.author or config.sender.name
    fmt = config.series.sign_off
    if fmt == SeriesStyle.sign_off:
        fmt = i18n.translations(series.language).gettext("Until next time,\n{author}")
    text = fmt.format(author=author)
    return [line.strip() for line in text.splitlines() if line.strip()]


def archive_url(config: Config, slug: str, index: int) -> str:
    """The part's public page ("view in browser"), served by the archive."""
    return f"{config.web.base_url.rstrip('/')}/archive/{slug}/{index}/"


def personalize(
    rendered: RenderedPart,
    *,
    first_name: str,
    unsubscribe_url: str,
    fallback: str = GREETING_FALLBACK,
) -> tuple[str, str]:
    """The part's HTML and text for one subscriber (their fields escaped in the HTML)."""
    return fill(
        rendered.html,
        rendered.text,
        first_name=first_name,
        unsubscribe_url=unsubscribe_url,
        fallback=fallback,
    )


def placeholder_values(
    *, first_name: str, unsubscribe_url: str, fallback: str = GREETING_FALLBACK
) -> tuple[dict[str, str], dict[str, str]]:
    """What each placeholder becomes for one subscriber: in the HTML (escaped), in the text."""
    name = (first_name or "").strip() or fallback
    text_values = {FIRST_NAME: name, UNSUBSCRIBE_URL: unsubscribe_url}
    return {k: html.escape(v) for k, v in text_values.items()}, text_values


def fill(
    html_in: str,
    text_in: str,
    *,
    first_name: str,
    unsubscribe_url: str,
    fallback: str = GREETING_FALLBACK,
) -> tuple[str, str]:
    """HTML and text with the placeholders filled in for one subscriber, escaped in HTML.

    One pass over each template: an inserted value is never searched for markers, so a
    first name ``%%NL_UNSUBSCRIBE_URL%%`` stays that text."""
    html_values, text_values = placeholder_values(
        first_name=first_name, unsubscribe_url=unsubscribe_url, fallback=fallback
    )
    html_out = MARKER.sub(lambda m: html_values[m.group()], html_in)
    text_out = MARKER.sub(lambda m: text_values[m.group()], text_in)
    return html_out, text_out


# --- plain text ------------------------------------------------------------------------


def render_text(
    series: Series, part: Part, config: Config, sign_off: list[str] | None = None
) -> str:
    _ = i18n.translations(series.language).gettext
    sections: list[str] = [" ".join(series.title.split())]  # one plain line, never wrapped
    if part.total > 1:
        sections.append(_("Part %(k)s of %(n)s") % {"k": part.index, "n": part.total})
    # the order of email.mjml.j2: greeting, recap, the part, its CTA, teaser, sign-off
    fmt = greeting_format(config, series.language)
    if fmt:
        sections.append(fmt.replace("{first_name}", FIRST_NAME))
    if part.recap:
        previously = _("Previously:")
        sections.append(wrap(f"{previously} {part.recap}"))
    sections.extend(t for t in (b.to_text() for b in part.blocks) if t)
    if part.cta and part.button:
        sections.append(
            wrap(f"{part.cta.button_label}: {part.cta.url}" if part.cta.url else part.cta.label)
        )
    if part.teaser:
        next_time = _("Next time:")
        sections.append(wrap(f"{next_time} {part.teaser}"))
    if sign_off:
        sections.append("\n".join(sign_off))
    if part.article_link:
        sections.append(wrap(_("Read the whole article: %(url)s") % {"url": part.article_url}))
    lines = [
        _("You are receiving this because you subscribed to %(name)s.")
        % {"name": config.sender.name},
        config.sender.postal_address,
        _("View in your browser: %(url)s") % {"url": archive_url(config, series.slug, part.index)},
        _("Your preferences: %(url)s") % {"url": PREFERENCES_URL},
        _("Unsubscribe: %(url)s") % {"url": UNSUBSCRIBE_URL},
    ]
    sections.append("-- \n" + wrap("\n".join(lines)))
    # (the article's own text is cleaned when the issue file is read; this is the frame's)
    return i18n.strip_invisible("\n\n".join(sections) + "\n")


def write_rendered(
    series: Series, parts: list[RenderedPart], out_dir: Path, config: Config
) -> Path:
    """``part-K.html``, ``part-K.txt`` and ``manifest.json`` (a stable contract) in out_dir."""
    import json

    out_dir.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {"issue": series.slug, "title": series.title, "parts": []}
    for r in parts:
        k = r.index
        html_out, text_out = personalize(
            r,
            first_name="",
            unsubscribe_url=unsubscribe_link(config.web.base_url, SAMPLE_TOKEN),
            fallback=first_name_fallback(config, series.language),
        )
        (out_dir / f"part-{k}.html").write_text(html_out, encoding="utf-8")
        (out_dir / f"part-{k}.txt").write_text(text_out, encoding="utf-8")
        manifest["parts"].append(
            {
                "index": k,
                "subject": r.part.subject,
                "preheader": r.part.preheader,
                "words": r.part.words,
                "html": f"part-{k}.html",
                "text": f"part-{k}.txt",
                "cta_url": (r.part.cta.url or None) if r.part.cta else None,
            }
        )
    path = out_dir / "manifest.json"
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
