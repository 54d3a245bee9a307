"""Relative links and image sources made absolute against the article's URL.

A page's ``[contact us.](/contact)`` or ``/assets/IMG_2534.jpeg`` means nothing in an
email: :func:`resolve_links` joins every relative link, button and image source to the
article's URL, and says which ones it could not resolve when there is none.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from urllib.parse import urljoin, urlparse

from ..blocks import (
    Article,
    Block,
    CallToAction,
    Heading,
    Image,
    Inline,
    ListBlock,
    ListItem,
    Paragraph,
    Quote,
)

_ABSOLUTE = ("http", "https", "mailto", "tel")


_SHARE = re.compile(
    r"""^(?:
    mailto:\?|mailto:[^@]*\?(?:.*&)?(?:subject|body)=|            # "e-mail this" to no one
    (?:https?:)?//(?:[\w-]+\.)*(?:
        facebook\.com/(?:sharer|share\.php|dialog/(?:share|feed|send))|
        (?:twitter|x)\.com/(?:intent/(?:tweet|post|retweet|like|follow)|share)|
        linkedin\.com/(?:shareArticle|sharing|cws/share)|
        pinterest\.[a-z.]+/pin/create|reddit\.com/submit|tumblr\.com/(?:share|widgets/share)|
        (?:api\.)?whatsapp\.com/send|wa\.me/\?|t\.me/share|telegram\.me/share|
        news\.ycombinator\.com/submitlink|getpocket\.com/(?:save|edit)|
        flipboard\.com/bookmarklet|buffer\.com/add|bsky\.app/intent|
        mastodonshare|toot\.kytta|vk\.com/share|xing\.com/(?:spi/)?share|
        (?:www\.)?addtoany\.com/(?:share|add_to)|sharethis\.com|
        wordpress\.com/(?:press-this|wp-admin/press-this)
    )|
    whatsapp://send|fb-messenger://share|sms:\?
    )""",
    re.I | re.X,
)


def is_share_link(link: str) -> bool:
    """A link that shares the page (``mailto:?subject=…``, a social network's share or
    tweet-this address): page furniture, never the article's link or its call to action."""
    return bool(_SHARE.match(link.strip()))


def is_absolute(link: str) -> bool:
    return urlparse(link).scheme.lower() in _ABSOLUTE


def _map_spans(spans: Inline, fix: Callable[[str], str]) -> Inline:
    return tuple(replace(s, href=fix(s.href)) if s.href else s for s in spans)


def map_links(block: Block, fix: Callable[[str], str]) -> Block:
    """``block`` with every link and image source passed through ``fix``."""
    if isinstance(block, Heading | Paragraph):
        return replace(block, spans=_map_spans(block.spans, fix))
    if isinstance(block, ListBlock):
        items = tuple(
            ListItem(_map_spans(i.spans, fix), _map_spans(i.detail, fix)) for i in block.items
        )
        return replace(block, items=items)
    if isinstance(block, Quote):
        return replace(block, paragraphs=tuple(_map_spans(p, fix) for p in block.paragraphs))
    if isinstance(block, Image) and block.src:
        return replace(block, src=fix(block.src))
    if isinstance(block, CallToAction) and block.url:
        return replace(block, url=fix(block.url))
    return block


def resolve_links(article: Article, base: str) -> None:
    """Make the article's relative links absolute against ``base`` (in place); without a
    base, add one note listing those that stay relative."""
    unresolved: list[str] = []

    def fix(link: str) -> str:
        link = link.strip()
        if is_absolute(link):
            return link
        if link.startswith("//"):
            return "https:" + link
        if ":" in link.split("/")[0]:
            return link  # another scheme (javascript:, data:): never rendered as a link
        if base:
            return urljoin(base, link)
        if link not in unresolved:
            unresolved.append(link)
        return link

    article.blocks = [map_links(b, fix) for b in article.blocks]
    if unresolved:
        shown = ", ".join(unresolved[:8]) + (", ..." if len(unresolved) > 8 else "")
        article.notes.append(
            f"could not resolve {len(unresolved)} relative links or images (the article has "
            f"no URL; pass --url): {shown}"
        )


__all__ = ["is_absolute", "is_share_link", "map_links", "resolve_links"]
