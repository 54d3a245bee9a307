"""Setting up: init."""

from __future__ import annotations

from pathlib import Path

import click

from ..workspace import init_workspace
from .common import Context, console, pass_ctx


@click.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=".")
@pass_ctx
def init_cmd(ctx: Context, directory: Path) -> None:
    """Create a working folder: newsletter.toml, issues/ with an example, templates/."""
    created = init_workspace(directory)
    for path in created:
        console().print(f"  created {path}")
    console().print(f"Ready. Next: cd {directory} and edit newsletter.toml (sender, postal address).")


def register(cli: click.Group) -> None:
    cli.add_command(init_cmd)
