"""Security headers on every page, no 500 on anonymous input, "Back" only to this site,
no bidi control in a To: display name (issue 18), over real HTTP on 127.0.0.1, and the
pages still working under their CSP in a real browser."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from werkzeug.serving import make_server

from newsletter import headers
from newsletter.config import Config
from newsletter.providers import get_provider
from newsletter.schedule import queue_issue
from newsletter.sender import Sender
from newsletter.store import Store
from newsletter.store.subscribers import add_subscriber, iter_subscribers
from newsletter.web.app import create_app

from .conftest import REPO
from .helpers import outbox_messages
from .test_preview import browser, preview  # noqa: F401 - the shared fixtures


@pytest.fixture
def web(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict]:  # type: ignore[type-arg]
    """`newsletter serve` on SQLite and PostgreSQL: a list, a reader who got part 1."""
    monkeypatch.delenv("NEWSLETTER_SECRET", raising=False)
    cfg = Config(root=tmp_path)
    cfg.sender.name = "Calm Practice"
    store = Store(db_url)
    add_subscriber(store, "ann@example.com", first_name="Ann", list_name="readers")
    server = make_server("127.0.0.1", 0, lambda env, start: [], threaded=True)
    cfg.web.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    server.app = create_app(store, cfg)  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    queue_issue(
        store,
        cfg,
        REPO / "issues" / "calmer-mornings.md",
        list_name="readers",
        start="now",
        every="1d",
    )
    Sender(store, get_provider(cfg), cfg).send_due()
    [msg] = outbox_messages(cfg.outbox_path)
    unsubscribe = str(msg["List-Unsubscribe"]).strip("<>")
    try:
        yield {
            "base": cfg.web.base_url,
            "store": store,
            "config": cfg,
            "unsubscribe": unsubscribe,
            "preferences": unsubscribe.replace("/u/", "/preferences/"),
        }
    finally:
        server.shutdown()
        server.server_close()
        store.close()


def _csp(r: requests.Response) -> dict[str, str]:
    policy = r.headers["Content-Security-Policy"]
    return {d.split(" ", 1)[0]: d.split(" ", 1)[1] for d in (p.strip() for p in policy.split(";"))}


def test_every_page_has_its_security_headers(web: dict) -> None:  # type: ignore[type-arg]
    base = web["base"]
    pages = {
        "form": requests.get(f"{base}/subscribe/readers", timeout=60),
        "preferences": requests.get(web["preferences"], timeout=60),
        "unsubscribe": requests.get(web["unsubscribe"], timeout=60),
        "archive": requests.get(f"{base}/archive/", timeout=60),
        "missing list": requests.get(f"{base}/subscribe/nobody", timeout=60),
    }
    for name, r in pages.items():
        assert r.headers["X-Content-Type-Options"] == "nosniff", name
        assert r.headers["Referrer-Policy"] == "no-referrer", name
        csp = _csp(r)
        assert csp["default-src"] == "'none'" and csp["base-uri"] == "'none'", name
        assert "unsafe-inline" not in csp["script-src"] and "unsafe-eval" not in csp["script-src"]
        assert "unsafe-inline" not in csp["style-src"], name
    # the hosted form's script is allowed by its hash, and a blog may frame the form
    assert pages["form"].status_code == 200 and "<script>" in pages["form"].text
    assert _csp(pages["form"])["script-src"].startswith("'sha256-")
    assert _csp(pages["form"])["frame-ancestors"] == "*"
    for name in ("preferences", "unsubscribe", "archive"):
        assert _csp(pages[name])["frame-ancestors"] == "'none'", name
        assert pages[name].headers["X-Frame-Options"] == "DENY", name
    for name in ("preferences", "unsubscribe", "form"):
        assert pages[name].headers["Cache-Control"] == "no-store", name
    assert "no-store" not in pages["archive"].headers.get("Cache-Control", "")
    download = requests.post(web["preferences"], data={"action": "download"}, timeout=60)
    assert download.status_code == 200 and download.json()["email"] == "ann@example.com"
    assert download.headers["Cache-Control"] == "no-store"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    answer = requests.post(
        f"{base}/subscribe/readers", data={"email": "bob@example.com"}, timeout=10
    )
    assert answer.headers["Cache-Control"] == "no-store"
    assert _csp(answer)["frame-ancestors"] == "*", "the form's answer may be framed"


def test_anonymous_input_is_never_a_500(web: dict) -> None:  # type: ignore[type-arg]
    base, store = web["base"], web["store"]
    url = f"{base}/subscribe/readers"
    deep = b'{"email": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    cases = [
        ("deep JSON", {"data": deep, "headers": {"Content-Type": "application/json"}}, "nested"),
        (
            "surrogate in JSON",
            {
                "data": b'{"email": "eve@example.com", "first_name": "Eve\\ud800"}',
                "headers": {"Content-Type": "application/json"},
            },
            "The field “first_name” holds an unpaired surrogate",
        ),
        (
            "NUL in JSON",
            {
                "data": b'{"email": "eve@example.com", "first_name": "E\\u0000ve"}',
                "headers": {"Content-Type": "application/json"},
            },
            "NUL",
        ),
        (
            "NUL in a form",
            {"data": {"email": "eve@example.com", "first_name": "E\x00ve"}},
            "The field “first_name” holds a NUL character",
        ),
        (
            "NUL in the address",
            {"data": {"email": "eve\x00@example.com"}},
            "The field “email” holds a NUL character",
        ),
        ("not JSON", {"data": b"{", "headers": {"Content-Type": "application/json"}}, "not JSON"),
    ]
    for name, request, words in cases:
        r = requests.post(url, timeout=10, **request)  # type: ignore[arg-type]
        assert r.status_code == 400, (name, r.status_code, r.text[:300])
        said = r.json()["message"] if r.headers["Content-Type"] == "application/json" else r.text
        assert words in said, (name, said[:300])
    # a NUL in the page's own address or in a token page's form
    for r in (
        requests.post(f"{base}/subscribe/read%00ers", data={"email": "x@example.com"}, timeout=60),
        requests.get(f"{base}/archive/x%00y/", timeout=60),
        requests.post(
            web["preferences"], data={"action": "save", "first_name": "A\x00nn"}, timeout=10
        ),
    ):
        assert r.status_code == 400 and "NUL" in r.text, (r.url, r.status_code, r.text[:200])
    # JSON answers for the form's script: still JSON, with the message
    r = requests.post(
        url,
        data=b'{"email": "eve@example.com", "first_name": "\\u0000"}',
        headers={"Content-Type": "application/json", "Accept": "application/json"},
        timeout=10,
    )
    assert r.status_code == 400 and r.json()["ok"] is False and "NUL" in r.json()["message"]
    assert [s["email"] for s in iter_subscribers(store)] == ["ann@example.com"]


def test_back_goes_to_this_site_only(web: dict) -> None:  # type: ignore[type-arg]
    base = web["base"]
    url = f"{base}/subscribe/readers"

    def back(data: dict[str, str], referer: str = "") -> str:
        r = requests.post(
            url, data=data, headers={"Referer": referer} if referer else {}, timeout=10
        )
        assert r.status_code == 400
        links = [line for line in r.text.splitlines() if ">Back</a>" in line]
        assert len(links) == 1, r.text
        return links[0].split('href="')[1].split('"')[0]

    hosted = f"{base}/subscribe/readers"
    assert back({"email": "not an address", "page": "https://evil.example/phish"}) == hosted
    assert back({"email": "nope"}, referer="https://evil.example/phish") == hosted
    assert back({"email": "nope", "page": "javascript:alert(1)"}) == hosted
    own = f"{base}/archive/"
    assert back({"email": "nope", "page": own}) == own


def test_no_bidi_control_reaches_a_to_display_name(tmp_path: Path) -> None:
    name = "Ann \u202egnp\u2066 Lee\u200f"
    assert headers.display_address(name, "ann@example.com") == "Ann gnp Lee <ann@example.com>"
    line = headers.fold_address("To", name, "ann@example.com")
    assert line == "To: Ann gnp Lee <ann@example.com>\r\n"
    # through the outbox: the message a reader with such a name is sent
    cfg = Config(root=tmp_path)
    store = Store(cfg.db_url)
    add_subscriber(store, "ann@example.com", first_name="Ann \u202eevil", list_name="r")
    queue_issue(store, cfg, REPO / "issues" / "calmer-mornings.md", list_name="r", start="now")
    Sender(store, get_provider(cfg), cfg).send_due()
    [msg] = outbox_messages(cfg.outbox_path)
    [to] = [ln for ln in msg.as_bytes().decode().splitlines() if ln.startswith("To:")]
    assert to == "To: Ann evil <ann@example.com>"
    assert str(msg["To"]) == "Ann evil <ann@example.com>"
    store.close()


# --- a real browser: the pages work under their CSP, with no violation reported -------------


@pytest.mark.browser
def test_the_pages_work_under_their_csp_in_a_browser(  # type: ignore[no-untyped-def]
    browser,  # noqa: F811 - the fixture
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NEWSLETTER_SECRET", raising=False)
    cfg = Config(root=tmp_path)
    store = Store(cfg.db_url)
    add_subscriber(store, "ann@example.com", first_name="Ann", list_name="readers")
    server = make_server("127.0.0.1", 0, lambda env, start: [], threaded=True)
    cfg.web.base_url = base = f"http://127.0.0.1:{server.server_address[1]}"
    cfg.lists["readers"] = cfg.list_settings("readers")
    cfg.lists["readers"].double_opt_in = False
    server.app = create_app(store, cfg)  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    queue_issue(
        store, cfg, REPO / "issues" / "calmer-mornings.md", list_name="readers", start="now"
    )
    Sender(store, get_provider(cfg), cfg).send_due()
    [msg] = outbox_messages(cfg.outbox_path)
    preferences = str(msg["List-Unsubscribe"]).strip("<>").replace("/u/", "/preferences/")
    context = browser.new_context()
    page = context.new_page()
    problems: list[str] = []
    page.on(
        "console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        # the hosted form: its script fills in the time zone and the page, then it posts
        page.goto(f"{base}/subscribe/readers")
        page.fill("input[name=email]", "bob@example.com")
        page.fill("input[name=first_name]", "Bob")
        tz = page.locator("input[name=timezone]").input_value()
        assert tz and tz != "", "the inline script ran"
        assert page.locator("input[name=page]").input_value() == f"{base}/subscribe/readers"
        page.click("button[type=submit]")
        page.get_by_role("heading", name="Thank you").wait_for()
        # the preferences page: styled (its <style> allowed), saving works
        page.goto(preferences)
        color = page.evaluate("getComputedStyle(document.querySelector('main')).maxWidth")
        assert color == "560px", "the page's <style> applies"
        page.fill("input[name=first_name]", "Annie")
        page.get_by_role("button", name="Save").click()
        page.get_by_text("Saved.").wait_for()
        page.goto(f"{base}/archive/")
        assert not [p for p in problems if "Content Security Policy" in p], problems
        assert {s["email"]: s["first_name"] for s in iter_subscribers(store)} == {
            "ann@example.com": "Annie",
            "bob@example.com": "Bob",
        }
    finally:
        context.close()
        server.shutdown()
        server.server_close()
        store.close()


@pytest.mark.browser
def test_the_preview_works_under_its_csp(browser, preview) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    server, _ = preview
    page = browser.new_context().new_page()
    problems: list[str] = []
    page.on(
        "console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    r = page.goto(f"{server.url}?part=1")
    assert r is not None and "frame-ancestors 'none'" in r.headers["content-security-policy"]
    page.locator("#live", has_text="live reload: on").wait_for()  # its script runs
    page.frame_locator("#phone").locator(".nl-content").first.wait_for()  # the part, framed
    with page.expect_navigation():
        page.locator("#dark").check()  # the checkbox's handler, no inline onchange
    assert "dark=1" in page.url
    page.locator("#live", has_text="live reload: on").wait_for()
    assert not [p for p in problems if "Content Security Policy" in p], problems
