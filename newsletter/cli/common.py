"""What every command shares: the context, the console, small parsers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import click
from rich.console import Console

from ..config import Config, load_config

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


@dataclass
class Context:
    config_path: str | None = None
    debug: bool = False
    _config: Config | None = field(default=None, repr=False)

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(Path(self.config_path) if self.config_path else None)
        return self._config


pass_ctx = click.make_pass_decorator(Context)


def issue_argument() -> click.Argument:
    return click.argument("issue", type=click.Path(dir_okay=False, path_type=Path))
