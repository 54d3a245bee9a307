"""The public archive reads the parts sent from the per-part counters and an index, not from
a pass over the ledger, and shows what it showed before (issue 20); its pages carry an ETag
and a Cache-Control, and answer 304 to a client that holds them already, over real HTTP on
127.0.0.1 and in a real browser."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import DateTime, bindparam, event, text
from werkzeug.serving import make_server

from newsletter.archive import published
from newsletter.config import Config
from newsletter.providers import get_provider
from newsletter.schedule import queue_issue
from newsletter.sender import Sender
from newsletter.store import Store, utcnow
from newsletter.store.subscribers import add_subscriber, forget
from newsletter.web.app import create_app

from .conftest import REPO
from .test_preview import browser  # noqa: F401 - the shared fixture

ISSUE = REPO / "issues" / "calmer-mornings.md"

#: what the archive showed before issue 20, read the way it was: the first sending of each
#: part of each series, aggregated over the sent rows of the whole ledger
BEFORE = text(
    "SELECT c.slug, d.part, MIN(d.sent_at), c.id FROM deliveries d"
    " JOIN campaigns c ON c.id = d.campaign_id"
    " WHERE d.state = 'sent' AND d.sent_at <= :now GROUP BY c.id, c.slug, d.part"
).bindparams(bindparam("now", type_=DateTime))  # (bound as the column's values are stored)


def config(root: Path) -> Config:
    cfg = Config(root=root)
    cfg.sender.name = "Calm Practice"
    cfg.sender.email = "dana@example.com"
    return cfg


def send(store: Store, cfg: Config, now: datetime) -> None:
    Sender(store, get_provider(cfg), cfg).send_due(now)


def shown(store: Store, now: datetime) -> dict[tuple[str, int], tuple[datetime, int]]:
    """(slug, part) -> (published at, the series whose text is shown), as the archive has it."""
    return {
        (s.slug, p.index): (p.published_at, p.campaign_id)
        for s in published(store, now)
        for p in s.parts
    }


def before(store: Store, now: datetime) -> dict[tuple[str, int], tuple[datetime, int]]:
    found: dict[tuple[str, int], tuple[datetime, int]] = {}
    with store.begin() as conn:
        rows = conn.execute(BEFORE, {"now": now}).all()
    for slug, part, first, cid in sorted(rows, key=lambda r: r[3]):
        first = first if isinstance(first, datetime) else datetime.fromisoformat(first)
        earlier = found.get((slug, part))
        found[(slug, part)] = (min(first, earlier[0]) if earlier else first, cid)
    return found


def test_the_archive_shows_what_the_ledger_says_was_sent(db_url: str, tmp_path: Path) -> None:
    """Two lists get the same issue (a series queued twice: first sending, latest text),
    parts go out at different times, a reader is erased: at every moment, the parts and
    dates shown are those of the aggregate over the ledger."""
    cfg = config(tmp_path)
    store = Store(db_url)
    t0 = utcnow()
    for email, name in (("ann@example.com", "readers"), ("bob@example.com", "readers")):
        add_subscriber(store, email, list_name=name)
    add_subscriber(store, "cat@example.com", list_name="others")
    queue_issue(store, cfg, ISSUE, list_name="readers", every="1d", now=t0)
    send(store, cfg, t0)
    queue_issue(store, cfg, ISSUE, list_name="others", every="1d", now=t0 + timedelta(hours=1))
    send(store, cfg, t0 + timedelta(hours=2))
    send(store, cfg, t0 + timedelta(days=1, hours=3))
    moments = [t0 - timedelta(seconds=1), t0, t0 + timedelta(hours=1), t0 + timedelta(hours=2)]
    moments += [t0 + timedelta(days=1, hours=3), t0 + timedelta(days=30)]
    for now in moments:
        assert shown(store, now) == before(store, now), now
    assert shown(store, t0 - timedelta(seconds=1)) == {}
    readers, others = (s.id for s in _campaigns(store))
    assert shown(store, t0 + timedelta(hours=1)) == {("calmer-mornings", 1): (t0, readers)}
    assert shown(store, t0 + timedelta(days=2)) == {
        ("calmer-mornings", 1): (t0, others),  # the first sending's date, the latest text
        ("calmer-mornings", 2): (t0 + timedelta(days=1, hours=3), others),
    }
    # The readers of the first sending erased: part 1 was first sent to "others" then.
    forget(store, "ann@example.com")
    forget(store, "bob@example.com")
    later = t0 + timedelta(days=2)
    assert shown(store, later) == before(store, later)
    assert shown(store, later)[("calmer-mornings", 1)] == (t0 + timedelta(hours=2), others)
    store.close()


def _campaigns(store: Store) -> list[Any]:
    with store.begin() as conn:
        return list(conn.execute(text("SELECT id FROM campaigns ORDER BY id")).all())


def test_the_archive_reads_no_pass_over_the_ledger(tmp_path: Path) -> None:
    """SQLite's plan for every statement of the archive's read: the deliveries are searched
    through an index, never scanned (the counters and the index of sent rows)."""
    cfg = config(tmp_path)
    store = Store(f"sqlite:///{tmp_path / 'newsletter.db'}")
    add_subscriber(store, "ann@example.com", list_name="readers")
    queue_issue(store, cfg, ISSUE, list_name="readers", every="1d")
    send(store, cfg, utcnow())
    statements: list[tuple[str, Any]] = []

    def seen(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        statements.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", seen)
    assert [s.slug for s in published(store)] == ["calmer-mornings"]
    event.remove(store.engine, "before_cursor_execute", seen)
    assert statements
    with store.engine.connect() as conn:
        for statement, parameters in statements:
            plan = [
                r[-1] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            ]
            scans = [step for step in plan if step.startswith("SCAN deliveries")]
            assert not scans, (statement, plan)
            if "deliveries" in statement:
                assert any("ix_deliveries_sent" in step for step in plan), plan
    store.close()


# --- over HTTP: ETag, Cache-Control, 304 -------------------------------------------------------


@pytest.fixture
def site(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """`newsletter serve` on SQLite and PostgreSQL, part 1 of a series sent to one reader;
    ``answers`` holds the status of every answer of the app."""
    monkeypatch.delenv("NEWSLETTER_SECRET", raising=False)
    cfg = config(tmp_path)
    store = Store(db_url)
    add_subscriber(store, "ann@example.com", first_name="Ann", list_name="readers")
    add_subscriber(store, "bob@example.com", list_name="others")
    server = make_server("127.0.0.1", 0, lambda env, start: [], threaded=True)
    cfg.web.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    app = create_app(store, cfg)
    answers: list[int] = []

    @app.after_request
    def count(response: Any) -> Any:
        answers.append(response.status_code)
        return response

    server.app = app
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    queue_issue(store, cfg, ISSUE, list_name="readers", every="1d")
    send(store, cfg, utcnow())
    try:
        yield {"base": cfg.web.base_url, "store": store, "config": cfg, "answers": answers}
    finally:
        server.shutdown()
        server.server_close()
        store.close()


PAGES = (
    "/archive/",
    "/archive/calmer-mornings/",
    "/archive/calmer-mornings/1/",
    "/archive/feed.xml",
)


def test_public_pages_carry_an_etag_and_answer_304(site: dict[str, Any]) -> None:
    base = site["base"]
    for path in PAGES:
        page = requests.get(base + path, timeout=10)
        assert page.status_code == 200, path
        tag = page.headers["ETag"]
        cache = page.headers["Cache-Control"]
        assert "public" in cache and "max-age=60" in cache and "no-store" not in cache, cache
        again = requests.get(base + path, headers={"If-None-Match": tag}, timeout=10)
        assert again.status_code == 304 and again.content == b"", path
        assert again.headers["ETag"] == tag
        # a 304's headers update those the client kept: never a policy made for no page
        policy = again.headers.get("Content-Security-Policy")
        assert policy in (None, page.headers.get("Content-Security-Policy")), path
        other = requests.get(base + path, headers={"If-None-Match": '"other"'}, timeout=10)
        assert other.status_code == 200 and other.content == page.content
    # A reader's pages stay unstorable, without a tag.
    form = requests.get(f"{base}/subscribe/readers", timeout=10)
    assert "ETag" not in form.headers

    # A new series goes out: the index changes, and so does its tag.
    index = requests.get(f"{base}/archive/", timeout=10)
    assert index.text.count('class="parts"') == 1
    store, cfg = site["store"], site["config"]
    second = cfg.root / "evening-routines.md"
    second.write_text(ISSUE.read_text(encoding="utf-8"), encoding="utf-8")
    queue_issue(store, cfg, second, list_name="others", every="1d")
    send(store, cfg, utcnow())
    changed = requests.get(
        f"{base}/archive/", headers={"If-None-Match": index.headers["ETag"]}, timeout=10
    )
    assert changed.status_code == 200 and changed.headers["ETag"] != index.headers["ETag"]
    assert "evening-routines/1/" in changed.text and "evening-routines/" not in index.text


@pytest.mark.browser
def test_a_reloaded_archive_page_comes_from_the_browsers_copy_and_keeps_working(
    site: dict[str, Any],
    browser: Any,  # noqa: F811
) -> None:
    """Chromium asks again with the page's tag, gets a 304 and shows its copy: styled (its
    policy unchanged), with nothing refused."""
    context = browser.new_context()
    page = context.new_page()
    problems: list[str] = []
    page.on(
        "console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        url = f"{site['base']}/archive/calmer-mornings/"
        page.goto(url)
        width = "getComputedStyle(document.querySelector('main')).maxWidth"
        styled = page.evaluate(width)
        assert styled not in ("", "none"), "the page's <style> applies"
        before = len(site["answers"])
        page.reload()
        assert 304 in site["answers"][before:], site["answers"]
        assert page.evaluate(width) == styled
        assert page.get_by_role("link", name="Why mornings feel so hard").count() == 1
        assert not [p for p in problems if "Content Security Policy" in p], problems
    finally:
        context.close()
