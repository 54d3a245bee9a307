"""What ``newsletter status`` shows, read in plain SQL over a DB-API connection.

The queued series part by part, the batches whose answer was lost, the senders last alive,
the recent events and the issues from feeds that wait for the editor. The same queries
serve the library (``ledger.status``, ``ledger.unknown_batches``, ``ledger.senders``,
``Store.events``, ``feeds.waiting_issues``, through :meth:`Store.dbapi`) and the CLI, which
opens an up-to-date database without SQLAlchemy (:func:`.direct.open_current`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..errors import StoreError
from ..feeds.state import Waiting
from .direct import Db, when
from .states import CAMPAIGN_QUEUED, OUTCOMES, BatchState, DeliveryState, EntryState

STATES = tuple(DeliveryState)
#: what the providers' events say each part did, counted per part (part_counts)
EVENTS = OUTCOMES
#: the series that may still send (the others are done or cancelled)
QUEUED = CAMPAIGN_QUEUED


@dataclass
class PartStatus:
    campaign_id: int
    slug: str
    title: str
    list_name: str
    mode: str
    status: str
    part: int
    subject: str
    counts: dict[str, int]
    next_due: datetime | None


@dataclass(frozen=True)
class UnknownBatch:
    id: int
    slug: str
    part: int
    provider: str
    created_at: datetime
    size: int
    unknown: int
    error: str


@dataclass(frozen=True)
class SenderSeen:
    """A sender process (`run` or `send-due`) and when it was last alive."""

    token: str
    host: str
    pid: int
    command: str
    started_at: datetime
    last_seen: datetime


@dataclass(frozen=True)
class LoggedEvent:
    """One line of the event log (missed, paused, unknown, error ...)."""

    id: int
    at: datetime
    campaign_id: int | None
    kind: str
    message: str


def no_queued_series(slug: str, queued: list[str]) -> StoreError:
    """The error for an issue that has no queued series, naming those that are queued."""
    return StoreError(
        f"no queued series for issue {slug!r}",
        hint=("queued: " + ", ".join(queued))
        if queued
        else "queue one with 'newsletter queue ISSUE --list NAME'",
    )


def among(name: str, values: Sequence[object]) -> tuple[str, dict[str, object]]:
    """The parameters of ``IN (...)``: ``%(name0)s, %(name1)s ...`` and their values."""
    params = {f"{name}{i}": v for i, v in enumerate(values)}
    return ", ".join(f"%({k})s" for k in params), params


def _at(value: object) -> datetime:
    found = when(value)
    assert found is not None, "a NOT NULL DateTime column"
    return found


class Report:
    """The reads of ``newsletter status`` over one DB-API connection."""

    def __init__(self, db: Db) -> None:
        self.db = db

    def queued_slugs(self) -> list[str]:
        """The issues with a series that may still send, sorted."""
        marks, params = among("status", QUEUED)
        rows = self.db.rows(
            f"SELECT DISTINCT slug FROM campaigns WHERE status IN ({marks}) ORDER BY slug", params
        )
        return [r[0] for r in rows]

    def parts(self, slug: str | None = None) -> list[PartStatus]:
        """Every part of every series (or of the series of one issue), with its deliveries
        counted by state, when its next message is due and its subject. An issue with no
        series at all is an error that names the queued ones."""
        campaigns = self.db.rows(
            "SELECT c.id, c.slug, c.title, l.name, c.mode, c.status, c.parts"
            " FROM campaigns c JOIN lists l ON l.id = c.list_id"
            + (" WHERE c.slug = %(slug)s" if slug else "")
            + " ORDER BY c.id",
            {"slug": slug},
        )
        if not campaigns:
            if slug:
                raise no_queued_series(slug, self.queued_slugs())
            return []
        # The counts are counters kept by the database (part_counts, migration 0010): read
        # at any list size. When the next message of each part is due: the scheduled rows
        # only, through the (state, due_at) index.
        marks, params = among("campaign", [c[0] for c in campaigns])
        counts: dict[tuple[int, int], dict[str, int]] = {}
        nexts: dict[tuple[int, int], datetime | None] = {}
        names = (*STATES, *EVENTS)
        lower: dict[tuple[int, int], Any] = {}
        for cid, part, low, *ns in self.db.rows(
            f"SELECT campaign_id, part, next_due, {', '.join(names)} FROM part_counts"
            + (f" WHERE campaign_id IN ({marks})" if slug else ""),
            params,
        ):
            counts[(cid, part)] = {k: int(n or 0) for k, n in zip(names, ns, strict=True)}
            if counts[(cid, part)][DeliveryState.SCHEDULED]:
                lower[(cid, part)] = low
        for (cid, part), low in lower.items():
            nexts[(cid, part)] = self._next_due(cid, part, low)
        subjects = {
            (cid, part): subject
            for cid, part, subject in self.db.rows(
                "SELECT campaign_id, part, subject FROM campaign_parts"
            )
        }
        return [
            PartStatus(
                cid,
                cslug,
                title,
                list_name,
                mode,
                status,
                k,
                subjects.get((cid, k), ""),
                {s: counts.get((cid, k), {}).get(s, 0) for s in (*STATES, *EVENTS)},
                nexts.get((cid, k)),
            )
            for cid, cslug, title, list_name, mode, status, n_parts in campaigns
            for k in range(1, n_parts + 1)
        ]

    def _next_due(self, cid: int, part: int, low: Any) -> datetime | None:
        """When a part's next message is due: the lower bound the counters keep, when a
        scheduled row is still due then (one probe of the (state, due_at) index), else the
        earliest of its scheduled rows."""
        where = " FROM deliveries WHERE state = %(s)s AND campaign_id = %(c)s AND part = %(p)s"
        params = {"s": DeliveryState.SCHEDULED.value, "c": cid, "p": part, "low": low}
        if low is not None and self.db.rows(
            "SELECT 1" + where + " AND due_at = %(low)s LIMIT 1", params
        ):
            return when(low)
        rows = self.db.rows("SELECT MIN(due_at)" + where, params)
        return when(rows[0][0]) if rows and rows[0][0] is not None else None

    def unknown_batches(self, slug: str | None = None) -> list[UnknownBatch]:
        """Batches whose answer was lost, oldest first, with their rows still unknown."""
        rows = self.db.rows(
            "SELECT b.id, c.slug, b.part, b.provider, b.created_at, b.size, (SELECT COUNT(*)"
            " FROM deliveries d WHERE d.batch_id = b.id AND d.state = %(row_unknown)s),"
            " b.error FROM batches b JOIN campaigns c ON c.id = b.campaign_id"
            " WHERE b.state = %(batch_unknown)s"
            + (" AND c.slug = %(slug)s" if slug else "")
            + " ORDER BY b.id",
            {
                "row_unknown": DeliveryState.UNKNOWN.value,
                "batch_unknown": BatchState.UNKNOWN.value,
                "slug": slug,
            },
        )
        return [
            UnknownBatch(bid, bslug, part, provider, _at(at), size, int(n or 0), error or "")
            for bid, bslug, part, provider, at, size, n, error in rows
        ]

    def senders(self, limit: int = 20) -> list[SenderSeen]:
        """The senders seen most recently."""
        rows = self.db.rows(
            "SELECT token, host, pid, command, started_at, last_seen FROM senders"
            " ORDER BY last_seen DESC LIMIT %(limit)s",
            {"limit": limit},
        )
        return [
            SenderSeen(token, host, pid, command, _at(started), _at(seen))
            for token, host, pid, command, started, seen in rows
        ]

    def events(self, limit: int = 20) -> list[LoggedEvent]:
        """The newest events first."""
        rows = self.db.rows(
            "SELECT id, at, campaign_id, kind, message FROM events"
            " ORDER BY id DESC LIMIT %(limit)s",
            {"limit": limit},
        )
        return [LoggedEvent(i, _at(at), cid, kind, message) for i, at, cid, kind, message in rows]

    def waiting(self) -> list[Waiting]:
        """Issues from feeds that wait for the editor (manual approval, or held by checks)."""
        marks, params = among("state", (EntryState.WAITING.value, EntryState.HELD.value))
        rows = self.db.rows(
            "SELECT e.issue_path, e.title, e.state, e.detail, e.seen_at, f.url"
            " FROM feed_entries e JOIN feeds f ON f.id = e.feed_id"
            f" WHERE e.state IN ({marks}) ORDER BY e.id",
            params,
        )
        return [
            Waiting(
                path=path or "",
                title=title,
                state=EntryState(state),
                feed_url=url,
                detail=detail,
                seen_at=_at(seen),
            )
            for path, title, state, detail, seen, url in rows
        ]


__all__ = [
    "QUEUED",
    "STATES",
    "LoggedEvent",
    "PartStatus",
    "Report",
    "SenderSeen",
    "UnknownBatch",
    "no_queued_series",
]
