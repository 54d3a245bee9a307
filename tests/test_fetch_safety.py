"""Every fetch has one deadline and a safe destination (issue 18): real HTTP servers on
127.0.0.1 that drip a byte at a time or redirect inside, against `import URL`, `feeds add`,
`feeds check` and `send-due`.

The servers are on this machine, so the drip tests allow private addresses
(``[fetch] allow_private = true``, as an editor testing locally would); the refusals run
with it off, through an HTTP proxy on 127.0.0.1 that stands for the public internet (as in
test_feeds), so that the first address is a public name and the redirect goes inside.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select, update

from newsletter import fetch
from newsletter.cli import cli
from newsletter.config import load_config
from newsletter.feeds import EntryState
from newsletter.store import Store
from newsletter.store.models import Feed, FeedEntry

from .helpers import newsletter_process, one_line_error, outbox_messages

WAIT = 120.0  # generous: the machine may be busy


@dataclass
class Site:
    """What the server on 127.0.0.1 answers; it counts connections and requests."""

    port: int = 0
    pages: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    #: paths that drip their body (or, with "headers", their status line) byte by byte
    drips: dict[str, str] = field(default_factory=dict)
    requests: Counter[str] = field(default_factory=Counter)
    connections: int = 0
    dripping: int = 0  # connections being dripped to right now
    drip_started: threading.Event = field(default_factory=threading.Event)
    drip_ended: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    @property
    def local(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def put(self, path: str, body: str, ctype: str = "text/html; charset=utf-8") -> None:
        self.pages[path] = (200, {"Content-Type": ctype}, body.encode())

    def redirect(self, path: str, to: str) -> None:
        self.pages[path] = (301, {"Location": to}, b"")


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            parts = urlsplit(self.path)  # through the proxy: "GET http://host/path"
            key = parts.path
            site.requests[key] += 1
            if key in site.drips:
                self._drip(site.drips[key])
                return
            status, headers, body = site.pages.get(key, (404, {}, b"not found"))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _drip(self, what: str) -> None:
            site.dripping += 1
            site.drip_started.set()
            try:
                if what == "headers":
                    data = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n" * 1000
                else:
                    self.wfile.write(
                        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                        b"Content-Length: 100000\r\n\r\n"
                    )
                    data = b"<" * 100000
                for byte in data:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    if site.release.wait(0.5):
                        break
            except OSError:
                pass  # the client gave up: what the tests wait for
            finally:
                site.dripping -= 1
                site.drip_ended.set()
                self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, site: Site) -> None:
        super().__init__(("127.0.0.1", 0), _handler(site))
        self.site = site

    def verify_request(self, request: Any, client_address: Any) -> bool:
        self.site.connections += 1
        return True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


@pytest.fixture
def site(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    state = Site()
    server = _Server(state)
    state.port = server.server_address[1]
    for name in ("HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()


def through_proxy(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    """http://calm.example/... is served by the site, as the proxy the operator set."""
    monkeypatch.setenv("HTTP_PROXY", site.local)


def settings(workdir: Path, fetch_table: str) -> None:
    (workdir / "newsletter.toml").write_text(
        '[sender]\nname = "Calm Family"\nemail = "news@calm.example"\n'
        'postal_address = "1 Main Street, Springfield"\n'
        f"[fetch]\n{fetch_table}\n",
        encoding="utf-8",
    )
    assert nl("subscribers", "add", "reader@example.com", "--list", "readers").exit_code == 0


def nl(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def rss(*items: tuple[str, str, datetime, str]) -> str:
    """A feed of (title, link, published, summary) entries, summary only: each entry's page
    is fetched."""
    body = "".join(
        f"<item><title>{t}</title><link>{link}</link><guid>{link}</guid>"
        f"<pubDate>{format_datetime(p.replace(tzinfo=UTC))}</pubDate>"
        f"<description>{s}</description></item>"
        for t, link, p, s in items
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Calm Family</title>'
        f"<link>http://calm.example/</link><description>Blog</description>{body}"
        "</channel></rss>"
    )


ARTICLE = (
    "<!doctype html><html><head><title>Bedtime</title></head><body><article><h1>Bedtime</h1>"
    + "".join(
        f"<h2>Step {n}</h2><p>{'A calm evening routine helps the whole family sleep. ' * 12}</p>"
        for n in range(1, 5)
    )
    + "</article></body></html>"
)
LONG_AGO = datetime(2020, 1, 1)


# --- the fetch module itself -------------------------------------------------------------


def test_internal_addresses_are_refused_before_any_connection(site: Site) -> None:
    for url, kind in (
        (f"{site.local}/admin", "127.0.0.1 is a loopback address"),
        (f"http://localhost:{site.port}/admin", "localhost (127.0.0.1) is a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("http://10.0.0.7/", "10.0.0.7 is a private address"),
        ("http://[::1]/", "::1 is a loopback address"),
        ("http://224.0.0.1/", "224.0.0.1 is a multicast address"),
        ("http://0.0.0.0/", "0.0.0.0 is an unspecified address"),
    ):
        with pytest.raises(fetch.FetchError) as caught:
            fetch.get(url, limit=1000)
        assert caught.value.kind == "refused" and kind in str(caught.value), str(caught.value)
    assert site.connections == 0, "nothing was asked of the local server"
    site.put("/admin", "<p>inside</p>")
    got = fetch.get(f"{site.local}/admin", limit=1000, allow_private=True)
    assert got.status == 200 and got.body == b"<p>inside</p>"


def test_a_drip_in_the_headers_or_the_body_ends_at_the_deadline(site: Site) -> None:
    for path, what in (("/slow-headers", "headers"), ("/slow-body", "body")):
        site.drips[path] = what
        site.drip_ended.clear()
        with pytest.raises(fetch.FetchError) as caught:
            fetch.get(f"{site.local}{path}", limit=10**6, allow_private=True, deadline=1.0)
        assert caught.value.kind == "timeout"
        assert str(caught.value) == f"{site.local}{path}: no answer within 1 seconds"
        assert site.drip_ended.wait(WAIT), "the connection was closed under the drip"


def test_retry_after_reads_seconds_and_dates() -> None:
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    assert fetch.retry_after("120", now) == 120.0
    assert fetch.retry_after("Mon, 07 Dec 2026 12:02:00 GMT", now) == 120.0
    assert fetch.retry_after("Mon, 07 Dec 2026 11:00:00 GMT", now) == 0.0
    assert fetch.retry_after("soon", now) is None and fetch.retry_after(None, now) is None


def test_is_http_url() -> None:
    assert fetch.is_http_url("https://calm.example/post?x=1")
    for bad in (
        "ftp://calm.example/",
        "https://",
        "calm.example/post",
        "https://a b/",
        "http://[x/",
    ):
        assert not fetch.is_http_url(bad), bad


# --- import URL ----------------------------------------------------------------------------


def test_import_gives_up_on_a_dripping_page(site: Site, workdir: Path) -> None:
    settings(workdir, "allow_private = true\ntimeout = 1")
    site.drips["/post"] = "body"
    one_line_error(nl("import", f"{site.local}/post"), "no answer within 1 seconds")
    assert not (workdir / "issues").exists()


def test_import_refuses_a_redirect_inside(
    site: Site, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings(workdir, "allow_private = false")
    through_proxy(site, monkeypatch)
    site.put("/admin", ARTICLE)
    site.redirect("/old-post", f"{site.local}/admin")
    site.redirect("/metadata", "http://169.254.169.254/latest/meta-data/")
    error = one_line_error(nl("import", "http://calm.example/old-post"), "refused")
    assert "127.0.0.1 is a loopback address" in error and "allow_private" in error
    error = one_line_error(nl("import", "http://calm.example/metadata"), "refused")
    assert "169.254.169.254 is a link-local address" in error
    assert site.requests["/admin"] == 0 and site.requests["/latest/meta-data/"] == 0
    assert not (workdir / "issues").exists()
    # the same page through a public name is imported
    site.put("/post", ARTICLE)
    assert nl("import", "http://calm.example/post").exit_code == 0


# --- feeds -------------------------------------------------------------------------------


def test_feeds_add_and_check_give_up_on_a_dripping_feed(site: Site, workdir: Path) -> None:
    settings(workdir, "allow_private = true\ntimeout = 1")
    site.drips["/feed/"] = "body"
    added = nl("feeds", "add", f"{site.local}/feed/", "--list", "readers")
    one_line_error(added, f"{site.local}/feed/: no answer within 1 seconds")
    assert "No feeds yet" in nl("feeds", "list").output
    # a feed that answered when added, and drips (in its headers) at the next check
    site.put(
        "/blog/feed/", rss(("Old", f"{site.local}/old/", LONG_AGO, "old")), "application/rss+xml"
    )
    assert nl("feeds", "add", f"{site.local}/blog/feed/", "--list", "readers").exit_code == 0
    site.drips["/blog/feed/"] = "headers"
    checked = nl("feeds", "check")
    assert checked.exit_code == 1
    assert checked.stderr == f"error: {site.local}/blog/feed/: no answer within 1 seconds\n"


def test_feeds_check_refuses_a_redirect_inside_and_an_entry_linking_inside(
    site: Site, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings(workdir, "allow_private = false")
    through_proxy(site, monkeypatch)
    site.put(
        "/feed/", rss(("Old", "http://calm.example/old/", LONG_AGO, "old")), "application/rss+xml"
    )
    assert nl("feeds", "add", "http://calm.example/feed/", "--list", "readers").exit_code == 0

    # a new entry whose page is on this machine: never fetched, never imported
    soon = datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=1)
    site.put("/secret", ARTICLE)
    entries = [
        ("Inside", f"{site.local}/secret", soon, "summary"),
        ("Metadata", "http://169.254.169.254/latest/meta-data/", soon, "summary"),
        ("Old", "http://calm.example/old/", LONG_AGO, "old"),
    ]
    site.put("/feed/", rss(*entries), "application/rss+xml")
    checked = nl("feeds", "check")
    assert checked.exit_code == 1
    assert "refused: 127.0.0.1 is a loopback address" in checked.stderr
    assert "169.254.169.254 is a link-local address" in checked.stderr
    assert site.requests["/secret"] == 0 and site.requests["/latest/meta-data/"] == 0
    assert not (workdir / "issues").exists()
    store = Store(load_config(workdir / "newsletter.toml").db_url)
    try:
        with store.begin() as conn:
            states = dict(conn.execute(select(FeedEntry.title, FeedEntry.state)).all())
    finally:
        store.close()
    assert states == {"Old": "old", "Inside": EntryState.FAILED, "Metadata": EntryState.FAILED}
    again = nl("feeds", "check")
    assert site.requests["/secret"] == 0 and "refused" not in again.stderr

    # the feed itself redirected inside
    site.redirect("/feed/", f"{site.local}/feed-inside/")
    site.put("/feed-inside/", rss(), "application/rss+xml")
    checked = nl("feeds", "check")
    assert checked.exit_code == 1
    assert checked.stderr.startswith(
        "error: http://calm.example/feed/: refused: 127.0.0.1 is a loopback address"
    )
    assert site.requests["/feed-inside/"] == 0


def test_send_due_sends_what_is_due_while_a_feed_drips(
    site: Site, workdir: Path, seed_path: Path
) -> None:
    settings(workdir, "allow_private = true\ntimeout = 600")
    cta = "https://calm.example/contact"
    assert nl("import", str(seed_path), "-o", "issues/guilt.md", "--cta-url", cta).exit_code == 0
    queued = nl("queue", "issues/guilt.md", "--list", "readers")
    assert queued.exit_code == 0, queued.output
    site.put("/feed/", rss(("Old", f"{site.local}/old/", LONG_AGO, "old")), "application/rss+xml")
    assert nl("feeds", "add", f"{site.local}/feed/", "--list", "readers").exit_code == 0
    store = Store(load_config(workdir / "newsletter.toml").db_url)
    try:
        with store.begin() as conn:  # an hour later: the feed is due again
            conn.execute(update(Feed).values(next_poll_at=datetime(2000, 1, 1)))
    finally:
        store.close()
    site.drips["/feed/"] = "body"  # and now it drips, for longer than any run would wait

    run = newsletter_process("send-due", cwd=workdir)
    try:
        assert site.drip_started.wait(WAIT)
        waited = 0.0
        while not outbox_messages(workdir / "outbox") and waited < WAIT:
            if site.drip_ended.wait(0.1):
                break
            waited += 0.1
        assert [m["X-Newsletter-Part"] for m in outbox_messages(workdir / "outbox")] == [
            "guilt-part-1"
        ], "part 1 went out"
        assert site.dripping == 1 and not site.drip_ended.is_set(), "while the feed drips"
        site.release.set()  # the blog finally stops
        out, _ = run.communicate(timeout=WAIT)
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()
    assert run.returncode == 0, out
    assert "Done: 1 sent." in out
