"""The reader-facing words of the frame (greeting, "Part k of n", recap and teaser labels,
sign-off, footer, the web pages and the confirmation email) in the article's language.

The words are gettext messages: English in the code and the templates, translated in
``newsletter/locale/<lang>/LC_MESSAGES/newsletter.po``. The catalogues are read at run
time with Babel (no build step) and cached. An article in a language without a catalogue
keeps its own ``lang`` (and ``dir``: right to left for Arabic, Hebrew...) and gets the
English frame, whose words say they are English (:func:`frame_attributes`); the import
says so to the editor (:func:`missing_catalogue`).

The article's language: what the source says (the page's ``lang``, the front matter's
``language:``), else :func:`detect` on its text (py3langid, offline).
"""

from __future__ import annotations

import gettext
import re
from functools import cache, lru_cache
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2

DOMAIN = "newsletter"
#: the languages with a catalogue (English: the messages themselves)
LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "pt")
DEFAULT = "en"
LOCALE_DIR = Path(__file__).parent / "locale"

_CODE = re.compile(r"([a-zA-Z]{2,3})(?:[-_]([a-zA-Z]{4}))?(?:[-_]([a-zA-Z]{2}|\d{3}))?")

#: soft hyphen, zero-width space and non-joiner, word joiner, byte-order mark; a
#: zero-width joiner except inside an emoji sequence (a family, a profession)
_EMOJI = "\U0001f000-\U0001faff\u2600-\u27bf\ufe0f"
INVISIBLE = re.compile(
    f"[\u00ad\u200b\u200c\u2060\ufeff]|(?<![{_EMOJI}])\u200d|\u200d(?![{_EMOJI}])"
)


def strip_invisible(text: str) -> str:
    """``text`` without the invisible characters that show in a subject, a preheader or a
    plain-text part as stray hyphens and gaps (soft hyphens, zero-width spaces)."""
    return INVISIBLE.sub("", text) if text else text


def normalise(code: object) -> str | None:
    """A language code as written in ``lang`` attributes ("de", "pt-BR"), or None when
    ``code`` is not one (an unknown language, a name like "German")."""
    if not isinstance(code, str):
        return None
    found = _CODE.fullmatch(code.strip())
    if not found:
        return None
    language, script, region = found.groups()
    from babel import Locale, UnknownLocaleError

    try:
        Locale.parse(language.lower())
    except (UnknownLocaleError, ValueError):
        return None
    parts = [language.lower()]
    if script:
        parts.append(script.title())
    if region:
        parts.append(region.upper())
    return "-".join(parts)


def catalogue_language(language: str) -> str:
    """The catalogue for ``language`` ("de-AT" -> "de"; one we have none for -> "en": the
    frame's words in English, the part's ``lang`` still the article's, see
    :func:`missing_catalogue`)."""
    primary = _primary(language)
    return primary if primary in LANGUAGES else DEFAULT


def _primary(language: str) -> str:
    return (language or DEFAULT).replace("_", "-").split("-")[0].lower()


def has_catalogue(language: str) -> bool:
    """Whether the frame speaks ``language`` (English, or a catalogue in locale/)."""
    return _primary(language) in LANGUAGES


def missing_catalogue(language: str) -> str:
    """The one line that tells the editor an article's frame will be in English (its
    language has no catalogue), or "" when it has one."""
    if not language or has_catalogue(language):
        return ""
    code = _primary(language)
    return (
        f"no catalogue for {language!r}: the frame's fixed words are in English; set "
        f"[series] language or add newsletter/locale/{code}"
    )


@cache
def direction(language: str) -> str:
    """ "rtl" for a language written right to left (Arabic, Hebrew, Persian, Urdu...),
    else "ltr"."""
    from babel import Locale, UnknownLocaleError

    try:
        return Locale.parse(_primary(language)).text_direction
    except (UnknownLocaleError, ValueError):
        return "ltr"


def frame_attributes(language: str) -> str:
    """What an element holding the frame's words says of them in a part in ``language``:
    nothing when the frame speaks it, else that they are English (and, in a part written
    right to left, read left to right)."""
    if has_catalogue(language):
        return ""
    rtl = direction(language) == "rtl"
    return f' lang="{DEFAULT}"' + (' dir="ltr"' if rtl else "")


@cache
def _catalogue(code: str) -> gettext.NullTranslations:
    if code == DEFAULT:
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    from babel.support import Translations

    with po_path(code).open("rb") as f:
        catalog = read_po(f, locale=code, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def N_(message: str) -> str:  # noqa: N802 - gettext's name for a message marked only
    """``message``, marked for the catalogue; translated where it is shown."""
    return message


def po_path(code: str) -> Path:
    return LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"


def translations(language: str) -> gettext.NullTranslations:
    """The frame's words in ``language`` (``.gettext``, ``.ngettext``, ``.pgettext``)."""
    return _catalogue(catalogue_language(language))


def install(env: jinja2.Environment, language: str) -> jinja2.Environment:
    """``env`` with ``{% trans %}`` and ``_()`` in ``language`` (jinja2.ext.i18n)."""
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    return env


# --- which language an article is in -----------------------------------------------

#: below this many letters a guess is too unsure to frame an article with
DETECT_MIN_CHARS = 200
DETECT_MIN_CONFIDENCE = 0.9


@lru_cache(maxsize=1)
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect(text: str) -> str:
    """The language ``text`` is written in ("de"), or "" when it is too short to tell or
    the detector is unsure."""
    text = " ".join(text.split())[:20_000]
    if sum(c.isalpha() for c in text) < DETECT_MIN_CHARS:
        return ""
    language, confidence = _identifier().classify(text)
    if confidence < DETECT_MIN_CONFIDENCE:
        return ""
    return normalise(language) or ""


def choose(*candidates: str, text: str = "", default: str = DEFAULT) -> str:
    """The first language code set among ``candidates``, else the one ``text`` is in,
    else ``default``."""
    for c in candidates:
        if c:
            return c
    return (detect(text) if text else "") or default


def html_language(html: str, default: str = DEFAULT) -> str:
    """The ``lang`` of a rendered email's ``<html>`` (a queued part's snapshot)."""
    found = re.search(r"<html\b[^>]*?\blang=[\"']?([A-Za-z0-9-]{2,20})", html[:4000], re.I)
    return (normalise(found.group(1)) if found else None) or default
