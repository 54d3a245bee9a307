"""Times and intervals as editors write them, and when each part is due.

``WHEN``: ``now``, an ISO date (``2026-12-01``) or date and time, with or without a zone
(without one, the configured default timezone). ``INTERVAL``: ``3d``, ``12h``, ``30m``,
``10s`` (or combinations such as ``1d12h``). ``--at HH:MM``: deliver at that hour in each
subscriber's own timezone.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import InputError

_INTERVAL = re.compile(r"(\d+)\s*([dhms])", re.I)
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def zone(name: str, field: str = "timezone") -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(
            field,
            f"unknown timezone {name!r}",
            hint="use a name like Europe/Paris or America/New_York",
        ) from None


def parse_interval(text: str, field: str = "--every") -> timedelta:
    cleaned = text.strip().lower().replace(" ", "")
    parts = _INTERVAL.findall(cleaned)
    if not parts or "".join(n + u for n, u in parts) != cleaned:
        raise InputError(field, f"expected an interval like 3d, 12h, 30m or 10s, got {text!r}")
    seconds = sum(int(n) * _UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise InputError(field, f"the interval must be longer than zero, got {text!r}")
    return timedelta(seconds=seconds)


def parse_when(text: str, default_tz: str, now: datetime, field: str = "--start") -> datetime:
    """An aware datetime in UTC."""
    value = text.strip()
    if value.lower() == "now":
        return now
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            field,
            f"expected 'now' or an ISO date/time like 2026-12-01 or "
            f"2026-12-01T09:00+01:00, got {text!r}",
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone(default_tz))
    return parsed.astimezone(UTC)


def parse_at(text: str | None) -> time | None:
    if not text:
        return None
    m = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", text.strip())
    if not m:
        raise InputError("--at", f"expected a time of day like 09:00, got {text!r}")
    return time(int(m.group(1)), int(m.group(2)))


#: how a series goes out: to everyone on the list at once, or to each reader from when they join
MODES = ("broadcast", "sequence")


def cadence(mode: str, every: str, at: str | None) -> tuple[timedelta, time | None]:
    """``--mode``, ``--every`` and ``--at`` checked together (``queue``, ``feeds add``):
    the interval between parts and the hour in each reader's timezone."""
    if mode not in MODES:
        raise InputError("--mode", f"expected broadcast or sequence, got {mode!r}")
    interval = parse_interval(every)
    send_at = parse_at(at)
    if send_at and interval.total_seconds() % 86400:
        raise InputError("--every", f"with --at, the interval must be whole days, got {every!r}")
    return interval, send_at


def to_naive_utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC).replace(tzinfo=None) if dt.tzinfo else dt


def as_utc(naive: datetime) -> datetime:
    return naive.replace(tzinfo=UTC)


def at_local(day: date, at: time, tz: ZoneInfo) -> datetime:
    """``day`` at ``at`` in ``tz``, as aware UTC (a time skipped by DST moves forward)."""
    local = datetime.combine(day, at, tzinfo=tz)
    # Normalise through UTC so a non-existent local time (spring forward) is valid.
    return local.astimezone(UTC)


def next_local(nominal: datetime, at: time, tz: ZoneInfo) -> datetime:
    """The first ``at`` o'clock in ``tz`` at or after ``nominal``."""
    local = nominal.astimezone(tz)
    candidate = at_local(local.date(), at, tz)
    if candidate < nominal:
        candidate = at_local(local.date() + timedelta(days=1), at, tz)
    return candidate


def broadcast_due(
    start: datetime,
    interval: timedelta,
    parts: int,
    at: time | None,
    tz: ZoneInfo,
    default_tz: ZoneInfo,
    now: datetime,
) -> list[datetime]:
    """When each part is due for a subscriber in ``tz`` (aware UTC datetimes).

    Without ``at``: start + (k-1) x interval for everyone. With ``at``: the calendar day of
    part k (in the default timezone) at that hour in the subscriber's timezone; where that is
    already past for a subscriber's zone at queue time, their whole schedule moves a day.
    """
    nominal = [start + i * interval for i in range(parts)]
    if at is None:
        return nominal
    days = [n.astimezone(default_tz).date() for n in nominal]
    due = [at_local(d, at, tz) for d in days]
    if due[0] < now:
        due = [at_local(d + timedelta(days=1), at, tz) for d in days]
    return due


def sequence_due(
    anchor: datetime, interval: timedelta, parts: int, at: time | None, tz: ZoneInfo
) -> list[datetime]:
    """Part 1 at the anchor (joining, or the start), each next one an interval later;
    with ``at``, each moved to the first such hour in the subscriber's zone."""
    nominal = [anchor + i * interval for i in range(parts)]
    if at is None:
        return nominal
    return [next_local(n, at, tz) for n in nominal]
