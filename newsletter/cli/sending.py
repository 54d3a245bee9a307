"""Queueing and sending: queue, requeue, status, pause, resume, cancel, run, send-due."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..errors import StoreError
from ..store.states import OUTCOMES, CampaignStatus, DeliveryState, EventKind
from .common import Context, FilePath, LazyChoice, console, pass_ctx

if TYPE_CHECKING:
    from ..sender import SendReport


def _modes() -> tuple[str, ...]:
    from ..schedule import MODES

    return MODES


#: what each part did, counted from the providers' events
PART_EVENTS = OUTCOMES


#: the events 'status' shows under its table (what needs the editor)
SHOWN_EVENTS = (
    EventKind.MISSED,
    EventKind.PAUSED,
    EventKind.HALTED,
    EventKind.UNKNOWN,
    EventKind.DECISION,
    EventKind.RATE,
    EventKind.ERROR,
)


def _slug(issue: str) -> str:
    return Path(issue).stem


def _when(dt: datetime | None) -> str:
    return f"{dt:%Y-%m-%d %H:%M} UTC" if dt else "-"


@click.command("queue")
@click.argument("issue", type=FilePath())
@click.option("--list", "list_name", help="The subscriber list (default: the issue's 'list').")
@click.option(
    "--start",
    default="now",
    show_default=True,
    help="When part 1 goes out: now, 2026-12-01, 2026-12-01T09:00+01:00 ...",
)
@click.option(
    "--every", default="3d", show_default=True, help="Time between parts: 3d, 12h, 30m, 10s."
)
@click.option(
    "--mode",
    type=LazyChoice(_modes),
    default="broadcast",
    show_default=True,
    help="broadcast: everyone on the list now; sequence: every subscriber from "
    "part 1, including people who join later.",
)
@click.option("--at", "at", help="Deliver at this hour (HH:MM) in each subscriber's timezone.")
@click.option("--force", is_flag=True, help="Queue even if 'newsletter check' finds errors.")
@click.option(
    "--again",
    is_flag=True,
    help="Queue a series that is already queued for this list a second time.",
)
@pass_ctx
def queue_cmd(
    ctx: Context,
    issue: Path,
    list_name: str | None,
    start: str,
    every: str,
    mode: str,
    at: str | None,
    force: bool,
    again: bool,
) -> None:
    """Queue ISSUE's series for a list; a snapshot of the rendered parts is stored."""
    from ..check import require_go_live
    from ..schedule import queue_issue

    ready = require_go_live(ctx.config)  # a real provider: public https base URL, own sender

    q = queue_issue(
        ctx.store,
        ctx.config,
        issue,
        list_name=list_name,
        start=start,
        every=every,
        mode=mode,
        at=at,
        force=force,
        again=again,
    )
    out = console()
    for w in [f.message for f in ready] + q.warnings:
        out.print(f"  warning: {w}")
    scheduled = (
        f"{q.rows} messages scheduled, first at {_when(q.first_due)}."
        if q.rows
        # a sequence for an empty list: nothing is due yet, and that is expected
        else f"nobody on list {q.list_name!r} yet: each subscriber who joins gets part 1 "
        "when they join."
    )
    out.print(f"Queued {q.slug!r}: {q.parts} parts to list {q.list_name!r} ({q.mode}), {scheduled}")
    out.print(
        "Next: 'newsletter run' (or 'newsletter send-due' from cron) sends "
        + ("them" if q.rows else "each one's parts as they fall due")
        + f"; 'newsletter status {q.slug}' shows progress."
    )


@click.command("requeue")
@click.argument("issue", type=FilePath())
@click.option(
    "--include-sent", is_flag=True, help="Also update parts some subscribers already received."
)
@pass_ctx
def requeue_cmd(ctx: Context, issue: Path, include_sent: bool) -> None:
    """Update a queued series from the edited ISSUE file (parts not sent yet)."""
    from ..schedule import requeue_issue

    updated, kept = requeue_issue(ctx.store, ctx.config, issue, include_sent)
    console().print(
        f"Updated parts: {', '.join(map(str, updated)) or 'none'}."
        + (f" Kept (already sent to some): {', '.join(map(str, kept))}." if kept else "")
    )


@click.command("status")
@click.argument("issue", required=False)
@pass_ctx
def status_cmd(ctx: Context, issue: str | None) -> None:
    """Show each queued series and part: scheduled, sent, failed, skipped, next send."""
    from rich.table import Table

    from .feeds import print_waiting

    with ctx.report() as report:
        slug = _slug(issue) if issue else None
        rows = report.parts(slug)
        print_waiting(report.waiting())  # issues from feeds that wait for 'newsletter approve'
        if not rows:
            console().print(
                "Nothing queued yet. Queue an issue with 'newsletter queue ISSUE --list NAME'."
            )
            return
        batches = report.unknown_batches(slug)
        senders = report.senders(10)
        events = report.events(8)
    out = console()
    table = Table()
    for col in (
        "Issue",
        "List",
        "Mode",
        "State",
        "Part",
        "Scheduled",
        "Sent",
        "Failed",
        "Skipped",
        "Missed",
        "Unknown",
        "Next send",
    ):
        table.add_column(col)
    for r in rows:
        c = r.counts
        table.add_row(
            r.slug,
            r.list_name,
            r.mode,
            r.status,
            str(r.part),
            str(c[DeliveryState.SCHEDULED] + c[DeliveryState.SENDING]),
            str(c[DeliveryState.SENT]),
            str(c[DeliveryState.FAILED]),
            str(c[DeliveryState.SKIPPED]),
            str(c[DeliveryState.MISSED]),
            str(c[DeliveryState.UNKNOWN]),
            _when(r.next_due),
        )
    out.print(table)
    for r in rows:  # what each part did, from the providers' events (counters)
        did = [f"{r.counts.get(k, 0)} {k}" for k in PART_EVENTS]
        if any(r.counts.get(k, 0) for k in PART_EVENTS):
            out.print(f"  {r.slug} part {r.part}: " + ", ".join(did))
    if batches:
        out.print(
            f"{len(batches)} batch(es) are 'unknown': each was one request whose answer was "
            "lost, so its messages may or may not have gone out."
        )
        for b in batches:
            out.print(
                f"  batch {b.id}: {b.slug} part {b.part}, {b.unknown} messages via "
                f"{b.provider}, sent {_when(b.created_at)}"
            )
        out.print(
            "'newsletter run' settles them from the provider's evidence by itself "
            "('newsletter reconcile' does it now); a batch with no evidence within "
            f"{ctx.config.sending.settle_within} is yours to decide: check the provider's "
            "log, then 'newsletter resume ISSUE --batch ID --were-sent' or '--resend'."
        )
    loose = sum(r.counts[DeliveryState.UNKNOWN] for r in rows) - sum(b.unknown for b in batches)
    if loose > 0:
        out.print(
            f"{loose} messages are 'unknown' outside any batch: check the provider's log, "
            "then 'newsletter resume ISSUE --unknown-were-sent' or '--resend-unknown'."
        )
    if senders:
        out.print("Senders (last alive):")
        for s in senders:
            out.print(
                f"  {s.command} on {s.host} (pid {s.pid}): last alive {_when(s.last_seen)}, "
                f"started {_when(s.started_at)}"
            )
    for e in reversed(events):
        if e.kind in SHOWN_EVENTS:
            out.print(f"  {e.at:%Y-%m-%d %H:%M} {e.kind}: {e.message}")


def _state_command(name: str, state: CampaignStatus, doc: str) -> click.Command:
    @click.command(name, help=doc)
    @click.argument("issue")
    @pass_ctx
    def cmd(ctx: Context, issue: str) -> None:
        from ..store import ledger

        ledger.set_status(ctx.store, _slug(issue), state)
        console().print(f"{_slug(issue)}: {state}.")

    return cmd


pause_cmd = _state_command(
    "pause",
    CampaignStatus.PAUSED,
    "Pause a queued series; nothing more goes out until 'newsletter resume'.",
)
cancel_cmd = _state_command(
    "cancel",
    CampaignStatus.CANCELLED,
    "Cancel a queued series: parts not sent yet are skipped for good.",
)


@click.command("resume")
@click.argument("issue")
@click.option("--send-missed", is_flag=True, help="Send now what missed the grace window.")
@click.option(
    "--unknown-were-sent",
    is_flag=True,
    help="Mark 'unknown' messages as sent (the provider's log shows them).",
)
@click.option(
    "--resend-unknown",
    is_flag=True,
    help="Send 'unknown' messages again (the provider's log does not show them).",
)
@click.option(
    "--batch",
    "batch_id",
    type=int,
    help="Settle one unknown batch ('newsletter status' lists them).",
)
@click.option("--were-sent", is_flag=True, help="With --batch: the provider's log shows it.")
@click.option("--resend", is_flag=True, help="With --batch: the provider's log does not show it.")
@pass_ctx
def resume_cmd(
    ctx: Context,
    issue: str,
    send_missed: bool,
    unknown_were_sent: bool,
    resend_unknown: bool,
    batch_id: int | None,
    were_sent: bool,
    resend: bool,
) -> None:
    """Resume a paused series, and settle missed or unknown messages."""
    from ..store import ledger, utcnow

    slug = _slug(issue)
    store = ctx.store
    out = console()
    if unknown_were_sent and resend_unknown:
        raise click.UsageError("choose one of --unknown-were-sent and --resend-unknown")
    if batch_id is not None:
        if were_sent == resend:
            raise click.UsageError("with --batch, choose one of --were-sent and --resend")
        if were_sent:
            n, _ = ledger.settle(store, batch_id, sent=None, slug=slug)
            out.print(f"batch {batch_id}: {n} messages marked sent.")
        else:
            n = ledger.resend(store, batch_id, slug=slug)
            out.print(f"batch {batch_id}: {n} messages scheduled again, due now.")
        return
    if were_sent or resend:
        raise click.UsageError("--were-sent and --resend settle one batch: add --batch ID")
    settling = send_missed or unknown_were_sent or resend_unknown
    try:
        ledger.set_status(store, slug, CampaignStatus.ACTIVE)
        out.print(f"{slug}: resumed.")
    except StoreError:
        if not settling:  # nothing paused and nothing to settle: say so
            raise
    if send_missed:
        out.print(f"{ledger.send_missed_now(store, slug, utcnow())} missed messages due now.")
    if unknown_were_sent:
        n = ledger.resolve_unknown(store, slug, DeliveryState.SENT)
        out.print(f"{n} unknown messages marked sent.")
    if resend_unknown:
        n = ledger.resolve_unknown(store, slug, DeliveryState.SCHEDULED)
        out.print(f"{n} unknown messages scheduled again.")


@click.command("reconcile")
@click.argument("issue", required=False)
@click.option(
    "--min-age",
    default="5m",
    show_default=True,
    help="Leave batches younger than this (a provider's log can lag): 5m, 1h, 0s ...",
)
@pass_ctx
def reconcile_cmd(ctx: Context, issue: str | None, min_age: str) -> None:
    """Settle unknown batches from the providers' evidence now (what 'run' does by itself):
    Postmark's and Mailgun's logs, SendGrid's and SES's webhook events, Resend's key."""
    from ..reconcile import reconcile
    from ..timing import parse_interval

    zero = min_age.strip().rstrip("smhd") in ("0", "")
    age = timedelta(0) if zero else parse_interval(min_age, "--min-age")
    results = reconcile(ctx.store, ctx.config, _slug(issue) if issue else None, age)
    out = console()
    if not results:
        out.print("No unknown batches: nothing to reconcile.")
        return
    for r in results:
        if r.problem:
            out.print(
                f"batch {r.batch_id} ({r.slug}, {r.size} via {r.provider}): not settled: "
                f"{r.problem}"
            )
        elif r.same_key:
            out.print(
                f"batch {r.batch_id} ({r.slug}, {r.size} via {r.provider}): {r.same_key} to "
                "send again under the same idempotency key (the provider never sends twice)"
            )
        else:
            out.print(
                f"batch {r.batch_id} ({r.slug}, {r.size} via {r.provider}): {r.sent} in the "
                f"provider's log, marked sent; {r.resend} not there, scheduled again"
            )
    if any(r.problem for r in results):
        raise SystemExit(1)


@click.command("send-due")
@pass_ctx
def send_due_cmd(ctx: Context) -> None:
    """Send what is due now while polling the feeds that are due, then what they queued, and
    exit (for cron or a timer)."""
    from ..check import require_go_live
    from ..providers import get_provider
    from ..sender import Sender
    from ..signup import drain_confirmations, purge_expired
    from .feeds import poll_feeds

    require_go_live(ctx.config)  # queued on the outbox, then switched: still not ready
    purge_expired(ctx.store, ctx.config)  # form requests never confirmed
    provider = get_provider(ctx.config)
    sender = Sender(ctx.store, provider, ctx.config, command="send-due")

    def on_signal(signum: int, _frame: Any) -> None:
        sender.stop.set()  # the request in flight is finished and recorded first

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # The feeds are polled beside the sending: a slow or dripping feed never delays what
    # is due; a post it queued is sent once the poll is done. A feed's failure is printed.
    queued = threading.Event()
    poller = threading.Thread(
        target=lambda: queued.set() if poll_feeds(ctx) else None,
        name="newsletter-feeds",
        daemon=True,
    )
    poller.start()
    try:
        report = sender.send_due()
        poller.join()
        if queued.is_set() and not sender.stop.is_set():
            more = sender.send_due()
            for name in ("sent", "failed", "skipped", "retrying", "unknown", "missed"):
                setattr(report, name, getattr(report, name) + getattr(more, name))
            report.paused += more.paused
    finally:
        provider.close()
    _print_report(report)
    drain_confirmations(ctx.store, ctx.config, sender.stop)  # the form's, when serve did not


def _print_report(report: SendReport) -> None:
    out = console()
    out.print(f"Done: {report.summary()}.")
    for slug in report.paused:
        out.print(f"  paused {slug}: too many errors; see 'newsletter status {slug}'.")
    if report.missed:
        out.print("  some messages missed the grace window; see 'newsletter status'.")


def _no_job_tracebacks(record: logging.LogRecord) -> bool:
    """APScheduler's records, less the traceback of a failed job (run says it in one line)."""
    return record.exc_info is None


@click.command("run")
@pass_ctx
def run_cmd(ctx: Context) -> None:
    """Run the scheduler and sender until stopped (Ctrl-C or SIGTERM stop it cleanly)."""
    from ..check import require_go_live
    from ..providers import get_provider
    from ..schedule import run_forever
    from ..sender import Sender, SendReport
    from ..store import ledger, utcnow

    config, store = ctx.config, ctx.store
    ctx.say_note()
    require_go_live(config)
    provider = get_provider(config)
    stop = threading.Event()
    sender = Sender(store, provider, config, command="run")

    def on_signal(signum: int, _frame: Any) -> None:
        stop.set()
        sender.stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    out = console()
    totals = SendReport()

    # A failed job stops the process with a one-line error (run_forever): APScheduler's own
    # traceback of it is not for the editor; its warnings (a missed run) are logged.
    logging.getLogger("apscheduler.executors.default").addFilter(_no_job_tracebacks)
    # On a terminal, a status line shows progress as batches go out and what is next.
    status = out.status("Waiting for due messages…") if out.is_terminal else None

    def show_progress(report: SendReport) -> None:
        if status is not None:
            nxt = ledger.next_due(store)
            status.update(
                f"{totals.sent + report.sent} sent so far; next: "
                f"{_when(nxt) if nxt else 'nothing scheduled'}"
            )

    sender.progress = show_progress

    def on_report(report: SendReport) -> None:
        for name in ("sent", "failed", "skipped", "missed", "unknown"):
            setattr(totals, name, getattr(totals, name) + getattr(report, name))
        if report.sent or report.failed or report.missed or report.unknown:
            out.print(f"{utcnow():%H:%M:%S} {report.summary()} (total {totals.sent} sent)")
        show_progress(SendReport())

    out.print(
        f"Sending with '{provider.name}' every {config.sending.poll_seconds:g}s; Ctrl-C stops."
    )
    sys.stdout.flush()
    if status is not None:
        status.start()
    try:
        run_forever(
            store, config, sender, stop, on_report=on_report, on_event=lambda m: out.print(f"  {m}")
        )
    finally:
        if status is not None:
            status.stop()
        provider.close()
    out.print(f"Stopped cleanly: {totals.summary()}.")


def register(cli: click.Group) -> None:
    for cmd in (
        queue_cmd,
        requeue_cmd,
        status_cmd,
        pause_cmd,
        resume_cmd,
        cancel_cmd,
        send_due_cmd,
        run_cmd,
        reconcile_cmd,
    ):
        cli.add_command(cmd)
