"""The one-way flow, as library functions the CLI and the preview call:
article -> issue file -> series -> rendered parts."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from . import headers, i18n
from .blocks import Article, CallToAction, Heading, Image, ListBlock, asks_to_act
from .config import Config
from .errors import InputError, NewsletterError
from .fetch import is_http_url
from .importers import MAX_TEXT_BYTES, outline
from .importers.embeds import localise
from .importers.links import is_share_link
from .issuefile import (
    CTA,
    Issue,
    check_fields,
    dump_issue,
    load_issue,
    parse_issue,
)
from .render import RenderedPart, Renderer, write_rendered
from .series import Series, build_series


def slugify(text: str) -> str:
    text = re.sub(r"[^\w]+", " ", re.sub(r"[’']", "", text))
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if len(slug) > 50:
        slug = slug[:51].rsplit("-", 1)[0]
    return slug or "issue"


def free_issue_path(folder: Path, slug: str) -> Path:
    """``FOLDER/SLUG.md``, or SLUG-2.md, SLUG-3.md … when that one is taken."""
    path = folder / f"{slug}.md"
    n = 2
    while path.exists():
        path = folder / f"{slug}-{n}.md"
        n += 1
    return path


@dataclass
class ImportReport:
    path: Path
    article: Article
    fmt: str
    found: list[str] = field(default_factory=list)


def import_article(
    source: Path | str,
    *,
    out: Path | None = None,
    issues_dir: Path = Path("issues"),
    fmt: str | None = None,
    url: str = "",
    cta_url: str = "",
    list_name: str | None = None,
    force: bool = False,
    title: str = "",
    config: Config | None = None,
    start: str = "",
    end: str = "",
    again: bool = False,
    language: str = "",
) -> ImportReport:
    """Import SOURCE (a file or an http(s) address) into an issue file for the editor to
    review; never overwrites silently, never writes a file that ``split`` would refuse.
    ``start``/``end`` (a line number or a line's words) say where the article runs. What
    was kept and dropped is recorded beside the issue file (``SLUG.import.json``); with
    ``again`` (the editor's correction), an issue file unchanged since its import from the
    same source is replaced.

    The issue file says the article's language: the one the source declares, else
    ``language`` (``[series] language``), else the one its text is in."""
    from .importers.source import import_source  # (the extractor: loaded when importing)

    _check_options(url=url, cta_url=cta_url, title=title)
    fetching = (config or Config()).fetch
    article = import_source(
        source,
        fmt,
        url=url,
        title=title,
        start=start,
        end=end,
        allow_private=fetching.allow_private,
        timeout=fetching.timeout,
    )
    if not article.title:
        raise InputError(str(source), "no title found", hint="add a first line or an <h1>")
    text = "\n".join(b.text() for b in article.blocks[:200])
    article.language = i18n.choose(article.language, language, text=text, default="")
    # an embed's line ("Watch the video: URL") in the language chosen, [series] language too
    article.blocks = localise(article.blocks, article.language)
    cta = _issue_cta(article, source, cta_url)
    dest = out or issues_dir / f"{slugify(article.title)}.md"
    if dest.exists() and not force and not (again and _reimport(dest, source)):
        raise InputError(
            str(dest), "already exists", hint="pass -o NEW.md or --force to replace it"
        )
    text = dump_issue(article, cta=cta, list_name=list_name)
    check_issue_text(text, dest, source=str(source))
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(text, encoding="utf-8")
    options = {"format": fmt or "", "url": url, "title": title, "start": start, "end": end}
    outline.write_record(dest, text, _source_text(source), options, article.outline)  # type: ignore[arg-type]
    report = ImportReport(path=dest, article=article, fmt=fmt or "auto")
    report.found = _found(article, cta)
    return report


def _check_options(*, url: str, cta_url: str, title: str) -> None:
    """The import's options, checked before anything is read."""
    for name, value in (("--url", url), ("--cta-url", cta_url)):
        if value and not is_http_url(value):
            raise InputError(name, f"expected an absolute http(s) URL, got {value!r}")
    if title:
        headers.check(title.strip(), "--title")  # it becomes a subject line


def _issue_cta(article: Article, source: Path | str, cta_url: str) -> CTA | None:
    """The issue's call to action: a Markdown file in our issue format keeps its own cta
    (and series, parts and list), at ``cta_url`` when one is given; else the article's."""
    own = check_fields(article.issue_fields, str(source), article.issue_lines)
    if own["cta"] and cta_url:
        return CTA(label=own["cta"].label, url=cta_url)
    cta: CTA | None = own["cta"] or article_cta(article, cta_url)
    return cta


def _found(article: Article, cta: CTA | None) -> list[str]:
    """What the import found, told to the editor."""
    blocks = article.blocks
    sections = sum(1 for b in blocks if isinstance(b, Heading))
    lists = sum(1 for b in blocks if isinstance(b, ListBlock))
    ctas = sum(1 for b in blocks if isinstance(b, CallToAction))
    images = sum(1 for b in blocks if isinstance(b, Image))
    found = [
        f"title: {article.title}",
        f"{sections} sections, {lists} lists, {ctas} calls to action, {images} images",
        f"{article.word_count()} words in the body",
        f"language: {article.language or 'not told (set language: in the front matter)'}",
    ]
    if cta and not cta.url:
        found.append(
            "the call to action has no link (copied text keeps none): set cta.url in the "
            "front matter to make it a button"
        )
    if any(isinstance(b, Image) and not b.src for b in blocks):
        found.append(
            "photo descriptions are kept as images without a source; "
            "add each image's URL to show it"
        )
    return found


def _source_text(source: Path | str) -> str:
    src = str(source)
    return src if "://" in src else str(Path(src).resolve())


def _reimport(dest: Path, source: Path | str) -> bool:
    """Whether ``dest`` may be replaced without --force: it was imported from ``source``
    and nobody has changed it since."""
    try:
        record = outline.read_record(dest)
    except InputError:
        return False
    unchanged = record.issue_sha256 == outline.digest(dest.read_text(encoding="utf-8"))
    return unchanged and record.source == _source_text(source)


def review_import(issue: Path) -> outline.Record:
    """What the import of ``issue`` kept and dropped (its record), or an InputError."""
    if not issue.is_file():
        raise InputError(str(issue), "no such issue file")
    return outline.read_record(issue)


def article_cta(article: Article, cta_url: str = "") -> CTA | None:
    """The issue's call to action: the article's own (a line that asks the reader to act,
    first), else "Find out more" at ``cta_url``. "Read the whole article" is never the main
    one: every part links to the article quietly. A share link ("e-mail this",
    ``mailto:?subject=…``, a network's share address) is the page's, never the author's
    call to action, and the issue's link is always an http(s) address."""
    ctas = [b for b in article.blocks if isinstance(b, CallToAction) and not is_share_link(b.url)]
    # a line that links elsewhere than the web ("E-mail me", mailto:) stays in the text
    ctas = [c for c in ctas if not c.url or is_http_url(c.url)]
    # an arrow line of encouragement ("👉 You deserve support") is not a call to action
    asks = [c for c in ctas if asks_to_act(c.label)]
    target = cta_url or next((c.url for c in asks + ctas if c.url), "")
    if asks:
        return CTA(label=asks[0].button_label, url=target)
    if target:
        _ = i18n.translations(article.language).gettext
        return CTA(label=_("Find out more"), url=target)
    return None


def check_issue_text(text: str, dest: Path, *, source: str) -> Issue:
    """The issue ``text`` would be once written to ``dest``, or an InputError naming
    ``source`` and why ``split`` would refuse that file (nothing is written)."""
    size = len(text.encode("utf-8"))
    if size > MAX_TEXT_BYTES:
        raise InputError(
            source,
            f"the issue file would be {size / 1_048_576:.1f} MB and split reads at most "
            f"{MAX_TEXT_BYTES / 1_048_576:.0f} MB; nothing written",
            hint="import the article's own part of the page, or split it into several files",
        )
    try:
        issue = parse_issue(text, dest)
        build_series(issue)
    except NewsletterError as exc:
        raise InputError(
            source, f"the issue file it would write could not be split ({exc}); nothing written"
        ) from None
    return issue


def load_series(issue: Issue | Path | str, config: Config | None = None) -> Series:
    return build_series(
        issue if isinstance(issue, Issue) else load_issue(issue),
        config.series if config else None,
        fallback_language=config.brand.language if config else i18n.DEFAULT,
    )


def render_issue(issue_path: Path | str, config: Config) -> tuple[Series, list[RenderedPart]]:
    series = load_series(issue_path, config)
    return series, Renderer(config).render_series(series)


def render_to_dir(issue_path: Path | str, out_dir: Path, config: Config) -> Path:
    series, parts = render_issue(issue_path, config)
    return write_rendered(series, parts, out_dir, config)
