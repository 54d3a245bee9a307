"""The desk's pages: home, new series (import, split, edit, check, queue), a series'
figures and actions, subscribers, sign-in."""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, redirect, request, session, url_for

from ..errors import InputError
from ..render import fill, first_name_fallback
from ..resources import templates_dir
from ..store.states import ACCEPTED, CampaignStatus, DeliveryState
from . import auth
from .app import PREVIEW_CSP, desk
from .chart import Bar, bar_chart
from .issues import CTA_FIELDS, PART_FIELDS, issue_files, issue_path, set_cta, set_part_fields

#: the columns of a series' table, in the order a reader of it expects
COLUMNS: tuple[tuple[str, tuple[DeliveryState, ...]], ...] = (
    ("Scheduled", (DeliveryState.SCHEDULED, DeliveryState.SENDING)),
    ("Sent", (DeliveryState.SENT,)),
    ("Failed", (DeliveryState.FAILED,)),
    ("Unknown", (DeliveryState.UNKNOWN,)),
    ("Skipped", (DeliveryState.SKIPPED,)),
    ("Missed", (DeliveryState.MISSED,)),
)
MODES = ("sequence", "broadcast")
FORMATS = {".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html"}


def _when(dt: datetime | None) -> str:
    return f"{dt:%a %d %b %Y, %H:%M} UTC" if dt else "-"


def _flash(message: str) -> None:
    session["notice"] = message[:500]


def _notice() -> str:
    return str(session.pop("notice", ""))


def _local_only() -> bool:
    return desk().gate.token_hash is not None


# --- sign-in ---------------------------------------------------------------------------


def login() -> Any:
    d = desk()
    token = request.args.get("token", "")
    if token:
        if d.gate.take_token(token):
            auth.sign_in()
            return redirect(url_for("desk.home"))
        return d.page(
            "message.html",
            403,
            heading="This sign-in link does not work",
            message="A sign-in link works once. Stop 'newsletter desk' and start it again "
            "for a new one.",
        )
    if auth.signed_in():
        return redirect(url_for("desk.home"))
    return d.page("signin.html", password=d.gate.has_password, local=_local_only(), error="")


def login_post() -> Any:
    d = desk()
    address = request.remote_addr or "?"
    if _local_only() or not d.gate.has_password:
        abort(403, "Sign in with the link 'newsletter desk' printed.")
    if d.gate.limited(address):
        return d.page(
            "signin.html",
            429,
            password=True,
            local=False,
            error="Too many failed attempts: wait 15 minutes, then try again.",
        )
    if not d.gate.check_password(address, request.form.get("password", "")):
        return d.page(
            "signin.html", 401, password=True, local=False, error="That password is not right."
        )
    auth.sign_in()
    return redirect(url_for("desk.home"))


def logout() -> Any:
    session.clear()
    return redirect(url_for("desk.login"))


def static_css() -> Response:
    css = (templates_dir() / "desk" / "desk.css").read_text(encoding="utf-8")
    return Response(css, mimetype="text/css", headers={"Cache-Control": "max-age=3600"})


# --- home ------------------------------------------------------------------------------


def _series_rows(slug: str | None = None) -> list[Any]:
    with desk().store.report() as report:
        return report.parts(slug)


def home() -> Response:
    d = desk()
    with d.store.report() as report:
        parts = report.parts()
        waiting = report.waiting()
        unknown = report.unknown_batches()
    series: dict[str, dict[str, Any]] = {}
    for p in parts:
        s = series.setdefault(
            p.slug,
            {
                "slug": p.slug,
                "title": p.title,
                "status": p.status,
                "list": p.list_name,
                "sent": 0,
                "next": None,
            },
        )
        s["sent"] += p.counts.get(DeliveryState.SENT, 0)
        if p.next_due and (s["next"] is None or p.next_due < s["next"]):
            s["next"] = p.next_due
    queued = set(series)
    drafts = [p.stem for p in issue_files(d.issues_dir) if p.stem not in queued][:20]
    health = [
        ("Provider", d.config.sending.provider),
        ("Public address (base_url)", d.config.web.base_url or "not set"),
        ("Sender", f"{d.config.sender.name} <{d.config.sender.email}>"),
    ]
    return d.page(
        "home.html",
        notice=_notice(),
        series=list(series.values()),
        drafts=drafts,
        waiting=waiting,
        unknown=unknown,
        health=health,
        when=_when,
    )


# --- new series: import ----------------------------------------------------------------


def new() -> Response:
    return desk().page("new.html", error="", values={})


def _source(folder: Path) -> tuple[str, str | None]:
    """What the editor gave (a link, pasted text or a file) as an import source."""
    link = request.form.get("link", "").strip()
    text = request.form.get("text", "")
    upload = request.files.get("file")
    given = [bool(link), bool(text.strip()), bool(upload and upload.filename)]
    if sum(given) != 1:
        raise InputError("Article", "give one of: an article link, the article's text, or a file")
    if link:
        return link, None
    if text.strip():
        path = folder / "pasted-article.txt"
        path.write_text(text.replace("\r\n", "\n"), encoding="utf-8")
        return str(path), "text"
    assert upload is not None and upload.filename
    suffix = Path(upload.filename).suffix.lower()
    path = folder / f"uploaded{suffix if suffix in (*FORMATS, '.txt') else '.txt'}"
    upload.save(path)
    return str(path), FORMATS.get(suffix)


def new_post() -> Any:
    from ..importers.outline import record_path
    from ..pipeline import free_issue_path, import_article, slugify

    d = desk()
    issues = d.issues_dir
    try:
        with tempfile.TemporaryDirectory(prefix="newsletter-desk-") as tmp:
            source, fmt = _source(Path(tmp))
            # Imported once (a link is fetched once), then given a free name in issues/:
            # the file's text does not depend on its name.
            report = import_article(
                source,
                out=Path(tmp) / "imported.md",
                fmt=fmt,
                title=request.form.get("title", ""),
                list_name=request.form.get("list") or None,
                config=d.config,  # [fetch]: its deadline, and whether local pages may be fetched
                language=d.config.series.language,
            )
            issues.mkdir(parents=True, exist_ok=True)
            dest = free_issue_path(issues, slugify(report.article.title))
            shutil.move(report.path, dest)
            # what the import kept and dropped goes with it (newsletter import --review)
            shutil.move(record_path(report.path), record_path(dest))
    except InputError as exc:
        values = {k: request.form.get(k, "") for k in ("link", "text", "title")}
        return d.page("new.html", 400, error=str(exc), values=values)
    notes = [n for n in report.article.notes]
    session["import"] = {"name": dest.stem, "found": report.found[:10], "notes": notes[:60]}
    return redirect(url_for("desk.issue", name=dest.stem))


# --- an issue: split, edit, preview, check, queue ---------------------------------------


def _issue(name: str) -> Path:
    path = issue_path(desk().issues_dir, name)
    if path is None:
        abort(404, f"No issue file issues/{name}.md.")
    return path


def issue(name: str) -> Response:
    from ..check import check_rendered
    from ..issuefile import load_issue
    from ..store.lists import list_counts

    d = desk()
    path = _issue(name)
    series, rendered = d.rendered(path)
    checks = check_rendered(series, rendered, d.config)
    imported = session.pop("import", None)
    if imported and imported.get("name") != name:
        imported = None
    lists = list_counts(d.store)
    loaded = load_issue(path)
    own_list = loaded.list_name or ""
    default_list = own_list or (lists[0].name if lists else "")
    return d.page(
        "issue.html",
        name=name,
        series=series,
        checks=checks,
        imported=imported,
        notice=_notice(),
        lists=lists,
        default_list=default_list,
        modes=MODES,
        cta=loaded.cta,
        overrides=loaded.overrides,
    )


def save_part(name: str, part: int) -> Any:
    path = _issue(name)
    values = {k: request.form[k] for k in (*PART_FIELDS, *CTA_FIELDS) if k in request.form}
    set_part_fields(path, part, values)
    _flash(f"Part {part} saved.")
    return redirect(url_for("desk.issue", name=name) + f"#part-{part}")


def save_cta(name: str) -> Any:
    path = _issue(name)
    set_cta(path, request.form.get("label", ""), request.form.get("link", ""))
    _flash("Call to action saved.")
    return redirect(url_for("desk.issue", name=name) + "#cta")


def preview(name: str, part: int) -> Response:
    d = desk()
    series, rendered = d.rendered(_issue(name))
    fallback = first_name_fallback(d.config, series.language)
    found = next((r for r in rendered if r.index == part), None)
    if found is None:
        abort(404, f"issues/{name}.md has no part {part}.")
    view = request.args.get("view", "html")
    if view == "text":
        text, _ = fill(
            found.text,
            "",
            first_name="",
            unsubscribe_url="#",
            fallback=fallback,
        )
        return Response(
            text,
            mimetype="text/plain",
            headers={"Content-Security-Policy": PREVIEW_CSP, "X-Frame-Options": "SAMEORIGIN"},
        )
    html, _ = fill(
        found.html,
        "",
        first_name="",
        unsubscribe_url="#",
        fallback=fallback,
    )
    if view == "dark":  # what a mail client in dark mode shows, as `newsletter preview` does
        from ..preview.app import _DARK

        html = _DARK.sub("@media all", html)
    resp = Response(html, mimetype="text/html")
    resp.headers["Content-Security-Policy"] = PREVIEW_CSP
    resp.headers["X-Frame-Options"] = "SAMEORIGIN"
    return resp


def _summary(q: Any, at: str, readers: int) -> str:
    if not q.rows:
        return (
            f"Queued '{q.slug}': nobody on list '{q.list_name}' yet; each reader who joins "
            "gets part 1 when they join."
        )
    where = f" at {at} in each reader's time zone" if at else ""
    return (
        f"Queued '{q.slug}': part 1 goes to {readers:,} readers of '{q.list_name}' "
        f"{_when(q.first_due) if not at else 'from ' + _when(q.first_due)}{where}; "
        f"{q.parts} parts in all ({q.mode})."
    )


def queue(name: str) -> Any:
    from ..check import require_go_live
    from ..schedule import queue_issue

    d = desk()
    path = _issue(name)
    form = request.form
    at = form.get("at", "").strip()
    require_go_live(d.config)
    q = queue_issue(
        d.store,
        d.config,
        path,
        list_name=form.get("list", "").strip() or None,
        start=form.get("start", "").strip() or "now",
        every=form.get("every", "").strip() or "3d",
        mode=form.get("mode", "sequence"),
        at=at or None,
    )
    from ..store.subscribers import count_members

    _flash(_summary(q, at, count_members(d.store, q.list_name)))
    return redirect(url_for("desk.series", slug=q.slug))


# --- a series: figures, chart, actions ---------------------------------------------------


def _table(slug: str) -> tuple[list[Any], list[dict[str, Any]]]:
    parts = _series_rows(slug)
    if not parts:
        abort(404, f"No queued series '{slug}'.")
    rows = []
    for p in parts:
        row: dict[str, Any] = {"part": p.part, "subject": p.subject, "next": p.next_due}
        for label, states in COLUMNS:
            row[label] = sum(p.counts.get(s, 0) for s in states)
        rows.append(row)
    return parts, rows


def series(slug: str) -> Response:
    d = desk()
    parts, rows = _table(slug)
    chart = bar_chart(
        [Bar(f"Part {r['part']}", r["Sent"]) for r in rows],
        name="Messages sent per part",
        unit="sent",
    )
    from .batches import with_evidence

    first = parts[0]
    return d.page(
        "series.html",
        batches=with_evidence(d.store, d.config, slug),
        parts=[r["part"] for r in rows],
        slug=slug,
        title=first.title,
        state=first.status,
        list_name=first.list_name,
        mode=first.mode,
        rows=rows,
        columns=[c for c, _ in COLUMNS],
        chart=chart,
        notice=_notice(),
        when=_when,
        editable=issue_path(d.issues_dir, slug) is not None,
    )


def series_csv(slug: str) -> Response:
    _parts, rows = _table(slug)
    out = io.StringIO()
    w = csv.writer(out)
    labels = [c for c, _ in COLUMNS]
    w.writerow(["part", "subject", *[c.lower() for c in labels], "next_send_utc"])
    for r in rows:
        nxt = r["next"].isoformat(timespec="minutes") if r["next"] else ""
        w.writerow([r["part"], r["subject"], *[r[c] for c in labels], nxt])
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{slug}.csv"'},
    )


ACTIONS = {
    "pause": CampaignStatus.PAUSED,
    "resume": CampaignStatus.ACTIVE,
    "cancel": CampaignStatus.CANCELLED,
}


def _send_test(path: Path, part: int) -> None:
    """A proof of one part to the sender's own address, as ``newsletter test-send`` does."""
    from ..testsend import test_send

    d = desk()
    to = d.config.sender.email
    results = test_send(d.config, path, to, part=part)
    refused = [r for r in results if r.status not in ACCEPTED]
    if refused:
        why = refused[0].error or refused[0].status
        raise InputError("test send", f"part {part} was not sent: {why}")
    _flash(f"A test of part {part} went to {to} (subject starts with [TEST]).")


def series_test(slug: str) -> Any:
    path = issue_path(desk().issues_dir, slug)
    if path is None:
        abort(404, f"No issue file issues/{slug}.md to send a test of.")
    raw = request.form.get("part", "")
    if not raw.isdigit():
        raise InputError("Part", f"{raw!r} is not a part number")
    _send_test(path, int(raw))
    return redirect(url_for("desk.series", slug=slug))


def issue_test(name: str, part: int) -> Any:
    _send_test(_issue(name), part)
    return redirect(url_for("desk.issue", name=name) + f"#part-{part}")


#: the two answers to an unknown batch, as ``newsletter resume --batch ID`` takes them
SETTLE = {"were-sent": "marked sent", "resend": "scheduled again, due now"}


def series_settle(slug: str, batch_id: int) -> Any:
    from ..store import ledger

    d = desk()
    answer = request.form.get("answer", "")
    if answer not in SETTLE:
        raise InputError("answer", "choose 'They were sent' or 'Send them again'")
    if answer == "were-sent":
        n, _ = ledger.settle(d.store, batch_id, sent=None, slug=slug)
    else:
        n = ledger.resend(d.store, batch_id, slug=slug)
    _flash(f"Batch {batch_id}: {n} messages {SETTLE[answer]}.")
    return redirect(url_for("desk.series", slug=slug))


def series_action(slug: str, action: str) -> Any:
    from ..schedule import requeue_issue
    from ..store import ledger

    d = desk()
    if action == "requeue":
        path = issue_path(d.issues_dir, slug)
        if path is None:
            abort(404, f"No issue file issues/{slug}.md to update the series from.")
        updated, kept = requeue_issue(d.store, d.config, path)
        _flash(
            f"Updated parts: {', '.join(map(str, updated)) or 'none'}"
            + (f"; kept (already sent to some): {', '.join(map(str, kept))}" if kept else "")
            + "."
        )
    elif action in ACTIONS:
        ledger.set_status(d.store, slug, ACTIONS[action])
        _flash(f"{slug}: {ACTIONS[action]}.")
    else:
        abort(404)
    return redirect(url_for("desk.series", slug=slug))


# --- feeds -------------------------------------------------------------------------------


def feeds() -> Response:
    from .. import feeds as lib

    d = desk()
    return d.page(
        "feeds.html",
        feeds=lib.list_feeds(d.store),
        waiting=lib.waiting_issues(d.store),
        notice=_notice(),
        when=_when,
        modes=MODES,
    )


def _feed_lines(report: Any) -> str:
    lines = report.lines()
    return "; ".join(lines[:8]) + (f"; and {len(lines) - 8} more" if len(lines) > 8 else "")


def feeds_add() -> Any:
    from .. import feeds as lib

    d = desk()
    form = request.form
    feed, result = lib.add_feed(
        d.config,
        d.store,
        form.get("url", "").strip(),
        list_name=form.get("list", "").strip(),
        mode=form.get("mode", "sequence"),
        every=form.get("every", "").strip() or "3d",
        at=form.get("at", "").strip() or None,
    )
    found = len(result.issues)
    _flash(
        f"Following {feed.url} for list '{feed.list_name}' ({feed.schedule}); "
        f"{found} new post{'s' if found != 1 else ''} read now."
    )
    return redirect(url_for("desk.feeds"))


def feeds_check() -> Any:
    from .. import feeds as lib

    d = desk()
    report = lib.check_feeds(d.config, d.store)
    _flash(f"Checked {len(report.feeds)} feeds. " + (_feed_lines(report) or "Nothing new."))
    return redirect(url_for("desk.feeds"))


def feeds_approve(name: str) -> Any:
    from .. import feeds as lib
    from ..check import require_go_live

    d = desk()
    require_go_live(d.config)
    q = lib.approve_issue(d.config, d.store, _issue(name))
    _flash(
        f"Approved and queued '{q.slug}': {q.parts} parts to list '{q.list_name}' ({q.mode}), "
        f"first at {_when(q.first_due)}."
    )
    return redirect(url_for("desk.series", slug=q.slug))


# --- settings ----------------------------------------------------------------------------


def settings() -> Response:
    from .settings import FIELDS, current

    d = desk()
    return d.page(
        "settings.html",
        fields=FIELDS,
        values=current(d.config),
        path=str(d.config.path or "newsletter.toml"),
        notice=_notice(),
    )


def settings_post() -> Any:
    from .settings import FIELDS, save

    d = desk()
    d.config = save(d.config, {f.name: request.form.get(f.name, "") for f in FIELDS})
    d.forget_renders()  # the parts' previews show the new sender and colours
    _flash(
        "Settings saved to newsletter.toml. A running 'newsletter run' or 'newsletter serve' "
        "reads them when it starts again."
    )
    return redirect(url_for("desk.settings"))


# --- subscribers -------------------------------------------------------------------------


def subscribers() -> Response:
    from ..store.lists import list_counts, search_readers

    d = desk()
    q = request.args.get("q", "").strip()
    found = search_readers(d.store, q) if q else []
    return d.page(
        "subscribers.html", lists=list_counts(d.store), q=q, found=found, notice=_notice()
    )


def subscribers_import() -> Any:
    from ..store.subscribers import import_csv

    d = desk()
    upload = request.files.get("file")
    list_name = request.form.get("list", "").strip()
    if not upload or not upload.filename:
        raise InputError("Subscribers file", "choose a CSV file to import")
    if not list_name:
        raise InputError("List", "name the list the readers join")
    with tempfile.TemporaryDirectory(prefix="newsletter-desk-") as tmp:
        path = Path(tmp) / "subscribers.csv"
        upload.save(path)
        result = import_csv(d.store, path, list_name=list_name)
    summary = (
        f"Imported into '{list_name}': {result.added} added, {result.joined} joined the list, "
        f"{result.unchanged} unchanged, {len(result.skipped)} skipped, "
        f"{len(result.bad)} bad rows."
    )
    if not result.problems:
        _flash(summary)
        return redirect(url_for("desk.subscribers"))
    # Every problem, by line, on a page of its own (a notice would cut them short).
    return d.page(
        "imported.html",
        summary=summary,
        filename=upload.filename,
        problems=list(result.problems),
        list_name=list_name,
    )


# --- one reader ---------------------------------------------------------------------------


def _email_field() -> str:
    email = (request.values.get("email") or "").strip()
    if not email:
        raise InputError("email", "name the reader's address")
    return email


def reader() -> Response:
    from ..store.readers import reader_page

    d = desk()
    email = _email_field()
    found = reader_page(d.store, email)
    if found is None:
        abort(404, "No reader with that address (an erased reader is not shown).")
    return d.page(
        "reader.html",
        r=found.shown,
        deliveries=found.deliveries,
        email=found.shown.fields["email"],
        notice=_notice(),
        when=_when,
    )


def _back_to(email: str) -> Any:
    return redirect(url_for("desk.reader", email=email))


def reader_leave() -> Any:
    from ..store.subscribers import unsubscribe

    d = desk()
    email = _email_field()
    list_name = request.form.get("list", "").strip()
    if not list_name:
        raise InputError("List", "name the list to remove the reader from")
    if not unsubscribe(d.store, email, list_name=list_name):
        abort(404, "No reader with that address.")
    _flash(f"Removed from '{list_name}': nothing more from that list's series goes to them.")
    return _back_to(email)


def reader_unsubscribe() -> Any:
    from ..store.subscribers import unsubscribe

    d = desk()
    email = _email_field()
    if not unsubscribe(d.store, email):
        abort(404, "No reader with that address.")
    _flash("Unsubscribed from everything; the record stays so no import adds them back.")
    return _back_to(email)


def reader_forget() -> Any:
    """Two steps: the first POST shows what erasing means, the second (``confirm``) erases
    as ``subscribers remove --forget`` does."""
    from ..erasure import erase

    d = desk()
    email = _email_field()
    if request.form.get("confirm") != "erase":
        return d.page("forget.html", email=email)
    found = erase(d.store, d.config, email)
    _flash(
        "Erased: only a hash of the address is kept, so no later import adds them back."
        if found
        else "That address was not a reader; it will never be imported."
    )
    return redirect(url_for("desk.subscribers"))


def reader_add() -> Any:
    from ..store.subscribers import add_subscriber

    d = desk()
    form = request.form
    email = _email_field()
    list_name = form.get("list", "").strip()
    if not list_name:
        raise InputError("List", "name the list the reader joins")
    result = add_subscriber(
        d.store,
        email,
        first_name=form.get("first_name", ""),
        last_name=form.get("last_name", ""),
        list_name=list_name,
    )
    if result.skipped:
        raise InputError("email", result.skipped[0][1])
    _flash(
        "Added."
        if result.added
        else f"Added to '{list_name}'."
        if result.joined
        else "Already on that list."
    )
    return _back_to(email)


def subscribers_csv() -> Response:
    from ..store.subscribers import export_csv

    out = io.StringIO()
    export_csv(desk().store, out)
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="subscribers.csv"'},
    )


def routes(bp: Blueprint) -> None:
    get, post = ("GET",), ("POST",)
    for rule, view, methods in (
        ("/login", login, get),
        ("/login", login_post, post),
        ("/logout", logout, post),
        ("/desk.css", static_css, get),
        ("/", home, get),
        ("/new", new, get),
        ("/new", new_post, post),
        ("/issues/<name>", issue, get),
        ("/issues/<name>/parts/<int:part>", save_part, post),
        ("/issues/<name>/parts/<int:part>/preview", preview, get),
        ("/issues/<name>/cta", save_cta, post),
        ("/issues/<name>/parts/<int:part>/test", issue_test, post),
        ("/issues/<name>/queue", queue, post),
        ("/series/<slug>", series, get),
        ("/series/<slug>.csv", series_csv, get),
        ("/series/<slug>/test", series_test, post),
        ("/series/<slug>/batches/<int:batch_id>", series_settle, post),
        ("/series/<slug>/<action>", series_action, post),
        ("/feeds", feeds, get),
        ("/feeds", feeds_add, post),
        ("/feeds/check", feeds_check, post),
        ("/feeds/approve/<name>", feeds_approve, post),
        ("/settings", settings, get),
        ("/settings", settings_post, post),
        ("/subscribers", subscribers, get),
        ("/subscribers/import", subscribers_import, post),
        ("/subscribers.csv", subscribers_csv, get),
        ("/reader", reader, get),
        ("/reader/add", reader_add, post),
        ("/reader/leave", reader_leave, post),
        ("/reader/unsubscribe", reader_unsubscribe, post),
        ("/reader/forget", reader_forget, post),
    ):
        bp.add_url_rule(rule, view.__name__, view, methods=list(methods))
