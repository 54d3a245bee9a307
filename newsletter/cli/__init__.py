"""The ``newsletter`` command: a thin click layer over the library.

Each command loads the configuration, calls one library function and prints its result.
A user's mistake (a NewsletterError) is one line on stderr and exit code 1; anything else
is an unexpected error with exit code 2, its traceback shown only with ``--debug``.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from .. import secrets
from ..errors import NewsletterError
from . import admin, delivery, desk, feeds, issues, sending, site, subscribers
from .common import Context


class NewsletterGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            result = super().invoke(ctx)
        except NewsletterError as exc:
            if _debug(ctx):
                raise
            click.secho(f"Error: {_one_line(str(exc))}", fg="red", err=True)
            sys.exit(1)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(130)
        except Exception as exc:  # an unexpected failure: one line, traceback behind --debug
            if _debug(ctx):
                raise
            database = _database_error(exc)
            if database:  # busy or failing: the driver's words, never the SQL or its values
                click.secho(f"Error: {_one_line(database)}", fg="red", err=True)
                sys.exit(1)
            click.secho(
                f"Error: unexpected {type(exc).__name__}: {_one_line(str(exc))} "
                "(run again with --debug for the traceback)",
                fg="red",
                err=True,
            )
            sys.exit(2)
        obj = ctx.find_object(Context)
        if obj:
            obj.say_note()
        return result


def _one_line(message: str) -> str:
    return " ".join(secrets.scrub(message).split())


def _database_error(exc: BaseException) -> str | None:
    """One line for an error of the database (busy, unreachable...), or None."""
    from ..store.direct import database_error

    return database_error(exc)


def _debug(ctx: click.Context) -> bool:
    obj = ctx.find_object(Context)
    return bool(obj and obj.debug) or "--debug" in sys.argv


@click.group(cls=NewsletterGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    envvar="NEWSLETTER_CONFIG",
    help="Path to newsletter.toml (default: ./newsletter.toml).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks for unexpected errors.")
@click.version_option(package_name="newsletter")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, debug: bool) -> None:
    """Turn a long article into an email series and send it on schedule.

    \b
    Typical flow:
      newsletter init mynews && cd mynews
      newsletter import ~/article.txt --url https://example.com/blog/post
      newsletter split issues/post.md      # how the article is cut into parts
      newsletter preview issues/post.md    # see every part, live
      newsletter queue issues/post.md --list readers --every 3d
      newsletter run                       # or: newsletter send-due, from cron
    """
    ctx.obj = Context(config_path=config_path, debug=debug)


for module in (admin, issues, subscribers, sending, delivery, site, feeds, desk):
    module.register(cli)


def main() -> None:
    cli(prog_name="newsletter")
