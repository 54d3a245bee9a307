"""The editor's desk, used as an editor would: in a real browser (Playwright + Debian's
chromium) against `newsletter desk` started as its own process, from a fresh
`newsletter init` workspace; and its door: sign-in, the one-time link, CSRF."""

from __future__ import annotations

import io
import re
import sqlite3
import threading
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from newsletter.cli import cli
from newsletter.config import load_config
from newsletter.desk import create_desk
from newsletter.store import Store

from .conftest import REPO
from .helpers import newsletter_process, stop_process
from .test_preview import browser, shot  # noqa: F401 - the shared browser fixture

SAMPLE = REPO / "newsletter" / "data" / "sample-subscribers.csv"
NEW_SUBJECT = "Why the guilt shows up on Sunday nights"


def _cli(cwd: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--config", str(cwd / "newsletter.toml"), *args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("NEWSLETTER_CONFIG", "NEWSLETTER_DATABASE_URL", "NEWSLETTER_SECRET"):
        monkeypatch.delenv(name, raising=False)
    assert CliRunner().invoke(cli, ["init", "mynews"]).exit_code == 0
    ws = tmp_path / "mynews"
    _cli(ws, "subscribers", "import", str(SAMPLE), "--list", "readers")
    return ws


@pytest.fixture
def desk(workspace: Path) -> Iterator[tuple[str, str]]:
    """`newsletter desk --port 0` running in the workspace: (its base URL, sign-in link)."""
    proc = newsletter_process("desk", "--port", "0", cwd=workspace)
    assert proc.stdout is not None
    lines = []
    link = ""
    while not link:
        line = proc.stdout.readline()
        assert line, "".join(lines) + (proc.stdout.read() if proc.poll() is not None else "")
        lines.append(line)
        found = re.search(r"(http://127\.0\.0\.1:\d+/desk/login\?token=\S+)", line)
        link = found.group(1) if found else ""
    base = link.split("/desk/")[0]
    try:
        yield base, link
    finally:
        stop_process(proc)


def _no_horizontal_scroll(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), page.url


def _accessible(page: Any) -> None:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    serious = [
        v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")
    ]
    assert not serious, (page.url, [(v["id"], v["help"]) for v in serious])


def test_import_edit_queue_send_and_see_it_sent(  # type: ignore[no-untyped-def]
    browser,  # noqa: F811 - the fixture imported above
    workspace: Path,
    desk: tuple[str, str],
    seed_path: Path,
) -> None:
    base, link = desk
    context = browser.new_context(viewport={"width": 375, "height": 900})
    context.set_default_timeout(120_000)  # room for a busy machine: waits end on events
    page = context.new_page()
    page.goto(link)
    page.get_by_role("heading", name="Your newsletter").wait_for()
    _no_horizontal_scroll(page)
    _accessible(page)

    page.get_by_role("link", name="New series").first.click()
    _accessible(page)
    page.get_by_label("Article text").fill(seed_path.read_text(encoding="utf-8"))
    page.get_by_role("button", name="Import").click()
    page.get_by_role("heading", name="What the import kept and dropped").wait_for()
    _no_horizontal_scroll(page)
    _accessible(page)
    shot(page, "desk-issue")

    # Copied text keeps no links: the button gets one here (the check would refuse it).
    page.get_by_label("Button link").fill("https://example.com/contact")
    page.get_by_role("button", name="Save the call to action").click()
    page.get_by_role("status").filter(has_text="Call to action saved").wait_for()

    part2 = page.get_by_role("region", name="Part 2")
    part2.get_by_label("Subject").fill(NEW_SUBJECT)
    part2.get_by_role("button", name="Save").click()
    page.get_by_role("status").filter(has_text="Part 2 saved").wait_for()
    assert page.get_by_role("region", name="Part 2").get_by_label("Subject").input_value() == (
        NEW_SUBJECT
    )

    page.get_by_label("List").fill("readers")
    page.get_by_label("Mode").select_option("sequence")
    assert page.get_by_label("Start").input_value() == "now"
    page.get_by_label("Every").fill("3d")
    page.get_by_role("button", name="Queue").click()
    page.wait_for_url("**/series/**")
    notice = page.get_by_role("status")
    assert "part 1 goes to 21 readers" in notice.inner_text()

    # The sender is the CLI's, run from cron or `newsletter run`.
    _cli(workspace, "send-due")
    page.reload()
    table = page.get_by_role("table", name="Each part's messages")
    headers = [h.strip() for h in table.locator("thead th").all_inner_texts()]
    sent_col = headers.index("Sent")
    first_row = table.locator("tbody tr").first.locator("th, td").all_inner_texts()
    assert first_row[sent_col].strip() == "21"
    chart = page.get_by_role("img", name=re.compile("sent", re.I))
    assert "Part 1: 21 sent" in (chart.get_attribute("aria-label") or "")
    _no_horizontal_scroll(page)
    _accessible(page)
    shot(page, "desk-series")

    page.get_by_role("link", name="Subscribers").click()
    page.get_by_label("Find a reader").fill("example")
    page.get_by_role("button", name="Search").click()
    _no_horizontal_scroll(page)
    _accessible(page)
    # one reader's page, and the question before erasing them
    page.get_by_role("link", name="amara.okafor@example.com").click()
    page.get_by_role("heading", name="Consent record").wait_for()
    _no_horizontal_scroll(page)
    _accessible(page)
    page.get_by_role("button", name="Forget this reader").click()
    page.get_by_role("button", name="Yes, erase amara.okafor@example.com").wait_for()
    _no_horizontal_scroll(page)
    _accessible(page)
    page.get_by_role("link", name="No, keep them").click()
    page.get_by_role("heading", name="Consent record").wait_for()
    # a CSV with bad lines: every one of them on the import's report
    page.get_by_role("link", name="Subscribers", exact=True).click()
    bad_csv = workspace / "bad-lines.csv"
    bad_csv.write_text("email\n" + "".join(f"not-an-address-{i}\n" for i in range(7)))
    page.get_by_label("Subscribers file (CSV)").set_input_files(str(bad_csv))
    page.get_by_label("List to join").fill("readers")
    page.get_by_role("button", name="Import readers").click()
    page.get_by_role("heading", name="Import report").wait_for()
    assert page.get_by_role("table").locator("tbody tr").count() == 7
    _no_horizontal_scroll(page)
    _accessible(page)
    for name in ("Feeds", "Settings"):
        page.get_by_role("link", name=name, exact=True).click()
        page.get_by_role("heading", name=name, exact=True).wait_for()
        _no_horizontal_scroll(page)
        _accessible(page)

    # What readers get: part 1 in the outbox; part 2 waits with the new subject.
    sent = list((workspace / "outbox").glob("*.eml"))
    assert len(sent) == 21
    subjects = {
        str(make_header(decode_header(message_from_bytes(p.read_bytes())["Subject"]))) for p in sent
    }
    assert NEW_SUBJECT not in subjects and len(subjects) == 1
    db = sqlite3.connect(workspace / "newsletter.db")
    try:
        (subject,) = db.execute("SELECT subject FROM campaign_parts WHERE part = 2").fetchone()
        scheduled = db.execute(
            "SELECT count(*) FROM deliveries WHERE part = 2 AND state = 'scheduled'"
        ).fetchone()[0]
    finally:
        db.close()
    assert subject == NEW_SUBJECT and scheduled == 21
    assert (
        f"  2: {{subject: {NEW_SUBJECT}}}"
        in (workspace / "issues")
        .joinpath(next(p.name for p in (workspace / "issues").glob("working*.md")))
        .read_text()
        or NEW_SUBJECT in next((workspace / "issues").glob("working*.md")).read_text()
    )
    context.close()


# --- the door ---------------------------------------------------------------------------


@pytest.fixture
def app(workspace: Path) -> Iterator[tuple[Any, str]]:
    config = load_config(workspace / "newsletter.toml")
    store = Store(config.db_url)
    try:
        yield create_desk(store, config)
    finally:
        store.close()


PAGES = [
    "/desk/",
    "/desk/settings",
    "/desk/feeds",
    "/desk/new",
    "/desk/issues/calmer-mornings",
    "/desk/issues/calmer-mornings/parts/1/preview",
    "/desk/subscribers",
    "/desk/subscribers.csv",
    "/desk/series/calmer-mornings",
    "/desk/series/calmer-mornings.csv",
    "/desk/reader?email=amara.okafor@example.com",
    "/desk/issues/calmer-mornings/parts/1/preview?view=dark",
]
ACTIONS = [
    "/desk/new",
    "/desk/feeds",
    "/desk/feeds/check",
    "/desk/issues/calmer-mornings/parts/1",
    "/desk/issues/calmer-mornings/queue",
    "/desk/series/calmer-mornings/pause",
    "/desk/subscribers/import",
    "/desk/reader/add",
    "/desk/reader/leave",
    "/desk/reader/unsubscribe",
    "/desk/reader/forget",
    "/desk/series/calmer-mornings/test",
    "/desk/series/calmer-mornings/batches/1",
    "/desk/issues/calmer-mornings/parts/1/test",
]


def _signed_in(client: FlaskClient, token: str) -> str:
    assert client.get(f"/desk/login?token={token}").status_code == 302
    page = client.get("/desk/").get_data(as_text=True)
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found
    return found.group(1)


def test_nothing_without_signing_in(app: tuple[Any, str]) -> None:
    flask_app, _token = app
    client = flask_app.test_client()
    for path in PAGES:
        page = client.get(path, headers={"Accept": "text/html"})
        assert page.status_code == 302 and "/desk/login" in page.headers["Location"], path
        assert client.get(path, headers={"Accept": "application/json"}).status_code == 401
    for path in ACTIONS:
        assert client.post(path, data={"subject": "x"}).status_code == 401, path
    signin = client.get("/desk/login")
    assert signin.status_code == 200 and "newsletter desk" in signin.get_data(as_text=True)


def test_the_one_time_link_works_once(app: tuple[Any, str]) -> None:
    flask_app, token = app
    first = flask_app.test_client()
    _signed_in(first, token)
    assert first.get("/desk/").status_code == 200
    again = flask_app.test_client()
    refused = again.get(f"/desk/login?token={token}")
    assert refused.status_code == 403 and "works once" in refused.get_data(as_text=True)
    assert again.get("/desk/", headers={"Accept": "text/html"}).status_code == 302
    assert flask_app.test_client().get("/desk/login?token=forged").status_code == 403


def test_a_post_without_the_csrf_token_is_refused(app: tuple[Any, str], workspace: Path) -> None:
    flask_app, token = app
    client = flask_app.test_client()
    csrf = _signed_in(client, token)
    issue = workspace / "issues" / "calmer-mornings.md"
    before = issue.read_text()
    for data in ({"subject": "Changed"}, {"subject": "Changed", "csrf": "forged"}):
        answer = client.post("/desk/issues/calmer-mornings/parts/1", data=data)
        assert answer.status_code == 403
    assert issue.read_text() == before
    saved = client.post(
        "/desk/issues/calmer-mornings/parts/1", data={"subject": "Changed", "csrf": csrf}
    )
    assert saved.status_code == 302 and "subject: Changed" in issue.read_text()


def test_pages_send_security_headers_and_cookies_are_strict(app: tuple[Any, str]) -> None:
    flask_app, token = app
    client = flask_app.test_client()
    login = client.get(f"/desk/login?token={token}")
    cookie = login.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    page = client.get("/desk/")
    csp = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'none'" in csp
    assert page.headers["Cache-Control"] == "no-store"
    preview = client.get("/desk/issues/calmer-mornings/parts/1/preview")
    assert "sandbox" in preview.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in preview.headers["Content-Security-Policy"]


def test_bad_input_is_one_clear_line(app: tuple[Any, str], workspace: Path) -> None:
    flask_app, token = app
    client = flask_app.test_client()
    csrf = _signed_in(client, token)
    nothing = client.post("/desk/new", data={"csrf": csrf})
    assert nothing.status_code == 400
    assert "give one of" in nothing.get_data(as_text=True)
    two_lines = client.post(
        "/desk/issues/calmer-mornings/parts/1",
        data={"csrf": csrf, "subject": "A\u202esubject"},
    )
    assert two_lines.status_code in (302, 400)
    missing = client.get("/desk/issues/..%2Fnewsletter")
    assert missing.status_code == 404
    queued = client.post(
        "/desk/issues/calmer-mornings/queue",
        data={"csrf": csrf, "list": "readers", "every": "soon"},
    )
    assert queued.status_code == 400 and "--every" in queued.get_data(as_text=True)
    assert "Traceback" not in queued.get_data(as_text=True)


def test_the_desk_in_the_web_app_needs_its_password(workspace: Path) -> None:
    """Under `newsletter serve` (the WSGI app) the desk is at /desk/ behind the password of
    `newsletter desk password`: an Argon2 hash; failed attempts are limited."""
    from newsletter.desk.auth import PASSWORD_SETTING, hash_password
    from newsletter.store.settings import put_setting
    from newsletter.web.app import create_app

    config = load_config(workspace / "newsletter.toml")
    store = Store(config.db_url)
    try:
        client = create_app(store, config).test_client()
        assert client.get("/desk/", headers={"Accept": "text/html"}).status_code == 302
        assert "newsletter desk password" in client.get("/desk/login").get_data(as_text=True)
        assert client.post("/desk/login", data={"password": "guess"}).status_code == 403
        put_setting(store, PASSWORD_SETTING, hash_password("a long desk password"))
        stored = store.setting(PASSWORD_SETTING) or ""
        assert stored.startswith("$argon2") and "a long desk password" not in stored
        refused = client.post("/desk/login", data={"password": "wrong"})
        assert refused.status_code == 401 and "not right" in refused.get_data(as_text=True)
        for _ in range(4):
            client.post("/desk/login", data={"password": "wrong"})
        limited = client.post("/desk/login", data={"password": "a long desk password"})
        assert limited.status_code == 429
        other = create_app(store, config).test_client()
        signed = other.post("/desk/login", data={"password": "a long desk password"})
        assert signed.status_code == 302
        assert other.get("/desk/").status_code == 200
        assert other.get("/desk/login?token=anything").status_code == 403
        # the readers' pages are as they were
        assert client.get("/healthz").status_code == 200
    finally:
        store.close()


def test_feeds_page_follows_a_feed_and_says_why_not(app: tuple[Any, str]) -> None:
    flask_app, token = app
    client = flask_app.test_client()
    csrf = _signed_in(client, token)
    page = client.get("/desk/feeds").get_data(as_text=True)
    assert "Follow a feed" in page and "Feed link" in page
    refused = client.post(
        "/desk/feeds", data={"csrf": csrf, "url": "not a feed", "list": "readers"}
    )
    assert refused.status_code == 400
    text = refused.get_data(as_text=True)
    assert "not a feed" in text and "Traceback" not in text
    checked = client.post("/desk/feeds/check", data={"csrf": csrf})
    assert checked.status_code == 302
    assert "Checked 0 feeds" in client.get("/desk/feeds").get_data(as_text=True)


def test_settings_are_written_back_with_their_comments(
    app: tuple[Any, str], workspace: Path
) -> None:
    flask_app, token = app
    client = flask_app.test_client()
    csrf = _signed_in(client, token)
    toml = workspace / "newsletter.toml"
    comments = [line for line in toml.read_text().splitlines() if line.startswith("#")]
    saved = client.post(
        "/desk/settings",
        data={
            "csrf": csrf,
            "sender.name": "Calm Practice",
            "sender.postal_address": "1 Quiet Lane, Leeds LS1 4AP",
            "brand.primary_color": "#7a3b69",
        },
    )
    assert saved.status_code == 302
    text = toml.read_text()
    assert 'name = "Calm Practice"' in text and 'primary_color = "#7a3b69"' in text
    assert all(c in text for c in comments), "every comment kept"
    assert load_config(toml).sender.postal_address == "1 Quiet Lane, Leeds LS1 4AP"
    preview = client.get("/desk/issues/calmer-mornings/parts/1/preview").get_data(as_text=True)
    assert "#7a3b69" in preview and "1 Quiet Lane" in preview
    bad = client.post("/desk/settings", data={"csrf": csrf, "sender.email": "not an address"})
    assert bad.status_code == 400 and "sender" in bad.get_data(as_text=True)
    assert load_config(toml).sender.email != "not an address", "nothing written"


# --- one reader, the import's report, parts' buttons and previews, proofs, batches -------


def test_a_readers_page_and_what_the_editor_can_do_there(
    app: tuple[Any, str], workspace: Path
) -> None:
    flask_app, token = app
    client = flask_app.test_client()
    csrf = _signed_in(client, token)
    queued = client.post(
        "/desk/issues/calmer-mornings/queue", data={"csrf": csrf, "list": "readers"}
    )
    assert queued.status_code == 302
    found = client.get("/desk/subscribers?q=amara").get_data(as_text=True)
    assert 'href="/desk/reader?email=amara.okafor@example.com"' in found
    page = client.get("/desk/reader?email=amara.okafor@example.com").get_data(as_text=True)
    assert "Amara Okafor" in page and "Africa/Lagos" in page
    assert "Consent record" in page and "import on readers" in page
    assert 'href="/desk/series/calmer-mornings"' in page
    assert page.count("<td>scheduled</td>") >= 2, "each part of the series, with its state"
    assert "Not suppressed." in page

    # remove from one list: the reader's series parts from it are skipped
    left = client.post(
        "/desk/reader/leave",
        data={"csrf": csrf, "email": "amara.okafor@example.com", "list": "readers"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Removed from &#39;readers&#39;" in left and "readers (unsubscribed)" in left
    assert "<td>scheduled</td>" not in left and "skipped (unsubscribed)" in left

    # unsubscribe from everything: suppressed as the CLI does it
    gone = client.post(
        "/desk/reader/unsubscribe",
        data={"csrf": csrf, "email": "ben.hartley@example.org"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Unsubscribed from everything" in gone and "unsubscribed by newsletter" in gone

    # forget: a page that asks first, then the erasure of `subscribers remove --forget`
    ask = client.post(
        "/desk/reader/forget", data={"csrf": csrf, "email": "amara.okafor@example.com"}
    )
    assert ask.status_code == 200 and "Yes, erase amara.okafor@example.com" in ask.get_data(
        as_text=True
    )
    assert client.get("/desk/reader?email=amara.okafor@example.com").status_code == 200
    erased = client.post(
        "/desk/reader/forget",
        data={"csrf": csrf, "email": "amara.okafor@example.com", "confirm": "erase"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Erased" in erased
    assert client.get("/desk/reader?email=amara.okafor@example.com").status_code == 404
    db = sqlite3.connect(workspace / "newsletter.db")
    try:
        rows = db.execute("SELECT count(*) FROM subscribers WHERE email LIKE 'amara%'").fetchone()[
            0
        ]
    finally:
        db.close()
    assert rows == 0
    # an erased address cannot be added back from the desk
    again = client.post(
        "/desk/reader/add",
        data={"csrf": csrf, "email": "amara.okafor@example.com", "list": "readers"},
    )
    assert again.status_code == 400 and "Traceback" not in again.get_data(as_text=True)

    # add a reader
    added = client.post(
        "/desk/reader/add",
        data={
            "csrf": csrf,
            "email": "new.reader@example.com",
            "first_name": "Nia",
            "last_name": "Reed",
            "list": "readers",
        },
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Added." in added and "Nia Reed" in added and "cli on readers" in added
    bad = client.post(
        "/desk/reader/add", data={"csrf": csrf, "email": "not an address", "list": "readers"}
    )
    assert bad.status_code == 400 and "not a valid address" in bad.get_data(as_text=True)
    nobody = client.post(
        "/desk/reader/unsubscribe", data={"csrf": csrf, "email": "nobody@example.com"}
    )
    assert nobody.status_code == 404
    assert (
        client.post("/desk/reader/forget", data={"email": "ben.hartley@example.org"}).status_code
        == 403
    )


def test_a_csv_import_lists_every_bad_line(app: tuple[Any, str], tmp_path: Path) -> None:
    flask_app, token = app
    client = flask_app.test_client()
    csrf = _signed_in(client, token)
    rows = ["email,first_name", "good.one@example.com,Good"]
    rows += [f"broken{i}-at-example.com,Bad" for i in range(8)]
    body = ("\n".join(rows) + "\n").encode()
    answer = client.post(
        "/desk/subscribers/import",
        data={"csrf": csrf, "list": "readers", "file": (io.BytesIO(body), "people.csv")},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    assert "1 added" in page and "8 bad rows" in page
    for line in range(3, 11):
        assert f'<th scope="row">{line}</th>' in page, line
    assert "broken7-at-example.com" in page or "not a valid" in page


def test_a_parts_own_button_and_its_dark_and_text_previews(
    app: tuple[Any, str], workspace: Path
) -> None:
    flask_app, token = app
    client = flask_app.test_client()
    csrf = _signed_in(client, token)
    issue = workspace / "issues" / "calmer-mornings.md"
    saved = client.post(
        "/desk/issues/calmer-mornings/parts/2",
        data={
            "csrf": csrf,
            "cta_label": "Book a quiet call",
            "cta_url": "https://example.com/book",
        },
    )
    assert saved.status_code == 302
    text = issue.read_text()
    assert "Book a quiet call" in text and "https://example.com/book" in text
    page = client.get("/desk/issues/calmer-mornings").get_data(as_text=True)
    assert 'value="Book a quiet call"' in page
    assert "Next best place for the break after this part" in page, "why the break is there"
    two = client.get("/desk/issues/calmer-mornings/parts/2/preview").get_data(as_text=True)
    one = client.get("/desk/issues/calmer-mornings/parts/1/preview").get_data(as_text=True)
    assert "https://example.com/book" in two and "https://example.com/book" not in one
    bad = client.post(
        "/desk/issues/calmer-mornings/parts/2",
        data={"csrf": csrf, "cta_label": "Go", "cta_url": "javascript:alert(1)"},
    )
    assert bad.status_code == 400 and "cta" in bad.get_data(as_text=True)
    assert "javascript:" not in issue.read_text()
    cleared = client.post(
        "/desk/issues/calmer-mornings/parts/2", data={"csrf": csrf, "cta_label": "", "cta_url": ""}
    )
    assert cleared.status_code == 302 and "Book a quiet call" not in issue.read_text()

    light = client.get("/desk/issues/calmer-mornings/parts/1/preview").get_data(as_text=True)
    dark = client.get("/desk/issues/calmer-mornings/parts/1/preview?view=dark")
    assert "prefers-color-scheme: dark" in light.replace(
        "(prefers-color-scheme:dark)", "(prefers-color-scheme: dark)"
    )
    assert "prefers-color-scheme" not in dark.get_data(as_text=True)
    assert "sandbox" in dark.headers["Content-Security-Policy"]
    plain = client.get("/desk/issues/calmer-mornings/parts/1/preview?view=text")
    assert plain.mimetype == "text/plain" and "<" not in plain.get_data(as_text=True)[:200]
    assert "?view=dark" in page and "?view=text" in page


def test_a_test_of_one_part_goes_to_the_sender(app: tuple[Any, str], workspace: Path) -> None:
    flask_app, token = app
    client = flask_app.test_client()
    csrf = _signed_in(client, token)
    client.post("/desk/issues/calmer-mornings/queue", data={"csrf": csrf, "list": "readers"})
    page = client.get("/desk/series/calmer-mornings").get_data(as_text=True)
    assert "Part to test" in page
    config = load_config(workspace / "newsletter.toml")
    sent = client.post("/desk/series/calmer-mornings/test", data={"csrf": csrf, "part": "2"})
    assert sent.status_code == 302
    notice = client.get("/desk/series/calmer-mornings").get_data(as_text=True)
    assert f"A test of part 2 went to {config.sender.email}" in notice
    (proof,) = (workspace / "outbox").glob("*.eml")
    message = message_from_bytes(proof.read_bytes())
    assert config.sender.email in message["To"]
    assert str(make_header(decode_header(message["Subject"]))).startswith("[TEST]")
    bad = client.post("/desk/series/calmer-mornings/test", data={"csrf": csrf, "part": "9"})
    assert bad.status_code == 400 and "parts 1 to" in bad.get_data(as_text=True)
    # before queueing too: from the issue's page, beside each part
    issue = client.get("/desk/issues/calmer-mornings").get_data(as_text=True)
    assert "Send a test of part 1 to me" in issue
    assert (
        client.post("/desk/issues/calmer-mornings/parts/1/test", data={"csrf": csrf}).status_code
        == 302
    )
    assert len(list((workspace / "outbox").glob("*.eml"))) == 2
    assert client.post("/desk/issues/calmer-mornings/parts/1/test").status_code == 403


def test_unknown_batches_are_settled_with_the_providers_evidence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two requests whose answers were lost (Postmark, on a real HTTP server on 127.0.0.1):
    the series' page shows each with what Postmark's log says; one answer each."""
    from newsletter.store import ledger, utcnow

    from .mock_providers import MockProvider
    from .test_providers import setup

    server = MockProvider("postmark")
    try:
        cfg, store, sender = setup(
            tmp_path, server, monkeypatch, 3, batch_size=2, max_error_rate=1.0
        )
        sender.provider.timeout = 0.5  # type: ignore[attr-defined]
        server.hold = threading.Event()  # no answer before the sender has given up on it
        assert sender.send_due().unknown == 4
        server.hold.set()
        first, second = ledger.unknown_batches(store)
        flask_app, token = create_desk(store, cfg)
        client = flask_app.test_client()
        csrf = _signed_in(client, token)
        page = client.get("/desk/series/calmer-mornings").get_data(as_text=True)
        assert "Batches to settle" in page
        assert re.search(r"postmark&#39;s log shows \d+ of the batch&#39;s 2 messages", page)
        assert f"Batch {first.id}: part 1" in page and f"Batch {second.id}: part 1" in page
        home = client.get("/desk/").get_data(as_text=True)
        assert "#unknown-h" in home
        evil = client.get("/desk/reader?email=evil@example.com").get_data(as_text=True)
        assert "<img src=x" not in evil and "&lt;img src=x" in evil, "a reader's name escaped"
        done = client.post(
            f"/desk/series/calmer-mornings/batches/{first.id}",
            data={"csrf": csrf, "answer": "were-sent"},
            follow_redirects=True,
        ).get_data(as_text=True)
        assert f"Batch {first.id}: 2 messages marked sent." in done
        again = client.post(
            f"/desk/series/calmer-mornings/batches/{second.id}",
            data={"csrf": csrf, "answer": "resend"},
            follow_redirects=True,
        ).get_data(as_text=True)
        assert f"Batch {second.id}: 2 messages scheduled again" in again
        assert "Batches to settle" not in again
        twice = client.post(
            f"/desk/series/calmer-mornings/batches/{second.id}",
            data={"csrf": csrf, "answer": "resend"},
        )
        assert twice.status_code == 400 and "not unknown" in twice.get_data(as_text=True)
        assert sender.send_due(utcnow() + timedelta(minutes=1)).sent == 2
        counts = ledger.status(store)[0].counts
        assert counts["sent"] == 4 and counts["unknown"] == 0
    finally:
        server.stop()
        if "store" in locals():
            store.close()


def test_a_readers_messages_on_either_database(db_url: str, tmp_path: Path) -> None:
    """The reader's page reads the same on SQLite and PostgreSQL: each part of each series
    to them with its state, and nobody else's."""
    from newsletter.config import Config
    from newsletter.schedule import queue_issue
    from newsletter.store.readers import reader_page
    from newsletter.store.subscribers import import_csv, unsubscribe

    from .helpers import write_csv

    cfg = Config(root=tmp_path)
    cfg.database_url = db_url
    store = Store(db_url)
    try:
        people = [["email", "first_name", "tags"], ["ana@example.com", "Ana", "vip"]]
        people += [["bo@example.com", "Bo", ""]]
        import_csv(store, write_csv(tmp_path / "p.csv", people), list_name="r")
        queue_issue(store, cfg, REPO / "issues" / "calmer-mornings.md", list_name="r")
        unsubscribe(store, "bo@example.com")
        ana = reader_page(store, "ANA@example.com")
        bo = reader_page(store, "bo@example.com")
        assert ana is not None and bo is not None
        assert [(d.slug, d.part, d.state) for d in ana.deliveries] == [
            ("calmer-mornings", 1, "scheduled"),
            ("calmer-mornings", 2, "scheduled"),
        ]
        assert ana.shown.fields["tags"] == "vip" and ana.shown.lists == ["r"]
        assert {d.state for d in bo.deliveries} == {"skipped"}
        assert [s.reason for s in bo.shown.suppressions] == ["unsubscribed"]
        assert reader_page(store, "nobody@example.com") is None
    finally:
        store.close()


def test_finding_a_reader_ignores_case_on_either_database(db_url: str) -> None:
    from newsletter.store.lists import search_readers
    from newsletter.store.subscribers import add_subscriber

    store = Store(db_url)
    try:
        add_subscriber(store, "Ann.Lee@Example.com", first_name="Ann", list_name="readers")
        add_subscriber(store, "bo@example.com", first_name="Bo", last_name="MacLean")
        assert [r.email for r in search_readers(store, "ANN.LEE")] == ["Ann.Lee@example.com"]
        assert [r.email for r in search_readers(store, "maclean")] == ["bo@example.com"]
        assert [r.lists for r in search_readers(store, "ann")] == [("readers",)]
        assert search_readers(store, "nobody") == []
    finally:
        store.close()
