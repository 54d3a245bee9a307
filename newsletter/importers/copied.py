"""Which lines of a copied web page are the article: a language-aware classifier.

A page copied from a browser (select all, copy) is its ``innerText``: the site's
navigation (often twice: the menu, then the mobile menu or the breadcrumb), the title,
a byline, the article, then share and like buttons, an author box, related posts, the
footer and the cookie banner. Each line is classified the way jusText classifies a
page's paragraphs: by its length and its density of stop words (jusText's stop lists,
in the page's language, found by which list covers the text best), then by its
neighbours (a short line between two good ones is good: a heading, a short paragraph).
What copied pages add is recognised on top: lines the page repeats from its top
(navigation copied twice), runs of short capitalised menu words, cookie and consent
banners, author boxes, "Back to top", share, like and related-post blocks.

The article is the stretch of the page that holds its good lines: it starts at the
first good line near the densest run of them and ends before the page's closing
chrome (a related-posts heading, comments, the footer).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from .clutter import READING_TIME

# jusText's defaults (Pomikálek 2011)
LENGTH_LOW = 70
LENGTH_HIGH = 200
STOPWORDS_LOW = 0.30
STOPWORDS_HIGH = 0.32

_WORD = re.compile(r"\w+", re.UNICODE)

#: the languages tried for a page's stop words (jusText has lists for about 100); the
#: ones most blogs are written in, so that finding the language stays fast
LANGUAGES = (
    "English",
    "German",
    "French",
    "Spanish",
    "Italian",
    "Portuguese",
    "Dutch",
    "Swedish",
    "Danish",
    "Norwegian_Bokmal",
    "Finnish",
    "Polish",
    "Czech",
    "Russian",
    "Ukrainian",
    "Turkish",
    "Romanian",
    "Hungarian",
    "Greek",
    "Indonesian",
    "Catalan",
    "Croatian",
    "Slovak",
)

#: the heading of a block of links to other posts ("Related articles", "Leia também",
#: "À lire aussi", "Das könnte Sie auch interessieren"), in the languages above
RELATED = (
    r"(?:related|more|recommended|popular|similar)\ "
    r"(?:posts?|articles?|stories|reading|reads)\b.{0,30}|"
    r"(?:you\ (?:may|might|will)\ also\ (?:like|enjoy)|read\ (?:also|next)|see\ also)\b.{0,40}|"
    r"(?:das\ könnte\ (?:dich|sie)\ auch\ interessieren|auch\ interessant|mehr\ zum\ thema|"
    r"weitere\ (?:beiträge|artikel|themen)|lesen\ sie\ auch|lies\ auch)\b.{0,40}|"
    r"(?:(?:à\ )?lire\ aussi|vous\ (?:aimerez|aimeriez)\ aussi|sur\ le\ même\ sujet|"
    r"dans\ la\ même\ rubrique)\b.{0,40}|"
    r"(?:lee\ también|te\ puede\ interesar|artículos\ relacionados|también\ te\ puede)\b.{0,40}|"
    r"(?:leggi\ anche|potrebbe\ interessarti|articoli\ correlati)\b.{0,40}|"
    r"(?:lees\ ook|gerelateerde\ artikelen|misschien\ ook\ interessant)\b.{0,40}|"
    r"(?:leia\ também|veja\ também|você\ também\ pode\ gostar|posts?\ relacionados|"
    r"artigos\ relacionados|mais\ lidas)\b.{0,40}"
)
_RELATED = re.compile(f"^(?:{RELATED})$", re.I | re.X)
#: lines only a page's frame shows, in the languages above (matched on the whole line)
_BOILER = re.compile(
    r"""^(?:
    back\ to\ top|nach\ oben|zurück\ nach\ oben|haut\ de\ page|retour\ en\ haut|
    (?:jump|skip|go)\ to:?|in\ this\ (?:article|post|guide):?|(?:table\ of\ )?contents:?|
    inhalt:?|inhaltsverzeichnis:?|sommaire:?|índice:?|indice:?|inhoud(?:sopgave)?:?|
    dans\ cet\ article:?|in\ diesem\ (?:artikel|beitrag):?|neste\ (?:artigo|post):?|
    en\ este\ artículo:?|in\ questo\ articolo:?|in\ dit\ artikel:?|
    volver\ arriba|torna\ su|naar\ boven|voltar\ ao\ topo|
    skip\ to\ (?:main\ )?content|zum\ inhalt\ springen|aller\ au\ contenu|
    (?:share|teilen|partager|compartir|condividi|delen|compartilhar)
      (?:\ (?:this|on|via|auf)\b.*)?:?|
    (?:like|gefällt\ mir|j'aime)\ ?(?:this|loading\.*)?:?|
    (?:related|similar|more|recommended|popular|recent|latest|trending)
      \ (?:posts?|articles?|stories|reading|news|from\ .{1,30})\b.*|
    (?:ähnliche|verwandte|weitere)\ (?:beiträge|artikel)|articles?\ (?:similaires|liés)|
    {RELATED}|
    you\ (?:may|might)\ also\ (?:like|enjoy)\b.*|read\ (?:more|next|also)\b.{0,60}|
    (?:advertisement|advertising|anzeige|werbung|publicité|sponsored(?:\ content)?|ad)|
    (?:all\ rights\ reserved|alle\ rechte\ vorbehalten|tous\ droits\ réservés)\b.*|
    (?:©|\(c\)|copyright\b).*|
    (?:privacy\ policy|terms\ of\ (?:use|service)|cookie\ (?:policy|settings)|imprint|impressum|
      datenschutz(?:erklärung)?|mentions\ légales|contact|kontakt|about\ us|über\ uns)|
    (?:about\ the\ author|über\ den\ autor|über\ die\ autorin|à\ propos\ de\ l'auteur|
      written\ by|geschrieben\ von|posted\ by|veröffentlicht\ von|par)\b.{0,60}|
    (?:by|von|par|por|di|door)\ [^|·•]{2,40}\s[|·•—–]\s.{0,80}|
    .{0,30}\d{4}\s+(?:by|von|par|por|di|door)\s+.{2,40}|
    (?:sign\ up|subscribe|newsletter|abonnieren|s'abonner|inscrivez-vous)\b.{0,80}|
    (?:leave\ a\ (?:comment|reply)|\d+\ (?:comments?|kommentare?|commentaires?)|comments?|
      kommentare?|commentaires?|post\ a\ comment|add\ a\ comment|show\ comments)\b.{0,40}|
    (?:follow\ us|folge\ uns|suivez-nous)\b.*|
    (?:previous|next|older|newer|vorheriger|nächster|précédent|suivant)(?:\ (?:post|article|
      story|entry|beitrag|artikel))?(?::.{0,80})?|
    (?:tags?|schlagwörter|stichwörter|étiquettes|categories|kategorien|catégories|filed\ under)
      :?\s.{0,120}|
    (?:\d+\s*)?(?:min(?:ute)?s?\.?\ read|minuten?\ lesezeit|min\ de\ lecture)|{READING_TIME}|
    (?:photo|foto|image|bild|credit|getty\ images|shutterstock|source|quelle)s?:?\ .{0,60}
    )$""".replace("{READING_TIME}", READING_TIME).replace("{RELATED}", RELATED),
    re.I | re.X,
)
#: a cookie or consent banner's sentence, in the languages above
_CONSENT = re.compile(
    r"\b(?:cookies?|consent|einwilligung|zustimmen|akzeptieren|accept(?:er)?|"
    r"datenschutzerklärung|privacy\ policy|politique\ de\ confidentialité|gdpr|dsgvo)\b",
    re.I | re.X,
)
#: a button's label in a promotion box ("Download now", "Jetzt anmelden")
_BUTTON = re.compile(
    r"^(?:download|get|grab|claim|sign\ up|subscribe|join|register|buy|shop|order|try|start|"
    r"learn\ more|book|jetzt|herunterladen|anmelden|abonnieren|kaufen|télécharger|"
    r"s'inscrire|acheter|descargar|suscribirse|comprar)\b.{0,24}$",
    re.I | re.X,
)
_SENTENCE_END = re.compile(r"[.!?…:;\"”»)。！？」』]$")
_WIDE = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\u3040-\u30ff]")


@dataclass(frozen=True)
class Line:
    number: int  # in the file, from 1
    text: str


@dataclass
class Verdict:
    """Whether each line is the article's, and why a dropped one was dropped."""

    keep: list[bool]
    reason: list[str]
    start: int  # index of the article's first line
    end: int  # index after its last line
    language: str


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


@lru_cache(maxsize=64)
def stoplist(language: str) -> frozenset[str]:
    try:
        import justext
    except ImportError:  # pragma: no cover - a dependency
        return frozenset()
    try:
        return frozenset(justext.get_stoplist(language))
    except ValueError:
        return frozenset()


@lru_cache(maxsize=64)
def _own_words(language: str) -> frozenset[str]:
    """A language's stop words that are not English ones, nor English words that
    several of jusText's lists picked up ("american", "game", "city")."""
    return stoplist(language) - stoplist("English") - _borrowed()


@lru_cache(maxsize=1)
def _borrowed() -> frozenset[str]:
    counts = Counter(w for language in LANGUAGES[1:] for w in stoplist(language))
    return frozenset(w for w, n in counts.items() if n >= 5 and w.isascii())


def page_language(lines: list[Line]) -> str:
    """The jusText stop list that covers the most words of the page's longer lines, or
    "" when none covers a tenth of them (Chinese, Japanese, Korean, Thai…: then lines are
    judged by their length alone, as jusText does without a stop list)."""
    longer = [ln.text for ln in lines if len(ln.text) >= 40]
    letters = sum(len(re.findall(r"[^\W\d_]", t)) for t in longer)
    if not letters or sum(len(_WIDE.findall(t)) for t in longer) > letters / 3:
        return ""
    counts = Counter(w for t in longer for w in _words(t))
    total = sum(counts.values())
    english = stoplist("English")

    def share(words: frozenset[str]) -> float:
        return sum(n for w, n in counts.items() if w in words) / total

    # jusText's lists for other languages are long and hold English words ("the", "and",
    # "game"): another language is chosen on its own stop words, those English lacks
    best, best_share = "English", share(english)
    other, other_share = "", 0.0
    for language in LANGUAGES[1:]:
        own = share(_own_words(language))
        if own > other_share:
            other, other_share = language, own
    if other and other_share > best_share:
        best, best_share = other, share(stoplist(other))
    return best if best_share >= 0.1 else ""


def _initial(text: str, stops: frozenset[str]) -> str:
    """jusText's context-free class: 'good', 'neargood', 'short' or 'bad'."""
    if _BOILER.match(text) or _consent(text):
        return "bad"
    ws = _words(text)
    length = _length(text)
    # no stop list: by length alone
    density = sum(1 for w in ws if w in stops) / max(1, len(ws)) if stops else 1.0
    if text.count("\t") >= 2 and length < LENGTH_HIGH:
        return "neargood"  # a table's row (cells copied with tabs between): as its neighbours
    if length < LENGTH_LOW:
        return "short"
    if density >= STOPWORDS_HIGH:
        return "good" if length > LENGTH_HIGH else "neargood"
    if density >= STOPWORDS_LOW:
        return "neargood"
    return "bad"


def _length(text: str) -> int:
    """A line's length in characters, a wide (Chinese, Japanese, Korean) one counting
    three: as much is said in a third of the characters."""
    return len(text) + 2 * len(_WIDE.findall(text))


def _consent(text: str) -> bool:
    return (
        bool(_CONSENT.search(text))
        and len(text) < 600
        and ("cookie" in text.lower() or "consent" in text.lower() or "einwillig" in text.lower())
    )


def _neighbour(classes: list[str], i: int, step: int, ignore_neargood: bool) -> str:
    skip = ("short", "neargood") if ignore_neargood else ("short",)
    j = i + step
    while 0 <= j < len(classes):
        if classes[j] not in skip:
            return classes[j]
        j += step
    return "bad"


def _context(classes: list[str]) -> list[str]:
    """jusText's context-sensitive pass: short and near-good lines take their
    neighbours' class."""
    out = list(classes)
    for i, c in enumerate(classes):
        if c != "short":
            continue
        prev = _neighbour(classes, i, -1, True)
        nxt = _neighbour(classes, i, 1, True)
        if prev == nxt:
            out[i] = prev
        elif "bad" in (prev, nxt):
            near = (
                _neighbour(classes, i, -1, False) == "neargood"
                if prev == "bad"
                else _neighbour(classes, i, 1, False) == "neargood"
            )
            out[i] = "good" if near else "bad"
        else:
            out[i] = "good"
    final = list(out)
    for i, c in enumerate(out):
        if c != "neargood":
            continue
        prev = _neighbour(out, i, -1, True)
        nxt = _neighbour(out, i, 1, True)
        final[i] = "bad" if prev == nxt == "bad" else "good"
    return final


def _key(text: str) -> str:
    return " ".join(_words(text))


def _menu_runs(lines: list[Line]) -> set[int]:
    """Indexes of lines in runs of three or more menu words: short capitalised lines
    without end punctuation, one after another."""
    out: set[int] = set()
    run: list[int] = []

    def close() -> None:
        if len(run) >= 3:
            out.update(run)
        run.clear()

    for i, ln in enumerate(lines):
        ws = ln.text.split()
        if 1 <= len(ws) <= 4 and ln.text[:1].isupper() and not _SENTENCE_END.search(ln.text):
            run.append(i)
        else:
            close()
    close()
    return out


def _promo_boxes(lines: list[Line]) -> list[list[int]]:
    """Lines copied from a box with a button ("FREE DOWNLOAD: …", one short sentence,
    "Download now"): two to five short lines together, the last a button's label."""
    groups: list[list[int]] = []
    for i, ln in enumerate(lines):
        if groups and lines[groups[-1][-1]].number == ln.number - 1:
            groups[-1].append(i)
        else:
            groups.append([i])
    return [
        g
        for g in groups
        if 2 <= len(g) <= 5
        and all(len(lines[i].text) < 120 for i in g)
        and _BUTTON.match(lines[g[-1]].text)
        and len(lines[g[-1]].text.split()) <= 4
        and not _SENTENCE_END.search(lines[g[-1]].text)
    ]


_ITEM = re.compile(r"^\s*(\d{1,3})[.)]\s+\S")
#: at most this many lines between two numbered items of one list (a link, a price)
_ITEM_GAP = 3


def _numbered_runs(lines: list[Line], reason: list[str]) -> set[int]:
    """Indexes of numbered items in runs of three or more numbered one after another
    ("1) Lego Star Wars …", a link, "2) Polistil …"): the author's list, never the
    site's navigation, which is not numbered."""
    out: set[int] = set()
    run: list[int] = []
    for i, ln in enumerate(lines):
        if reason[i]:
            continue
        item = _ITEM.match(ln.text)
        if not item:
            continue
        number = int(item.group(1))
        if run and number == _number(lines[run[-1]]) + 1 and i - run[-1] <= _ITEM_GAP + 1:
            run.append(i)
            continue
        if len(run) >= 3:
            out.update(run)
        run = [i]
    if len(run) >= 3:
        out.update(run)
    return out


def _number(line: Line) -> int:
    item = _ITEM.match(line.text)
    return int(item.group(1)) if item else -1


def _related(lines: list[Line], reason: list[str]) -> None:
    """A block of links to other posts: its heading ("Leia também", "Related articles")
    and the short lines right under it (the posts' titles)."""
    for i, ln in enumerate(lines):
        if not _RELATED.match(ln.text):
            continue
        j = i + 1
        while (
            j < len(lines)
            and lines[j].number == lines[j - 1].number + 1
            and len(lines[j].text.split()) <= 15
            and j - i <= 12
        ):
            reason[j] = reason[j] or "related posts"
            j += 1


def _heads_prose(initial: list[str], i: int) -> bool:
    """Whether one of the two lines after line ``i`` reads as prose (line ``i`` heads it)."""
    return any(c in ("good", "neargood") for c in initial[i + 1 : i + 3])


#: a web address or a domain alone on a line ("https://…", "www.example.com", "site.com")
WEB_ADDRESS = re.compile(r"^(?:(?:https?://|www\.)\S+|[\w-]+(?:\.[\w-]+)*\.[a-z]{2,6}/?)$", re.I)


def _heading_like(text: str) -> bool:
    return (
        len(text.split()) <= 12
        and not _SENTENCE_END.search(text.rstrip("?"))
        and not WEB_ADDRESS.match(text)
    )


def _headings_repeated(lines: list[Line], initial: list[str]) -> set[int]:
    """Lines the page repeats that are the article's headings: of a line said more than
    once, the one occurrence that heads a paragraph, when the others, before it, do not
    (a table of contents, "Jump to:" links)."""
    where: dict[str, list[int]] = {}
    for i, ln in enumerate(lines):
        where.setdefault(_key(ln.text), []).append(i)
    out = set()
    for found in where.values():
        heads = [i for i in found if _heads_prose(initial, i) and _heading_like(lines[i].text)]
        if len(found) > 1 and len(heads) == 1 and heads[0] != found[0]:
            out.add(heads[0])
    return out


def _frame(lines: list[Line], initial: list[str]) -> list[str]:
    """Why each line is the page's frame, not the article ("" when nothing says so): its
    words (a banner, "Back to top"), a menu's run of short words, a line the page repeats,
    a promotion box. The lines named are classed bad in ``initial``."""
    reason = ["" for _ in lines]
    counts = Counter(_key(ln.text) for ln in lines)
    menus = _menu_runs(lines)
    headings = _headings_repeated(lines, initial)
    for i, ln in enumerate(lines):
        if initial[i] == "bad" and (_BOILER.match(ln.text) or _consent(ln.text)):
            reason[i] = "consent banner" if _consent(ln.text) else "page chrome"
        elif initial[i] != "short":
            continue
        elif i in menus:
            initial[i], reason[i] = "bad", "menu"
        elif counts[_key(ln.text)] > 1 and i not in headings:
            # (a table of contents, the navigation copied twice; where the line heads a
            # paragraph it is the article's heading)
            initial[i], reason[i] = "bad", "repeated from the page"
    for group in _promo_boxes(lines):
        for i in group:
            initial[i], reason[i] = "bad", "promotion box"
    _related(lines, reason)
    for i, why in enumerate(reason):
        if why == "related posts":
            initial[i] = "bad"
    for i in _numbered_runs(lines, reason):
        initial[i] = "good"
    return reason


def _prose_classes(lines: list[Line], initial: list[str], reason: list[str]) -> list[str]:
    """``initial`` for a page whose prose does not read as jusText's good text: a post of
    short paragraphs (its near-good lines are its prose, and the few long lines are as
    likely the footer's), or nothing good at all (scores, a table copied as lines: then
    the longer lines)."""
    good = sum(_length(ln.text) for ln, c in zip(lines, initial, strict=True) if c == "good")
    near = sum(_length(ln.text) for ln, c in zip(lines, initial, strict=True) if c == "neargood")
    if good * 3 < near:
        initial = ["good" if c == "neargood" else c for c in initial]
    if "good" not in initial:
        initial = [
            "good" if c == "bad" and not reason[i] and _length(lines[i].text) >= LENGTH_LOW else c
            for i, c in enumerate(initial)
        ]
    return initial


def _headings(lines: list[Line], initial: list[str], reason: list[str], classes: list[str]) -> None:
    """jusText's headings: a short line right before a good paragraph is its heading."""
    for i in range(len(lines) - 1):
        if (
            initial[i] == "short"
            and not reason[i]
            and classes[i + 1] == "good"
            and len(lines[i].text.split()) <= 12
            and not _SENTENCE_END.search(lines[i].text.rstrip("?"))
        ):
            classes[i] = "good"


def classify(lines: list[Line]) -> Verdict:
    """Each non-empty line's class (article or not), and the article's stretch."""
    language = page_language(lines)
    stops = stoplist(language) if language else frozenset()
    initial = [_initial(ln.text, stops) for ln in lines]
    reason = _frame(lines, initial)
    initial = _prose_classes(lines, initial, reason)
    classes = _context(initial)
    _headings(lines, initial, reason, classes)
    start, end = _stretch(lines, classes)
    keep = [
        start <= i < end and _inside(c, reason[i], lines[i].text) for i, c in enumerate(classes)
    ]
    for i in range(len(lines)):
        if not keep[i] and not reason[i]:
            reason[i] = "boilerplate" if start <= i < end else "outside the article"
    return Verdict(keep, reason, start, end, language)


def _inside(cls: str, reason: str, text: str) -> bool:
    """Whether a line inside the article's stretch is kept: a good one, or a bad one the
    classifier only doubts (a list item dense with nouns), not one the page's frame shows."""
    if cls == "good":
        return True
    if reason:
        return False
    return _length(text) >= LENGTH_LOW or bool(_SENTENCE_END.search(text))


def _stretch(lines: list[Line], classes: list[str]) -> tuple[int, int]:
    """The article's stretch: the run of lines with the most good text, bad lines
    costing their length (maximum-sum segment, good text counting double)."""
    best = (0, 0)
    best_sum = 0.0
    run_sum, run_start = 0.0, 0
    for i, (ln, c) in enumerate(zip(lines, classes, strict=True)):
        weight = min(_length(ln.text), 600)
        value = 2.0 * weight if c == "good" else -max(weight, 40)
        if run_sum <= 0:
            run_sum, run_start = 0.0, i
        run_sum += value
        if run_sum > best_sum:
            best_sum, best = run_sum, (run_start, i + 1)
    return best


__all__ = ["WEB_ADDRESS", "Line", "Verdict", "classify", "page_language", "stoplist"]
