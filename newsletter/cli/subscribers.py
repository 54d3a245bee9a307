"""``newsletter subscribers``: import, add, remove, list, export."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..store.states import SubscriberStatus
from .common import Context, FilePath, console, pass_ctx


@click.group("subscribers")
def group() -> None:
    """Manage subscribers and lists (import a CSV, add, remove, list, export)."""


@group.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--list", "list_name", help="Add everyone in the file to this list (created if new).")
@click.option(
    "--resubscribe",
    is_flag=True,
    help="Re-subscribe people who unsubscribed earlier (only if they asked to).",
)
@pass_ctx
def import_cmd(ctx: Context, file: Path, list_name: str | None, resubscribe: bool) -> None:
    """Import subscribers from a CSV file (Mailchimp, Squarespace, Substack exports work).

    Columns: email, first name, last name, list/tags, timezone, subscribed-at. UTF-8 with or
    without BOM, ',' or ';'. Bad rows are reported by line and do not stop the good ones;
    the import is one transaction, and importing the same file twice changes nothing.
    """
    from ..store import subscribers as subs

    result = subs.import_csv(ctx.store, file, list_name=list_name, resubscribe=resubscribe)
    out = console()
    for line, reason in result.problems:
        out.print(f"  {file}:{line}: {reason}")
    where = f" to list {list_name!r}" if list_name else ""
    out.print(
        f"Imported {file}{where}: {result.added} added, {result.joined} joined the list, "
        f"{result.unchanged} unchanged, {len(result.skipped)} skipped, "
        f"{len(result.bad)} bad rows."
    )


@group.command("add")
@click.argument("email")
@click.option("--first-name", default="", help="First name, used in the greeting.")
@click.option("--last-name", default="", help="Last name.")
@click.option("--list", "list_name", help="Add to this list (created if new).")
@click.option("--timezone", help="IANA timezone, e.g. Europe/Paris (for --at delivery).")
@click.option("--resubscribe", is_flag=True, help="Re-subscribe someone who unsubscribed.")
@pass_ctx
def add_cmd(
    ctx: Context,
    email: str,
    first_name: str,
    last_name: str,
    list_name: str | None,
    timezone: str | None,
    resubscribe: bool,
) -> None:
    """Add one subscriber (optionally to a list, with their own timezone)."""
    from ..store import subscribers as subs

    result = subs.add_subscriber(
        ctx.store,
        email,
        first_name=first_name,
        last_name=last_name,
        list_name=list_name,
        timezone=timezone,
        resubscribe=resubscribe,
    )
    if result.skipped:
        raise click.ClickException(result.skipped[0][1])
    console().print(
        "Added."
        if result.added
        else "Added to the list."
        if result.joined
        else "Already subscribed."
    )


@group.command("remove")
@click.argument("email")
@click.option("--list", "list_name", help="Remove from this list only.")
@click.option(
    "--forget",
    is_flag=True,
    help="Erase the person's data (an erasure request); only a hash of the address "
    "is kept so that no later import adds them back.",
)
@pass_ctx
def remove_cmd(ctx: Context, email: str, list_name: str | None, forget: bool) -> None:
    """Unsubscribe EMAIL. The record stays, so a later import cannot add them back."""
    from ..erasure import erase
    from ..store import subscribers as subs

    if forget:
        found = erase(ctx.store, ctx.config, email)
        console().print(
            f"Erased {email}."
            if found
            else f"{email} was not a subscriber; it will never be imported."
        )
        return
    if not subs.unsubscribe(ctx.store, email, list_name=list_name):
        raise click.ClickException(f"{email} is not a subscriber")
    console().print(f"Unsubscribed {email}" + (f" from {list_name!r}." if list_name else "."))


#: the statuses 'list' and 'export' filter by
STATUSES = [
    SubscriberStatus.ACTIVE.value,
    SubscriberStatus.UNSUBSCRIBED.value,
    SubscriberStatus.PENDING.value,
]


@group.command("list")
@click.option("--list", "list_name", help="Only this list.")
@click.option("--status", type=click.Choice(STATUSES), help="Only this status.")
@click.option("--limit", default=50, show_default=True, help="Show at most this many (0: all).")
@pass_ctx
def list_cmd(ctx: Context, list_name: str | None, status: str | None, limit: int) -> None:
    """Show subscribers in a table."""
    from rich.table import Table

    from ..store import subscribers as subs

    table = Table()
    for col in ("Email", "Name", "Lists", "Timezone", "Status", "Subscribed"):
        table.add_column(col)
    for shown, row in enumerate(
        subs.iter_subscribers(ctx.existing_store, list_name=list_name, status=status)
    ):
        if limit and shown >= limit:
            break
        table.add_row(
            row["email"],
            f"{row['first_name']} {row['last_name']}".strip(),
            row["lists"],
            row["timezone"],
            row["status"],
            row["subscribed_at"][:10],
        )
    console().print(table)


@group.command("show")
@click.argument("email")
@pass_ctx
def show_cmd(ctx: Context, email: str) -> None:
    """Show one subscriber: their details and tags, lists, consent record (how and when
    they joined, from which form, IP address, user agent, consent text, when confirmed)
    and suppression records."""
    from ..store import subscribers as subs

    found = subs.show(ctx.existing_store, email)
    if found is None:
        raise click.ClickException(f"{email} is not a subscriber")
    out = console()
    for key in (
        "email",
        "first_name",
        "last_name",
        "timezone",
        "tags",
        "status",
        "subscribed_at",
    ):
        out.print(f"{key + ':':16} {found.fields[key] or '-'}")
    out.print(f"{'lists:':16} " + (", ".join(found.lists) or "-"))
    out.print("consent:" if found.consents else "consent:        none recorded")
    for c in found.consents:
        out.print(
            f"  - {c.method} on {c.list_name or '(no list)'}, {c.joined_at:%Y-%m-%d %H:%M} UTC"
        )
        if c.confirmed_at:
            out.print(f"    confirmed:  {c.confirmed_at:%Y-%m-%d %H:%M} UTC")
        elif c.method == "form":
            out.print("    confirmed:  no")
        else:
            out.print(f"    confirmed:  - (added by {c.method}: keep your own record of consent)")
        for label, value in (
            ("form URL", c.form_url),
            ("IP address", c.ip),
            ("user agent", c.user_agent),
            ("consent text", c.consent_text),
        ):
            if value:
                out.print(f"    {label + ':':12} {value}")
    out.print("suppressed:" if found.suppressions else "suppressed:     no")
    for r in found.suppressions:
        by = f" by {r.source}" if r.source else ""
        out.print(f"  - {r.reason}{by}, {r.created_at:%Y-%m-%d %H:%M} UTC")
        if r.detail:
            out.print(f"    {'detail:':12} {r.detail}")


@group.command("export")
@click.option(
    "-o",
    "--output",
    type=FilePath(),
    help="Write to this file instead of standard output.",
)
@click.option("--list", "list_name", help="Only this list.")
@click.option("--status", type=click.Choice(STATUSES), help="Only this status.")
@pass_ctx
def export_cmd(
    ctx: Context, output: Path | None, list_name: str | None, status: str | None
) -> None:
    """Export subscribers as CSV with a header row."""
    from ..store import subscribers as subs

    store = ctx.existing_store  # before the output file is created
    if output:
        with output.open("w", encoding="utf-8", newline="") as f:
            n = subs.export_csv(store, f, list_name=list_name, status=status)
        click.echo(f"Exported {n} subscribers to {output}.", err=True)
    else:
        subs.export_csv(store, sys.stdout, list_name=list_name, status=status)


def register(cli: click.Group) -> None:
    cli.add_command(group)
