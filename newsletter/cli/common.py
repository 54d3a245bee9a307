"""What every command shares: the context, the console, the store.

The command modules import only click and light modules at the top, so that
``newsletter --help`` starts at once; each command imports the library parts it uses
(the database layer, the renderer, rich) when it runs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..config import Config, load_config
from ..errors import ConfigError

if TYPE_CHECKING:
    from rich.console import Console

    from ..store import Store
    from ..store.report import Report


def console() -> Console:
    """The console for this command's output: wide when it goes to a file or a pipe."""
    from rich.console import Console

    terminal = sys.stdout.isatty()
    # markup=False: paths, subjects and messages may contain [brackets] of their own.
    return Console(
        highlight=False, markup=False, soft_wrap=not terminal, width=None if terminal else 160
    )


NO_CONFIG_NOTE = (
    "no newsletter.toml here: using ./newsletter.db; run 'newsletter init' "
    "or cd into your newsletter folder"
)


@dataclass
class Context:
    config_path: str | None = None
    debug: bool = False
    _config: Config | None = field(default=None, repr=False)
    _store: Store | None = field(default=None, repr=False)
    #: one line for stderr once the command has done its work (an error stays the only line)
    note: str = ""

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(Path(self.config_path) if self.config_path else None)
        return self._config

    @property
    def store(self) -> Store:
        """The database. With no newsletter.toml found, :attr:`note` says that
        ./newsletter.db is used (a command run in the wrong folder is not silent)."""
        if self._store is None:
            from ..store import Store

            if self.fallback_db() is not None:
                self.note = NO_CONFIG_NOTE
            self._store = Store(self.config.db_url)
        return self._store

    def say_note(self) -> None:
        """Print :attr:`note` now (a command that runs until stopped never finishes)."""
        if self.note:
            click.echo(self.note, err=True)
            self.note = ""

    @property
    def existing_store(self) -> Store:
        """The database for a command that only shows what is in it: with no
        newsletter.toml and no ./newsletter.db there is nothing to show, and no database is
        created to show it."""
        self._refuse_missing()
        return self.store

    @contextmanager
    def report(self) -> Iterator[Report]:
        """The reads of a command that only shows what is in the database (as
        :attr:`existing_store`). An up-to-date database is read directly, read-only, without
        SQLAlchemy (a quick start); a new or older one goes through the Store, which
        brings it up to date."""
        from ..store.direct import open_current
        from ..store.report import Report

        self._refuse_missing()
        db = open_current(self.config.db_url)
        if db is None:
            with self.store.report() as report:
                yield report
            return
        if self.fallback_db() is not None:
            self.note = NO_CONFIG_NOTE
        try:
            yield Report(db)
        finally:
            db.conn.close()

    def _refuse_missing(self) -> None:
        fallback = self.fallback_db()
        if fallback is not None and not fallback.exists():
            raise ConfigError(
                "no newsletter.toml here and no newsletter.db: nothing to show",
                hint="run 'newsletter init' or cd into your newsletter folder",
            )

    def fallback_db(self) -> Path | None:
        """The SQLite file the commands fall back to when no newsletter.toml was found (and
        neither $NEWSLETTER_CONFIG nor $NEWSLETTER_DATABASE_URL is set); None otherwise."""
        cfg = self.config
        if cfg.path is not None or os.environ.get("NEWSLETTER_DATABASE_URL"):
            return None
        url = cfg.db_url
        return Path(url[len("sqlite:///") :]) if url.startswith("sqlite:///") else None


class LazyChoice(click.Choice[str]):
    """A choice among values the library defines, looked up when the command runs (so
    that listing the commands does not import the library)."""

    def __init__(self, load: Callable[[], Sequence[str]]) -> None:
        self._load = load
        super().__init__((), case_sensitive=True)

    @property
    def choices(self) -> tuple[Any, ...]:
        return tuple(self._load())

    @choices.setter
    def choices(self, _value: Sequence[Any]) -> None:
        """The values come from ``load``."""

    def __repr__(self) -> str:
        return "LazyChoice()"


class FilePath(click.Path):
    """A file named on the command line (an issue, an output file). A folder given instead
    is the one-line error every unreadable file gets (exit 1), not a usage error."""

    def __init__(self) -> None:
        super().__init__(path_type=Path)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from ..textfile import not_a_folder

        path = Path(str(super().convert(value, param, ctx)))
        not_a_folder(path)
        return path


pass_ctx = click.make_pass_decorator(Context)
