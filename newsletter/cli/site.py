"""What readers see on the web: the subscribe form to paste into a blog, and the public
archive as static files."""

from __future__ import annotations

from pathlib import Path

import click

from .common import Context, console, pass_ctx


@click.command("form")
@click.argument("list_name", metavar="LIST")
@click.option(
    "--fetch",
    is_flag=True,
    help="Post with fetch() and show the answer in place (the plain form opens a page).",
)
@pass_ctx
def form_cmd(ctx: Context, list_name: str, fetch: bool) -> None:
    """Print an HTML subscribe form for LIST, to paste into your site.

    It posts to `newsletter serve` at [web] base_url; [lists.LIST] in newsletter.toml sets
    double opt-in (on by default), the consent text and the heading. The list is created
    if it does not exist yet.
    """
    with ctx.store.begin() as conn:
        ctx.store.list_id(conn, list_name, create=True)
    from ..signup import form_html

    click.echo(form_html(ctx.config, list_name, fetch=fetch))


@click.group("archive")
def archive_group() -> None:
    """The public archive of parts already sent (served at /archive/ by `newsletter serve`)."""


@archive_group.command("build")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the pages into (created if missing).",
)
@pass_ctx
def archive_build(ctx: Context, out: Path) -> None:
    """Write the archive (index, one page per part, feed.xml) as static files."""
    from ..archive import build

    written = build(ctx.store, ctx.config, out)
    console().print(f"Wrote {len(written)} files to {out}.")


def register(cli: click.Group) -> None:
    cli.add_command(form_cmd)
    cli.add_command(archive_group)
