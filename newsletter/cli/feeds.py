"""Commands on feeds: feeds add, list, remove, check; approve."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..store.states import Approve
from .common import Context, FilePath, LazyChoice, console, pass_ctx

if TYPE_CHECKING:
    from .. import feeds as lib


def _modes() -> tuple[str, ...]:
    from ..schedule import MODES

    return MODES


def _approvals() -> list[str]:
    return [a.value for a in Approve]


def _when(dt: datetime | None) -> str:
    return f"{dt:%Y-%m-%d %H:%M} UTC" if dt else "-"


def _print_result(result: lib.FeedResult) -> None:
    from .. import feeds as lib

    out = console()
    if result.fetch is lib.Fetch.NOT_MODIFIED:
        out.print(f"{result.url}: not modified since the last poll, nothing new.")
    elif result.fetch is lib.Fetch.NEW and not result.issues and not result.duplicates:
        out.print(f"{result.url}: nothing new.")
    for issue in result.issues:
        out.print(f"{result.url}: new post {issue.title!r} -> {issue.path}")
        if issue.state is lib.EntryState.WAITING:
            out.print(
                f"  waiting for your approval ({issue.detail}): 'newsletter preview "
                f"{issue.path}', then 'newsletter approve {issue.path}'"
            )
        elif issue.state is lib.EntryState.HELD:
            out.print(f"  held: {issue.detail}; fix it, then 'newsletter approve {issue.path}'")
        else:
            out.print(f"  queued: {issue.detail}")
    for duplicate in result.duplicates:
        out.print(f"{result.url}: new post {duplicate}: the same post, imported once")
    for error in result.errors:
        click.secho(f"error: {error}", fg="red", err=True)


def _posts(n: int) -> str:
    return f"{n} post" + ("" if n == 1 else "s")


@click.group("feeds")
def feeds_group() -> None:
    """Turn each new post of a blog's RSS or Atom feed into a series."""


@feeds_group.command("add")
@click.argument("url")
@click.option("--list", "list_name", required=True, help="The subscriber list new posts go to.")
@click.option(
    "--mode",
    type=LazyChoice(_modes),
    default="sequence",
    show_default=True,
    help="As for 'newsletter queue'.",
)
@click.option("--every", default="3d", show_default=True, help="Time between parts.")
@click.option("--at", "at", help="Deliver at this hour (HH:MM) in each subscriber's timezone.")
@click.option(
    "--approve",
    type=LazyChoice(_approvals),
    default=Approve.MANUAL.value,
    show_default=True,
    help="manual: each new post waits for 'newsletter approve'; auto: queued when its checks pass.",
)
@click.option(
    "--backfill",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Also import the N newest posts already in the feed.",
)
@click.option("--poll", help="How often to fetch the feed (default: [feeds] poll, 1h).")
@pass_ctx
def add_cmd(
    ctx: Context,
    url: str,
    list_name: str,
    mode: str,
    every: str,
    at: str | None,
    approve: str,
    backfill: int,
    poll: str | None,
) -> None:
    """Add the feed at URL; posts already in it are not imported (unless --backfill)."""
    from .. import feeds as lib

    feed, result = lib.add_feed(
        ctx.config,
        ctx.store,
        url,
        list_name=list_name,
        mode=mode,
        every=every,
        at=at,
        approve=approve,
        backfill=backfill,
        poll=poll,
    )
    console().print(
        f"Added feed {feed.id}: {feed.title or feed.url} -> list {feed.list_name!r} "
        f"({feed.schedule}, approve {feed.approve}); {_posts(result.old)} already there left "
        "out; "
        f"polled every {feed.poll_seconds // 60} min by 'newsletter run' and 'send-due'."
    )
    _print_result(result)


@feeds_group.command("list")
@pass_ctx
def list_cmd(ctx: Context) -> None:
    """Show the feeds, their schedule and how their last poll went."""
    from rich.table import Table

    from .. import feeds as lib

    found = lib.list_feeds(ctx.existing_store)
    out = console()
    if not found:
        out.print("No feeds yet. Add one with 'newsletter feeds add URL --list NAME'.")
        return

    table = Table()
    for col in ("#", "Feed", "List", "Schedule", "Approve", "Last poll", "Next poll", "Problem"):
        table.add_column(col, overflow="fold")
    for f in found:
        table.add_row(
            str(f.id),
            f"{f.title}\n{f.url}" if f.title else f.url,
            f.list_name,
            f.schedule,
            f.approve.value,
            _when(f.polled_at),
            _when(f.next_poll_at),
            f.last_error or "",
        )
    out.print(table)


@feeds_group.command("remove")
@click.argument("feed")
@pass_ctx
def remove_cmd(ctx: Context, feed: str) -> None:
    """Stop following FEED (its number in 'feeds list', or its URL); issue files stay."""
    from .. import feeds as lib

    gone = lib.remove_feed(ctx.store, feed)
    console().print(f"Removed feed {gone.id}: {gone.url}.")


@feeds_group.command("check")
@click.argument("feed", required=False)
@pass_ctx
def check_cmd(ctx: Context, feed: str | None) -> None:
    """Fetch every feed (or FEED) now and say what is new (exit code 1 on errors)."""
    from .. import feeds as lib

    report = lib.check_feeds(ctx.config, ctx.store, feed)
    if not report.feeds:
        console().print("No feeds yet. Add one with 'newsletter feeds add URL --list NAME'.")
    for result in report.feeds:
        _print_result(result)
    if report.errors:
        raise SystemExit(1)


@click.command("approve")
@click.argument("issue", type=FilePath())
@click.option("--force", is_flag=True, help="Queue even if 'newsletter check' finds errors.")
@pass_ctx
def approve_cmd(ctx: Context, issue: Path, force: bool) -> None:
    """Check ISSUE (a new post from a feed, edited or not) and queue it with its feed's list
    and schedule."""
    from .. import feeds as lib
    from ..check import require_go_live

    require_go_live(ctx.config)  # as `queue`: a real provider must be ready to go live
    q = lib.approve_issue(ctx.config, ctx.store, issue, force=force)
    out = console()
    for w in q.warnings:
        out.print(f"  warning: {w}")
    out.print(
        f"Approved and queued {q.slug!r}: {q.parts} parts to list {q.list_name!r} ({q.mode}), "
        f"{q.rows} messages scheduled, first at {_when(q.first_due)}."
    )


# --- for `status`, `send-due` and `run` --------------------------------------------------


def print_waiting(waiting: list[lib.Waiting]) -> None:
    """`newsletter status`: the issues from feeds that wait for the editor."""
    from ..feeds import EntryState

    if not waiting:
        return
    out = console()
    out.print(f"Waiting for your approval ({len(waiting)}):")
    for w in waiting:
        why = "held by its checks: " + w.detail if w.state is EntryState.HELD else "new post"
        out.print(f"  {w.path}: {w.title!r} from {w.feed_url} ({why})")
        out.print(f"    newsletter preview {w.path}; newsletter approve {w.path}")


def poll_feeds(ctx: Context) -> bool:
    """`newsletter send-due`: poll the feeds that are due; never raises. True when a new
    post was queued (its first part may be due now)."""
    from .. import feeds as lib

    report = lib.poll_quietly(ctx.config, ctx.store, console().print)
    return any(i.state is lib.EntryState.QUEUED for i in report.issues)


def register(cli: click.Group) -> None:
    cli.add_command(feeds_group)
    cli.add_command(approve_cmd)
