"""Subscribers written in bulk: an import's rows, chunk by chunk, and the INSERT helpers
(many rows in one statement, ON CONFLICT DO NOTHING) the rest of the store uses.

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
import functools
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import (
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    delete,
    insert,
    literal_column,
    select,
    table,
    update,
)

from ..errors import InputError
from . import Store, email_key, erased_key, utcnow
from .busy import patient
from .consent import JoinMethod
from .csvread import ImportResult, Row
from .driver import insert_ignore
from .models import Consent, Membership, Subscriber, Suppression, new_token_keys
from .states import MembershipStatus, SubscriberStatus, SuppressionReason

T = TypeVar("T")

#: rows read, checked and written at a time (one transaction each): memory stays the same
#: whatever the file's size, and on SQLite other writers wait at most one chunk's write
#: (about 30 ms for 1,000 rows), then get in while the next chunk is read from the file
CHUNK = 1000
#: on PostgreSQL writers do not lock each other out: larger chunks, fewer round trips
CHUNK_POSTGRES = 5000


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
