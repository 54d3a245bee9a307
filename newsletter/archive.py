"""The public archive: every series and the parts of it already sent, each part on its own
page (the email as a reader got it, minus anything personal), and an Atom feed.

A part appears once its first email has gone out, never before; the page is the part's
snapshot filled with the greeting's fallback name, never anyone's personalised copy. The
same pages are served at ``/archive/`` and written as static files by ``archive build``;
their links are relative, so both work.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from .config import Config
from .i18n import html_language
from .pages import environment
from .render import fill, first_name_fallback
from .store import Store, utcnow
from .store.archive import part_html, sent_parts


@dataclass(frozen=True)
class PublishedPart:
    slug: str
    index: int
    subject: str
    preheader: str
    published_at: datetime
    campaign_id: int


@dataclass(frozen=True)
class PublishedSeries:
    slug: str
    title: str
    parts: list[PublishedPart]

    @property
    def updated(self) -> datetime:
        return max(p.published_at for p in self.parts)


def published(store: Store, now: datetime | None = None) -> list[PublishedSeries]:
    """Series with the parts already sent (by ``now``), newest series first."""
    by_slug: dict[str, dict[int, PublishedPart]] = {}
    titles: dict[str, str] = {}
    for r in sent_parts(store, now or utcnow()):
        # a series queued twice (another list, --again): first sending, latest text
        titles[r.slug] = r.title
        parts = by_slug.setdefault(r.slug, {})
        earlier = parts.get(r.part)
        parts[r.part] = PublishedPart(
            r.slug,
            r.part,
            r.subject,
            r.preheader,
            min(r.first_sent, earlier.published_at) if earlier else r.first_sent,
            r.campaign_id,
        )
    found = [
        PublishedSeries(slug, titles[slug], [parts[k] for k in sorted(parts)])
        for slug, parts in by_slug.items()
    ]
    return sorted(found, key=lambda s: s.updated, reverse=True)


class Archive:
    """Renders the archive's pages from what has been sent."""

    def __init__(self, store: Store, config: Config) -> None:
        self.store = store
        self.config = config
        self.env = environment(config)
        self._envs: dict[str, jinja2.Environment] = {}

    def _render(self, template: str, language: str = "", **context: object) -> str:
        env = self.env
        if language and language != self.config.brand.language:
            if language not in self._envs:  # (a part's navigation, in the part's language)
                self._envs[language] = environment(self.config, language)
            env = self._envs[language]
        return env.get_template(template).render(
            sender=self.config.sender, brand=self.config.brand, **context
        )

    def index(self, now: datetime | None = None) -> str:
        return self._render("archive.html", series=published(self.store, now))

    def series(self, slug: str, now: datetime | None = None) -> str | None:
        found = next((s for s in published(self.store, now) if s.slug == slug), None)
        return self._render("archive-series.html", s=found) if found else None

    def part(self, slug: str, index: int, now: datetime | None = None) -> str | None:
        found = next((s for s in published(self.store, now) if s.slug == slug), None)
        part = next((p for p in found.parts if p.index == index), None) if found else None
        if found is None or part is None:
            return None
        html = part_html(self.store, part.campaign_id, index)
        # Nobody's copy: the fallback name; the footer's personal links lead back here.
        language = html_language(html, default=self.config.brand.language)
        page, _ = fill(
            html,
            "",
            first_name="",
            unsubscribe_url="../",
            fallback=first_name_fallback(self.config, language),
        )
        nav = self._render("archive-nav.html", language, s=found, part=part)
        head = (
            "<style>.nl-footer{display:none !important}</style>"
            f'<link rel="alternate" type="application/atom+xml" href="../../feed.xml" '
            f'title="{escape(self.config.sender.name)}">'
        )
        page = page.replace("</head>", head + "</head>", 1)
        return re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + nav, page, count=1)

    def feed(self, now: datetime | None = None) -> str:
        series = published(self.store, now)
        entries = sorted(
            ((s, p) for s in series for p in s.parts),
            key=lambda sp: sp[1].published_at,
            reverse=True,
        )
        base = self.config.web.base_url.rstrip("/") + "/archive/"
        return self._render(
            "feed.xml",
            base=base,
            entries=entries,
            updated=max((p.published_at for _, p in entries), default=now or utcnow()),
            iso=lambda d: Markup(d.strftime("%Y-%m-%dT%H:%M:%SZ")),
        )


def build(store: Store, config: Config, out: Path, now: datetime | None = None) -> list[Path]:
    """The archive as static files in ``out``: index.html, SLUG/index.html,
    SLUG/K/index.html and feed.xml."""
    archive = Archive(store, config)
    now = now or utcnow()
    pages: dict[Path, str] = {
        out / "index.html": archive.index(now),
        out / "feed.xml": archive.feed(now),
    }
    for s in published(store, now):
        pages[out / s.slug / "index.html"] = archive.series(s.slug, now) or ""
        for p in s.parts:
            pages[out / s.slug / str(p.index) / "index.html"] = (
                archive.part(s.slug, p.index, now) or ""
            )
    for path, text in pages.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return list(pages)
