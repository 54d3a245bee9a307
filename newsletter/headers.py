"""Email header values: checked where they enter, made safe where they leave.

Every value that reaches a header (a subscriber's name, a subject, the sender's name,
List-* values) passes through this module, in two places:

* where it enters (CSV import, ``subscribers add``, front matter, configuration),
  :func:`problem` says why it cannot be a header value: a control character (CR or LF
  would start a header of its own: header injection) or more characters than allowed;
  the caller turns that into its one-line error naming the line or field;
* where a message is built, :func:`clean` makes any value one line whatever reached the
  database, :func:`fold` encodes (RFC 2047) and folds (RFC 5322, 78 columns) a header with
  the standard library's email policy, and :func:`display_address` gives providers' JSON
  a ``Name <address>`` with a cleaned name.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING

from .errors import InputError

if TYPE_CHECKING:
    from email.message import EmailMessage
    from email.policy import EmailPolicy

#: the most characters in a first or last name
MAX_NAME = 100
#: the most characters in a subject or another one-line header text (RFC 5322's line)
MAX_TEXT = 998

_CONTROL_CHARS = "\x00-\x1f\x7f-\x9f\u2028\u2029"
_CONTROL = re.compile(f"[{_CONTROL_CHARS}]")
#: a run of control characters with the blanks around it: becomes one space
_CONTROL_RUN = re.compile(f"\\s*[{_CONTROL_CHARS}][{_CONTROL_CHARS}\\s]*")
_NAMES = {"\r": "CR", "\n": "LF", "\t": "tab", "\x00": "NUL", "\x7f": "DEL"}

CRLF = "\r\n"
#: the line length headers are folded to (RFC 5322's SHOULD)
WIDTH = 78
#: bidirectional controls (U+202E RIGHT-TO-LEFT OVERRIDE, the isolates, the marks): in a
#: display name they can make "moc.knab@" read as "bank.com", so they never reach one
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
#: characters that make a display name a quoted string (as email.utils.formataddr)
_SPECIALS = re.compile(r'[][\\()<>@,:;".]')
#: a word too long for a folded line
_LONG_WORD = re.compile(r"\S{60,}")


@functools.cache
def _policy(tokens: bool) -> EmailPolicy[EmailMessage]:
    """SMTP's policy folding at 78 columns; for values that are tokens (a URL, a tag) only
    past RFC 5322's 998 characters, so that a long URL is never turned into an encoded
    word. (Made when first used: the email package takes a while to import, and checking
    the configuration needs none of it.)"""
    from email import policy

    return policy.SMTP.clone(max_line_length=998 if tokens else WIDTH)


def describe(char: str) -> str:
    return _NAMES.get(char) or f"U+{ord(char):04X}"


def problem(value: str, *, limit: int = MAX_TEXT) -> str | None:
    """Why VALUE cannot be a header value, or None when it can."""
    m = _CONTROL.search(value)
    if m:
        return f"holds a control character ({describe(m.group())}); expected one line of text"
    if len(value) > limit:
        return f"is {len(value):,} characters long; the most is {limit}"
    return None


def unstorable(value: str) -> str | None:
    """Why a text cannot be stored in either database (a NUL, an unpaired surrogate), or None."""
    if "\x00" in value:
        return "holds a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "holds an unpaired surrogate (not valid Unicode)"
    return None


def check(value: str, source: str, *, limit: int = MAX_TEXT, line: int | None = None) -> str:
    """VALUE when it can be a header value, else an InputError naming SOURCE (and LINE)."""
    why = problem(value, limit=limit)
    if why:
        raise InputError(source, why, line=line)
    return value


def clean(value: str, limit: int | None = None) -> str:
    """One safe line: each run of control characters becomes one space; cut to LIMIT."""
    if _CONTROL.search(value):
        value = _CONTROL_RUN.sub(" ", value).strip()
    return value[:limit] if limit is not None else value


def display_name(value: str) -> str:
    """A display name as it goes into an address header: one line, no bidi controls."""
    return _BIDI.sub("", clean(value, 2 * MAX_NAME + 1)).strip()


def display_address(name: str, email: str) -> str:
    """``Name <email>`` (quoted where needed, not encoded: for providers' JSON)."""
    from email.utils import formataddr

    name = display_name(name)
    return formataddr((name, email)) if name else email


def fold(name: str, value: str, *, tokens: bool = False) -> str:
    """The header line(s) ``Name: value\\r\\n``, encoded and folded at 78 columns (with
    TOKENS, only past 998: for URLs and tags)."""
    from email.header import Header

    value = clean(value, MAX_TEXT)
    if tokens or (value.isascii() and "=?" not in value and not _LONG_WORD.search(value)):
        folded: str = _policy(tokens).fold(name, value)
        return folded
    # Encoded words for the whole value: the policy's folder loses the space next to a
    # word it has to encode, and leaves "=?...?=" in the text to be read as encoded.
    return f"{name}: {Header(value, 'utf-8', header_name=name).encode(linesep=CRLF)}{CRLF}"


def fold_address(name: str, display: str, email: str) -> str:
    """An address header with its display name cleaned: as it is when it is short ASCII
    (quoted where needed), else RFC 2047 encoded words, folded at 78 columns. (Not the
    policy's address folding: it drops the quotes around a long display name, and a
    ``<`` in it then turns into another address.) A non-ASCII address stays UTF-8
    (RFC 6532)."""
    from email.header import Header
    from email.utils import quote

    display = display_name(display)
    email = clean(email).replace(" ", "")
    if not display:
        return f"{name}: {email}\r\n"
    if display.isascii() and "=?" not in display:  # "=?" would read as an encoded word
        phrase = f'"{quote(display)}"' if _SPECIALS.search(display) else display
        line = f"{name}: {phrase} <{email}>"
        if len(line) <= WIDTH:
            return line + "\r\n"
    words = Header(display, "utf-8", header_name=name).encode(linesep="\r\n")
    return f"{name}: {words} <{email}>\r\n"
