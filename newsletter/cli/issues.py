"""Commands on issues: import, split, render."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import click

from .common import Context, FilePath, LazyChoice, console, pass_ctx


def _formats() -> list[str]:
    from ..importers import FORMATS

    return sorted(FORMATS)


@click.command("import")
@click.argument("source", required=False)
@click.option(
    "-o",
    "--output",
    type=FilePath(),
    help="Issue file to write (default: issues/SLUG.md).",
)
@click.option(
    "--format",
    "fmt",
    type=LazyChoice(_formats),
    help="Read SOURCE as this format (default: from its name and content).",
)
@click.option("--title", default="", help="The issue's title (wins over what SOURCE says).")
@click.option(
    "--url",
    default="",
    help="Canonical URL of the full article on your blog (relative links resolve against it).",
)
@click.option("--cta-url", default="", help="Where the call-to-action button points.")
@click.option("--list", "list_name", help="The subscriber list this issue goes to.")
@click.option(
    "--start",
    default="",
    metavar="LINE|TEXT",
    help="The article starts at this line of SOURCE (a number, or words the line holds).",
)
@click.option(
    "--end",
    default="",
    metavar="LINE|TEXT",
    help="The article ends at this line of SOURCE (a number, or words the line holds).",
)
@click.option(
    "--review",
    type=FilePath(),
    metavar="ISSUE",
    help="Show what the import of ISSUE kept and dropped; with --start, --end or --title, "
    "import its source again into it.",
)
@click.option("--force", is_flag=True, help="Replace the output file if it exists.")
@pass_ctx
def import_cmd(
    ctx: Context,
    source: str | None,
    output: Path | None,
    fmt: str | None,
    title: str,
    url: str,
    cta_url: str,
    list_name: str | None,
    start: str,
    end: str,
    review: Path | None,
    force: bool,
) -> None:
    """Turn SOURCE (Markdown, a blog page's HTML, copied text, or an http(s) address of a
    page to fetch) into an issue file.

    Prints a numbered outline of what it kept and dropped (by SOURCE's line); review
    the file before queueing it. When the importer got the article's bounds or its
    title wrong, run it again with --start, --end or --title.
    """

    from ..errors import InputError
    from ..i18n import missing_catalogue
    from ..importers.outline import is_drop_note
    from ..pipeline import import_article, review_import

    cfg = ctx.config
    if review is not None:
        record = review_import(review)
        if not (start or end or title):
            console().print(f"{review}: imported from {record.source}")
            _print_outline(record.rows)
            return
        options = record.options
        source = source or record.source
        output = output or review
        fmt = fmt or options.get("format") or None
        url = url or options.get("url", "")
        start = start or options.get("start", "")
        end = end or options.get("end", "")
        title = title or options.get("title", "")
    if not source:
        raise InputError("import", "give a SOURCE to import, or --review ISSUE")
    report = import_article(
        source,
        out=output,
        issues_dir=cfg.resolve(cfg.issues_dir),
        fmt=fmt,
        url=url,
        cta_url=cta_url,
        language=cfg.series.language,
        list_name=list_name,
        force=force,
        title=title,
        config=cfg,
        start=start,
        end=end,
        again=review is not None,
    )
    console().print(f"Imported {source} -> {report.path}")
    for line in report.found:
        console().print(f"  found: {line}")
    missing = missing_catalogue(report.article.language)
    if missing:
        console().print(f"  {missing}")
    _print_outline(report.article.outline)
    for note in report.article.notes:
        if not is_drop_note(note):
            console().print(f"  {note}")
    console().print(
        f"Next: review {report.path}, then 'newsletter split {report.path}'. Wrong start, "
        f"end or title? 'newsletter import --review {report.path} --start LINE|TEXT'."
    )


def _print_outline(rows: list[Any]) -> None:
    """The numbered outline: each kept block and dropped line, by the source's line."""

    for row in rows:
        number = f"{row.line:>5}" if row.line else "    -"
        what = row.what if len(row.what) <= 110 else row.what[:109] + "…"
        console().print(f"  {number}  {row.status:<7} {what}")


@click.command("split")
@click.argument("issue", type=FilePath())
@pass_ctx
def split_cmd(ctx: Context, issue: Path) -> None:
    """Show how ISSUE is cut into parts: words, minutes, subjects and why each break is there."""
    from rich.table import Table

    from ..pipeline import load_series

    series = load_series(issue, ctx.config)
    table = Table(title=f"{series.title} - {len(series.parts)} parts, {series.words} words")
    for col in ("Part", "Words", "Min"):
        table.add_column(col, justify="right")
    table.add_column("Subject", no_wrap=True)
    for col in ("First heading", "Last heading", "Break", "Next-best break"):
        table.add_column(col, overflow="fold")
    for p in series.parts:
        heads = p.headings
        table.add_row(
            str(p.index),
            str(p.words),
            f"{p.minutes:.1f}",
            p.subject,
            heads[0] if heads else "-",
            heads[-1] if heads else "-",
            p.break_reason,
            p.break_alternative or "-",
        )
    console().print(table)


@click.command("render")
@click.argument("issue", type=FilePath())
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("out"),
    show_default=True,
    help="Folder to write the parts into.",
)
@pass_ctx
def render_cmd(ctx: Context, issue: Path, out_dir: Path) -> None:
    """Write part-K.html, part-K.txt and manifest.json for every part of ISSUE."""
    from ..pipeline import render_to_dir

    manifest = render_to_dir(issue, out_dir, ctx.config)
    console().print(f"Rendered {issue} -> {manifest.parent}/ (manifest: {manifest})")


@click.command("check")
@click.argument("issue", type=FilePath())
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON for tools.")
@pass_ctx
def check_cmd(ctx: Context, issue: Path, as_json: bool) -> None:
    """Check ISSUE for what would hurt delivery or accessibility (exit code 1 on errors).

    Errors: no unsubscribe link or postal address, HTML over 102 KB, an image without alt
    text, a link that is not absolute http(s) or points at localhost, no text part, an
    empty part, a template error; with a real provider, an unsubscribe address that is not
    public https ([web] base_url) or sender fields still as 'init' wrote them. Warnings:
    long subjects, preheaders outside 40 to 110 characters, skipped heading levels, very
    long paragraphs, spam-like subjects, no CTA.
    """
    from rich.text import Text

    from ..check import check_issue

    _, report = check_issue(issue, ctx.config, go_live=True)
    if as_json:
        click.echo(json.dumps(report.as_json(), indent=2, ensure_ascii=False))
    else:
        out = console()
        for f in report.findings:
            where = f"part {f.part}" if f.part else "issue"
            style = "red" if f.level == "error" else "yellow"
            out.print(Text.assemble((f.level, style), f" {where}: {f.message}"))
        out.print(f"{issue}: {len(report.errors)} errors, {len(report.warnings)} warnings.")
    if report.errors:
        raise SystemExit(1)


@click.command("preview")
@click.argument("issue", type=FilePath())
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind; the preview is for this computer unless you change it.",
)
@click.option("--port", default=8040, show_default=True, help="Port to listen on (0: any).")
@click.option("--open", "open_browser", is_flag=True, help="Open the page in a web browser.")
@pass_ctx
def preview_cmd(ctx: Context, issue: Path, host: str, port: int, open_browser: bool) -> None:
    """Serve a live preview of ISSUE: inbox view, phone and desktop widths, dark mode, text
    version, sources and checks. Saving the issue, newsletter.toml or a template updates
    the open page."""
    from ..issuefile import load_issue
    from ..preview import PreviewServer

    load_issue(issue)  # a file that cannot be read at all is an error before serving
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = PreviewServer(issue, ctx.config, host=host, port=port)
    console().print(f"Previewing {issue} at {server.url} (Ctrl-C stops)")
    if open_browser:
        import webbrowser

        webbrowser.open(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def register(cli: click.Group) -> None:
    for cmd in (import_cmd, split_cmd, render_cmd, check_cmd, preview_cmd):
        cli.add_command(cmd)
