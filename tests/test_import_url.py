"""`newsletter import https://…`: a page fetched from a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from newsletter.blocks import Image, Paragraph
from newsletter.errors import InputError
from newsletter.importers import fetch, import_source
from newsletter.issuefile import load_issue

from .conftest import ARTICLES
from .helpers import one_line_error, run_cli
from .mock_providers import refusing_socket

PAGE = (ARTICLES / "served-post.html").read_bytes()
#: set when a test's server stops: the /slow page answers only then
SLOW_RELEASED = threading.Event()


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, ctype: str = "text/html; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        path = self.path
        if path == "/blog/monthly-close/":
            self._send(200, PAGE)
        elif path == "/old-address":
            self.send_response(301)
            self.send_header("Location", "/blog/monthly-close/")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/slow":
            # No answer until the test is over (the client's 0.3 s timeout is what is
            # tested): an event, not a fixed sleep that a busy machine could outlast.
            SLOW_RELEASED.wait(120)
            self._send(200, PAGE)
        elif path == "/guide.pdf":
            self._send(200, b"%PDF-1.7 ...", "application/pdf")
        elif path == "/broken":
            self._send(500, b"<h1>Internal Server Error</h1>")
        else:
            self._send(404, b"<h1>Not Found</h1>")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that gave up (the timeout test) is expected: no traceback


@pytest.fixture(autouse=True)
def allow_local(workdir: Path) -> None:
    """The test server is on 127.0.0.1: the editor allows fetching from this machine."""
    (workdir / "newsletter.toml").write_text("[fetch]\nallow_private = true\n")


@pytest.fixture
def site() -> Iterator[str]:
    server = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    SLOW_RELEASED.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    SLOW_RELEASED.set()
    server.shutdown()
    server.server_close()


def test_import_a_page_by_its_address(site: str, workdir: Path) -> None:
    result = run_cli("import", f"{site}/old-address", "--cta-url", "https://example.com/book")
    assert result.exit_code == 0, result.output
    issue = load_issue(workdir / "issues" / "why-your-books-need-a-monthly-close.md")
    assert issue.title == "Why Your Books Need a Monthly Close"
    assert issue.url == f"{site}/blog/monthly-close/"
    links = [s.href for b in issue.blocks if isinstance(b, Paragraph) for s in b.spans if s.href]
    assert links == [f"{site}/blog/reconciling-cards/", f"{site}/contact/"]
    images = [b for b in issue.blocks if isinstance(b, Image)]
    assert [i.src for i in images] == [f"{site}/wp-content/uploads/2024/03/desk-ledger.jpg"]
    text = " ".join(b.text() for b in issue.blocks)
    for chrome in ("Skip to content", "Posted on", "Services", "All rights reserved", "Tips"):
        assert chrome not in text
    assert run_cli("split", str(issue.path)).exit_code == 0


def test_title_option_wins(site: str, workdir: Path) -> None:
    result = run_cli(
        "import", f"{site}/blog/monthly-close/", "--title", "Close the month", "-o", "a.md"
    )
    assert result.exit_code == 0, result.output
    assert load_issue(workdir / "a.md").title == "Close the month"


def test_fetch_failures_are_one_line_errors(
    site: str, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one_line_error(run_cli("import", f"{site}/gone"), f"{site}/gone", "404")
    one_line_error(run_cli("import", f"{site}/broken"), "500")
    one_line_error(run_cli("import", f"{site}/guide.pdf"), "not a web page", "application/pdf")
    (workdir / "newsletter.toml").write_text("[fetch]\nallow_private = true\ntimeout = 0.3\n")
    one_line_error(
        run_cli("import", f"{site}/slow"), f"{site}/slow", "no answer within 0.3 seconds"
    )
    with socket_closed() as url:
        one_line_error(run_cli("import", url), url, "connection refused")
    assert not (workdir / "issues").exists()


class socket_closed:  # noqa: N801 - used as a context manager
    """An address on 127.0.0.1 where nothing listens."""

    def __enter__(self) -> str:
        # bound, never listening: refused, and no server running beside this test takes it
        self.holder = refusing_socket()
        return f"http://127.0.0.1:{self.holder.getsockname()[1]}/post"

    def __exit__(self, *exc: object) -> None:
        self.holder.close()


def test_fetch_page_library_call(site: str) -> None:
    page = fetch.fetch_page(f"{site}/old-address", allow_private=True)
    assert page.url == f"{site}/blog/monthly-close/" and "Monthly Close" in page.text
    with pytest.raises(InputError, match="404"):
        import_source(f"{site}/nothing-here", allow_private=True)


def test_an_address_without_its_scheme_gets_a_hint(workdir: Path) -> None:
    one_line_error(
        run_cli("import", "www.example.com/blog/post"),
        "no such file",
        "https://www.example.com/blog/post",
    )


def test_a_title_option_that_cannot_be_a_subject_is_refused(workdir: Path) -> None:
    source = str(ARTICLES / "jekyll-colon-title.md")
    one_line_error(
        run_cli("import", source, "--title", "Hi\r\nBcc: evil@example.net", "-o", "t.md"),
        "--title",
        "control character",
    )
    assert not (workdir / "t.md").exists()
