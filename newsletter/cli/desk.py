"""``newsletter desk``: the editor's desk in the browser."""

from __future__ import annotations

import logging
import webbrowser

import click

from .common import Context, console, pass_ctx

DEFAULT_PORT = 8030


@click.group("desk", invoke_without_command=True)
@click.option(
    "--port", type=int, default=DEFAULT_PORT, show_default=True, help="Port on 127.0.0.1."
)
@click.option("--open", "open_browser", is_flag=True, help="Open the sign-in link in a browser.")
@click.pass_context
def desk_group(click_ctx: click.Context, port: int, open_browser: bool) -> None:
    """Start the desk on 127.0.0.1 and print a one-time sign-in link.

    Everything the commands do, in a browser: import an article, edit the parts, queue
    them, and see what each part did. The issue files stay the source of truth.
    """
    if click_ctx.invoked_subcommand is not None:
        return
    from werkzeug.serving import make_server

    from ..desk import create_desk

    ctx: Context = click_ctx.find_object(Context)  # type: ignore[assignment]
    app, token = create_desk(ctx.store, ctx.config)
    ctx.say_note()
    server = make_server("127.0.0.1", port, app, threaded=True)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    link = f"http://127.0.0.1:{server.server_address[1]}/desk/login?token={token}"
    out = console()
    out.print(f"The desk is open at http://127.0.0.1:{server.server_address[1]}/desk/")
    out.print(f"Sign in (this link works once): {link}", soft_wrap=True)
    out.print("Ctrl-C stops.", soft_wrap=True)
    if open_browser:
        webbrowser.open(link)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@desk_group.command("password")
@pass_ctx
def password_cmd(ctx: Context) -> None:
    """Set the password that signs in to the desk at /desk/ of 'newsletter serve'."""
    from ..desk.auth import MIN_PASSWORD, PASSWORD_SETTING, hash_password
    from ..store.settings import put_setting

    password = click.prompt("New desk password", hide_input=True, confirmation_prompt=True)
    if len(password) < MIN_PASSWORD:
        raise click.BadParameter(f"use at least {MIN_PASSWORD} characters", param_hint="password")
    put_setting(ctx.store, PASSWORD_SETTING, hash_password(password))
    console().print("Desk password set: sign in at /desk/ of 'newsletter serve'.")


def register(cli: click.Group) -> None:
    cli.add_command(desk_group)
