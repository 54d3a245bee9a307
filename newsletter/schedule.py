"""Queueing a series and the scheduler that sends it.

``queue_issue`` stores a snapshot of the rendered series (editing the issue later does not
change what goes out; ``requeue_issue`` does, on purpose) and writes a ledger row for every
(subscriber, part) with its due time. The ledger is the only queue: ``newsletter run``
keeps its own scheduler in memory, woken at the ledger's next due time, and any number of
``run`` and ``send-due`` processes share one database safely.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .config import Config
from .errors import InputError, NewsletterError, StoreError
from .pipeline import render_issue
from .render import RenderedPart
from .store import Store, ledger, utcnow
from .store.busy import DBAPIError, describe, is_busy
from .store.states import EventKind
from .timing import cadence, parse_when, to_naive_utc

log = logging.getLogger("newsletter.schedule")


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
    interval, send_at = cadence(mode, every, at)
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
            EventKind.QUEUED,
            f"{series.slug}: {len(rendered)} parts to {list_name!r} ({mode}, {rows} messages)",
            cid,
            conn=conn,
        )
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
        store.event(EventKind.REQUEUED, f"{series.slug}: parts {u or 'none'} updated", c.id)
    return updated, kept


# --- `newsletter run` --------------------------------------------------------------


class SenderStopped(NewsletterError):
    """The scheduler or the send loop failed: the process must exit so that systemd or a
    container restarts it, never stay up in silence."""


#: how often `run` looks for feeds due to be polled, in seconds
FEED_TICK = 60.0


def run_forever(
    store: Store,
    config: Config,
    sender: Any,
    stop: threading.Event,
    on_report: Any = None,
    on_event: Any = None,
) -> None:
    """`newsletter run`: an APScheduler of its own, in memory (the ledger is the only
    queue), wakes the sender at the ledger's next due time and at least every
    ``poll_seconds`` (for rows other processes add), sends the form's confirmation emails
    left in the queue (at the same pace), settles batches whose answer was lost from the
    providers' evidence (:class:`~newsletter.reconcile.Settler`), tells the editor what
    needs them (:mod:`newsletter.notice`), polls the blog's feeds when due, and forgets
    expired sign-up requests at start and every hour. Returns when ``stop`` is set; raises
    :class:`SenderStopped` when a job fails."""
    from apscheduler.events import EVENT_JOB_ERROR
    from apscheduler.schedulers.background import BackgroundScheduler

    poll = timedelta(seconds=config.sending.poll_seconds)
    failures: list[str] = []
    sched = BackgroundScheduler(
        timezone=UTC,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )

    busy_waits: list[float] = []  # the backoff while the database stays busy
    # APScheduler 3's shutdown(wait=True) holds the job stores' lock while it waits for the
    # running jobs; a job adding a job then would wait for it forever (`run` hung on SIGTERM
    # when the signal came as `wake` rescheduled itself). Jobs reschedule under this lock,
    # and only until the scheduler is closing.
    rescheduling = threading.Lock()
    closing = threading.Event()

    def wake_at(when: datetime) -> None:
        with rescheduling:
            if not closing.is_set():
                sched.add_job(wake, "date", run_date=when, id="wake", replace_existing=True)

    def wake() -> None:
        try:
            report = sender.send_due()
        except Exception as exc:
            if not is_busy(exc):
                raise
            # Another process's long write (an import): not a reason to stop sending.
            busy_waits.append(min(2.0 ** len(busy_waits), poll.total_seconds(), 30.0))
            log.warning("the database is busy; sending again in %.0f s", busy_waits[-1])
            if not stop.is_set():
                wake_at(datetime.now(UTC) + timedelta(seconds=busy_waits[-1]))
            return
        busy_waits.clear()
        if on_report:
            on_report(report)
        if stop.is_set():
            return
        try:
            nxt = ledger.next_due(store)
        except Exception as exc:
            if not is_busy(exc):
                raise
            nxt = None  # woken at the poll interval
        now = datetime.now(UTC)
        when = now + poll
        if nxt is not None:
            when = min(when, max(nxt.replace(tzinfo=UTC), now + timedelta(seconds=1)))
        wake_at(when)

    def beat() -> None:
        sender.heartbeat(force=True)

    from .reconcile import Settler

    settler = Settler(store, config)

    def settle() -> None:
        """Unknown batches settled from the providers' evidence; rows back in the queue
        wake the sender at once. A failure (a busy database, a provider that does not
        answer) is tried again at the next tick: it never stops sending."""
        try:
            done = settler.run()
        except Exception as exc:  # noqa: BLE001 - tried again at the next tick
            why = describe(exc) if isinstance(exc, DBAPIError) else f"{type(exc).__name__}: {exc}"
            log.warning("settling lost answers: %s", why)
            return
        if any(r.resend or r.same_key for r in done) and not stop.is_set():
            wake_at(datetime.now(UTC))
        for r in done:
            if (r.sent or r.resend or r.same_key) and on_event:
                on_event(
                    f"batch {r.batch_id} ({r.slug}): {r.sent} sent by the provider's evidence, "
                    f"{r.resend + r.same_key} to send again"
                )

    def tell() -> None:
        from .notice import tell_editor

        try:
            told = tell_editor(store, config)
        except Exception as exc:  # noqa: BLE001 - tried again at the next tick
            told = f"could not tell the editor: {type(exc).__name__}: {exc}"
        if told and on_event:
            on_event(told)

    from .providers import get_provider
    from .signup import ConfirmationMailer

    mailer = ConfirmationMailer(store, config, lambda: get_provider(config))

    def confirm() -> None:
        try:
            mailer.drain(stop)  # the form's confirmations, when the web process did not
        except Exception as exc:  # noqa: BLE001 - tried again at the next poll; never stops sending
            log.warning("confirmation emails: %s", describe(exc))

    def feeds() -> None:
        from .feeds import poll_quietly

        # its own deadline per fetch ([fetch] timeout); never raises, never stops sending
        poll_quietly(config, store, on_event or (lambda _m: None))

    def purge() -> None:
        from .signup import purge_expired

        try:
            purge_expired(store, config)  # form requests never confirmed: forgotten
        except Exception as exc:  # noqa: BLE001 - tried again in an hour; never stops sending
            log.warning("could not forget expired sign-up requests: %s", exc)

    def bounces() -> None:
        from .mailbox import check_bounces

        try:
            report = check_bounces(store, config)
        except Exception as exc:  # noqa: BLE001 - tried again next time; never stops sending
            log.warning("could not read bounces from the mailbox: %s", exc)
            if on_event:
                on_event(f"bounces: {exc}")
            return
        if report.read and on_event:
            on_event(f"bounces: {report.summary()}")

    def failed(event: Any) -> None:
        exc = event.exception
        why = describe(exc) if isinstance(exc, DBAPIError) else f"{type(exc).__name__}: {exc}"
        message = f"{event.job_id} failed: {why}"
        failures.append(" ".join(message.split()))
        try:
            store.event(EventKind.ERROR, failures[-1][:2000])
        except Exception:  # noqa: BLE001 - the database may be what failed; exit anyway
            log.debug("could not record the failure", exc_info=True)
        if on_event:
            on_event(failures[-1])
        stop.set()

    sched.add_listener(failed, EVENT_JOB_ERROR)
    sched.start()
    try:
        sched.add_job(wake, "date", run_date=datetime.now(UTC), id="wake")
        sched.add_job(
            beat, "interval", seconds=min(config.sending.poll_seconds, 10.0), id="heartbeat"
        )
        sched.add_job(
            purge, "interval", hours=1, id="purge-pending", next_run_time=datetime.now(UTC)
        )
        # the blog's feeds: each feed is polled when due (its own interval), looked at every
        # minute; in a thread of the scheduler's pool, so a slow feed never delays sending
        sched.add_job(
            feeds, "interval", seconds=FEED_TICK, id="feeds", next_run_time=datetime.now(UTC)
        )
        # Lost answers: looked at as the provider's log settles, then with backoff.
        after = config.sending.settle_after_interval.total_seconds()
        sched.add_job(settle, "interval", seconds=min(max(after / 2, 0.2), 60.0), id="settle")
        sched.add_job(
            tell, "interval", seconds=min(config.sending.poll_seconds, 60.0), id="tell-editor"
        )
        sched.add_job(
            confirm,
            "interval",
            seconds=min(config.sending.poll_seconds, 30.0),
            id="confirmations",
            next_run_time=datetime.now(UTC),
        )
        if config.bounces.imap is not None:  # DSNs and complaints from the mailbox
            sched.add_job(
                bounces,
                "interval",
                seconds=config.bounces.every_interval.total_seconds(),
                id="bounces",
                next_run_time=datetime.now(UTC),
            )
        stop.wait()
    finally:
        sender.stop.set()
        with rescheduling:
            closing.set()
        sched.shutdown(wait=True)
        mailer.close()
    if failures:
        raise SenderStopped(
            f"the sender stopped: {failures[0]}",
            hint="fix the cause and start it again; under systemd it restarts by itself",
        )
