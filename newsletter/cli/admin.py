"""Setting up: init, and demo (the main job on the built-in defaults)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click

from .common import Context, console, pass_ctx


@click.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=".")
@pass_ctx
def init_cmd(ctx: Context, directory: Path) -> None:
    """Create a working folder: newsletter.toml, issues/ with an example, templates/."""
    from ..workspace import init_workspace

    created = init_workspace(directory)
    for path in created:
        console().print(f"  created {path}")
    console().print(
        f"Ready. Next: cd {directory} and edit newsletter.toml (sender, postal address;"
        " before real mail, [web] base_url: see 'Going live' in the README)."
    )


@click.command("demo")
@click.argument(
    "directory", type=click.Path(file_okay=False, path_type=Path), default="newsletter-demo"
)
@click.option("--every", default="1m", show_default=True, help="Time between the example's parts.")
@pass_ctx
def demo_cmd(ctx: Context, directory: Path, every: str) -> None:
    """Run the whole job on the built-in defaults (SQLite, the outbox provider).

    Creates DIRECTORY with sample subscribers, queues the example issue for them and sends
    what is due now into DIRECTORY/outbox as .eml files. Running it again sends what has
    become due since.
    """
    from ..demo import run_demo

    result = run_demo(directory, every=every)
    out = console()
    out.print(f"Working folder: {result.folder}/")
    out.print(f"  subscribers: {result.imported.added} added to list 'readers'")
    if result.queued:
        out.print("  queued: issues/calmer-mornings.md as a series")
    out.print(f"  sent now: {result.report.summary()}")
    out.print(
        f"Look in {result.outbox}/ ({result.eml_files} .eml files: open one in any mail program)."
    )
    prog = _program()
    out.print(
        f"Next: cd {result.folder} && {prog} status   (the next part is due in {every};"
        f" '{prog} run' sends it)"
    )
    out.print(
        f"Or in your browser: cd {result.folder} && {prog} desk --open   (import, edit, queue"
        " and see what each part did)"
    )


def _program() -> str:
    """How to call this command again: its name if it is on PATH, else its full path."""
    here = Path(sys.argv[0]).resolve()
    on_path = shutil.which("newsletter")
    if on_path and Path(on_path).resolve() == here:
        return "newsletter"
    return str(here) if here.name == "newsletter" else "newsletter"


def register(cli: click.Group) -> None:
    cli.add_command(init_cmd)
    cli.add_command(demo_cmd)
