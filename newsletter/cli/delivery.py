"""Providers, proofs, suppressions and the unsubscribe/webhook server."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..errors import NewsletterError
from ..store.states import ACCEPTED, SuppressionReason
from .common import Context, FilePath, LazyChoice, console, pass_ctx

if TYPE_CHECKING:
    from ..domaincheck import DomainReport


def _reasons() -> list[str]:
    from ..store import SUPPRESSION_REASONS

    return [r for r in SUPPRESSION_REASONS if r != SuppressionReason.ERASED]


@click.group("providers")
def providers_group() -> None:
    """Email providers: check the configuration."""


@providers_group.command("check")
@pass_ctx
def providers_check(ctx: Context) -> None:
    """Check the configured provider (credentials, sender address) without sending anything."""
    from ..check import Level, go_live_findings
    from ..domaincheck import RecordState, check_domain, has_dns
    from ..providers import get_provider

    provider = get_provider(ctx.config)
    problems = provider.check()
    out = console()
    for note in provider.check_notes():  # what an SMTP server offers
        out.print(f"  {note}")
    findings = go_live_findings(ctx.config)
    for f in findings:
        if f.level is Level.ERROR:
            problems.append(f.message)
        else:
            out.print(f"  warning: {f.message}")
    # the sender's domain, once it is the editor's own (`newsletter domain check` alone)
    if has_dns(provider.name) and "placeholder-email" not in {f.code for f in findings}:
        report = check_domain(ctx.config)
        for c in report.checks:
            if c.state is RecordState.OK:
                out.print(f"  {c.kind} ok: {c.host}")
        problems.extend(f"{c.kind} {c.state.value}: {c.message}" for c in report.problems)
    for p in problems:
        out.print(f"  problem: {p}")
    out.print(
        f"Provider {provider.name!r}: "
        + ("ready." if not problems else f"{len(problems)} problem(s).")
    )
    provider.close()
    if problems:
        raise SystemExit(1)


@click.group("bounces")
def bounces_group() -> None:
    """Bounces and complaints read from the sender's mailbox ([bounces.imap])."""


@bounces_group.command("check")
@pass_ctx
def bounces_check(ctx: Context) -> None:
    """Read the mailbox's new messages now: suppress permanent bounces and complaints
    about our messages, ignore auto-replies, move what was processed."""
    from ..mailbox import check_bounces

    report = check_bounces(ctx.store, ctx.config)
    console().print(f"Mailbox: {report.summary()}.")


@click.group("domain")
def domain_group() -> None:
    """The sending domain's DNS records (SPF, DKIM, DMARC)."""


@domain_group.command("check")
@pass_ctx
def domain_check(ctx: Context) -> None:
    """Look up SPF, DKIM and DMARC for the sender's domain and the configured provider;
    say which record to add (exit code 1 while one is missing)."""
    from ..domaincheck import check_domain

    report = check_domain(ctx.config)
    show_domain(report)
    bad = report.problems
    console().print(
        f"Domain {report.domain} for {report.provider}: "
        + ("ready." if not bad else f"{len(bad)} record(s) to fix.")
    )
    if bad:
        raise SystemExit(1)


def show_domain(report: DomainReport) -> None:
    out = console()
    for c in report.checks:
        out.print(f"  {c.kind} {c.state.value}: {c.host}: {c.message}")


@click.command("test-send")
@click.argument("issue", type=FilePath())
@click.option("--to", "to", required=True, help="Address to send the proof to.")
@click.option("--part", type=int, help="Only this part (default: every part).")
@pass_ctx
def test_send_cmd(ctx: Context, issue: Path, to: str, part: int | None) -> None:
    """Send ISSUE's parts to one address through the configured provider, subject
    marked [TEST]."""
    from ..testsend import test_send

    results = test_send(ctx.config, issue, to, part)
    failed = [r for r in results if r.status not in ACCEPTED]
    for r in results:
        console().print(
            f"  part {-r.delivery_id}: {r.status}" + (f" ({r.error})" if r.error else "")
        )
    if failed:
        raise NewsletterError(f"{len(failed)} of {len(results)} proofs were not accepted")
    console().print(f"Sent {len(results)} proof(s) to {to}.")


@click.group("suppressions")
def suppressions_group() -> None:
    """Addresses that get nothing more (bounces, complaints, unsubscribes)."""


@suppressions_group.command("list")
@pass_ctx
def suppressions_list(ctx: Context) -> None:
    """List suppressed addresses with the reason and where it came from."""
    from rich.table import Table

    table = Table()
    for col in ("Address", "Reason", "Source", "Since", "Detail"):
        table.add_column(col)
    for s in ctx.existing_store.suppressions():
        shown = "(erased)" if s.email_key.startswith("sha256:") else s.email_key
        table.add_row(shown, s.reason, s.source, f"{s.created_at:%Y-%m-%d}", s.detail[:60])
    console().print(table)


@suppressions_group.command("add")
@click.argument("email")
@click.option(
    "--reason",
    type=LazyChoice(_reasons),
    default=SuppressionReason.MANUAL.value,
    show_default=True,
    help="Why the address is suppressed.",
)
@pass_ctx
def suppressions_add(ctx: Context, email: str, reason: str) -> None:
    """Suppress EMAIL by hand: nothing more is sent to it."""
    added = ctx.store.suppress(email, reason, source="manual")
    console().print(f"Suppressed {email}." if added else f"{email} was already suppressed.")


@suppressions_group.command("remove")
@click.argument("email")
@pass_ctx
def suppressions_remove(ctx: Context, email: str) -> None:
    """Remove EMAIL from the suppression list (only if you know it is deliverable again)."""
    if not ctx.store.unsuppress(email):
        raise NewsletterError(f"{email} is not on the suppression list")
    console().print(f"{email} can receive email again.")


@click.command("serve")
@click.option("--host", default=None, help="Address to bind (default from [web] host: 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default from [web] port: 8025).")
@pass_ctx
def serve_cmd(ctx: Context, host: str | None, port: int | None) -> None:
    """Serve the subscribe form, confirmation, preferences and unsubscribe pages, the archive
    and the providers' webhooks."""
    from werkzeug.serving import make_server

    from ..web.app import create_app
    from ..web.site import KEY

    config = ctx.config
    app = create_app(ctx.store, config)
    app.extensions[KEY].signups.wake_mailer()  # confirmations a stopped server left queued
    ctx.say_note()
    server = make_server(host or config.web.host, port or config.web.port, app, threaded=True)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    console().print(
        f"Serving the reader pages (subscribe, preferences, archive) and webhooks on http://"
        f"{server.server_address[0]!s}:{server.server_address[1]}/ "
        f"(public address: {config.web.base_url}); Ctrl-C stops."
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def register(cli: click.Group) -> None:
    for cmd in (
        providers_group,
        bounces_group,
        domain_group,
        test_send_cmd,
        suppressions_group,
        serve_cmd,
    ):
        cli.add_command(cmd)
