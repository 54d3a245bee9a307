"""What a page says about its article: title, author, date, address, description, language,
image and tags, from its meta tags, its JSON-LD (WordPress, Squarespace, Ghost and most blog
platforms describe the post there), its byline, and the extractor's own metadata."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from lxml import html as lxml_html

from ..i18n import normalise

_WS = re.compile(r"\s+")
_ANCHOR_MARKS = {"¶", "#", "🔗", "§", "\uf0c1"}
_ARTICLE_TYPES = {"Article", "BlogPosting", "NewsArticle", "Report", "TechArticle"}
_BY = re.compile(r"^\s*(?:written\s+|posted\s+|published\s+)?by\s+", re.I)
#: "Posted on March 3, 2025 by Sarah Duran": the name after "by"
_BY_NAME = re.compile(
    r"\bby\s+([A-Z][\w.'’-]*(?:\s+(?:[A-Z][\w.'’-]*|de|van|von|la|da|di|del|der)){0,4})"
)
_BYLINE_CLASSES = (
    "byline",
    "author-name",
    "entry-author",
    "post-author",
    "author",
    "post-meta",
    "entry-meta",
    "article-meta",
    "meta",
    "posted-on",
)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ][\d:.+Z-]*)?$")


@dataclass
class PageMeta:
    title: str = ""
    author: str = ""
    date: str = ""
    url: str = ""
    description: str = ""
    language: str = ""
    image: str = ""
    site: str = ""
    tags: list[str] = field(default_factory=list)


def metas(tree: lxml_html.HtmlElement) -> dict[str, str]:
    """The page's ``<meta property|name|itemprop=KEY content>``, the first of each key
    (lowercase)."""
    found: dict[str, str] = {}
    for el in tree.iterfind(".//meta"):
        value = (el.get("content") or "").strip()
        for key in (el.get("property"), el.get("name"), el.get("itemprop")):
            if key and value:
                found.setdefault(key.lower(), value)
    return found


def meta(found: dict[str, str], *names: str) -> str:
    """The first of ``names`` the page's meta tags give."""
    return next((found[n] for n in names if found.get(n)), "")


def structured(tree: lxml_html.HtmlElement) -> list[dict[str, Any]]:
    """The page's JSON-LD objects, flattened out of ``@graph`` lists; broken ones skipped."""
    found: list[dict[str, Any]] = []
    for script in tree.iterfind(".//script"):
        if (script.get("type") or "").lower() != "application/ld+json":
            continue
        try:
            data = json.loads(script.text or "null")
        except ValueError:
            continue
        stack = data if isinstance(data, list) else [data]
        while stack:
            item = stack.pop(0)
            if isinstance(item, dict):
                found.append(item)
                graph = item.get("@graph")
                stack.extend(graph if isinstance(graph, list) else [])
    return found


def _is_article(item: dict[str, Any]) -> bool:
    kind = item.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return any(k in _ARTICLE_TYPES for k in kinds)


def _person_name(value: object, by_id: dict[str, dict[str, Any]]) -> str:
    if isinstance(value, list):
        return _person_name(value[0], by_id) if value else ""
    if isinstance(value, dict):
        if not value.get("name") and isinstance(value.get("@id"), str):
            value = by_id.get(str(value["@id"]), value)
        return str(value.get("name") or "")
    return value if isinstance(value, str) else ""


def a_name(text: str) -> str:
    """``text`` as a person's or a practice's name ("By Dana", "Posted on March 3, 2025 by
    Sarah Duran" -> "Sarah Duran"), or "" when it is not one (a URL, a date, a sentence)."""
    text = _WS.sub(" ", text).strip()
    after_by = _BY_NAME.search(text)
    if after_by and not _BY.match(text):
        text = after_by.group(1)
    text = _WS.sub(" ", _BY.sub("", text)).strip(" ,|·•")
    text = re.split(r"\s+[|·•—–]\s+|\s+on\s+(?=\w+\s+\d)", text)[0].strip()
    if not text or len(text) > 60 or len(text.split()) > 6:
        return ""
    if re.search(r"\d|://|@|^www\.", text) or re.match(r"(?i)posted|published|updated", text):
        return ""
    return text


_BYLINE_XPATH = etree.XPath(
    ".//*[contains(@rel, 'author') or @itemprop='author' or "
    + " or ".join(
        f"contains(concat(' ', normalize-space(@class), ' '), ' {c} ')" for c in _BYLINE_CLASSES
    )
    + "]"
)


def _author(
    tree: lxml_html.HtmlElement,
    found: dict[str, str],
    items: list[dict[str, Any]],
    extracted: Callable[[], str],
) -> str:
    """The meta author, the JSON-LD article's author, a byline, the extractor's guess, or
    article:author (often a profile's URL: then not used), the first that is a name."""
    by_id = {str(i["@id"]): i for i in items if isinstance(i.get("@id"), str)}

    def candidates() -> Iterator[str]:
        yield meta(found, "author")
        yield from (_person_name(i.get("author"), by_id) for i in items if _is_article(i))
        yield from (el.text_content() for el in _BYLINE_XPATH(tree))
        yield extracted()
        yield meta(found, "article:author")

    return next((name for c in candidates() if c and (name := a_name(c))), "")


def _published(
    tree: lxml_html.HtmlElement, found: dict[str, str], items: list[dict[str, Any]]
) -> str:
    """When the post was published (ISO 8601): the meta tag, the structured data, or the
    ``<time datetime>`` of its byline; never a date of change."""
    candidates = [meta(found, "article:published_time")]
    candidates += [str(i.get("datePublished") or "") for i in items if _is_article(i)]
    for el in tree.iterfind(".//*[@itemprop='datePublished']"):
        candidates.append(el.get("datetime") or el.get("content") or "")
    for el in tree.iter("time"):
        classes = set((el.get("class") or "").split())
        ancestors = " ".join(a.get("class", "") for a in el.iterancestors())
        if classes & {"published", "entry-date"} or re.search(
            r"posted-on|entry-meta|post-meta|byline", ancestors
        ):
            candidates.append(el.get("datetime") or "")
    return next((c.strip() for c in candidates if _ISO_DATE.match(c.strip())), "")


def language(tree: lxml_html.HtmlElement, found: dict[str, str]) -> str:
    """The page's declared language ("de-DE" for ``lang="de-DE"``, og:locale ``de_DE``, a
    ``language`` meta tag), or "" when it declares none."""
    for value in (
        tree.get("lang"),
        tree.get("xml:lang"),
        meta(found, "og:locale", "language", "content-language", "dc.language"),
    ):
        code = normalise((value or "").replace("_", "-"))
        if code:
            return code
    return ""


def title_text(text: str) -> str:
    text = _WS.sub(" ", text).strip()
    while text and text[-1] in _ANCHOR_MARKS:
        text = text[:-1].rstrip()
    return text


def without_site_name(title: str, site: str) -> str:
    """ "Post — Site" without " — Site" (og:title often carries the site's name)."""
    if site:
        m = re.match(rf"^(.*\S)\s+[|–—:-]\s+{re.escape(site)}$", title)
        if m:
            return m.group(1)
    return title


def http(url: str) -> str:
    return url if re.match(r"^https?://", url, re.I) else ""


def page_meta(tree: lxml_html.HtmlElement, extractor: Callable[[], Any]) -> PageMeta:
    """The page's metadata; ``extractor()`` gives trafilatura's reading, asked only for
    what the page does not say itself. Read before the page's furniture (bylines
    included) is dropped."""
    items = structured(tree)
    found = metas(tree)
    site = meta(found, "og:site_name")
    canonical = next(
        (
            el.get("href", "")
            for el in tree.iterfind(".//link[@rel]")
            if el.get("rel") == "canonical"
        ),
        "",
    )
    asked: list[Any] = []

    def got(name: str) -> str:
        if not asked:
            asked.append(extractor())
        value = getattr(asked[0], name, None) if asked[0] is not None else None
        return str(value).strip() if value else ""

    tags = [
        str(el.get("content")).strip()
        for el in tree.iterfind(".//meta[@property='article:tag']")
        if (el.get("content") or "").strip()
    ]
    return PageMeta(
        title=without_site_name(title_text(meta(found, "og:title")), site),
        author=_author(tree, found, items, lambda: got("author")),
        date=_published(tree, found, items),
        url=http(canonical.strip()) or http(meta(found, "og:url")),
        description=meta(found, "description", "og:description") or got("description"),
        language=language(tree, found),
        image=meta(found, "og:image"),
        site=site,
        tags=tags,
    )


__all__ = ["PageMeta", "a_name", "language", "meta", "page_meta", "structured", "title_text"]
