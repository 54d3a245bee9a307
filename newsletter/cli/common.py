"""What every command shares: the context, the console, the store."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import click
from rich.console import Console

from ..config import Config, load_config
from ..store import Store


def console() -> Console:
    """The console for this command's output: wide when it goes to a file or a pipe."""
    terminal = sys.stdout.isatty()
    # markup=False: paths, subjects and messages may contain [brackets] of their own.
    return Console(
        highlight=False, markup=False, soft_wrap=not terminal, width=None if terminal else 160
    )


@dataclass
class Context:
    config_path: str | None = None
    debug: bool = False
    _config: Config | None = field(default=None, repr=False)
    _store: Store | None = field(default=None, repr=False)

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(Path(self.config_path) if self.config_path else None)
        return self._config

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.config.db_url)
        return self._store


pass_ctx = click.make_pass_decorator(Context)
