"""Issue files: ``issues/<slug>.md``, YAML front matter plus a Markdown body.

``load_issue`` validates the front matter (an error names the file, the line, the field
and what is expected, and suggests the right key for a misspelt one); ``dump_issue``
writes an imported article back as an issue file for the editor to review.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import headers, i18n
from .blocks import (
    Article,
    Block,
    button_label,
)
from .errors import InputError
from .fetch import is_http_url
from .importers import MAX_TEXT_BYTES, read_source
from .importers.frontmatter import ISSUE_FIELDS, date_text, read_front_matter
from .importers.markdown import parse_markdown

DEFAULT_MINUTES = 2.0
FIELDS = ISSUE_FIELDS
SERIES_FIELDS = ("parts", "minutes_per_part")
CTA_FIELDS = ("label", "url")
PART_FIELDS = ("subject", "preheader", "recap", "teaser", "cta")
#: text that reaches an email header (the title is part 1's subject unless overridden)
HEADER_FIELDS = ("title", "subject", "preheader")


@dataclass(frozen=True)
class CTA:
    label: str
    url: str

    @property
    def button_label(self) -> str:
        return button_label(self.label)


@dataclass(frozen=True)
class PartOverride:
    subject: str | None = None
    preheader: str | None = None
    recap: str | None = None
    teaser: str | None = None
    cta: CTA | None = None


@dataclass
class Issue:
    slug: str
    path: Path
    title: str
    blocks: list[Block]
    subtitle: str = ""
    author: str = ""
    url: str = ""
    date: str = ""
    cta: CTA | None = None
    parts: int | None = None  # None: automatic
    minutes_per_part: float = DEFAULT_MINUTES
    list_name: str | None = None
    tags: list[str] = field(default_factory=list)
    #: the ``language:`` field ("de"); "" = [series] language, else detected from the text
    language: str = ""
    overrides: dict[int, PartOverride] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def article(self) -> Article:
        return Article(
            title=self.title,
            blocks=self.blocks,
            subtitle=self.subtitle,
            author=self.author,
            url=self.url,
            date=self.date,
            tags=self.tags,
            language=self.language,
        )


class _Validator:
    def __init__(self, source: str, lines: dict[str, int]) -> None:
        self.source = source
        self.lines = lines

    def fail(self, path: str, message: str, hint: str | None = None) -> InputError:
        line = self.lines.get(path) or self.lines.get(path.split(".")[0])
        return InputError(self.source, message, line=line, field=path, hint=hint)

    def keys(self, data: dict[str, Any], allowed: tuple[str, ...], prefix: str = "") -> None:
        for key in data:
            if str(key) not in allowed:
                path = f"{prefix}{key}"
                close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
                if not prefix and str(key) in PART_FIELDS:
                    raise self.fail(
                        path, "is set per part", f"write it as 'parts: {{1: {{{key}: ...}}}}'"
                    )
                hint = (
                    f"did you mean '{prefix}{close[0]}'?"
                    if close
                    else ("expected one of: " + ", ".join(allowed))
                )
                raise self.fail(path, "unknown field", hint)

    def text(self, data: dict[str, Any], key: str, path: str, required: bool = False) -> str:
        value = data.get(key)
        if value is None or value == "":
            if required:
                raise self.fail(
                    path,
                    "is missing, expected text",
                    hint=f"add a line '{key}: ...' to the front matter",
                )
            return ""
        if isinstance(value, dict | list):
            raise self.fail(path, f"expected text, got a {type(value).__name__}")
        if key in HEADER_FIELDS:  # they become a subject line: one line, no control characters
            why = headers.problem(str(value).strip())
            if why:
                raise self.fail(path, why, hint="write it on one line")
        return str(value).strip()

    def url(self, data: dict[str, Any], key: str, path: str, required: bool = False) -> str:
        value = self.text(data, key, path, required)
        if value and not is_http_url(value):
            raise self.fail(path, f"expected an absolute http(s) URL, got {value!r}")
        return value

    def language(self, data: dict[str, Any], key: str) -> str:
        value = data.get(key)
        if value is None or value == "":
            return ""
        code = i18n.normalise(value)
        if code is None:
            raise self.fail(
                key,
                f"expected a language code like de, fr or pt-BR, got {value!r}",
                hint="or leave it out: the language is then detected from the text",
            )
        return code

    def cta(self, value: Any, path: str) -> CTA:
        if not isinstance(value, dict):
            raise self.fail(path, "expected a mapping with 'label' and 'url'")
        self.keys(value, CTA_FIELDS, path + ".")
        return CTA(
            label=self.text(value, "label", path + ".label", required=True),
            # Without a URL the call to action is a line of text, not a button.
            url=self.url(value, "url", path + ".url"),
        )


def parse_issue(text: str, path: Path) -> Issue:
    source = str(path)
    # soft hyphens and zero-width spaces: invisible in an editor, stray marks in a subject,
    # a preheader or the text part (the only place where article text comes in)
    text = i18n.strip_invisible(text)
    front = read_front_matter(text, source)
    if front.fmt != "yaml":
        raise InputError(
            source,
            "has no front matter",
            line=1,
            hint="start the file with '---', 'title: ...', '---'",
        )
    data, body_line = front.data, front.body_line
    v = _Validator(source, front.lines)
    v.keys(data, FIELDS)
    fields = _fields(data, v)
    body = "".join(text.splitlines(keepends=True)[body_line:])
    notes: list[str] = []
    blocks = parse_markdown(body, notes)
    if not blocks:
        raise InputError(source, "has no article text after the front matter", line=body_line + 1)
    return Issue(slug=path.stem, path=path, blocks=blocks, notes=notes, **fields)


def check_fields(data: dict[str, Any], source: str, lines: dict[str, int]) -> dict[str, Any]:
    """Validate the fields of our issue format found in another file's front matter (a
    Markdown post being imported): an InputError names ``source``, the line and the field."""
    return _fields({"title": "-", **data}, _Validator(source, lines))


def _fields(data: dict[str, Any], v: _Validator) -> dict[str, Any]:
    """The issue's front matter fields, validated, as ``Issue`` keyword arguments."""
    title = v.text(data, "title", "title", required=True)
    parts, minutes = _series(data, v)
    tags = _tags(data, v)
    overrides = _overrides(data, v)
    return dict(
        title=title,
        subtitle=v.text(data, "subtitle", "subtitle"),
        author=v.text(data, "author", "author"),
        url=v.url(data, "url", "url"),
        date=date_text(data.get("date"), v.source, v.lines.get("date")),
        cta=v.cta(data["cta"], "cta") if data.get("cta") else None,
        parts=parts,
        minutes_per_part=minutes,
        list_name=v.text(data, "list", "list") or None,
        tags=tags,
        overrides=overrides,
        language=v.language(data, "language"),
    )


def _series(data: dict[str, Any], v: _Validator) -> tuple[int | None, float]:
    """``series``: the number of parts (None: "auto") and the minutes of reading per part."""
    series = data.get("series") or {}
    if not isinstance(series, dict):
        raise v.fail("series", "expected a mapping with 'parts' and 'minutes_per_part'")
    v.keys(series, SERIES_FIELDS, "series.")
    parts_value = series.get("parts", "auto")
    parts: int | None
    if parts_value in ("auto", None):
        parts = None
    elif isinstance(parts_value, int) and not isinstance(parts_value, bool) and parts_value >= 1:
        parts = parts_value
    else:
        raise v.fail(
            "series.parts", f"expected 'auto' or a whole number from 1, got {parts_value!r}"
        )
    minutes = series.get("minutes_per_part", DEFAULT_MINUTES)
    if (
        isinstance(minutes, bool)
        or not isinstance(minutes, int | float)
        or not 0.5 <= minutes <= 60
    ):
        raise v.fail("series.minutes_per_part", f"expected minutes from 0.5 to 60, got {minutes!r}")
    return parts, float(minutes)


def _tags(data: dict[str, Any], v: _Validator) -> list[str]:
    """``tags``: a list, or words separated by commas."""
    tags = data.get("tags") or []
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.split(",") if t.strip()]
    if not isinstance(tags, list):
        raise v.fail("tags", "expected a list of words")
    return [str(t) for t in tags]


def _overrides(data: dict[str, Any], v: _Validator) -> dict[int, PartOverride]:
    """``parts``: what the editor set for a part, by part number."""
    raw_parts = data.get("parts") or {}
    if not isinstance(raw_parts, dict):
        raise v.fail(
            "parts", "expected a mapping from part number to overrides, e.g. '2: {subject: ...}'"
        )
    return {k: _override(k, value, v) for k, value in raw_parts.items()}


def _override(k: Any, value: Any, v: _Validator) -> PartOverride:
    if not isinstance(k, int) or k < 1:
        raise v.fail(f"parts.{k}", "expected a part number (1, 2, ...)")
    if not isinstance(value, dict):
        raise v.fail(
            f"parts.{k}", "expected a mapping with subject, preheader, recap, teaser or cta"
        )
    v.keys(value, PART_FIELDS, f"parts.{k}.")
    return PartOverride(
        subject=v.text(value, "subject", f"parts.{k}.subject") or None,
        preheader=v.text(value, "preheader", f"parts.{k}.preheader") or None,
        recap=v.text(value, "recap", f"parts.{k}.recap") or None,
        teaser=v.text(value, "teaser", f"parts.{k}.teaser") or None,
        cta=v.cta(value["cta"], f"parts.{k}.cta") if value.get("cta") else None,
    )


def load_issue(path: Path | str) -> Issue:
    path = Path(path)
    return parse_issue(read_source(path, limit=MAX_TEXT_BYTES), path)


# --- writing -------------------------------------------------------------------------


def blocks_to_markdown(blocks: list[Block]) -> str:
    return "\n\n".join(b.to_markdown() for b in blocks) + "\n"


def dump_issue(article: Article, *, cta: CTA | None = None, list_name: str | None = None) -> str:
    meta: dict[str, Any] = {"title": article.title}
    for key in ("subtitle", "author", "url", "date"):
        if getattr(article, key):
            meta[key] = getattr(article, key)
    own = article.issue_fields
    if cta:
        meta["cta"] = {"label": cta.label, **({"url": cta.url} if cta.url else {})}
    meta["series"] = own.get("series") or {"parts": "auto", "minutes_per_part": DEFAULT_MINUTES}
    if list_name or own.get("list"):
        meta["list"] = list_name or own["list"]
    if article.tags:
        meta["tags"] = article.tags
    if article.language:
        meta["language"] = article.language
    if own.get("parts"):
        meta["parts"] = own["parts"]
    kept = own.get("source")
    source: dict[str, object] = {**kept} if isinstance(kept, dict) else {}
    source.update(article.extra)
    if source:
        meta["source"] = {
            k: (v if isinstance(v, str | int | float | bool | list | dict) else str(v))
            for k, v in source.items()
        }
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=100)
    return i18n.strip_invisible(f"---\n{front}---\n\n{blocks_to_markdown(article.blocks)}")


__all__ = [
    "CTA",
    "Issue",
    "PartOverride",
    "check_fields",
    "dump_issue",
    "load_issue",
    "parse_issue",
]
