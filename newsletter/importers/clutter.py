"""What a page puts around an article: recognising it, dropping it, saying so line by line.

Before the title, a copied or scraped page has "top of page", the author's name, "4 min
read", a date, an avatar, category links, a location picker with street addresses and
"Book Now". After the article it has "Tags …", "Previous post / Next post", share
buttons, related posts. A post often ends with a signature block ("Name, LMFT | street
address", an e-mail and a phone line) that is a sign-off, not a heading.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ..blocks import Block, Heading, Image, ListBlock, Paragraph, Rule, Span, plain, spans_of

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_DATE = (
    rf"(?:{_MONTH}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?|"
    rf"\d{{1,2}}\s+{_MONTH}\.?(?:,?\s+\d{{4}})?|\d{{4}}-\d{{2}}-\d{{2}}|\d{{1,2}}/\d{{1,2}}/\d{{2,4}})"
)
#: the months in the languages the frame speaks (German, French, Spanish, Italian, Dutch,
#: Portuguese), as dates write them ("3. März 2025", "12 de abril de 2025", "3 février")
_MONTHS = (
    r"(?:januar|jänner|februar|märz|april|mai|juni|juli|august|september|oktober|november|"
    r"dezember|janvier|février|mars|avril|juin|juillet|août|septembre|octobre|novembre|"
    r"décembre|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|"
    r"octubre|noviembre|diciembre|gennaio|febbraio|aprile|maggio|giugno|luglio|settembre|"
    r"ottobre|dicembre|januari|februari|maart|mei|augustus|juni|juli|oktober|janeiro|"
    r"fevereiro|março|maio|junho|julho|setembro|outubro|novembro|dezembro)"
)
_DATE_ELSEWHERE = rf"\d{{1,2}}\.?(?:\s+de)?\s+{_MONTHS}\.?(?:\s+de)?(?:\s+\d{{4}})?"
#: "Published on", "Updated" in those languages, before a date
_DATED = (
    r"(?:publié|mis\ à\ jour|publicado|actualizado|atualizado|pubblicato|aggiornato|"
    r"gepubliceerd|bijgewerkt|veröffentlicht|aktualisiert|erschienen)"
    r"(?:\ (?:le|el|em|en|il|op|am|on))?:?\s.*"
)
#: "by" before an author's name, in those languages
BY_WORDS = r"(?:by|von|par|por|di|door)"
#: a byline: "By Jenna Park", "par Claire Moreau", "von Jonas Weber", "Written by …"
_BYLINE = re.compile(
    rf"^(?:(?:written|posted|geschrieben|verfasst|écrit|escrito|scritto|geschreven)\s+)?"
    rf"{BY_WORDS}:?\s+((?-i:[A-ZÀ-ÖØ-Þ][\w.'’-]*)(?:\s+(?:(?-i:[A-ZÀ-ÖØ-Þ][\w.'’-]*)|"
    r"de|van|von|der|den|la|le|da|di|del|dos|das|du)){0,4})$",
    re.I,
)
#: how long an article takes to read, in the languages above ("Lesezeit: 5 Minuten",
#: "Tempo de leitura: 4 min", "6 min de lecture")
READING_TIME = (
    r"(?:reading\ time|read\ time|lesezeit|lesedauer|temps\ de\ lecture|lecture|"
    r"tiempo\ de\ lectura|lectura|tempo\ de\ leitura|leitura|tempo\ di\ lettura|lettura|"
    r"leestijd)\s*:?\s*(?:ca\.\s*|~\s*)?\d+\s*(?:min|mins|minutes?|minuten?|minutos?|"
    r"minuti|minuut|minuto)\.?|"
    r"(?:ca\.\s*)?\d+\s*(?:min|mins|minutes?|minuten?|minutos?|minuti)\.?\s*"
    r"(?:read|lesezeit|lesen|de\ lecture|de\ lectura|de\ leitura|di\ lettura|leestijd|"
    r"lezen|leestijd)"
)
#: lines a page shows before the article's title (or that only a page would show)
_HEAD = re.compile(
    rf"""^(?:
    top\ of\ page|bottom\ of\ page|skip\ to\ (?:main\ )?content|back\ to\ (?:top|blog|posts)|
    all\ posts|blog|home|menu|log\ ?in|sign\ ?in|search|
    \d+\s*(?:min|mins|minute|minutes)\.?\s*read|reading\ time:?.*|\d+\s+views?|
    (?:updated|posted|published|last\ updated)(?:\ on|\ in|\ by)?:?\s.*|(?:on\ )?posted\ on\ .*|
    by\s+(?-i:[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){{0,3}})|by\ (?:admin|staff|the\ editors?)|
    written\ by\ .*|{_DATE}|{_DATE_ELSEWHERE}|{_DATED}|{READING_TIME}|
    (?:{_DATE}\s*[·•|-]\s*)?\d+\s*min(?:ute)?s?\ read(?:\s*[·•|-]\s*.*)?|
    member-only\ story|follow|following|listen|share|sign\ up|sign\ in|get\ started|
    open\ in\ app|\d+(?:\.\d)?k?\s+followers?|subscribe|
    book\ now|book\ online|book\ an?\ (?:appointment|session|consultation)|
    (?:please\ )?(?:select|choose)\ (?:a|the|your)\ location.*|please\ select\ .*|
    categor(?:y|ies):?\s.*|filed\ under\ .*|posted\ in\ .*|tags?:.*|
    blogger|admin|editor|guest\ author|uncategori[sz]ed
    )$""",
    re.I | re.X,
)
#: lines a page shows after the article
_TAIL = re.compile(
    r"""^(?:
    tags?:?\s.*|tagged(?:\ with)?:?\s.*|categor(?:y|ies):?\s.*|filed\ under\ .*|posted\ in\ .*|
    (?:previous|next|prev|older|newer)(?:\ (?:post|article|entry|story))?(?::.*)?|
    (?:previous|next|prev|older|newer)\ (?:post|article|entry|story)s?\b.*|
    share(?:\ this)?(?:\ post|\ article)?:?|share\ on\ .*|tweet|pin\ it|like\ this:?|
    like\ loading\.*|leave\ a\ (?:comment|reply)|\d+\ comments?|comments|read\ more|
    related(?:\ posts?|\ articles?)?:?|you\ (?:may|might)\ also\ like:?|recent\ posts:?|
    back\ to\ (?:top|blog|all\ posts)|posts?\ navigation|[←«‹].*|.*[→»›]|
    see\ all|write\ a\ comment.*|\d+\s+views?|\d+\s+likes?|post\ not\ marked\ as\ liked|
    post\ a\ comment|no\ comments:?|subscribe(?:\ to:.*)?|newer\ posts?|older\ posts?|home|
    labels?:\s.*|posted\ by\ .*|discussion\ about\ this\ post|ready\ for\ more\??|
    type\ your\ email.*|listen|follow|\d+\s+comments?|comments?:?|recent\ posts|
    more\ from\ .{1,40}|about\ the\ author|sign\ up\ for\ .*|written\ by\ .*|
    \d+(?:\.\d)?k?\s+followers?|recommended\ from\ .*
    )$""",
    re.I | re.X,
)
_TAIL_HEADING = re.compile(
    r"^(?:related(?: posts| articles| reading)?|you (?:may|might) also like|recent posts|"
    r"more (?:posts|from the blog)|posts? navigation|comments?|leave a (?:reply|comment)|"
    r"share this(?: post)?)\W*$",
    re.I,
)
_ADDRESS = re.compile(
    r"\b\d{1,6}\s+(?:[NSEW]\.?\s+)?[\w.'-]+(?:\s+[\w.'-]+){0,4}\s+"
    r"(?:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|suite|ste|way|"
    r"court|ct|place|pl|highway|hwy|parkway|pkwy|square|sq|terrace|ter)\b\.?",
    re.I,
)
_CITY = re.compile(r"^[A-Z][A-Za-z .'-]+,\s*(?:[A-Z]{2}|[A-Z][a-z]+)\.?\s+\d{5}(?:-\d{4})?$")
_PHONE = re.compile(
    r"^(?:(?:phone|tel|call|text|fax|mobile|[pt])\.?:?\s*)?\+?\(?\d[\d\s().-]{7,}\d$", re.I
)
_EMAIL = re.compile(r"^(?:e-?mail:?\s*)?[\w.+-]+@[\w-]+(?:\.[\w-]+)+$", re.I)
_CREDENTIALS = re.compile(
    r",\s*(?:LMFT|LCSW|LPC|LPCC|LMHC|LCPC|PsyD|Ph\.?D|MD|DDS|DMD|CPA|EA|E?-?RYT|MFT|MSW|"
    r"RN|NP|APRN|IBCLC|LAc|DC|PT|DPT|CFP|MA|MS)\b"
)
_NAME = re.compile(r"^(?:Dr\.?\s+)?[A-Z][\w'’.-]+(?:\s+[A-Z][\w'’.-]+){1,3}$")


#: a byline that names no one ("by Admin", "von der Redaktion")
_NOBODY = re.compile(
    r"^(?:the\ )?(?:admin(?:istrator)?|staff|editors?|editorial|team|guest|redaktion|"
    r"rédaction|redacción|redazione|redactie|redação|webmaster)\b",
    re.I | re.X,
)
#: a date before a byline ("14. März 2025 von Anna Berger", "March 3, 2025 by …")
_DATED_BY = re.compile(rf"^.{{0,40}}?\d{{4}}\s*[,·•|-]?\s+(?={BY_WORDS}\s)", re.I)


def byline_name(line: str) -> str:
    """The author's name in a byline ("par Claire Moreau", "14. März 2025 von Anna
    Berger", "By Marcus Lee | January 14, 2025" -> the name), or "" when ``line`` is
    not one."""
    for part in re.split(r"\s+[|·•—–]\s+", line.strip())[:4]:
        found = _BYLINE.match(part) or _BYLINE.match(_DATED_BY.sub("", part, count=1))
        if found:
            return "" if _NOBODY.match(found.group(1)) else found.group(1)
    return ""


def is_head_clutter(line: str) -> bool:
    """A line that pages put before an article's title (never the title itself)."""
    line = line.strip()
    return bool(_HEAD.match(line)) or is_contact_line(line) or bool(byline_name(line))


def is_tail_clutter(line: str) -> bool:
    return bool(_TAIL.match(line.strip()))


def is_contact_line(line: str) -> bool:
    """An address, a phone number, an e-mail address or "Name, LMFT | …"."""
    parts = [p.strip() for p in re.split(r"\s+[|•·]\s+", line.strip()) if p.strip()]
    return bool(parts) and any(
        _ADDRESS.search(p)
        and len(p.split()) <= 12
        or _CITY.match(p)
        or _PHONE.match(p)
        or _EMAIL.match(p)
        or (_CREDENTIALS.search(p) and len(p.split()) <= 8)
        for p in parts
    )


def looks_like_name(line: str) -> bool:
    """A person's name alone on a line ("Jane Smith", "Dr. Ana Ruiz")."""
    return bool(_NAME.match(line.strip())) and len(line.split()) <= 4


def _quote(block: Block) -> str:
    text = " ".join(block.text().split())
    return repr(text[:80] + ("…" if len(text) > 80 else ""))


def _describe(block: Block) -> str:
    if isinstance(block, Image):
        return f"image {block.alt or block.src!r}" if block.alt else f"image {block.src!r}"
    return _quote(block)


Where = Callable[[Block], str]


def drop_before(blocks: list[Block], index: int, where: Where, notes: list[str]) -> list[Block]:
    """Drop the blocks before ``index`` (what stood before the title), each noted; an image
    that is not an avatar or a logo is kept (a post's first photo)."""
    kept: list[Block] = []
    for block in blocks[:index]:
        if isinstance(block, Image) and block.src and not _small_or_icon(block):
            kept.append(block)
            continue
        if isinstance(block, Rule):
            continue
        notes.append(f"{where(block)}dropped page chrome before the title: {_describe(block)}")
    return kept + blocks[index + 1 :]


_PRE_TITLE_WORDS = 120


def _title_index(blocks: list[Block], title: str) -> int | None:
    """Where the title's H1 stands: the one equal to ``title``, or the first H1."""
    for i, b in enumerate(blocks):
        same = not title or " ".join(b.text().split()) == " ".join(title.split())
        if isinstance(b, Heading) and b.level == 1 and same:
            return i
    return None


def cut_at_title(
    blocks: list[Block], title: str, where: Where, notes: list[str]
) -> tuple[str, list[Block]]:
    """(title, body): the title is ``title`` or the first H1 wherever it stands; the
    page chrome before that H1 (a byline, a date, an avatar, category links) and right
    after it ("4 min read", "Updated: Jun 2") is dropped, each noted. When much text
    stands before the H1 it is kept: then it is the article, not chrome."""
    index = _title_index(blocks, title)
    if index is not None:
        title = title or blocks[index].text().strip()
        if sum(b.word_count() for b in blocks[:index]) <= _PRE_TITLE_WORDS:
            blocks = drop_before(blocks, index, where, notes)
        else:
            blocks = blocks[:index] + blocks[index + 1 :]
    start = 0
    while start < len(blocks) and start < 6 and _is_head_block(blocks[start]):
        notes.append(
            f"{where(blocks[start])}dropped page chrome after the title: {_describe(blocks[start])}"
        )
        start += 1
    return title, blocks[start:]


def _is_head_block(block: Block) -> bool:
    if not isinstance(block, Paragraph):
        return False
    lines = [ln for ln in plain(block.spans).split("\n") if ln.strip()]
    return bool(lines) and all(is_head_clutter(ln) for ln in lines)


def _small_or_icon(image: Image) -> bool:
    if image.width is not None and image.width <= 200:
        return True
    hint = f"{image.alt} {image.src}".lower()
    return bool(re.search(r"avatar|gravatar|profile|logo|icon|author|headshot|badge", hint))


def drop_tail(blocks: list[Block], where: Where, notes: list[str]) -> list[Block]:
    """Drop the page's end (tags, previous/next post, share, related posts), each noted."""
    end = len(blocks)
    window = max(0, len(blocks) - 12)
    for i in range(window, len(blocks)):
        b = blocks[i]
        if (
            isinstance(b, Heading)
            and _TAIL_HEADING.match(b.text().strip())
            and all(x.word_count() <= 30 for x in blocks[i + 1 :])
        ):
            end = i
            break
    while end > 0 and _is_tail_block(blocks[end - 1], after_chrome=end < len(blocks)):
        end -= 1
    while end > 0 and isinstance(blocks[end - 1], Rule):
        end -= 1
    for b in blocks[end:]:
        if not isinstance(b, Rule):
            notes.append(f"{where(b)}dropped page chrome after the article: {_describe(b)}")
    return blocks[:end]


def _link_only(block: Block) -> bool:
    if not isinstance(block, Paragraph):
        return False
    texts = [s for s in block.spans if not s.is_break and s.text.strip(" |/·•-–—")]
    return bool(texts) and all(s.href for s in texts) and block.word_count() <= 20


def _is_tail_block(block: Block, after_chrome: bool) -> bool:
    if isinstance(block, Rule):
        return True
    if isinstance(block, Paragraph | Heading):
        lines = [ln for ln in plain(block.spans).split("\n") if ln.strip()]
        if lines and all(is_tail_clutter(ln) for ln in lines):
            return True
        return after_chrome and _link_only(block)
    if isinstance(block, ListBlock):
        return after_chrome and all(
            all(s.href for s in i.spans if s.text.strip()) and len(plain(i.spans).split()) <= 15
            for i in block.items
        )
    return False


def sign_off(blocks: list[Block]) -> list[Block]:
    """A signature block at the end (a heading or a short paragraph of contact lines) is a
    small paragraph, never a heading: its lines joined with line breaks."""
    start = len(blocks)
    while start > 0:
        b = blocks[start - 1]
        text = b.text().strip() if isinstance(b, Heading | Paragraph) else ""
        lines = [ln for ln in text.split("\n") if ln.strip()]
        if not lines or len(lines) > 4:
            break
        if not all(is_contact_line(ln) or looks_like_name(ln) for ln in lines):
            break
        start -= 1
    tail = blocks[start:]
    if not tail or not any(isinstance(b, Heading) for b in tail) and len(tail) < 2:
        return blocks
    if not any(is_contact_line(b.text()) for b in tail):
        return blocks
    spans: list[Span] = []
    for b in tail:
        if spans:
            spans.append(Span("\n"))
        spans.extend(b.spans if isinstance(b, Paragraph) else spans_of(b.text()))
    return blocks[:start] + [Paragraph(tuple(spans))]


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def repeats_opening(subtitle: str, blocks: list[Block]) -> bool:
    """Whether ``subtitle`` (an excerpt, a page's description) only repeats the start of
    the first paragraph, so showing both would print it twice."""
    first = next((b for b in blocks if isinstance(b, Paragraph)), None)
    sub = _words(re.sub(r"(?:\.\.\.|…|\[…\]|\[\.\.\.\])\s*$", "", subtitle.strip()))
    if first is None or not sub:
        return False
    return _words(first.text())[: len(sub)] == sub


__all__ = [
    "BY_WORDS",
    "READING_TIME",
    "byline_name",
    "cut_at_title",
    "drop_before",
    "repeats_opening",
    "drop_tail",
    "is_contact_line",
    "is_head_clutter",
    "is_tail_clutter",
    "looks_like_name",
    "sign_off",
]
