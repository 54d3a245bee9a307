"""``newsletter check``: what would hurt delivery or accessibility, before anything is sent.

Errors stop ``newsletter queue`` (unless --force); warnings are worth a look.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse

from .blocks import Block, CallToAction, Heading, Image, ListBlock, Paragraph
from .config import Config, ProviderName, Sender
from .errors import ConfigError, NewsletterError
from .fetch import is_http_url
from .render import GMAIL_CLIP_BYTES, PREFERENCES_URL, UNSUBSCRIBE_URL, RenderedPart, Renderer
from .series import PREHEADER_MAX, PREHEADER_MIN, SUBJECT_MAX, Part, Series

LONG_PARAGRAPH_WORDS = 150
_SPAMMY = re.compile(
    r"\b(free|act now|winner|cash|guarantee[d]?|urgent|100%|\$\$\$|"
    r"click here|buy now|limited time|risk[- ]free)\b",
    re.I,
)


class Level(StrEnum):
    """Errors stop ``queue``; warnings are worth a look."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    level: Level
    code: str
    message: str
    part: int | None = None


@dataclass
class CheckReport:
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level is Level.ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.level is Level.WARNING]

    def add(self, level: Level, code: str, message: str, part: int | None = None) -> None:
        self.findings.append(Finding(level, code, message, part))

    def as_json(self) -> dict[str, object]:
        return {
            "errors": [asdict(f) for f in self.errors],
            "warnings": [asdict(f) for f in self.warnings],
            "ok": not self.errors,
        }


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.images: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "a" and a.get("href") is not None:
            self.links.append(a["href"] or "")
        elif tag == "img":
            self.images.append(a)


def bad_link(url: str) -> str | None:
    """Why a link would not work for a subscriber, or None."""
    if url in (UNSUBSCRIBE_URL, PREFERENCES_URL) or url.startswith("mailto:"):
        return None
    if not is_http_url(url):
        return "is not an absolute http(s) link"
    parsed = urlparse(url)
    host = (parsed.hostname or "").lower()
    if (
        host in ("localhost", "localhost.localdomain")
        or host.endswith(".localhost")
        or host.endswith(".local")
    ):
        return "points at this computer (localhost)"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    if ip.is_loopback or ip.is_private or ip.is_unspecified or ip.is_link_local:
        return "points at a private address"
    return None


#: what ``newsletter init`` writes: a real provider refuses to send these
PLACEHOLDER_SENDER = Sender()
#: domains reserved for documentation (RFC 2606): never a real sender
_RESERVED_DOMAINS = ("example.com", "example.net", "example.org")


def public_url_problem(url: str) -> str | None:
    """Why ``[web] base_url`` cannot be the address readers click, or None."""
    if not url:
        return "is not set"
    parsed = urlparse(url)
    if parsed.scheme != "https" or not parsed.netloc:
        return "is not an https:// address"
    why = bad_link(url)
    if why:
        return why
    host = (parsed.hostname or "").lower()
    if "." not in host and ":" not in host:
        return "is not a public host name"
    if _reserved(host):
        return "is the example address, not yours"
    return None


def _reserved(domain: str) -> bool:
    return domain in _RESERVED_DOMAINS or domain.endswith(tuple("." + d for d in _RESERVED_DOMAINS))


def go_live_findings(config: Config) -> list[Finding]:
    """What stops mail going out through a real provider: the unsubscribe address readers
    cannot reach, and the sender fields ``newsletter init`` wrote. Errors for a real
    provider, warnings for the outbox (the demo runs on the defaults)."""
    level = Level.WARNING if config.sending.provider == ProviderName.OUTBOX else Level.ERROR
    found: list[Finding] = []
    why = public_url_problem(config.web.base_url)
    if why:
        found.append(
            Finding(
                level,
                "base-url",
                f"[web] base_url {config.web.base_url!r} {why}: readers could not reach "
                "the unsubscribe link; set it to the public https:// address of "
                "'newsletter serve' (or the WSGI app)",
            )
        )
    sender = config.sender
    email_domain = sender.email.rpartition("@")[2].lower()
    placeholders = [
        ("name", sender.name.strip() == PLACEHOLDER_SENDER.name),
        (
            "email",
            sender.email.strip() == PLACEHOLDER_SENDER.email or _reserved(email_domain),
        ),
        ("postal_address", sender.postal_address.strip() == PLACEHOLDER_SENDER.postal_address),
    ]
    for name, still in placeholders:
        if still:
            found.append(
                Finding(
                    level,
                    f"placeholder-{name}",
                    f"[sender] {name} is still the placeholder "
                    f"{getattr(sender, name)!r}: set your own in newsletter.toml",
                )
            )
    return found


def require_go_live(config: Config) -> list[Finding]:
    """Raise ConfigError when a real provider would send with an unreachable unsubscribe
    link or placeholder sender; return the warnings (outbox) otherwise."""
    found = go_live_findings(config)
    errors = [f for f in found if f.level is Level.ERROR]
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ConfigError(
            f"not ready to send through {config.sending.provider}: {errors[0].message}{more}",
            hint="'newsletter check ISSUE' lists every problem",
        )
    return found


def article_links(blocks: tuple[Block, ...]) -> list[str]:
    """Every link the article itself asks for (some may not survive rendering)."""
    return [link for b in blocks for link in b.links()]


#: what one check finds: (level, code, message), for one part
Found = tuple[Level, str, str]


@dataclass(frozen=True)
class _Part:
    """One rendered part as the checks see it."""

    rendered: RenderedPart
    #: the sender's postal address ("" when none is set)
    address: str
    #: the web app's own pages ("view in browser") start with this
    own: str
    links: list[str]
    images: list[dict[str, str | None]]

    @property
    def part(self) -> Part:
        return self.rendered.part


def _size(p: _Part) -> Iterator[Found]:
    size = p.rendered.size
    if size > GMAIL_CLIP_BYTES:
        yield (
            Level.ERROR,
            "too-large",
            f"HTML is {size / 1024:.0f} KB; Gmail clips messages over 102 KB",
        )


def _unsubscribe(p: _Part) -> Iterator[Found]:
    r = p.rendered
    if UNSUBSCRIBE_URL not in r.html or UNSUBSCRIBE_URL not in r.text:
        yield (
            Level.ERROR,
            "no-unsubscribe",
            "no unsubscribe link"
            + ("" if UNSUBSCRIBE_URL in r.html else " in the HTML")
            + ("" if UNSUBSCRIBE_URL in r.text else " in the text part"),
        )


def _address(p: _Part) -> Iterator[Found]:
    if p.address and p.address not in p.rendered.html:
        yield Level.ERROR, "no-postal-address", "the postal address is not in the email"


def _text_part(p: _Part) -> Iterator[Found]:
    if not p.rendered.text.strip():
        yield Level.ERROR, "no-text-part", "no plain-text version"


def _empty(p: _Part) -> Iterator[Found]:
    if p.part.words == 0:
        yield Level.ERROR, "empty-part", "the part has no article text"


def _images(p: _Part) -> Iterator[Found]:
    for img in p.images:
        if not (img.get("alt") or "").strip():
            yield Level.ERROR, "image-alt", f"image {img.get('src')!r} has no alt text"
        if not is_http_url(img.get("src") or ""):
            yield (
                Level.ERROR,
                "image-src",
                f"image {img.get('src')!r} has no absolute http(s) address: it would show "
                "as a broken image (import with --url, or write the full address)",
            )


def _links(p: _Part) -> Iterator[Found]:
    for url in dict.fromkeys(p.links + article_links(p.part.blocks)):
        why = None if url.startswith(p.own) else bad_link(url)
        if why:
            yield Level.ERROR, "bad-link", f"link {url!r} {why}"


def _subject_length(p: _Part) -> Iterator[Found]:
    subject = p.part.subject
    if len(subject) > SUBJECT_MAX:
        yield (
            Level.WARNING,
            "long-subject",
            f"subject is {len(subject)} characters; phones show about {SUBJECT_MAX}",
        )


def _preheader(p: _Part) -> Iterator[Found]:
    preheader = p.part.preheader
    if not preheader:
        yield Level.WARNING, "preheader", "no preheader"
    elif not PREHEADER_MIN <= len(preheader) <= PREHEADER_MAX:
        yield (
            Level.WARNING,
            "preheader",
            f"preheader is {len(preheader)} characters, "
            f"expected {PREHEADER_MIN} to {PREHEADER_MAX}",
        )


def _spammy_subject(p: _Part) -> Iterator[Found]:
    subject = p.part.subject
    letters = [c for c in subject if c.isalpha()]
    if (
        (len(letters) >= 8 and sum(c.isupper() for c in letters) / len(letters) > 0.7)
        or "!!" in subject
        or _SPAMMY.search(subject)
    ):
        yield (
            Level.WARNING,
            "spammy-subject",
            f"subject {subject!r} looks like spam to filters (capitals, '!!', or words like FREE)",
        )


def _paragraphs(b: Block) -> list[str]:
    """The texts of a block that read as paragraphs (a list's items each count as one)."""
    if isinstance(b, ListBlock):
        return [i.text() for i in b.items]
    return [b.text()] if isinstance(b, Paragraph) else []


def _reading(p: _Part) -> Iterator[Found]:
    """Headings that skip a level and paragraphs too long for a phone, in the text's order."""
    level = 1  # the series title is the h1 (in part 1); article headings start at h2
    for b in p.part.blocks:
        if isinstance(b, Heading):
            shown = max(b.level, 2)
            if shown > level + 1:
                yield (
                    Level.WARNING,
                    "heading-levels",
                    f"heading {b.text()!r} skips from h{level} to h{shown}",
                )
            level = shown
        for text in _paragraphs(b):
            n = len(text.split())
            if n > LONG_PARAGRAPH_WORDS:
                yield (
                    Level.WARNING,
                    "long-paragraph",
                    f'a paragraph of {n} words ("{text[:40]}…"); hard to read on a phone',
                )


def _unlinked_blocks(p: _Part) -> Iterator[Found]:
    for b in p.part.blocks:
        if isinstance(b, Image) and not b.src:
            yield (
                Level.WARNING,
                "image-no-source",
                f"image {b.alt[:50]!r}… has no source "
                "URL, so it is not shown; add its URL to the issue file",
            )
        elif isinstance(b, CallToAction) and not b.url:
            yield (
                Level.ERROR,
                "cta-line-no-link",
                f"the call to action {b.label[:60]!r} in the text has no link: set "
                "cta.url in the front matter (or import with --cta-url)",
            )


def _cta(p: _Part) -> Iterator[Found]:
    cta = p.part.cta
    if cta and not cta.url:
        yield (
            Level.WARNING,
            "cta-no-link",
            f"the call to action {cta.label!r} has no link: set cta.url to make it a button",
        )
    if not cta:
        yield Level.WARNING, "no-cta", "no call to action: set 'cta' in the front matter"


#: the checks of each rendered part, in the order their findings are listed
PART_CHECKS: tuple[Callable[[_Part], Iterator[Found]], ...] = (
    # errors
    _size,
    _unsubscribe,
    _address,
    _text_part,
    _empty,
    _images,
    _links,
    # warnings (and the error of a call to action in the text without a link)
    _subject_length,
    _preheader,
    _spammy_subject,
    _reading,
    _unlinked_blocks,
    _cta,
)


def check_rendered(series: Series, parts: list[RenderedPart], config: Config) -> CheckReport:
    report = CheckReport()
    address = config.sender.postal_address.strip()
    if not address:
        report.add(
            Level.ERROR,
            "no-postal-address",
            "no postal address: set [sender] "
            "postal_address in newsletter.toml (anti-spam law requires it)",
        )
    own = config.web.base_url.rstrip("/") + "/"  # "view in browser": the web app's page
    for r in parts:
        parser = _Links()
        parser.feed(r.html)
        part = _Part(r, address, own, parser.links, parser.images)
        for check in PART_CHECKS:
            for level, code, message in check(part):
                report.add(level, code, message, r.index)
    return report


def check_issue(
    issue_path: Path, config: Config, *, go_live: bool = False
) -> tuple[Series | None, CheckReport]:
    """The issue's findings; with ``go_live``, first those of the configuration
    (:func:`go_live_findings`)."""
    from .pipeline import load_series

    series = load_series(issue_path, config)
    try:
        parts = Renderer(config).render_series(series)
    except NewsletterError as exc:
        report = CheckReport()
        report.add(Level.ERROR, "template", str(exc))
    else:
        report = check_rendered(series, parts, config)
    if go_live:
        report.findings[:0] = go_live_findings(config)
    return series, report
