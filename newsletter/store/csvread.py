"""Subscriber CSV files read and checked: the header row's columns (Mailchimp's, Substack's,
ConvertKit's names), each row's address, names, time zone and date, and the bad rows reported
with their line numbers. (Written to the database by :mod:`newsletter.store.bulk`.)"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from .. import headers
from ..errors import InputError
from ..textfile import decode_error, open_text

HEADERS = {
    "email": {
        "email",
        "email address",
        "e mail",
        "e mail address",
        "emailaddress",
        "mail",
        "subscriber email",
        "email addresses",
    },
    "first_name": {"first name", "firstname", "fname", "given name", "first"},
    "last_name": {"last name", "lastname", "lname", "surname", "family name", "last"},
    "name": {"name", "full name", "fullname", "subscriber name"},
    "tags": {
        "tags",
        "tag",
        "list",
        "lists",
        "groups",
        "group",
        "segments",
        "segment",
        "list tags",
        "list/tags",
        "audience",
    },
    "timezone": {"timezone", "time zone", "tz", "zone"},
    "subscribed_at": {
        "subscribed at",
        "subscribed",
        "subscribed on",
        "subscription date",
        "created at",
        "created",
        "optin time",
        "confirm time",
        "date added",
        "signup date",
        "sign up date",
        "joined",
        "joined at",
        "date subscribed",
    },
}


def _norm_header(h: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[_\-]", " ", h.strip().strip('"').lower())).strip()


#: the common shape of an address (ASCII dot-atom, host names with a letters-only top-level
#: domain): what email_validator accepts and normalises to itself with the domain
#: lower-cased. Anything else goes through email_validator (about 20 times slower).
_PLAIN = re.compile(
    r"(?P<local>[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*)"
    r"@(?P<domain>(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})"
)
_SPECIAL_USE = tuple(SPECIAL_USE_DOMAIN_NAMES)


def normalise_email(raw: str) -> str:
    """Syntax check only (no network); the domain lower-cased. Raises ValueError."""
    plain = _PLAIN.fullmatch(raw.strip())
    if plain and len(plain["local"]) <= 64 and len(plain[0]) <= 254 and "--" not in plain[0]:
        domain = plain["domain"].lower()
        if not domain.endswith(_SPECIAL_USE) or not any(
            domain == d or domain.endswith("." + d) for d in _SPECIAL_USE
        ):
            return f"{plain['local']}@{domain}"
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None


def name_problem(first: str, last: str) -> str | None:
    """Why a first and last name cannot be a subscriber's (they go into headers), or None."""
    for label, value in (("first name", first), ("last name", last)):
        why = headers.problem(value, limit=headers.MAX_NAME)
        if why:
            return f"{label} {why}"
    return None


def valid_timezone(tz: str) -> bool:
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


_DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y",
    "%d.%m.%Y",
)


def parse_when(value: str) -> datetime | None:
    value = value.strip()
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        for fmt in _DATE_FORMATS:
            try:
                dt = datetime.strptime(value, fmt)
                break
            except ValueError:
                continue
        else:
            return None
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt.replace(microsecond=0)


@dataclass
class Row:
    line: int
    email: str
    first_name: str = ""
    last_name: str = ""
    tags: str = ""
    timezone: str | None = None
    subscribed_at: datetime | None = None


@dataclass
class ImportResult:
    added: int = 0
    joined: int = 0  # already subscribers, newly on the list
    unchanged: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (line, reason): not imported
    bad: list[tuple[int, str]] = field(default_factory=list)  # (line, reason): invalid rows
    warnings: list[tuple[int, str]] = field(default_factory=list)

    @property
    def problems(self) -> list[tuple[int, str]]:
        return sorted(self.bad + self.skipped + self.warnings)


CSV_UTF8_HINT = "export or save it as 'CSV UTF-8' and import again"


def read_csv(path: Path) -> tuple[TextIO, Any]:
    """The file, opened to stream its rows, and its dialect (',' or ';' or tab)."""
    handle = open_text(path, expected="a CSV file with a header row", utf8_hint=CSV_UTF8_HINT)
    try:
        sample = handle.read(8192)
    except UnicodeDecodeError:
        handle.close()
        raise decode_error(path, CSV_UTF8_HINT) from None
    handle.seek(0)
    return handle, _dialect(sample)


def _dialect(sample: str) -> Any:
    """Excel's CSV with the delimiter its header row uses most (',', ';' or tab). Only the
    delimiter is guessed: csv.Sniffer guesses the quoting too, and a wrong guess once
    mangled a doubled quote inside a quoted name."""
    header = sample.splitlines()[0] if sample else ""
    delimiter = max(",;\t", key=header.count)
    return type("Dialect", (csv.excel,), {"delimiter": delimiter if delimiter in header else ","})


def _csv_error(path: Path, line: int, exc: csv.Error) -> InputError:
    if "field larger than field limit" in str(exc):
        return InputError(
            str(path),
            f"a field is longer than {csv.field_size_limit():,} characters",
            line=line,
            hint="look for a quote that is never closed on or after this line",
        )
    return InputError(str(path), f"is not readable as CSV: {exc}", line=line)


def parse_rows(path: Path) -> tuple[Iterator[Row], ImportResult]:
    """The CSV's rows as Row (valid ones), bad rows recorded in the result."""
    handle, dialect = read_csv(path)
    reader = csv.reader(handle, dialect)
    try:
        header = next(reader, None) or []
    except UnicodeDecodeError:
        handle.close()
        raise decode_error(path, CSV_UTF8_HINT) from None
    except csv.Error as exc:
        handle.close()
        raise _csv_error(path, 1, exc) from None
    columns: dict[str, int] = {}
    for i, h in enumerate(header):
        norm = _norm_header(h)
        for key, aliases in HEADERS.items():
            if (
                norm in aliases or norm.replace(" ", "") in {a.replace(" ", "") for a in aliases}
            ) and key not in columns:
                columns[key] = i
    if "email" not in columns:
        handle.close()
        found = ", ".join(repr(h) for h in header[:8]) or "none"
        raise InputError(
            str(path),
            f"no email column (found columns: {found})",
            line=1,
            hint="name the column 'email' or 'Email Address'",
        )
    result = ImportResult()

    def rows() -> Iterator[Row]:
        with handle:
            yield from each_row()

    def each_row() -> Iterator[Row]:
        while True:
            line = reader.line_num + 1  # the file's line where this row starts
            try:
                values = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError:
                raise decode_error(path, CSV_UTF8_HINT) from None
            except csv.Error as exc:
                raise _csv_error(path, line, exc) from None
            if not any(v.strip() for v in values):
                continue

            def get(key: str, values: list[str] = values) -> str:
                i = columns.get(key)
                return values[i].strip() if i is not None and i < len(values) else ""

            raw = get("email")
            if not raw:
                result.bad.append((line, "no email address"))
                continue
            try:
                email = normalise_email(raw)
            except ValueError as exc:
                result.bad.append((line, f"{raw!r} is not a valid address: {exc}"))
                continue
            first, last = get("first_name"), get("last_name")
            if not first and not last and get("name"):
                first, _, last = get("name").partition(" ")
            why = name_problem(first, last)
            if why:
                result.bad.append((line, why))
                continue
            tz = get("timezone") or None
            if tz and not valid_timezone(tz):
                result.warnings.append((line, f"unknown timezone {tz!r}, using the default"))
                tz = None
            when_raw = get("subscribed_at")
            when = parse_when(when_raw) if when_raw else None
            if when_raw and when is None:
                result.warnings.append((line, f"unreadable date {when_raw!r}, using now"))
            yield Row(line, email, first, last, get("tags")[:1000], tz, when)

    return rows(), result


def check_readable(path: Path) -> None:
    """Read the whole file as CSV (no row checked yet): a file that stops decoding or is
    not CSV further down is refused before anything is written (the import commits chunk
    by chunk). About a second for a million rows."""
    handle, dialect = read_csv(path)
    with handle:
        reader = csv.reader(handle, dialect)
        while True:
            line = reader.line_num + 1
            try:
                if next(reader, None) is None:
                    return
            except UnicodeDecodeError:
                raise decode_error(path, CSV_UTF8_HINT) from None
            except csv.Error as exc:
                raise _csv_error(path, line, exc) from None
