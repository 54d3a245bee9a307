"""Subscribers: CSV import and export, add, remove (unsubscribe) and forget (erasure).

An import commits every chunk of rows, each a short transaction, so that the subscribe
form, the sender and other readers get in between (SQLite has one writer at a time). An
import stopped half-way (a crash, Ctrl-C) keeps the chunks before it;
importing the same file again adds the rest, as importing the same file twice changes
nothing. A file that is not readable as UTF-8 CSV to its end is refused before anything
is written. A bad row is reported with its line number and reason and does not stop the good
rows, and an import never re-subscribes someone who unsubscribed or was suppressed unless
asked to explicitly.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import hmac
import re
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email
from sqlalchemy import (
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    delete,
    func,
    insert,
    literal_column,
    select,
    table,
    update,
)

from .. import headers
from ..errors import InputError, StoreError
from ..textfile import decode_error, open_text
from . import Store, email_key, erased_key, utcnow
from .busy import patient
from .consent import ConsentRecord, JoinMethod, records
from .driver import insert_ignore
from .models import (
    Consent,
    Delivery,
    Event,
    MailingList,
    Membership,
    SendBatch,
    Subscriber,
    Suppression,
    new_token_keys,
)
from .states import DeliveryState, MembershipStatus, SubscriberStatus, SuppressionReason

T = TypeVar("T")

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
#: rows read, checked and written at a time (one transaction each): memory stays the same
#: whatever the file's size, and on SQLite other writers wait at most one chunk's write
#: (about 30 ms for 1,000 rows), then get in while the next chunk is read from the file
CHUNK = 1000
#: on PostgreSQL writers do not lock each other out: larger chunks, fewer round trips
CHUNK_POSTGRES = 5000


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


def _chunks(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    chunk: list[Row] = []
    for r in rows:
        chunk.append(r)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def insert_many(conn: Connection, stmt: Any, rows: list[dict[str, Any]]) -> None:
    """``conn.execute(stmt, rows)`` for many rows of the same keys, without a statement per
    row. On SQLite without SQLAlchemy's per-row parameter handling (a third of a large
    import's time): the statement compiled once, each value passed through its column
    type's bind processor, then the driver's executemany. On PostgreSQL one
    ``INSERT ... SELECT FROM unnest(arrays)`` for all the rows: psycopg's executemany sends
    one INSERT per row (half of a large import's time)."""
    if not rows:
        return
    keys = list(rows[0])
    compiled = stmt.compile(dialect=conn.dialect, column_keys=keys)
    if compiled.insert_prefetch or not set(compiled.binds) <= set(keys):
        conn.execute(stmt, rows)  # defaults computed in Python, or other parameters
        return
    columns = stmt.table.c
    dialect = conn.dialect
    procs = {k: columns[k].type.dialect_impl(dialect).bind_processor(dialect) for k in keys}
    converted = [
        [p(r[k]) if (p := procs[k]) is not None and r[k] is not None else r[k] for k in keys]
        for r in rows
    ]
    if dialect.name == "postgresql":
        _copy_then_insert(conn, stmt, keys, converted)
        return
    order = [keys.index(k) for k in compiled.positiontup]  # ?-style drivers: values in order
    conn.exec_driver_sql(compiled.string, [tuple(r[i] for i in order) for r in converted])


def _copy_then_insert(conn: Connection, stmt: Any, keys: list[str], rows: list[list[Any]]) -> None:
    """PostgreSQL: ROWS (values in the order of KEYS) COPYed into a temporary table with the
    target's column types, then STMT (an INSERT, maybe ON CONFLICT DO NOTHING) from it in
    one statement. psycopg writes COPY rows in C; array parameters were quoted value by
    value in Python (a third of a large import's time)."""
    quote = conn.dialect.identifier_preparer.quote
    # one staging table per target and set of columns, reused by the next chunks
    staging = f"nl_staging_{stmt.table.name}_{zlib.crc32(','.join(keys).encode()):08x}"
    columns = ", ".join(quote(k) for k in keys)
    driver: Any = conn.connection.driver_connection  # psycopg, in the same transaction
    with driver.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {quote(staging)} ON COMMIT DROP AS "
            f"SELECT {columns} FROM {quote(stmt.table.name)} WITH NO DATA"
        )
        cursor.execute(f"TRUNCATE {quote(staging)}")
        with cursor.copy(f"COPY {quote(staging)} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    staged: Any = (  # in the file's order, as COPY wrote them
        select(*(literal_column(quote(k)) for k in keys))
        .select_from(table(staging))
        .order_by(literal_column("ctid"))
    )
    conn.execute(stmt.from_select(keys, staged))


def import_rows(
    store: Store,
    rows: Iterable[Row],
    result: ImportResult,
    *,
    list_name: str | None = None,
    resubscribe: bool = False,
    method: JoinMethod = JoinMethod.IMPORT,
) -> ImportResult:
    """Add rows streamed in chunks, each chunk one transaction: never the whole file in
    memory, never a lock held longer than one chunk's write.

    Each chunk's addresses go into a temporary table keyed by address (with the file's
    line where each first appears): a later row with the same address is found there and
    reported with that line, and the chunk is matched against subscribers, suppressions
    and the list by joins, not by lists of addresses sent with each query. Each new
    subscriber and each joining of the list gets a consent record (``method``).
    """
    now = utcnow()
    size = CHUNK_POSTGRES if store.is_postgres else CHUNK
    with store.engine.connect() as conn:
        list_id = None
        if list_name:
            list_id = patient(
                lambda: _committed(conn, lambda: store.list_id(conn, list_name, create=True)),
                what="import",
            )
        seen = _seen_table(conn)
        conn.commit()
        try:
            for number, chunk in enumerate(_chunks(rows, size)):
                write = functools.partial(
                    _import_chunk,
                    store,
                    conn,
                    seen,
                    number,
                    chunk,
                    result,
                    list_id,
                    resubscribe,
                    now,
                    method,
                    _counts(result),
                )
                held = time.monotonic()
                patient(functools.partial(_committed, conn, write), what="import")
                if not store.is_postgres and len(chunk) == size:  # (a shorter one is the last)
                    _make_way(time.monotonic() - held)
        except InputError as exc:
            if result.added or result.joined:
                raise InputError(
                    exc.source,
                    exc.message.split(": ", 1)[-1],
                    line=exc.line,
                    hint=f"{result.added + result.joined:,} rows before it were imported; fix "
                    "the file and import it again: those are left as they are",
                ) from None
            raise
        finally:
            with contextlib.suppress(Exception):  # (the connection may be what failed)
                conn.rollback()
                seen.drop(conn)
                conn.commit()
    return result


#: SQLite's busy handler looks again every 100 ms once a writer has waited a while: after
#: each chunk the import leaves the database to the others at least that long
MAKE_WAY = 0.1


def _make_way(held: float) -> None:
    """Pause after a chunk's commit (SQLite), so that a form post or the sender waiting for
    the write lock gets it before the next chunk: as long as the chunk held the lock,
    between :data:`MAKE_WAY` and 3 times that."""
    time.sleep(min(max(held, MAKE_WAY), 3 * MAKE_WAY))


def _committed(conn: Connection, work: Callable[[], T]) -> T:
    """``work()`` in one transaction on ``conn``: committed, or rolled back when it fails."""
    try:
        done = work()
    except BaseException:
        conn.rollback()
        raise
    conn.commit()
    return done


def _write_lock(store: Store, conn: Connection) -> None:
    """SQLite: take the write lock at the start of the chunk's transaction, before reading.
    A transaction that reads first and writes later fails at once ("database is locked",
    without waiting) when another connection wrote in between."""
    if not store.is_postgres:
        conn.exec_driver_sql("DELETE FROM settings WHERE 0")


def _counts(result: ImportResult) -> tuple[int, ...]:
    return (
        result.added,
        result.joined,
        result.unchanged,
        len(result.skipped),
        len(result.bad),
        len(result.warnings),
    )


def _restore(result: ImportResult, counts: tuple[int, ...]) -> None:
    result.added, result.joined, result.unchanged = counts[:3]
    del result.skipped[counts[3] :]
    # (bad rows and warnings come from reading the file, before the chunk's write)


def _import_chunk(
    store: Store,
    conn: Connection,
    seen: Table,
    number: int,
    chunk: list[Row],
    result: ImportResult,
    list_id: int | None,
    resubscribe: bool,
    now: datetime,
    method: JoinMethod,
    counts: tuple[int, ...],
) -> None:
    """One chunk, in its own transaction (tried again when the database was busy: the
    counts are as they were before it, ``counts``)."""
    _restore(result, counts)
    _write_lock(store, conn)
    conn.execute(delete(seen).where(seen.c.chunk == number))
    unique = _first_occurrences(store, conn, seen, number, chunk, result)
    if not unique:
        return
    eligible, new = _eligible(conn, seen, number, unique, result, resubscribe, now)
    if new:
        insert_many(conn, insert(Subscriber), new)
        result.added += len(new)
    if list_id is None:
        result.unchanged += len(eligible) - len(new)
        if new:
            ids = _chunk_ids(conn, seen, number)
            _consents(
                conn,
                method,
                [(ids[str(d["email_key"])], None, d["subscribed_at"]) for d in new],
            )
        return
    _join_list(store, conn, seen, number, list_id, eligible, new, result, now, method)


def _seen_table(conn: Connection) -> Table:
    """A temporary table of the addresses read so far: the line where each first appears,
    its chunk, and its erased form (to find an erasure among the suppressions)."""
    table = Table(
        "import_seen",
        MetaData(),
        Column("email_key", String(320), primary_key=True),
        Column("line", Integer, nullable=False),
        Column("chunk", Integer, nullable=False, index=True),
        Column("erased_key", String(80), nullable=False),
        prefixes=["TEMPORARY"],
    )
    table.drop(conn, checkfirst=True)  # left by an import on this connection that failed
    table.create(conn)
    return table


def _first_occurrences(
    store: Store, conn: Connection, seen: Table, number: int, chunk: list[Row], result: ImportResult
) -> dict[str, Row]:
    """The chunk's rows whose address is new to this import, by address key; the others
    are reported as duplicates of the line where the address first appears."""
    first: dict[str, Row] = {}
    later: list[tuple[str, Row]] = []
    for r in chunk:
        key = email_key(r.email)
        if key in first:
            later.append((key, r))
        else:
            first[key] = r
    insert_many(
        conn,
        insert_ignore(store, seen),
        [
            {"email_key": k, "line": r.line, "chunk": number, "erased_key": erased_key(k)}
            for k, r in first.items()
        ],
    )
    taken = set(conn.scalars(select(seen.c.email_key).where(seen.c.chunk == number)))
    earlier = [k for k in first if k not in taken]
    if earlier:  # in an earlier chunk: its line is in the table
        lines = dict(
            conn.execute(
                select(seen.c.email_key, seen.c.line).where(seen.c.email_key.in_(earlier))
            ).all()
        )
        later.extend((k, first.pop(k)) for k in earlier)
    else:
        lines = {}
    for key, r in sorted(later, key=lambda kr: kr[1].line):
        line = lines[key] if key in lines else first[key].line
        result.skipped.append((r.line, f"{r.email} is a duplicate of line {line}"))
    return first


def _eligible(
    conn: Connection,
    seen: Table,
    number: int,
    unique: dict[str, Row],
    result: ImportResult,
    resubscribe: bool,
    now: datetime,
) -> tuple[list[tuple[Row, str]], list[dict[str, Any]]]:
    """The rows that join (with their address key), and the new subscribers' rows;
    unsubscribed and suppressed addresses are reported in ``result``."""
    here = seen.c.chunk == number
    existing = {
        row.email_key: row
        for row in conn.execute(
            select(Subscriber.id, Subscriber.email_key, Subscriber.status)
            .join(seen, seen.c.email_key == Subscriber.email_key)
            .where(here)
        )
    }
    suppressed: dict[str, str] = {}
    for column in (seen.c.email_key, seen.c.erased_key):
        for key, reason in conn.execute(
            select(seen.c.email_key, Suppression.reason)
            .join(Suppression, Suppression.email_key == column)
            .where(here)
        ):
            suppressed.setdefault(key, reason)
    eligible: list[tuple[Row, str]] = []
    new: list[dict[str, Any]] = []
    for key, r in unique.items():
        reason = suppressed.get(key)
        old = existing.get(key)
        if old is not None and old.status == SubscriberStatus.PENDING:
            result.skipped.append(
                (r.line, f"{r.email} has not confirmed the subscribe form yet; not added")
            )
            continue
        if reason == SuppressionReason.UNSUBSCRIBED or (
            old is not None and old.status != SubscriberStatus.ACTIVE
        ):
            if not resubscribe:
                result.skipped.append(
                    (
                        r.line,
                        f"{r.email} unsubscribed earlier; not re-subscribed "
                        "(use --resubscribe if they asked to come back)",
                    )
                )
                continue
        elif reason:
            result.skipped.append(
                (r.line, f"{r.email} is suppressed ({reason}); not re-subscribed")
            )
            continue
        if old is not None and old.status != SubscriberStatus.ACTIVE:
            conn.execute(
                update(Subscriber)
                .where(Subscriber.id == old.id)
                .values(status=SubscriberStatus.ACTIVE, unsubscribed_at=None)
            )
            conn.execute(
                update(Membership)
                .where(Membership.subscriber_id == old.id)
                .values(status=MembershipStatus.ACTIVE)
            )
        if reason == SuppressionReason.UNSUBSCRIBED:
            conn.execute(delete(Suppression).where(Suppression.email_key == key))
        eligible.append((r, key))
        if old is None:
            new.append(
                dict(
                    email=r.email,
                    email_key=key,
                    first_name=r.first_name,
                    last_name=r.last_name,
                    timezone=r.timezone,
                    tags=r.tags,
                    status=SubscriberStatus.ACTIVE,
                    subscribed_at=r.subscribed_at or now,
                )
            )
    for row, key in zip(new, new_token_keys(len(new)), strict=True):
        row["token_key"] = key
    return eligible, new


def _join_list(
    store: Store,
    conn: Connection,
    seen: Table,
    number: int,
    list_id: int,
    eligible: list[tuple[Row, str]],
    new: list[dict[str, Any]],
    result: ImportResult,
    now: datetime,
    method: JoinMethod,
) -> None:
    """Put the chunk's eligible subscribers on the list (those not on it yet)."""
    if not eligible:
        return
    ids = _chunk_ids(conn, seen, number)
    members = set(
        conn.scalars(
            select(Membership.subscriber_id)
            .join(Subscriber, Subscriber.id == Membership.subscriber_id)
            .join(seen, _in_chunk(seen, number))
            .where(Membership.list_id == list_id)
        )
    )
    new_keys = {d["email_key"] for d in new}
    joining = []
    for r, key in eligible:
        if ids[key] in members:
            result.unchanged += 1
            continue
        # Someone already subscribed joins this list now; a new subscriber joined
        # when they subscribed (their row's date, if it has one).
        joined = (r.subscribed_at or now) if key in new_keys else now
        joining.append(
            dict(
                subscriber_id=ids[key],
                list_id=list_id,
                status=MembershipStatus.ACTIVE,
                joined_at=joined,
            )
        )
        if key not in new_keys:
            result.joined += 1
    if joining:
        insert_many(conn, insert_ignore(store, Membership), joining)
        _consents(conn, method, [(j["subscriber_id"], list_id, j["joined_at"]) for j in joining])


def _in_chunk(seen: Table, number: int) -> Any:
    return and_(seen.c.email_key == Subscriber.email_key, seen.c.chunk == number)


def _chunk_ids(conn: Connection, seen: Table, number: int) -> dict[str, int]:
    """The subscriber ids of a chunk's addresses, by address key."""
    query = select(Subscriber.email_key, Subscriber.id).join(seen, _in_chunk(seen, number))
    return {str(k): int(i) for k, i in conn.execute(query)}


def _consents(conn: Connection, method: JoinMethod, joined: list[tuple[Any, Any, Any]]) -> None:
    insert_many(
        conn,
        insert(Consent),
        [
            dict(
                subscriber_id=sid,
                list_id=lid,
                method=method.value,
                joined_at=when,
                form_url="",
                ip="",
                user_agent="",
                consent_text="",
            )
            for sid, lid, when in joined
        ],
    )


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


def import_csv(
    store: Store, path: Path, *, list_name: str | None = None, resubscribe: bool = False
) -> ImportResult:
    check_readable(path)
    rows, result = parse_rows(path)
    return import_rows(store, rows, result, list_name=list_name, resubscribe=resubscribe)


def add_subscriber(
    store: Store,
    email: str,
    *,
    first_name: str = "",
    last_name: str = "",
    list_name: str | None = None,
    timezone: str | None = None,
    joined_at: datetime | None = None,
    resubscribe: bool = False,
) -> ImportResult:
    try:
        normalised = normalise_email(email)
    except ValueError as exc:
        raise InputError("email", f"{email!r} is not a valid address: {exc}") from None
    if timezone and not valid_timezone(timezone):
        raise InputError(
            "--timezone",
            f"unknown timezone {timezone!r}",
            hint="use a name like Europe/Paris or America/New_York",
        )
    for option, value in (("--first-name", first_name), ("--last-name", last_name)):
        headers.check(value, option, limit=headers.MAX_NAME)
    result = ImportResult()
    row = Row(0, normalised, first_name.strip(), last_name.strip(), "", timezone, joined_at)
    return import_rows(
        store, [row], result, list_name=list_name, resubscribe=resubscribe, method=JoinMethod.CLI
    )


def unsubscribe(
    store: Store, email: str, *, list_name: str | None = None, conn: Connection | None = None
) -> bool:
    """Stop sending to EMAIL (everywhere, or on one list). The record stays. False if unknown."""
    key = email_key(email)
    now = utcnow()
    with store._conn(conn) as c:
        sid = c.scalar(select(Subscriber.id).where(Subscriber.email_key == key))
        if sid is None:
            return False
        if list_name:
            lid = store.list_id(c, list_name)
            c.execute(
                update(Membership)
                .where(Membership.subscriber_id == sid, Membership.list_id == lid)
                .values(status=MembershipStatus.UNSUBSCRIBED)
            )
        else:
            c.execute(
                update(Subscriber)
                .where(Subscriber.id == sid)
                .values(status=SubscriberStatus.UNSUBSCRIBED, unsubscribed_at=now)
            )
            c.execute(
                update(Membership)
                .where(Membership.subscriber_id == sid)
                .values(status=MembershipStatus.UNSUBSCRIBED)
            )
            store.suppress(email, SuppressionReason.UNSUBSCRIBED, source="newsletter", conn=c)
        c.execute(
            update(Delivery)
            .where(Delivery.subscriber_id == sid, Delivery.state == DeliveryState.SCHEDULED)
            .values(state=DeliveryState.SKIPPED, error="unsubscribed")
        )
    return True


def holds(store: Store, subscriber_id: int, key: str | None) -> bool:
    """Whether a link signed for SUBSCRIBER_ID with KEY still opens that subscriber: the
    row is there and holds that key, or (a link made before keys, KEY None) the row is one
    that existed before them. An erased subscriber's links open nothing."""
    with store.begin() as c:
        row = c.execute(
            select(Subscriber.token_key, Subscriber.legacy_links).where(
                Subscriber.id == subscriber_id
            )
        ).first()
    if row is None:
        return False
    if key is None:
        return bool(row.legacy_links)
    return hmac.compare_digest(row.token_key.encode(), key.encode())


def token_key(store: Store, subscriber_id: int) -> str | None:
    """The key signed into SUBSCRIBER_ID's links (None if there is no such subscriber)."""
    with store.begin() as c:
        return c.scalar(select(Subscriber.token_key).where(Subscriber.id == subscriber_id))


@dataclass(frozen=True)
class Forgotten:
    """Who was erased: their id and the ids of the ledger rows deleted with them (which
    name the messages the outbox wrote to them)."""

    subscriber_id: int
    delivery_ids: list[int]


def forget(store: Store, email: str) -> Forgotten | None:
    """Erase the person's rows (an erasure request). Only a hash of the address stays, so
    that a later import cannot add them back. None if EMAIL was not a subscriber.

    :func:`newsletter.erasure.erase` also removes the address from SQLite's WAL and from
    the outbox: use that for a reader's request."""
    key = email_key(email)
    with store.begin() as c:
        sid = c.scalar(select(Subscriber.id).where(Subscriber.email_key == key))
        c.execute(delete(Suppression).where(Suppression.email_key == key))
        store.suppress(email, SuppressionReason.ERASED, source="newsletter", conn=c)
        _blank_address(c, key)
        if sid is None:
            return None
        deliveries = list(c.scalars(select(Delivery.id).where(Delivery.subscriber_id == sid)))
        c.execute(delete(Delivery).where(Delivery.subscriber_id == sid))
        c.execute(delete(Consent).where(Consent.subscriber_id == sid))
        c.execute(delete(Membership).where(Membership.subscriber_id == sid))
        c.execute(delete(Subscriber).where(Subscriber.id == sid))
    return Forgotten(sid, deliveries)


#: what an erased address becomes in the editor's records (events, batch errors)
ERASED = "[erased]"


def _blank_address(c: Connection, key: str) -> None:
    """The address out of messages that may quote it (a provider's refusal, recorded in an
    event and a batch's error), wherever it appears, whatever its case."""
    quoted = re.compile(re.escape(key), re.IGNORECASE)
    for column in (Event.message, SendBatch.error):
        table = column.class_
        for rid, text in c.execute(
            select(table.id, column).where(func.lower(column).contains(key, autoescape=True))
        ):
            c.execute(
                update(table).where(table.id == rid).values({column.key: quoted.sub(ERASED, text)})
            )


EXPORT_COLUMNS = [
    "email",
    "first_name",
    "last_name",
    "lists",
    "tags",
    "timezone",
    "status",
    "subscribed_at",
    "unsubscribed_at",
    # the latest consent record
    "joined_via",
    "consent_form_url",
    "consent_ip",
    "consent_user_agent",
    "consent_text",
    "confirmed_at",
]


def iter_subscribers(
    store: Store, *, list_name: str | None = None, status: str | None = None
) -> Iterator[dict[str, str]]:
    """Subscribers as export rows, streamed from the database."""
    with store.engine.connect() as conn:
        lists = dict(conn.execute(select(MailingList.id, MailingList.name)).all())
        q = select(Subscriber).order_by(Subscriber.id)
        if list_name:
            lid = store.list_id(conn, list_name)
            q = q.join(Membership, Membership.subscriber_id == Subscriber.id).where(
                Membership.list_id == lid
            )
        if status:
            q = q.where(Subscriber.status == status)
        result = conn.execution_options(yield_per=2000).execute(q)
        for part in result.partitions():
            ids = [r.id for r in part]
            member_of: dict[int, list[str]] = {}
            for sid, lid in conn.execute(
                select(Membership.subscriber_id, Membership.list_id).where(
                    Membership.subscriber_id.in_(ids), Membership.status == MembershipStatus.ACTIVE
                )
            ):
                member_of.setdefault(sid, []).append(lists[lid])
            consents = records(conn, ids)
            for r in part:
                latest = consents[r.id][-1] if consents.get(r.id) else None
                yield {
                    "email": r.email,
                    "first_name": r.first_name,
                    "last_name": r.last_name,
                    "lists": ",".join(sorted(member_of.get(r.id, []))),
                    "tags": r.tags,
                    "timezone": r.timezone or "",
                    "status": r.status,
                    "subscribed_at": r.subscribed_at.isoformat() if r.subscribed_at else "",
                    "unsubscribed_at": r.unsubscribed_at.isoformat() if r.unsubscribed_at else "",
                    "joined_via": latest.method if latest else "",
                    "consent_form_url": latest.form_url if latest else "",
                    "consent_ip": latest.ip if latest else "",
                    "consent_user_agent": latest.user_agent if latest else "",
                    "consent_text": latest.consent_text if latest else "",
                    "confirmed_at": (
                        latest.confirmed_at.isoformat() if latest and latest.confirmed_at else ""
                    ),
                }


@dataclass(frozen=True)
class SuppressionRecord:
    """Why nothing more goes to an address, since when, and who said so."""

    reason: str
    source: str
    detail: str
    created_at: datetime


def suppressions_of(conn: Connection, email: str) -> list[SuppressionRecord]:
    """The suppression list's records of EMAIL (as given, or erased: its hash)."""
    return [
        SuppressionRecord(*row)
        for row in conn.execute(
            select(
                Suppression.reason, Suppression.source, Suppression.detail, Suppression.created_at
            )
            .where(Suppression.email_key.in_([email_key(email), erased_key(email)]))
            .order_by(Suppression.created_at, Suppression.id)
        )
    ]


@dataclass(frozen=True)
class Shown:
    fields: dict[str, str]
    lists: list[str]  # "name" or "name (unsubscribed)"
    consents: list[ConsentRecord]
    suppressions: list[SuppressionRecord] = field(default_factory=list)


def show(store: Store, email: str) -> Shown | None:
    """One subscriber with their lists, consent records and suppression records."""
    with store.begin() as conn:
        sub = conn.execute(
            select(Subscriber).where(Subscriber.email_key == email_key(email))
        ).first()
        if sub is None:
            return None
        lists = [
            name if status == MembershipStatus.ACTIVE else f"{name} ({status})"
            for name, status in conn.execute(
                select(MailingList.name, Membership.status)
                .join(Membership, Membership.list_id == MailingList.id)
                .where(Membership.subscriber_id == sub.id)
                .order_by(MailingList.name)
            )
        ]
        consents = records(conn, [sub.id]).get(sub.id, [])
        suppressed = suppressions_of(conn, sub.email)
    fields = {
        "email": sub.email,
        "first_name": sub.first_name,
        "last_name": sub.last_name,
        "timezone": sub.timezone or "",
        "tags": sub.tags,
        "status": sub.status,
        "subscribed_at": f"{sub.subscribed_at:%Y-%m-%d %H:%M} UTC",
    }
    return Shown(fields, lists, consents, suppressed)


def export_csv(store: Store, out: TextIO, **filters: str | None) -> int:
    writer = csv.DictWriter(out, EXPORT_COLUMNS)
    writer.writeheader()
    n = 0
    for row in iter_subscribers(store, **filters):
        writer.writerow(row)
        n += 1
    return n


def count_members(store: Store, list_name: str) -> int:
    with store.begin() as c:
        lid = store.list_id(c, list_name)
        return int(
            c.scalar(
                select(func.count())
                .select_from(Membership)
                .join(Subscriber, Subscriber.id == Membership.subscriber_id)
                .where(
                    Membership.list_id == lid,
                    Membership.status == MembershipStatus.ACTIVE,
                    Subscriber.status == SubscriberStatus.ACTIVE,
                )
            )
            or 0
        )


__all__ = [
    "ImportResult",
    "StoreError",
    "add_subscriber",
    "count_members",
    "export_csv",
    "forget",
    "import_csv",
    "iter_subscribers",
    "unsubscribe",
]
