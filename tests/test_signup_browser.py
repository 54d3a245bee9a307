"""A reader joins on their own, in a real browser (Playwright + Debian's chromium): the form
printed by `newsletter form` on a blog of another origin, the confirmation email in the
outbox, the confirm button, part 1 from `send-due`, then the preferences page's time zone
moving the next part."""

from __future__ import annotations

import functools
import http.server
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from werkzeug.serving import make_server

from newsletter.cli import cli
from newsletter.config import load_config
from newsletter.store import Store
from newsletter.store.models import Delivery, Subscriber
from newsletter.web.app import create_app

from .conftest import REPO
from .helpers import outbox_messages
from .test_preview import browser, shot  # noqa: F401 - the shared browser fixture

pytestmark = pytest.mark.browser
CONSENT = "Yes, send me the series. I can unsubscribe at any time."
BLOG = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Calm Practice blog</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body>
<header><nav><a href="/">Home</a> <a href="/about">About</a> <a href="/blog">Blog</a></nav></header>
<div class="cookie-banner">We use cookies. <button type="button">OK</button></div>
<article><h1>Calmer mornings</h1>
<p>Most of what makes a morning calm happens the evening before.</p>
<aside class="subscribe-box">
{form}
</aside>
<p>Related: <a href="/blog/evenings">Evening routines</a></p></article>
<footer>© Calm Practice · <a href="/privacy">Privacy</a></footer>
</body></html>
"""


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, object]]:
    monkeypatch.delenv("NEWSLETTER_SECRET", raising=False)
    monkeypatch.delenv("NEWSLETTER_CONFIG", raising=False)
    monkeypatch.delenv("NEWSLETTER_DATABASE_URL", raising=False)
    app_server = make_server("127.0.0.1", 0, lambda env, start: [], threaded=True)
    base = f"http://127.0.0.1:{app_server.server_address[1]}"
    toml = tmp_path / "newsletter.toml"
    toml.write_text(
        '[sender]\nname = "Dana at Calm Practice"\nemail = "dana@example.com"\n'
        f'[web]\nbase_url = "{base}"\n'
        f'[lists.readers]\nconsent_text = "{CONSENT}"\ntitle = "Get the series by email"\n',
        encoding="utf-8",
    )
    cfg = load_config(toml)
    store = Store(cfg.db_url)
    app_server.app = create_app(store, cfg)  # type: ignore[attr-defined]
    blog_dir = tmp_path / "blog"
    blog_dir.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(blog_dir))
    blog_server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    for s in (app_server, blog_server):
        threading.Thread(target=s.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield {
            "toml": str(toml),
            "store": store,
            "config": cfg,
            "blog_dir": blog_dir,
            "blog": f"http://127.0.0.1:{blog_server.server_address[1]}/guilt.html",
        }
    finally:
        for s in (app_server, blog_server):
            s.shutdown()
            s.server_close()
        store.close()


def run(toml: str, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--config", toml, *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_reader_joins_confirms_gets_part_one_and_moves_their_time_zone(  # type: ignore[no-untyped-def]
    browser,  # noqa: F811 - the fixture imported above
    world,
) -> None:
    toml = str(world["toml"])
    cfg = world["config"]
    store: Store = world["store"]  # type: ignore[assignment]
    form = run(toml, "form", "readers")
    Path(world["blog_dir"], "guilt.html").write_text(BLOG.format(form=form), encoding="utf-8")
    issue = REPO / "issues" / "calmer-mornings.md"
    run(
        toml,
        "queue",
        str(issue),
        "--list",
        "readers",
        "--mode",
        "sequence",
        "--every",
        "1d",
        "--at",
        "09:00",
    )

    context = browser.new_context(
        viewport={"width": 375, "height": 800}, timezone_id="America/New_York"
    )
    page = context.new_page()

    # The --fetch form answers in place, across origins (CORS), and the page stays.
    fetch_form = run(toml, "form", "readers", "--fetch")
    Path(world["blog_dir"], "fetch.html").write_text(BLOG.format(form=fetch_form), encoding="utf-8")
    page.goto(str(world["blog"]).replace("guilt.html", "fetch.html"))
    page.get_by_label("Email address").fill("not an address")
    page.get_by_label(CONSENT).check()
    # the browser's own check stops a malformed address first; the server's answer shows too
    page.evaluate("document.querySelector('input[name=email]').type = 'text'")
    page.get_by_role("button", name="Subscribe").click()
    answer = page.get_by_role("status")
    answer.filter(has_text="is not a valid email address").wait_for()
    page.get_by_label("Email address").fill("fetch@example.com")
    page.get_by_role("button", name="Subscribe").click()
    answer.filter(has_text="check your inbox").wait_for()
    assert page.url.endswith("/fetch.html")
    page.goto(str(world["blog"]))
    page.get_by_label("Email address").fill("reader@example.com")
    page.get_by_label("First name (optional)").fill("Rae")
    page.get_by_label(CONSENT).check()
    page.get_by_role("button", name="Subscribe").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Check your inbox").is_visible()
    shot(page, "signup-check-inbox")

    confirm = [
        m
        for m in outbox_messages(cfg.outbox_path)  # type: ignore[attr-defined]
        if m["X-Newsletter-Part"] == "confirm"
        and m["To"].addresses[0].addr_spec == "reader@example.com"
    ]
    assert len(confirm) == 1
    link = re.search(r"http://\S+/confirm/\S+", confirm[0].get_body(("plain",)).get_content())
    assert link
    page.goto(link.group(0))
    shot(page, "signup-confirm")
    page.get_by_role("button", name="Yes, subscribe me").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="You are subscribed").is_visible()

    run(toml, "send-due")
    parts = [
        m
        for m in outbox_messages(cfg.outbox_path)  # type: ignore[attr-defined]
        if m["To"].addresses[0].addr_spec == "reader@example.com"
        and m["X-Newsletter-Part"] != "confirm"
    ]
    assert [str(m["X-Newsletter-Part"]) for m in parts] == ["calmer-mornings-part-1"]
    html = parts[0].get_body(("html",)).get_content()
    assert "Rae" in html
    with store.begin() as conn:
        sub = conn.execute(select(Subscriber).where(Subscriber.email == "reader@example.com")).one()
        assert sub.timezone == "America/New_York"  # filled in from the browser
        due_ny = conn.scalar(
            select(Delivery.due_at).where(Delivery.part == 2, Delivery.subscriber_id == sub.id)
        )
    ny = ZoneInfo("America/New_York")
    local_day = due_ny.replace(tzinfo=UTC).astimezone(ny)
    assert local_day.time() == time(9, 0)

    # The footer's preferences link; the time zone moves the next part.
    prefs = re.search(r'href="([^"]+\?preferences)"', html)
    assert prefs
    page.goto(prefs.group(1).replace("&amp;", "&"))
    assert page.get_by_role("heading", name="Your preferences").is_visible()
    page.get_by_label("Time zone").select_option("Asia/Tokyo")
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state()
    assert page.get_by_text("Saved.").is_visible()
    shot(page, "signup-preferences")
    with store.begin() as conn:
        due_tokyo = conn.scalar(
            select(Delivery.due_at).where(Delivery.part == 2, Delivery.subscriber_id == sub.id)
        )
    tokyo = datetime.combine(local_day.date(), time(9, 0), tzinfo=ZoneInfo("Asia/Tokyo"))
    assert due_tokyo.replace(tzinfo=UTC) == tokyo.astimezone(UTC)
    shown = page.locator(".next-due").first.inner_text()
    assert shown == f"{tokyo:%Y-%m-%d} 09:00 (Asia/Tokyo)", shown
    context.close()
