"""Queueing a series and the scheduler that sends it.

``queue_issue`` stores a snapshot of the rendered series (editing the issue later does not
change what goes out; ``requeue_issue`` does, on purpose), writes a ledger row for every
(subscriber, part), and registers APScheduler jobs for the due times. Jobs are stored in
the same database (SQLAlchemyJobStore) and name their function by import path with plain
arguments, so they survive restarts.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .config import Config, load_config
from .errors import InputError, NewsletterError, StoreError
from .pipeline import render_issue
from .render import RenderedPart
from .store import Store, ledger, utcnow
from .timing import parse_at, parse_interval, parse_when, to_naive_utc, zone

log = logging.getLogger("newsletter.schedule")
MODES = ("broadcast", "sequence")
JOB_FUNC = "newsletter.schedule:send_due_job"
TICK_ID = "newsletter-tick"


def snapshots(parts: list[RenderedPart]) -> list[ledger.PartSnapshot]:
    return [
        ledger.PartSnapshot(
            r.index,
            r.part.subject,
            r.part.preheader,
            r.html,
            r.text,
            r.part.words,
            r.part.cta.url if r.part.cta else "",
        )
        for r in parts
    ]


@dataclass
class Queued:
    campaign_id: int
    slug: str
    list_name: str
    mode: str
    parts: int
    rows: int
    first_due: datetime | None
    warnings: list[str]


def queue_issue(
    store: Store,
    config: Config,
    issue_path: Path,
    *,
    list_name: str | None,
    start: str = "now",
    every: str = "3d",
    mode: str = "broadcast",
    at: str | None = None,
    now: datetime | None = None,
    force: bool = False,
    again: bool = False,
) -> Queued:
    now_aware = (now or utcnow()).replace(tzinfo=UTC)
    if mode not in MODES:
        raise InputError("--mode", f"expected broadcast or sequence, got {mode!r}")
    interval = parse_interval(every)
    send_at = parse_at(at)
    if send_at and interval.total_seconds() % 86400:
        raise InputError("--every", f"with --at, the interval must be whole days, got {every!r}")
    zone(config.sending.timezone, "[sending] timezone")
    start_at = parse_when(start, config.sending.timezone, now_aware)
    if start_at < now_aware - timedelta(minutes=1):
        raise InputError(
            "--start",
            f"{start!r} is in the past ({start_at:%Y-%m-%d %H:%M} UTC)",
            hint="use 'now' or a later time",
        )
    series, rendered = render_issue(issue_path, config)
    warnings: list[str] = []
    from .check import check_rendered

    report = check_rendered(series, rendered, config)
    if report.errors and not force:
        first = report.errors[0]
        raise NewsletterError(
            f"{issue_path}: {len(report.errors)} problem(s) would hurt delivery, first: "
            f"part {first.part}: {first.message}",
            hint=f"run 'newsletter check {issue_path}' for all of them, or queue with --force",
        )
    warnings.extend(f"part {w.part}: {w.message}" for w in report.warnings)
    from .issuefile import load_issue

    list_name = list_name or load_issue(issue_path).list_name
    if not list_name:
        raise InputError("--list", "no list given and the issue has no 'list' field")
    with store.begin() as conn:
        if not again:
            ledger.refuse_duplicate(store, conn, series.slug, list_name)
        cid = ledger.create_campaign(
            store,
            conn,
            slug=series.slug,
            title=series.title,
            issue_path=str(issue_path),
            list_name=list_name,
            mode=mode,
            start=start_at,
            interval=interval,
            at=send_at,
            default_tz=config.sending.timezone,
            parts=snapshots(rendered),
        )
        rows = ledger.schedule_current_members(conn, cid, to_naive_utc(now_aware))
        if rows == 0 and mode == "broadcast":
            raise StoreError(
                f"list {list_name!r} has nobody to send to",
                hint="import subscribers first, or use --mode sequence to send "
                "to people as they join",
            )
        due_times = ledger.due_times(conn, cid)
        first_due = due_times[0] if due_times else None
        store.event(
            "queued",
            f"{series.slug}: {len(rendered)} parts to {list_name!r} ({mode}, {rows} messages)",
            cid,
            conn=conn,
        )
    register_jobs(store.url, config, cid, due_times)
    return Queued(cid, series.slug, list_name, mode, len(rendered), rows, first_due, warnings)


def requeue_issue(
    store: Store, config: Config, issue_path: Path, include_sent: bool = False
) -> tuple[list[int], list[int]]:
    series, rendered = render_issue(issue_path, config)
    with store.begin() as conn:
        found = ledger.campaign_by_slug(conn, series.slug)
    updated: list[int] = []
    kept: list[int] = []
    for c in found:
        u, k = ledger.update_parts(store, c.id, snapshots(rendered), include_sent)
        updated, kept = u, k
        store.event("requeued", f"{series.slug}: parts {u or 'none'} updated", c.id)
    return updated, kept


# --- APScheduler ---------------------------------------------------------------------


def _scheduler(db_url: str, config: Config) -> Any:
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    grace = int(parse_interval(config.sending.grace, "[sending] grace").total_seconds())
    return BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=db_url, tablename="apscheduler_jobs")},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": grace},
        timezone=UTC,
    )


def register_jobs(db_url: str, config: Config, campaign_id: int, due_times: list[datetime]) -> None:
    """One date job per distinct due time, written straight to the job store in the
    database, for whichever `newsletter run` is (or will be) running."""
    from apscheduler.job import Job
    from apscheduler.jobstores.base import ConflictingIdError
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.triggers.date import DateTrigger

    sched = _scheduler(db_url, config)  # never started: it only lends its defaults
    jobstore = SQLAlchemyJobStore(url=db_url, tablename="apscheduler_jobs")
    jobstore.start(sched, "default")
    grace = int(parse_interval(config.sending.grace, "[sending] grace").total_seconds())
    config_path = str(config.path) if config.path else None
    try:
        for when in due_times:
            run_at = when.replace(tzinfo=UTC)
            job = Job(
                sched,
                id=f"c{campaign_id}-{when:%Y%m%dT%H%M%S}",
                func=JOB_FUNC,
                trigger=DateTrigger(run_at),
                executor="default",
                args=[config_path, str(config.root)],
                kwargs={},
                name="send_due_job",
                misfire_grace_time=grace,
                coalesce=True,
                max_instances=1,
                next_run_time=run_at,
            )
            try:
                jobstore.add_job(job)
            except ConflictingIdError:
                jobstore.update_job(job)
    finally:
        jobstore.shutdown()


_running: dict[str, Any] = {}


def send_due_job(config_path: str | None, root: str) -> None:
    """What a scheduled job runs: send everything due now (by import path, plain args)."""
    sender = _running.get("sender")
    if sender is None:  # run outside `newsletter run` (e.g. a test scheduler)
        from .providers import get_provider
        from .sender import Sender

        config = (
            load_config(config_path) if config_path else load_config(Path(root) / "newsletter.toml")
        )
        store = Store(config.db_url)
        sender = Sender(store, get_provider(config), config)
    with _running.setdefault("lock", threading.Lock()):
        report = sender.send_due()
    if report.sent or report.failed or report.missed:
        log.info("sent: %s", report.summary())
    callback = _running.get("on_report")
    if callback:
        callback(report)


def run_forever(
    store: Store,
    config: Config,
    sender: Any,
    stop: threading.Event,
    on_report: Any = None,
    on_event: Any = None,
) -> None:
    """`newsletter run`: the scheduler and a periodic tick until ``stop`` is set."""
    from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED

    _running.update(sender=sender, on_report=on_report)
    sched = _scheduler(store.url, config)

    def listener(event: Any) -> None:
        if event.code == EVENT_JOB_MISSED:
            when = event.scheduled_run_time.strftime("%Y-%m-%d %H:%M")
            message = (
                f"scheduled send {event.job_id} at {when} UTC was missed past the grace window"
            )
            store.event("missed", message)
        else:
            message = f"job {event.job_id} failed: {event.exception}"
            store.event("error", message)
        if on_event:
            on_event(message)

    sched.add_listener(listener, EVENT_JOB_MISSED | EVENT_JOB_ERROR)
    config_path = str(config.path) if config.path else None
    sched.start()
    try:
        sched.add_job(
            JOB_FUNC,
            "interval",
            seconds=config.sending.poll_seconds,
            args=[config_path, str(config.root)],
            id=TICK_ID,
            replace_existing=True,
            next_run_time=datetime.now(UTC),
        )
        stop.wait()
    finally:
        sender.stop.set()
        sched.shutdown(wait=True)
        _running.clear()
